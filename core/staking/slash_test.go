package staking_test

import (
	"testing"

	"github.com/datamesh/mesh-node/core/staking"
)

// TestDoubleSignSlashesStakeBondedAtInfraction: the slash reaches the
// unbonding entry and the redelegation made at or after the infraction
// height, not those made before, and the validator is tombstoned.
func TestDoubleSignSlashesStakeBondedAtInfraction(t *testing.T) {
	c := newChain(t, testParams(), 5, 100_000)
	c.createValidator(0, 10_000, "0")
	c.createValidator(1, 10_000, "0")
	for _, d := range []int{2, 3} {
		if err := c.s.Delegate(c.bank, addr(d), addr(0), 20_000); err != nil {
			t.Fatal(err)
		}
	}
	c.block(5)
	c.block(5)
	// Before the infraction: an undelegation and a redelegation.
	if _, err := c.s.Undelegate(c.bank, addr(2), addr(0), 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := c.s.Redelegate(c.bank, addr(2), addr(0), addr(1), 2000); err != nil {
		t.Fatal(err)
	}
	c.block(5)
	infraction := c.s.Height() + 1
	c.block(5)
	power := c.s.Params().Power(c.val(0).Tokens) // 47,000
	// After the infraction: another undelegation and redelegation.
	if _, err := c.s.Undelegate(c.bank, addr(3), addr(0), 4000); err != nil {
		t.Fatal(err)
	}
	if _, err := c.s.Redelegate(c.bank, addr(3), addr(0), addr(1), 6000); err != nil {
		t.Fatal(err)
	}
	c.block(5)
	before := c.val(0).Tokens // 37,000
	dstBefore := c.val(1).Tokens
	up := c.block(5, staking.Evidence{Address: staking.ConsAddressOf(consKey(0)), Height: infraction, Power: power})

	// 5% of 47,000 = 2,350: 200 from the later undelegation (5% of 4,000),
	// 300 from the later redelegation (5% of 6,000, taken at the
	// destination), 1,850 from the validator's tokens.
	ub2, _ := c.s.Unbonding(addr(2), addr(0))
	ub3, _ := c.s.Unbonding(addr(3), addr(0))
	if ub2.Entries[0].Balance != 1000 {
		t.Fatalf("entry before the infraction slashed: %+v", ub2.Entries)
	}
	if ub3.Entries[0].Balance != 3800 {
		t.Fatalf("entry after the infraction: balance %d, want 3800", ub3.Entries[0].Balance)
	}
	if d, _ := c.s.Delegation(addr(2), addr(1)); d.Balance != 2000 {
		t.Fatalf("redelegation before the infraction slashed: %d", d.Balance)
	}
	if d, _ := c.s.Delegation(addr(3), addr(1)); d.Balance != 5700 {
		t.Fatalf("redelegation after the infraction: %d, want 5700", d.Balance)
	}
	if got := c.val(1).Tokens; got != dstBefore-300 {
		t.Fatalf("destination tokens %d, want %d", got, dstBefore-300)
	}
	v := c.val(0)
	if v.Tokens != before-1850 {
		t.Fatalf("validator tokens %d, want %d", v.Tokens, before-1850)
	}
	if got := c.s.Pools().Burned; got != 2350 {
		t.Fatalf("burned %d, want 2350", got)
	}
	si, _ := c.s.SigningInfo(v.ConsAddress())
	if !v.Jailed || !si.Tombstoned {
		t.Fatalf("validator %+v, signing %+v", v, si)
	}
	if pw, ok := powerOf(up, consKey(0)); !ok || pw != 0 {
		t.Fatalf("tombstoned validator not removed: %v", up)
	}
	c.block(1_000_000)
	c.refused("unjail tombstoned", func() error { return c.s.Unjail(addr(0)) })
	// Delegators share the slash by stake: delegator 3 kept 10,000 of
	// 20,000 delegated, the validator 37,000 tokens before the slash.
	d3, _ := c.s.Delegation(addr(3), addr(0))
	if want := uint64(10_000) * (before - 1850) / before; d3.Balance != want && d3.Balance+1 != want {
		t.Fatalf("delegation after slash %d, want %d", d3.Balance, want)
	}
	// A second report of the same validator changes nothing.
	burned := c.s.Pools().Burned
	c.block(5, staking.Evidence{Address: staking.ConsAddressOf(consKey(0)), Height: c.s.Height(), Power: power})
	if c.s.Pools().Burned != burned {
		t.Fatal("tombstoned validator slashed twice")
	}
}

// TestSlashedRewards: F1 scales the stake of delegations across a slash,
// so rewards before and after it are paid on the right stake.
func TestSlashedRewards(t *testing.T) {
	c := slashable(t, staking.MustParseDec("0.5"))
	c.fees = 300 // validator 0 has 2000 of 3000 power: 200, 100 each
	c.block(5)
	c.fees = 0
	c.block(5, staking.Evidence{Address: staking.ConsAddressOf(consKey(0)), Height: c.s.Height(), Power: 2000})
	if got := c.val(0).Tokens; got != 1000 {
		t.Fatalf("tokens %d after a 50%% slash, want 1000", got)
	}
	if r, _ := c.s.Rewards(addr(2), addr(0)); !r.Equal(staking.NewDec(100)) {
		t.Fatalf("rewards %s, want 100", r)
	}
	c.block(5)
	if err := c.s.Unjail(addr(0)); err == nil {
		t.Fatal("tombstoned validator unjailed")
	}
}

// TestDowntimeJailAndUnjail: a validator missing more than half of the
// window is slashed and jailed, and may unjail after the jail duration.
func TestDowntimeJailAndUnjail(t *testing.T) {
	c := newChain(t, testParams(), 3, 100_000)
	c.createValidator(0, 10_000, "0")
	c.createValidator(1, 10_000, "0")
	c.block(5)
	ca := staking.ConsAddressOf(consKey(1))
	c.missing[ca] = true
	// Window 10: jailed once more than 5 of the last 10 are missed and
	// a full window has passed since the validator was bonded.
	var jailedAt int64
	for i := 0; i < 20 && jailedAt == 0; i++ {
		c.block(5)
		if c.val(1).Jailed {
			jailedAt = c.s.Time()
		}
	}
	if jailedAt == 0 {
		t.Fatal("offline validator never jailed")
	}
	si, _ := c.s.SigningInfo(ca)
	if si.JailedUntil != jailedAt+600 || si.Tombstoned {
		t.Fatalf("signing info %+v", si)
	}
	if got := c.val(1).Tokens; got != 9900 {
		t.Fatalf("tokens %d after a 1%% downtime slash, want 9900", got)
	}
	if v := c.val(0); v.Jailed || v.Tokens != 10_000 {
		t.Fatalf("live validator touched: %+v", v)
	}
	// Jailed at BeginBlock; the same block's EndBlock removed it.
	if v := c.val(1); v.Status != staking.Unbonding {
		t.Fatalf("jailed validator status %s", v.Status)
	}
	delete(c.missing, ca)
	c.block(599)
	c.refused("unjail a second early", func() error { return c.s.Unjail(addr(1)) })
	c.block(1)
	if err := c.s.Unjail(addr(1)); err != nil {
		t.Fatal(err)
	}
	if pw, _ := powerOf(c.block(5), consKey(1)); pw != 9900 {
		t.Fatalf("power %d after unjail, want 9900", pw)
	}
	c.refused("unjail a free validator", func() error { return c.s.Unjail(addr(1)) })
}

// TestActiveSet: the top MaxValidators by tokens are bonded, ties broken
// by consensus key; leaving validators unbond, then become unbonded after
// the unbonding time.
func TestActiveSet(t *testing.T) {
	c := newChain(t, testParams(), 6, 100_000) // MaxValidators 4
	for i := 0; i < 6; i++ {
		c.createValidator(i, 1000+uint64(i%3)*10, "0")
	}
	up := c.block(5)
	if len(up) != 4 {
		t.Fatalf("%d updates, want 4", len(up))
	}
	// Tokens 1000,1010,1020,1000,1010,1020: 2 and 5, 1 and 4 make it.
	for _, i := range []int{1, 2, 4, 5} {
		if c.val(i).Status != staking.Bonded {
			t.Fatalf("validator %d not bonded", i)
		}
	}
	if err := c.s.Delegate(c.bank, addr(0), addr(0), 100); err != nil {
		t.Fatal(err)
	}
	up = c.block(5)
	if pw, ok := powerOf(up, consKey(0)); !ok || pw != 1100 {
		t.Fatalf("updates %v: validator 0 should enter", up)
	}
	if pw, ok := powerOf(up, consKey(4)); !ok || pw != 0 {
		t.Fatalf("updates %v: validator 4 (lowest, higher key than 1) should leave", up)
	}
	v := c.val(4)
	if v.Status != staking.Unbonding || v.UnbondingTime != c.s.Time()+1000 {
		t.Fatalf("left validator %+v", v)
	}
	c.block(999)
	if c.val(4).Status != staking.Unbonding {
		t.Fatal("unbonded early")
	}
	c.block(1)
	if c.val(4).Status != staking.Unbonded {
		t.Fatal("not unbonded at the unbonding time")
	}
	// An unbonded validator whose shares are all gone is removed.
	if _, err := c.s.Undelegate(c.bank, addr(4), addr(4), 1010); err != nil {
		t.Fatal(err)
	}
	c.block(1)
	if _, ok := c.s.Validator(addr(4)); ok {
		t.Fatal("empty unbonded validator kept")
	}
	c.block(1000)
}

// TestSlashedToNothing: after a 100% slash delegators can still leave and
// the empty validator is removed.
func TestSlashedToNothing(t *testing.T) {
	c := slashable(t, staking.NewDec(1))
	c.block(5, staking.Evidence{Address: staking.ConsAddressOf(consKey(0)), Height: c.s.Height(), Power: 2000})
	if v := c.val(0); v.Tokens != 0 || v.Shares.IsZero() {
		t.Fatalf("validator %+v", v)
	}
	c.refused("delegate to an emptied validator", func() error { return c.s.Delegate(c.bank, addr(2), addr(0), 10) })
	c.refused("redelegate from it", func() error { _, err := c.s.Redelegate(c.bank, addr(2), addr(0), addr(1), 10); return err })
	before := c.bank.Balance(addr(2))
	for _, d := range []int{0, 2} {
		if _, err := c.s.Undelegate(c.bank, addr(d), addr(0), 1); err != nil {
			t.Fatal(err)
		}
	}
	if c.bank.Balance(addr(2)) != before {
		t.Fatal("tokens returned from a validator slashed to nothing")
	}
	c.block(1000)
	c.block(1)
	if _, ok := c.s.Validator(addr(0)); ok {
		t.Fatal("emptied validator kept")
	}
}

// slashable returns a chain with double signs slashing fraction, two
// bonded validators of 1000 self-bond and account 2 delegating 1000 to
// validator 0.
func slashable(t *testing.T, fraction staking.Dec) *chain {
	p := testParams()
	p.SlashFractionDoubleSign = fraction
	c := newChain(t, p, 3, 100_000)
	c.createValidator(0, 1000, "0")
	c.createValidator(1, 1000, "0")
	if err := c.s.Delegate(c.bank, addr(2), addr(0), 1000); err != nil {
		t.Fatal(err)
	}
	c.block(5)
	return c
}
