package staking

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/datamesh/mesh-node/core/tx"
)

// MemBank is an in-memory Bank for tests and tools: balances in a map.
type MemBank struct {
	balances map[tx.Address]uint64
}

// NewMemBank returns an empty bank.
func NewMemBank() *MemBank { return &MemBank{balances: map[tx.Address]uint64{}} }

// Sub takes amount from addr, or fails changing nothing.
func (b *MemBank) Sub(addr tx.Address, amount uint64) error {
	if b.balances[addr] < amount {
		return fmt.Errorf("staking: %s holds %d, needs %d", addr, b.balances[addr], amount)
	}
	b.balances[addr] -= amount
	return nil
}

// Add gives amount to addr.
func (b *MemBank) Add(addr tx.Address, amount uint64) { b.balances[addr] += amount }

// Balance returns addr's balance.
func (b *MemBank) Balance(addr tx.Address) uint64 { return b.balances[addr] }

// Total returns the sum of all balances.
func (b *MemBank) Total() uint64 {
	var t uint64
	for _, v := range b.balances {
		t += v
	}
	return t
}

// Accounts returns the addresses with a balance entry, sorted.
func (b *MemBank) Accounts() []tx.Address {
	out := make([]tx.Address, 0, len(b.balances))
	for a := range b.balances {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i][:], out[j][:]) < 0 })
	return out
}
