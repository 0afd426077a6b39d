package staking_test

import (
	"bytes"
	"testing"

	"github.com/datamesh/mesh-node/core/staking"
)

func entriesBytes(s *staking.State) []byte {
	var b bytes.Buffer
	for _, kv := range s.Entries() {
		b.Write(kv.Key)
		b.Write(kv.Value)
	}
	return b.Bytes()
}

// TestCloneIsDeep changes a clone through every kind of record (delegation,
// unbonding, redelegation, slash, liveness, rewards) and checks that the
// original still serializes as before, and that the clone evolves as the
// original would have.
func TestCloneIsDeep(t *testing.T) {
	c := newChain(t, testParams(), 8, 1_000_000)
	for i := range 3 {
		c.createValidator(i, 10_000, "0.1")
	}
	c.fees = 1000
	c.block(5)
	if err := c.s.Delegate(c.bank, addr(5), addr(0), 5000); err != nil {
		t.Fatal(err)
	}
	c.block(5)
	before := entriesBytes(c.s)
	orig := c.s
	twin, twinBank := orig.Clone(), staking.NewMemBank()
	for _, a := range c.bank.Accounts() {
		twinBank.Add(a, c.bank.Balance(a))
	}
	c.s = orig.Clone()
	c.missing[staking.ConsAddressOf(consKey(1))] = true
	if _, err := c.s.Undelegate(c.bank, addr(5), addr(0), 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := c.s.Redelegate(c.bank, addr(5), addr(0), addr(2), 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := c.s.WithdrawRewards(c.bank, addr(5), addr(0)); err != nil {
		t.Fatal(err)
	}
	for range 12 {
		c.block(5, staking.Evidence{Address: staking.ConsAddressOf(consKey(2)), Height: c.s.Height(), Power: 1})
	}
	if !bytes.Equal(before, entriesBytes(orig)) {
		t.Fatal("changing the clone changed the original")
	}
	// The other clone, driven the same way, reaches the same state.
	c2 := &chain{t: t, s: twin, bank: twinBank, supply: c.supply - 12*c.fees, missing: c.missing, fees: c.fees}
	c2.s.Undelegate(c2.bank, addr(5), addr(0), 1000)
	c2.s.Redelegate(c2.bank, addr(5), addr(0), addr(2), 1000)
	c2.s.WithdrawRewards(c2.bank, addr(5), addr(0))
	for range 12 {
		c2.block(5, staking.Evidence{Address: staking.ConsAddressOf(consKey(2)), Height: c2.s.Height(), Power: 1})
	}
	if !bytes.Equal(entriesBytes(c.s), entriesBytes(c2.s)) {
		t.Fatal("two clones driven alike differ")
	}
}
