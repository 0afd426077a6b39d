package staking_test

import (
	"bytes"
	"testing"

	"github.com/datamesh/mesh-node/core/staking"
	"github.com/datamesh/mesh-node/core/tx"
)

const genesisTime = 1_700_000_000

func addr(i int) tx.Address {
	var a tx.Address
	a[0], a[1], a[19] = 0xA0, byte(i>>8), byte(i)
	return a
}

func consKey(i int) []byte {
	k := make([]byte, staking.ConsPubKeySize)
	k[0], k[1], k[31] = 0xC0, byte(i>>8), byte(i)
	return k
}

func testParams() staking.Params {
	p := staking.DefaultParams()
	p.PowerReduction = 1
	p.UnbondingTime = 1000
	p.MaxValidators = 4
	p.MinSelfBond = 100
	p.SignedBlocksWindow = 10
	p.DowntimeJailDuration = 600
	p.SlashFractionDowntime = staking.MustParseDec("0.01")
	return p
}

// chain drives a State the way the application will: a bank holding the
// liquid supply and one BeginBlock/EndBlock pair per block.
type chain struct {
	t      testing.TB
	s      *staking.State
	bank   *staking.MemBank
	supply uint64
	// missing lists consensus addresses whose votes are absent.
	missing map[staking.ConsAddress]bool
	fees    uint64
}

func newChain(t testing.TB, p staking.Params, accounts int, each uint64) *chain {
	t.Helper()
	s, err := staking.New(p, genesisTime)
	if err != nil {
		t.Fatal(err)
	}
	c := &chain{t: t, s: s, bank: staking.NewMemBank(), missing: map[staking.ConsAddress]bool{}}
	for i := 0; i < accounts; i++ {
		c.bank.Add(addr(i), each)
		c.supply += each
	}
	return c
}

func (c *chain) createValidator(i int, selfBond uint64, rate string) {
	c.t.Helper()
	err := c.s.CreateValidator(c.bank, staking.CreateValidatorMsg{
		Operator: addr(i), ConsPubKey: consKey(i), Moniker: "v", SelfBond: selfBond,
		Rate: staking.MustParseDec(rate), MaxRate: staking.MustParseDec("0.5"), MaxChangeRate: staking.MustParseDec("0.1"),
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

// votes returns the last commit: every bonded validator, signed unless
// missing.
func (c *chain) votes() []staking.Vote {
	var out []staking.Vote
	for _, v := range c.s.Validators() {
		if v.Status == staking.Bonded {
			ca := v.ConsAddress()
			out = append(out, staking.Vote{Address: ca, Power: c.s.Params().Power(v.Tokens), Signed: !c.missing[ca]})
		}
	}
	return out
}

// block runs one block dt seconds after the last with evidence ev and
// returns the validator updates. The block's fees (c.fees) stand for fees
// the application took from payers outside this test's bank, so they add
// to the supply the invariants expect.
func (c *chain) block(dt int64, ev ...staking.Evidence) []staking.ValidatorUpdate {
	c.t.Helper()
	in := staking.BeginBlockInput{Height: c.s.Height() + 1, Time: c.s.Time() + dt, Fees: c.fees, Votes: c.votes(), Evidence: ev}
	c.supply += c.fees + c.s.Params().InflationPerBlock
	if err := c.s.BeginBlock(c.bank, in); err != nil {
		c.t.Fatal(err)
	}
	up := c.s.EndBlock(c.bank)
	c.check()
	return up
}

func (c *chain) check() {
	c.t.Helper()
	if err := c.s.Invariants(c.bank.Total(), c.supply); err != nil {
		c.t.Fatalf("height %d: %v", c.s.Height(), err)
	}
}

func (c *chain) val(i int) staking.Validator {
	c.t.Helper()
	v, ok := c.s.Validator(addr(i))
	if !ok {
		c.t.Fatalf("validator %d missing", i)
	}
	return v
}

// snapshot is the state's serialization plus every balance, to check that
// a refused operation changed nothing.
func (c *chain) snapshot() []byte {
	var b bytes.Buffer
	for _, kv := range c.s.Entries() {
		b.Write(kv.Key)
		b.Write(kv.Value)
	}
	for _, a := range c.bank.Accounts() {
		b.Write(a[:])
		bal := c.bank.Balance(a)
		for i := 0; i < 8; i++ {
			b.WriteByte(byte(bal >> (8 * i)))
		}
	}
	return b.Bytes()
}

// refused runs op, wants an error, and wants nothing changed.
func (c *chain) refused(name string, op func() error) {
	c.t.Helper()
	before := c.snapshot()
	if err := op(); err == nil {
		c.t.Fatalf("%s: accepted", name)
	}
	if !bytes.Equal(before, c.snapshot()) {
		c.t.Fatalf("%s: refused but changed the state", name)
	}
}

func powerOf(up []staking.ValidatorUpdate, key []byte) (int64, bool) {
	for _, u := range up {
		if bytes.Equal(u.PubKey, key) {
			return u.Power, true
		}
	}
	return 0, false
}
