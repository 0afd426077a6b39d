package staking_test

import (
	"errors"
	"testing"

	"github.com/datamesh/mesh-node/core/staking"
)

func TestCreateValidator(t *testing.T) {
	c := newChain(t, testParams(), 4, 10_000)
	c.createValidator(0, 1000, "0.1")
	if got := c.bank.Balance(addr(0)); got != 9000 {
		t.Fatalf("operator balance %d, want 9000", got)
	}
	up := c.block(5)
	if pw, ok := powerOf(up, consKey(0)); !ok || pw != 1000 {
		t.Fatalf("updates %v, want validator 0 at 1000", up)
	}
	if v := c.val(0); v.Status != staking.Bonded || v.Tokens != 1000 {
		t.Fatalf("validator %+v", v)
	}
	msg := func(op int, key []byte, bond uint64, rate, maxRate, maxChange string) func() error {
		return func() error {
			return c.s.CreateValidator(c.bank, staking.CreateValidatorMsg{Operator: addr(op), ConsPubKey: key, SelfBond: bond,
				Rate: staking.MustParseDec(rate), MaxRate: staking.MustParseDec(maxRate), MaxChangeRate: staking.MustParseDec(maxChange)})
		}
	}
	c.refused("existing operator", msg(0, consKey(9), 1000, "0.1", "0.5", "0.1"))
	c.refused("used consensus key", msg(1, consKey(0), 1000, "0.1", "0.5", "0.1"))
	c.refused("short key", msg(1, consKey(1)[:31], 1000, "0.1", "0.5", "0.1"))
	c.refused("self-bond below minimum", msg(1, consKey(1), 99, "0.1", "0.5", "0.1"))
	c.refused("rate above max", msg(1, consKey(1), 1000, "0.6", "0.5", "0.1"))
	c.refused("max rate above 1", msg(1, consKey(1), 1000, "0.1", "1.5", "0.1"))
	c.refused("max change above max rate", msg(1, consKey(1), 1000, "0.1", "0.2", "0.3"))
	c.refused("balance too low", msg(1, consKey(1), 10_001, "0.1", "0.5", "0.1"))
	c.refused("long moniker", func() error {
		return c.s.CreateValidator(c.bank, staking.CreateValidatorMsg{Operator: addr(1), ConsPubKey: consKey(1), SelfBond: 1000,
			Moniker: string(make([]byte, staking.MaxMonikerLen+1))})
	})
}

func TestEditValidator(t *testing.T) {
	c := newChain(t, testParams(), 2, 10_000)
	c.createValidator(0, 1000, "0.1")
	rate := func(s string) *staking.Dec { d := staking.MustParseDec(s); return &d }
	edit := func(r *staking.Dec) func() error {
		return func() error { return c.s.EditValidator(staking.EditValidatorMsg{Operator: addr(0), Rate: r}) }
	}
	c.block(3600)
	c.refused("within 24 h of creation", edit(rate("0.15")))
	c.block(24 * 3600)
	c.refused("change above max change", edit(rate("0.25")))
	c.refused("above max rate", edit(rate("0.55")))
	c.refused("unknown validator", func() error { return c.s.EditValidator(staking.EditValidatorMsg{Operator: addr(1), Rate: rate("0.1")}) })
	if err := edit(rate("0.2"))(); err != nil {
		t.Fatal(err)
	}
	if got := c.val(0).Commission.Rate; !got.Equal(staking.MustParseDec("0.2")) {
		t.Fatalf("rate %s", got)
	}
	c.block(24*3600 - 1)
	c.refused("second change a second early", edit(rate("0.1")))
	c.block(1)
	name := "new name"
	if err := c.s.EditValidator(staking.EditValidatorMsg{Operator: addr(0), Rate: rate("0.1"), Moniker: &name}); err != nil {
		t.Fatal(err)
	}
	if v := c.val(0); v.Moniker != name || !v.Commission.Rate.Equal(staking.MustParseDec("0.1")) {
		t.Fatalf("validator %+v", v)
	}
}

func TestDelegateChangesPower(t *testing.T) {
	c := newChain(t, testParams(), 3, 10_000)
	c.createValidator(0, 1000, "0")
	c.block(5)
	if err := c.s.Delegate(c.bank, addr(1), addr(0), 500); err != nil {
		t.Fatal(err)
	}
	if pw, _ := powerOf(c.block(5), consKey(0)); pw != 1500 {
		t.Fatalf("power %d after delegating, want 1500", pw)
	}
	if d, ok := c.s.Delegation(addr(1), addr(0)); !ok || d.Balance != 500 || !d.Delegation.Shares.Equal(staking.NewDec(500)) {
		t.Fatalf("delegation %+v", d)
	}
	if len(c.block(5)) != 0 {
		t.Fatal("updates without a change")
	}
	c.refused("zero", func() error { return c.s.Delegate(c.bank, addr(1), addr(0), 0) })
	c.refused("unknown validator", func() error { return c.s.Delegate(c.bank, addr(1), addr(2), 10) })
	c.refused("balance too low", func() error { return c.s.Delegate(c.bank, addr(1), addr(0), 9501) })
}

func TestUndelegateReleasesAtCompletion(t *testing.T) {
	c := newChain(t, testParams(), 3, 10_000)
	c.createValidator(0, 1000, "0")
	c.block(5)
	if err := c.s.Delegate(c.bank, addr(1), addr(0), 600); err != nil {
		t.Fatal(err)
	}
	c.block(5)
	c.refused("more than delegated", func() error { _, err := c.s.Undelegate(c.bank, addr(1), addr(0), 601); return err })
	c.refused("no delegation", func() error { _, err := c.s.Undelegate(c.bank, addr(2), addr(0), 1); return err })
	c.refused("zero", func() error { _, err := c.s.Undelegate(c.bank, addr(1), addr(0), 0); return err })
	done, err := c.s.Undelegate(c.bank, addr(1), addr(0), 200)
	if err != nil {
		t.Fatal(err)
	}
	if want := c.s.Time() + 1000; done != want {
		t.Fatalf("completion %d, want %d", done, want)
	}
	before := c.bank.Balance(addr(1))
	if pw, _ := powerOf(c.block(1), consKey(0)); pw != 1400 {
		t.Fatalf("power %d after undelegating, want 1400", pw)
	}
	ub, ok := c.s.Unbonding(addr(1), addr(0))
	if !ok || len(ub.Entries) != 1 || ub.Entries[0].Balance != 200 || ub.Entries[0].CompletionTime != done {
		t.Fatalf("unbonding %+v", ub)
	}
	for c.s.Time() < done-7 {
		c.block(7)
	}
	c.block(done - 1 - c.s.Time())
	if got := c.bank.Balance(addr(1)); got != before {
		t.Fatalf("balance %d a second before completion, want %d", got, before)
	}
	c.block(1)
	if got := c.bank.Balance(addr(1)); got != before+200 {
		t.Fatalf("balance %d at completion, want %d", got, before+200)
	}
	if _, ok := c.s.Unbonding(addr(1), addr(0)); ok {
		t.Fatal("unbonding entry left after completion")
	}
	// Entries are bounded per pair.
	for i := 0; i < int(c.s.Params().MaxEntries); i++ {
		if _, err := c.s.Undelegate(c.bank, addr(1), addr(0), 1); err != nil {
			t.Fatal(err)
		}
	}
	c.refused("too many entries", func() error { _, err := c.s.Undelegate(c.bank, addr(1), addr(0), 1); return err })
	// The rest of the delegation goes in one entry, emptying it.
	c.block(1000)
	if _, err := c.s.Undelegate(c.bank, addr(1), addr(0), 400-7); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.s.Delegation(addr(1), addr(0)); ok {
		t.Fatal("emptied delegation kept")
	}
	c.block(1)
}

func TestOperatorBelowSelfBondIsJailed(t *testing.T) {
	c := newChain(t, testParams(), 2, 10_000)
	c.createValidator(0, 150, "0")
	c.block(5)
	if _, err := c.s.Undelegate(c.bank, addr(0), addr(0), 51); err != nil {
		t.Fatal(err)
	}
	if !c.val(0).Jailed {
		t.Fatal("validator not jailed below the minimum self-bond")
	}
	if pw, ok := powerOf(c.block(1), consKey(0)); !ok || pw != 0 {
		t.Fatal("jailed validator not removed")
	}
	c.refused("unjail below self-bond", func() error { return c.s.Unjail(addr(0)) })
	if err := c.s.Delegate(c.bank, addr(0), addr(0), 1); err != nil {
		t.Fatal(err)
	}
	if err := c.s.Unjail(addr(0)); err != nil {
		t.Fatal(err)
	}
	if pw, _ := powerOf(c.block(1), consKey(0)); pw != 100 {
		t.Fatalf("power %d after unjail, want 100", pw)
	}
}

func TestRedelegate(t *testing.T) {
	c := newChain(t, testParams(), 4, 10_000)
	c.createValidator(0, 1000, "0")
	c.createValidator(1, 1000, "0")
	c.createValidator(2, 1000, "0")
	c.block(5)
	if err := c.s.Delegate(c.bank, addr(3), addr(0), 500); err != nil {
		t.Fatal(err)
	}
	c.refused("same validator", func() error { _, err := c.s.Redelegate(c.bank, addr(3), addr(0), addr(0), 10); return err })
	c.refused("unknown destination", func() error { _, err := c.s.Redelegate(c.bank, addr(3), addr(0), addr(9), 10); return err })
	c.refused("more than delegated", func() error { _, err := c.s.Redelegate(c.bank, addr(3), addr(0), addr(1), 501); return err })
	done, err := c.s.Redelegate(c.bank, addr(3), addr(0), addr(1), 200)
	if err != nil {
		t.Fatal(err)
	}
	up := c.block(1)
	if p0, _ := powerOf(up, consKey(0)); p0 != 1300 {
		t.Fatalf("source power %d, want 1300", p0)
	}
	if p1, _ := powerOf(up, consKey(1)); p1 != 1200 {
		t.Fatalf("destination power %d, want 1200", p1)
	}
	c.refused("transitive", func() error { _, err := c.s.Redelegate(c.bank, addr(3), addr(1), addr(2), 100); return err })
	src, dst := addr(0), addr(1)
	rs := c.s.Redelegations(addr(3), &src, &dst)
	if len(rs) != 1 || len(rs[0].Entries) != 1 || rs[0].Entries[0].Balance != 200 || rs[0].Redelegation.Entries[0].CompletionTime != done {
		t.Fatalf("redelegations %+v", rs)
	}
	c.block(done - c.s.Time())
	if len(c.s.Redelegations(addr(3), nil, nil)) != 0 {
		t.Fatal("redelegation kept after completion")
	}
	if _, err := c.s.Redelegate(c.bank, addr(3), addr(1), addr(2), 100); err != nil {
		t.Fatalf("redelegation after completion: %v", err)
	}
	c.block(1)
}

func TestBeginBlockOrder(t *testing.T) {
	c := newChain(t, testParams(), 1, 10_000)
	c.block(5)
	c.refused("same height", func() error {
		return c.s.BeginBlock(c.bank, staking.BeginBlockInput{Height: c.s.Height(), Time: c.s.Time() + 1})
	})
	c.refused("time going back", func() error {
		return c.s.BeginBlock(c.bank, staking.BeginBlockInput{Height: c.s.Height() + 1, Time: c.s.Time() - 1})
	})
	err := c.s.BeginBlock(c.bank, staking.BeginBlockInput{Height: c.s.Height() + 2, Time: c.s.Time()})
	if !errors.Is(err, staking.ErrBlock) {
		t.Fatalf("skipped height: %v", err)
	}
}

// TestRewardsSplit checks a hand-computed distribution. Validator 0 has
// 1000 tokens of its operator and 3000 of delegator 2, commission 10%;
// validator 1 has its operator's 1000, commission 0. Both sign a block
// with 1000 in fees: validator 0 gets 1000×4000/5000 = 800, of which 80 is
// commission and 720 is shared 1:3 (180 to its operator, 540 to delegator
// 2); validator 1 gets 200, all to its operator.
func TestRewardsSplit(t *testing.T) {
	c := newChain(t, testParams(), 3, 10_000)
	c.createValidator(0, 1000, "0.1")
	c.createValidator(1, 1000, "0")
	if err := c.s.Delegate(c.bank, addr(2), addr(0), 3000); err != nil {
		t.Fatal(err)
	}
	c.block(5) // the set is chosen
	c.block(5) // first commit of the set
	c.fees = 1000
	c.block(5) // distributes the fees of this block to the last commit's signers
	c.fees = 0
	want := map[[2]int]uint64{{2, 0}: 540, {0, 0}: 180, {1, 1}: 200}
	for k, w := range want {
		r, ok := c.s.Rewards(addr(k[0]), addr(k[1]))
		if !ok || !r.Equal(staking.NewDec(w)) {
			t.Fatalf("rewards of %d from %d: %s, want %d", k[0], k[1], r, w)
		}
		before := c.bank.Balance(addr(k[0]))
		paid, err := c.s.WithdrawRewards(c.bank, addr(k[0]), addr(k[1]))
		if err != nil || paid != w || c.bank.Balance(addr(k[0])) != before+w {
			t.Fatalf("withdraw of %d from %d: %d, %v", k[0], k[1], paid, err)
		}
	}
	if comm, _ := c.s.Commission(addr(0)); !comm.Equal(staking.NewDec(80)) {
		t.Fatalf("commission %s, want 80", comm)
	}
	if paid, err := c.s.WithdrawCommission(c.bank, addr(0)); err != nil || paid != 80 {
		t.Fatalf("commission withdrawn %d, %v", paid, err)
	}
	if r, _ := c.s.Rewards(addr(2), addr(0)); !r.IsZero() {
		t.Fatalf("rewards %s after withdrawal", r)
	}
	c.check()
	c.refused("withdraw without delegation", func() error { _, err := c.s.WithdrawRewards(c.bank, addr(2), addr(1)); return err })
}

// TestRewardsFollowStakeChanges: a delegator joining later earns only
// from then on, and a delegation change withdraws what was owed.
func TestRewardsFollowStakeChanges(t *testing.T) {
	c := newChain(t, testParams(), 3, 10_000)
	c.createValidator(0, 1000, "0")
	c.block(5)
	c.fees = 100
	c.block(5) // 100 to validator 0, all to its operator
	c.fees = 0
	if err := c.s.Delegate(c.bank, addr(1), addr(0), 1000); err != nil {
		t.Fatal(err)
	}
	c.fees = 100
	c.block(5) // 50 each
	c.fees = 0
	before := c.bank.Balance(addr(1))
	if err := c.s.Delegate(c.bank, addr(1), addr(0), 1000); err != nil {
		t.Fatal(err)
	}
	if got := c.bank.Balance(addr(1)); got != before-1000+50 {
		t.Fatalf("delegating again paid %d, want 50", int64(got)-int64(before-1000))
	}
	if r, _ := c.s.Rewards(addr(0), addr(0)); !r.Equal(staking.NewDec(150)) {
		t.Fatalf("operator rewards %s, want 150", r)
	}
}

func TestCancelUnbonding(t *testing.T) {
	c := newChain(t, testParams(), 3, 10_000)
	c.createValidator(0, 1000, "0")
	if err := c.s.Delegate(c.bank, addr(1), addr(0), 600); err != nil {
		t.Fatal(err)
	}
	c.block(5)
	if _, err := c.s.Undelegate(c.bank, addr(1), addr(0), 500); err != nil {
		t.Fatal(err)
	}
	h := c.s.Height()
	c.block(5)
	cancel := func(amount uint64, height int64) func() error {
		return func() error { return c.s.CancelUnbonding(c.bank, addr(1), addr(0), amount, height) }
	}
	c.refused("no entry at that height", cancel(100, h+1))
	c.refused("more than the entry", cancel(501, h))
	c.refused("zero", cancel(0, h))
	c.refused("no unbonding", func() error { return c.s.CancelUnbonding(c.bank, addr(2), addr(0), 1, h) })
	if err := cancel(200, h)(); err != nil {
		t.Fatal(err)
	}
	if d, _ := c.s.Delegation(addr(1), addr(0)); d.Balance != 300 {
		t.Fatalf("delegation %d after cancelling 200, want 300", d.Balance)
	}
	if ub, _ := c.s.Unbonding(addr(1), addr(0)); ub.Entries[0].Balance != 300 {
		t.Fatalf("entry %+v", ub.Entries)
	}
	if pw, _ := powerOf(c.block(5), consKey(0)); pw != 1300 {
		t.Fatalf("power %d, want 1300", pw)
	}
	if err := cancel(300, h)(); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.s.Unbonding(addr(1), addr(0)); ok {
		t.Fatal("emptied unbonding kept")
	}
	c.block(2000) // the stale queue entry matures harmlessly
	if d, _ := c.s.Delegation(addr(1), addr(0)); d.Balance != 600 {
		t.Fatalf("delegation %d, want 600", d.Balance)
	}
}

// TestHostileBlockInput: odd votes and evidence (unknown validators,
// negative or huge powers, duplicates, future heights) neither panic nor
// break the bookkeeping.
func TestHostileBlockInput(t *testing.T) {
	c := newChain(t, testParams(), 3, 10_000)
	c.createValidator(0, 1000, "0.1")
	c.createValidator(1, 1000, "0")
	c.block(5)
	ca0, ca1 := staking.ConsAddressOf(consKey(0)), staking.ConsAddressOf(consKey(1))
	in := staking.BeginBlockInput{Height: c.s.Height() + 1, Time: c.s.Time() + 5, Fees: 1001,
		Votes: []staking.Vote{
			{Address: ca0, Power: 1 << 62, Signed: true}, {Address: ca0, Power: 1 << 62, Signed: true},
			{Address: ca1, Power: -5, Signed: true}, {Address: staking.ConsAddress{9}, Power: 100, Signed: true},
		},
		Evidence: []staking.Evidence{
			{Address: ca1, Height: c.s.Height() + 5, Power: 1000}, {Address: ca1, Height: 1, Power: -1},
			{Address: staking.ConsAddress{9}, Height: 1, Power: 10},
		},
	}
	c.supply += 1001
	if err := c.s.BeginBlock(c.bank, in); err != nil {
		t.Fatal(err)
	}
	c.s.EndBlock(c.bank)
	c.check()
	if c.val(1).Jailed || c.s.Pools().Burned != 0 {
		t.Fatal("bad evidence acted on")
	}
	if r, _ := c.s.Rewards(addr(0), addr(0)); !r.Equal(staking.MustParseDec("900.9")) {
		t.Fatalf("validator 0 rewards %s, want 900.9 (all fees, less 10%%)", r)
	}
}
