package staking_test

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/datamesh/mesh-node/core/staking"
)

// TestRandomOperations runs thousands of random staking transactions over
// hundreds of blocks, with validators going offline and double signing,
// and checks the invariants after every block, that refused operations
// change nothing, and that the serialization round-trips.
func TestRandomOperations(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run("", func(t *testing.T) { runRandom(t, seed, 400, 12, false) })
	}
}

// TestRandomChangedEntries runs random blocks as the application does, each
// on a Clone of the state after the last, and checks after every block
// that the state it cloned still serializes as before and that its
// entries with ChangedEntries applied are the block's Entries.
func TestRandomChangedEntries(t *testing.T) {
	for _, seed := range []uint64{4, 5} {
		t.Run("", func(t *testing.T) { runRandom(t, seed, 300, 12, true) })
	}
}

// applyChanges returns the entries of base (sorted) with changes (as
// ChangedEntries returns them) applied, sorted.
func applyChanges(base, changes []staking.KV) []staking.KV {
	m := map[string][]byte{}
	for _, e := range base {
		m[string(e.Key)] = e.Value
	}
	for _, e := range changes {
		if e.Value == nil {
			delete(m, string(e.Key))
		} else {
			m[string(e.Key)] = e.Value
		}
	}
	out := make([]staking.KV, 0, len(m))
	for k, v := range m {
		out = append(out, staking.KV{Key: []byte(k), Value: v})
	}
	slices.SortFunc(out, func(a, b staking.KV) int { return bytes.Compare(a.Key, b.Key) })
	return out
}

// runRandom drives the state; with clonePerBlock each block runs on a
// Clone and its ChangedEntries are checked.
func runRandom(t *testing.T, seed uint64, blocks, opsPerBlock int, clonePerBlock bool) {
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
	perKind := map[string]int{}
	refusedChecked := 0
	for b := 0; b < blocks; b++ {
		var base *staking.State
		var baseEntries []staking.KV
		if clonePerBlock {
			base, baseEntries = c.s, c.s.Entries()
			c.s = base.Clone()
		}
		for i := 0; i < opsPerBlock; i++ {
			var op func() error
			var kind string
			switch k := r.IntN(100); {
			case k < 8:
				kind = "create"
				n := pick()
				op = func() error {
					return c.s.CreateValidator(c.bank, staking.CreateValidatorMsg{Operator: addr(n), ConsPubKey: consKey(n + 1000*r.IntN(2)),
						SelfBond: 50 + r.Uint64N(20_000), Rate: staking.NewDecFrac(r.Uint64N(20), 100),
						MaxRate: staking.MustParseDec("0.2"), MaxChangeRate: staking.MustParseDec("0.05")})
				}
			case k < 35:
				kind = "delegate"
				d, v, a := pick(), pick(), amount()
				op = func() error { return c.s.Delegate(c.bank, addr(d), addr(v), a) }
			case k < 55:
				kind = "undelegate"
				d, v, a := pick(), pick(), amount()
				op = func() error { _, err := c.s.Undelegate(c.bank, addr(d), addr(v), a); return err }
			case k < 58:
				kind = "cancel"
				d, v := pick(), pick()
				op = func() error {
					for i := 0; i < accounts; i++ {
						if _, ok := c.s.Unbonding(addr(d), addr((v+i)%accounts)); ok {
							v = (v + i) % accounts
							break
						}
					}
					ub, ok := c.s.Unbonding(addr(d), addr(v))
					h, a := c.s.Height(), amount()
					if ok {
						e := ub.Entries[r.IntN(len(ub.Entries))]
						h, a = e.CreationHeight, 1+r.Uint64N(e.Balance+1)
					}
					return c.s.CancelUnbonding(c.bank, addr(d), addr(v), a, h)
				}
			case k < 70:
				kind = "redelegate"
				d, s, v, a := pick(), pick(), pick(), amount()
				op = func() error { _, err := c.s.Redelegate(c.bank, addr(d), addr(s), addr(v), a); return err }
			case k < 85:
				kind = "withdraw"
				d, v := pick(), pick()
				op = func() error { _, err := c.s.WithdrawRewards(c.bank, addr(d), addr(v)); return err }
			case k < 90:
				kind = "commission"
				v := pick()
				op = func() error { _, err := c.s.WithdrawCommission(c.bank, addr(v)); return err }
			case k < 95:
				kind = "edit"
				v := pick()
				op = func() error {
					val, _ := c.s.Validator(addr(v))
					rate := val.Commission.Rate.Add(staking.NewDecFrac(r.Uint64N(6), 100))
					return c.s.EditValidator(staking.EditValidatorMsg{Operator: addr(v), Rate: &rate})
				}
			default:
				kind = "unjail"
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
			perKind[kind]++
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
		dt := 1 + int64(r.IntN(20))
		if r.IntN(50) == 0 {
			dt += 24 * 3600 // lets commission rates change
		}
		c.block(dt, ev...)
		checkRewards(t, c, accounts)
		if clonePerBlock {
			if !reflect.DeepEqual(base.Entries(), baseEntries) {
				t.Fatalf("block %d changed the state it cloned", b)
			}
			if got, want := applyChanges(baseEntries, c.s.ChangedEntries(base)), c.s.Entries(); !reflect.DeepEqual(got, want) {
				t.Fatalf("block %d: entries with ChangedEntries applied differ from Entries", b)
			}
		}
		ok++
		if b%50 == 0 {
			roundTrip(t, c.s)
		}
	}
	t.Logf("seed %d: %d blocks, %d operations applied, %d refused (%d compared), burned %d", seed, ok, applied, refused, refusedChecked, c.s.Pools().Burned)
	t.Logf("applied by kind: %v", perKind)
	for _, k := range []string{"create", "delegate", "undelegate", "cancel", "redelegate", "withdraw", "commission", "edit", "unjail"} {
		if perKind[k] == 0 {
			t.Errorf("no %s operation succeeded", k)
		}
	}
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

// checkRewards checks F1 against the validators' outstanding rewards: what
// the delegators of a validator are owed adds up to its outstanding rewards
// less commission, short only by rounding dust: the part of a validator's
// tokens that truncation left to no delegation in particular (shares bought
// or redeemed round in the pool's favour), whose rewards stay outstanding.
func checkRewards(t *testing.T, c *chain, accounts int) {
	t.Helper()
	owed := map[int]staking.Dec{}
	for d := 0; d < accounts; d++ {
		for v := 0; v < accounts; v++ {
			if r, ok := c.s.Rewards(addr(d), addr(v)); ok {
				owed[v] = owed[v].Add(r)
			}
		}
	}
	for v := 0; v < accounts; v++ {
		out, ok := c.s.OutstandingRewards(addr(v))
		if !ok {
			continue
		}
		comm, _ := c.s.Commission(addr(v))
		gap := out.Sub(comm).Sub(owed[v])
		if gap.IsNegative() || gap.Cmp(out.QuoInt(10_000).Add(staking.MustParseDec("0.000001"))) > 0 {
			t.Fatalf("height %d, validator %d: outstanding %s, commission %s, delegators owed %s", c.s.Height(), v, out, comm, owed[v])
		}
	}
}
