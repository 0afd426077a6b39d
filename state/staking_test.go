package state_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/state"
	"github.com/datamesh/mesh-node/state/keyring"
)

// posSelfBond is each genesis validator's self-bond in the PoS tests: a
// power of 1000 at the test networks' power reduction of 1e6.
const posSelfBond = 1e9

// posChain is a proof-of-stake network of validators whose genesis funds
// keyring keys, and a client whose default key is the first of them.
type posChain struct {
	vals   []*coretest.Validator
	kr     keyring.Keyring
	keys   map[string]keyring.Key
	client *state.Client
}

// startPoS starts n validators of a proof-of-stake genesis (with
// inflation, so that delegations earn rewards every block) funding the
// keyring keys funded, and a client of validator 0 whose default key is
// funded[0].
func startPoS(ctx context.Context, t *testing.T, n int, funded ...string) *posChain {
	t.Helper()
	kr := keyring.New(t.TempDir())
	params := coretest.StakingParams()
	params.InflationPerBlock = 1e6
	vals := coretest.NewValidators(t, n)
	g := coretest.PoSGenesis(t, chainID, params, posSelfBond, vals)
	keys := map[string]keyring.Key{}
	for _, name := range funded {
		k, err := kr.Add(name)
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = k
		g.Accounts = append(g.Accounts, app.GenesisAccount{Address: k.Address, Balance: genesisBalance})
	}
	coretest.WriteGenesis(t, g, vals...)
	for _, v := range vals {
		v.Start(coretest.CheckInvariants(t))
	}
	coretest.WaitHeight(ctx, t, vals[0].Client(), 1)
	c, err := state.New(state.Options{RPC: vals[0].RPCAddr, Keyring: kr, DefaultKey: funded[0], Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return &posChain{vals: vals, kr: kr, keys: keys, client: c}
}

func operator(t *testing.T, i int) tx.Address {
	_, a := coretest.OperatorKey(t, i)
	return a
}

func balance(ctx context.Context, t *testing.T, c *state.Client, addr tx.Address) uint64 {
	t.Helper()
	b, err := c.BalanceForAddress(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(b.Amount)
}

// wholePart returns the integer part of a decimal such as "12.5000".
func wholePart(t *testing.T, dec string) uint64 {
	t.Helper()
	whole, _, _ := strings.Cut(dec, ".")
	n, err := strconv.ParseUint(whole, 10, 64)
	if err != nil {
		t.Fatalf("decimal %q: %v", dec, err)
	}
	return n
}

// The staking transactions and queries of the client against a real
// proof-of-stake network: each transaction's effect is what the queries
// report afterwards, and tokens return at the end of the unbonding.
func TestStakingClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs CometBFT nodes")
	}
	ctx := ctxFor(t)
	ch := startPoS(ctx, t, 2, "alice")
	c, alice := ch.client, ch.keys["alice"].Address
	v0, v1 := operator(t, 0), operator(t, 1)

	vals, err := c.Validators(ctx)
	if err != nil || len(vals.Validators) != 2 {
		t.Fatalf("validators: %+v %v", vals, err)
	}
	if _, err := c.QueryDelegation(ctx, v0); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("delegation before delegating: %v, want ErrNotFound", err)
	}

	// Delegate: the delegation holds the tokens, the validator has them.
	res, err := c.Delegate(ctx, v0, 5e8, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.QueryDelegation(ctx, v0)
	if err != nil {
		t.Fatal(err)
	}
	if d.DelegationResponse.Balance.Amount != "500000000" || d.DelegationResponse.Delegation.DelegatorAddress != alice.String() ||
		d.DelegationResponse.Delegation.ValidatorAddress != v0.String() {
		t.Fatalf("delegation %+v", d.DelegationResponse)
	}
	v, err := c.Validator(ctx, v0)
	if err != nil || v.Validator.Tokens != "1500000000" || v.Validator.Power != 1500 {
		t.Fatalf("validator after the delegation: %+v %v", v, err)
	}
	if res.Height < 1 {
		t.Fatalf("response %+v", res)
	}

	// Rewards accrue every block (inflation); withdrawing pays at least
	// what was due before it, net of the fee.
	coretest.WaitHeight(ctx, t, ch.vals[0].Client(), res.Height+2)
	rw, err := c.QueryDelegationRewards(ctx, v0)
	if err != nil || len(rw.Rewards) != 1 || wholePart(t, rw.Rewards[0].Amount) == 0 {
		t.Fatalf("rewards: %+v %v", rw, err)
	}
	due := wholePart(t, rw.Rewards[0].Amount)
	before := balance(ctx, t, c, alice)
	wres, err := c.WithdrawDelegatorReward(ctx, v0, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Params(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fee := uint64(wres.GasWanted) * p.MinGasPrice
	if after := balance(ctx, t, c, alice); after+fee < before+due {
		t.Fatalf("balance %d after withdrawing, %d before, fee %d: want at least the %d due", after, before, fee, due)
	}

	// Undelegate: an unbonding entry completing unbonding_time after its
	// block; cancel part of it; the rest returns at completion.
	before = balance(ctx, t, c, alice)
	ures, err := c.Undelegate(ctx, v0, 2e8, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.QueryUnbonding(ctx, v0)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Unbond.Entries) != 1 {
		t.Fatalf("unbonding %+v", u)
	}
	e := u.Unbond.Entries[0]
	hdr, err := ch.vals[0].Client().Header(ctx, &ures.Height)
	if err != nil {
		t.Fatal(err)
	}
	wantDone := hdr.Header.Time.Add(5 * time.Second).Truncate(time.Second)
	if e.CreationHeight != ures.Height || e.InitialBalance != "200000000" || e.Balance != "200000000" ||
		!e.CompletionTime.Equal(wantDone) {
		t.Fatalf("entry %+v, want height %d, 2e8 and completion about %s", e, ures.Height, wantDone)
	}
	if _, err := c.CancelUnbondingDelegation(ctx, v0, 5e7, state.Int(e.CreationHeight), nil); err != nil {
		t.Fatal(err)
	}
	u, err = c.QueryUnbonding(ctx, v0)
	if err != nil || len(u.Unbond.Entries) != 1 || u.Unbond.Entries[0].Balance != "150000000" {
		t.Fatalf("unbonding after cancelling 5e7: %+v %v", u, err)
	}
	if d, err := c.QueryDelegation(ctx, v0); err != nil || d.DelegationResponse.Balance.Amount != "350000000" {
		t.Fatalf("delegation after cancelling: %+v %v", d, err)
	}

	// Redelegate 1e8 from v0 to v1.
	if _, err := c.BeginRedelegate(ctx, v0, v1, 1e8, nil); err != nil {
		t.Fatal(err)
	}
	rd, err := c.QueryRedelegations(ctx, v0, v1)
	if err != nil || len(rd.RedelegationResponses) != 1 || len(rd.RedelegationResponses[0].Entries) != 1 ||
		rd.RedelegationResponses[0].Entries[0].RedelegationEntry.InitialBalance != "100000000" ||
		rd.RedelegationResponses[0].Redelegation.ValidatorDstAddress != v1.String() {
		t.Fatalf("redelegations %+v %v", rd, err)
	}
	if d, err := c.QueryDelegation(ctx, v1); err != nil || d.DelegationResponse.Balance.Amount != "100000000" {
		t.Fatalf("delegation to v1: %+v %v", d, err)
	}

	// The unbonding completes: 1.5e8 is back, less the fees paid since.
	coretest.WaitUntil(ctx, t, "the unbonding completes", func() bool {
		_, err := c.QueryUnbonding(ctx, v0)
		return errors.Is(err, state.ErrNotFound)
	})
	// Rewards paid on the way (each delegation change withdraws them) add
	// at most the 1e6 of inflation a block, far below 1.5e8 in this time.
	if after := balance(ctx, t, c, alice); after < before+15e7-1e6 {
		t.Fatalf("balance %d after the unbonding, %d before: want 1.5e8 more, less three fees", after, before)
	}
}

// A funded account becomes a validator with a fresh consensus key, edits
// it and withdraws its commission; a second create-validator of the same
// operator is refused by the chain.
func TestStakingCreateValidator(t *testing.T) {
	if testing.Short() {
		t.Skip("runs CometBFT nodes")
	}
	ctx := ctxFor(t)
	ch := startPoS(ctx, t, 1, "bob")
	c, bob := ch.client, ch.keys["bob"].Address
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := tx.MsgCreateValidator{PubKey: pub, SelfBond: 2e6, Rate: tx.RateOne / 20, MaxRate: tx.RateOne / 5,
		MaxChangeRate: tx.RateOne / 100, Moniker: "bob"}
	if _, err := c.CreateValidator(ctx, msg, nil); err != nil {
		t.Fatal(err)
	}
	v, err := c.Validator(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if v.Validator.OperatorAddress != bob.String() || string(v.Validator.ConsensusPubKey) != string(pub) ||
		v.Validator.Tokens != "2000000" || v.Validator.Description.Moniker != "bob" ||
		v.Validator.Commission.CommissionRates.Rate != "0.050000000000000000" {
		t.Fatalf("new validator %+v", v.Validator)
	}
	vals, err := c.Validators(ctx)
	if err != nil || len(vals.Validators) != 2 {
		t.Fatalf("validators: %+v %v", vals, err)
	}
	moniker := "robert"
	if _, err := c.EditValidator(ctx, &moniker, nil, nil); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Validator(ctx, bob); err != nil || v.Validator.Description.Moniker != "robert" {
		t.Fatalf("edited validator: %+v %v", v, err)
	}
	if _, err := c.WithdrawValidatorCommission(ctx, nil); err != nil {
		t.Fatal(err)
	}
	msg.PubKey = make([]byte, ed25519.PublicKeySize)
	if _, err := c.CreateValidator(ctx, msg, nil); !errors.Is(err, state.ErrTxFailed) {
		t.Fatalf("second create-validator: %v, want ErrTxFailed", err)
	}
	// Unjail fails in the chain: the validator is not jailed, or (missing
	// every block, it has no node) jailed for less than the jail duration.
	if _, err := c.Unjail(ctx, nil); !errors.Is(err, state.ErrTxFailed) {
		t.Fatalf("unjail of a bonded validator: %v, want ErrTxFailed", err)
	}
}

// On a proof-of-authority chain every staking method fails with
// ErrProofOfAuthority, and nothing is sent.
func TestStakingProofOfAuthority(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx := ctxFor(t)
	ch := startChain(ctx, t, []string{"alice"}, nil)
	v := ch.keys["alice"].Address
	calls := map[string]func() error{
		"Delegate": func() error { _, err := ch.client.Delegate(ctx, v, 1, nil); return err },
		"Unjail":   func() error { _, err := ch.client.Unjail(ctx, nil); return err },
		"QueryDelegation": func() error {
			_, err := ch.client.QueryDelegation(ctx, v)
			return err
		},
		"Validators": func() error { _, err := ch.client.Validators(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, state.ErrProofOfAuthority) {
			t.Errorf("%s: %v, want ErrProofOfAuthority", name, err)
		}
	}
	ch.checkNothingSent(ctx, t, v)
}

// A client without a default key queries accounts it is told, and refuses
// what needs its default key.
func TestNoDefaultKey(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx := ctxFor(t)
	ch := startChain(ctx, t, []string{"alice"}, nil)
	c, err := state.New(state.Options{RPC: ch.v.RPCAddr, Keyring: ch.kr, NoDefaultKey: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if b, err := c.BalanceForAddress(ctx, ch.keys["alice"].Address); err != nil || b.Amount != genesisBalance {
		t.Fatalf("balance: %+v %v", b, err)
	}
	if _, err := c.Balance(ctx); !errors.Is(err, state.ErrNoDefaultKey) {
		t.Fatalf("Balance: %v, want ErrNoDefaultKey", err)
	}
	if _, err := c.Transfer(ctx, ch.keys["alice"].Address, 1, nil); !errors.Is(err, state.ErrNoDefaultKey) {
		t.Fatalf("Transfer: %v, want ErrNoDefaultKey", err)
	}
	if _, err := c.Transfer(ctx, tx.Address{1}, 1, &state.TxConfig{KeyName: "alice"}); err != nil {
		t.Fatalf("Transfer with key_name: %v", err)
	}
}
