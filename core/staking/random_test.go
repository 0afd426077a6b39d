package staking_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/datamesh/mesh-node/core/staking"
)

// TestRandomOperations runs thousands of random staking transactions over
// hundreds of blocks, with validators going offline and double signing,
// and checks the invariants after every block, that refused operations
// change nothing, and that the serialization round-trips.
func TestRandomOperations(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run("", func(t *testing.T) { runRandom(t, seed, 400, 12) })
	}
}

func runRandom(t *testing.T, seed uint64, blocks, opsPerBlock int) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	p := testParams()
	p.MaxValidators = 5
	p.UnbondingTime = 300
	p.InflationPerBlock = 7
	const accounts = 30
	c := newChain(t, p, accounts, 1_000_000)
	pick := func() int { return r.IntN(accounts) }
	amount := func() uint64 { return 1 + r.Uint64N(5000) }
	var ok, refused, applied int
	refusedChecked := 0
	for b := 0; b < blocks; b++ {
		for i := 0; i < opsPerBlock; i++ {
			var op func() error
			switch k := r.IntN(100); {
			case k < 8:
				n := pick()
				op = func() error {
					return c.s.CreateValidator(c.bank, staking.CreateValidatorMsg{Operator: addr(n), ConsPubKey: consKey(n + 1000*r.IntN(2)),
						SelfBond: 50 + r.Uint64N(20_000), Rate: staking.NewDecFrac(r.Uint64N(20), 100),
						MaxRate: staking.MustParseDec("0.2"), MaxChangeRate: staking.MustParseDec("0.05")})
				}
			case k < 35:
				d, v, a := pick(), pick(), amount()
				op = func() error { return c.s.Delegate(c.bank, addr(d), addr(v), a) }
			case k < 55:
				d, v, a := pick(), pick(), amount()
				op = func() error { _, err := c.s.Undelegate(c.bank, addr(d), addr(v), a); return err }
			case k < 70:
				d, s, v, a := pick(), pick(), pick(), amount()
				op = func() error { _, err := c.s.Redelegate(c.bank, addr(d), addr(s), addr(v), a); return err }
			case k < 85:
				d, v := pick(), pick()
				op = func() error { _, err := c.s.WithdrawRewards(c.bank, addr(d), addr(v)); return err }
			case k < 90:
				v := pick()
				op = func() error { _, err := c.s.WithdrawCommission(c.bank, addr(v)); return err }
			case k < 95:
				v := pick()
				rate := staking.NewDecFrac(r.Uint64N(25), 100)
				op = func() error { return c.s.EditValidator(staking.EditValidatorMsg{Operator: addr(v), Rate: &rate}) }
			default:
				v := pick()
				op = func() error { return c.s.Unjail(addr(v)) }
			}
			// Compare the whole state around one refusal in ten.
			var before []byte
			if refused%10 == 0 {
				before = c.snapshot()
			}
			if err := op(); err != nil {
				if before != nil {
					refusedChecked++
					if !bytes.Equal(before, c.snapshot()) {
						t.Fatalf("block %d: refused operation changed the state: %v", b, err)
					}
				}
				refused++
				continue
			}
			applied++
			c.check()
		}
		// Liveness: a few validators go offline for stretches.
		for _, v := range c.s.Validators() {
			ca := v.ConsAddress()
			if r.IntN(40) == 0 {
				c.missing[ca] = !c.missing[ca]
			}
		}
		var ev []staking.Evidence
		if r.IntN(60) == 0 && c.s.Height() > 5 {
			vs := c.s.Validators()
			v := vs[r.IntN(len(vs))]
			ev = append(ev, staking.Evidence{Address: v.ConsAddress(), Height: c.s.Height() - int64(r.IntN(5)), Power: c.s.Params().Power(v.Tokens)})
		}
		c.fees = r.Uint64N(1000)
		c.block(1+int64(r.IntN(20)), ev...)
		ok++
		if b%50 == 0 {
			roundTrip(t, c.s)
		}
	}
	t.Logf("seed %d: %d blocks, %d operations applied, %d refused (%d compared), burned %d", seed, ok, applied, refused, refusedChecked, c.s.Pools().Burned)
	if applied < blocks*opsPerBlock/4 {
		t.Fatalf("only %d operations applied", applied)
	}
}

func roundTrip(t *testing.T, s *staking.State) {
	t.Helper()
	es := s.Entries()
	l, err := staking.Load(es)
	if err != nil {
		t.Fatal(err)
	}
	again := l.Entries()
	if len(again) != len(es) {
		t.Fatalf("%d entries after loading, %d before", len(again), len(es))
	}
	for i := range es {
		if !bytes.Equal(es[i].Key, again[i].Key) || !bytes.Equal(es[i].Value, again[i].Value) {
			t.Fatalf("entry %x differs after loading", es[i].Key)
		}
	}
}
