package staking_test

import (
	"fmt"
	"testing"

	"github.com/datamesh/mesh-node/core/staking"
)

// BenchmarkBlock times one BeginBlock (fees to distribute, every validator
// voting) and EndBlock with 100 and 1,000 delegators per validator; with
// lazy (F1) accounting the time does not depend on the delegator count.
func BenchmarkBlock(b *testing.B) {
	const validators = 20
	for _, perVal := range []int{100, 1000} {
		b.Run(fmt.Sprintf("delegators=%d", perVal), func(b *testing.B) {
			p := testParams()
			p.MaxValidators = validators
			p.InflationPerBlock = 1000
			c := newChain(b, p, validators*(perVal+1), 1_000_000)
			for v := 0; v < validators; v++ {
				c.createValidator(v, 10_000, "0.05")
			}
			for v := 0; v < validators; v++ {
				for d := 0; d < perVal; d++ {
					if err := c.s.Delegate(c.bank, addr(validators+v*perVal+d), addr(v), 100+uint64(d)); err != nil {
						b.Fatal(err)
					}
				}
			}
			c.block(5)
			votes := c.votes()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				in := staking.BeginBlockInput{Height: c.s.Height() + 1, Time: c.s.Time() + 5, Fees: 12_345, Votes: votes}
				if err := c.s.BeginBlock(c.bank, in); err != nil {
					b.Fatal(err)
				}
				if up := c.s.EndBlock(c.bank); len(up) != 0 {
					b.Fatalf("%d updates", len(up))
				}
			}
		})
	}
}
