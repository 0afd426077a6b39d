package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/state"
	"github.com/datamesh/mesh-node/state/keyring"
)

// aliceKeyring returns a new keyring holding the key "alice".
func aliceKeyring(t *testing.T) (keyring.Keyring, keyring.Key) {
	t.Helper()
	kr := keyring.New(t.TempDir())
	alice, err := kr.Add("alice")
	if err != nil {
		t.Fatal(err)
	}
	return kr, alice
}

// stateServer serves the state module of a state.Client of the node at
// rpc, whose default key is key of kr, and returns its URL.
func stateServer(t *testing.T, rpc string, kr keyring.Keyring, key string) string {
	t.Helper()
	sc, err := state.New(state.Options{RPC: rpc, Keyring: kr, DefaultKey: key, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sc.Stop(context.Background()) })
	srv := api.StartServer(t, api.ServerOptions{Secret: testSecret}, api.Modules{State: api.NewStateModule(sc, api.ModuleOptions{})})
	return "http://" + srv.Addr()
}

// celestia-node's staking methods through api/client over JSON-RPC,
// against a state.Client of a real proof-of-stake network: a delegation,
// an undelegation and a redelegation show in the queries, in Cosmos SDK's
// shapes; validators may be named in the valoper form celestia-node's
// client writes.
func TestStateStakingOverRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("runs CometBFT nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kr, alice := aliceKeyring(t)
	vals := coretest.NewValidators(t, 2)
	g := coretest.PoSGenesis(t, "api-stake", coretest.StakingParams(), 1e9, vals)
	g.Accounts = append(g.Accounts, app.GenesisAccount{Address: alice.Address, Balance: 1e12})
	coretest.WriteGenesis(t, g, vals...)
	for _, v := range vals {
		v.Start(coretest.CheckInvariants(t))
	}
	coretest.WaitHeight(ctx, t, vals[0].Client(), 1)
	url := stateServer(t, vals[0].RPCAddr, kr, "alice")
	_, v0 := coretest.OperatorKey(t, 0)
	_, v1 := coretest.OperatorKey(t, 1)

	write := newClient(t, url, token(t, api.PermsFor(api.PermWrite)))
	if _, err := write.State.Delegate(ctx, v0, 3e8, nil); err != nil {
		t.Fatal(err)
	}
	d, err := write.State.QueryDelegation(ctx, v0)
	if err != nil || d.DelegationResponse == nil || d.DelegationResponse.Balance.Amount != "300000000" ||
		d.DelegationResponse.Balance.Denom != tx.Denom || d.DelegationResponse.Delegation.DelegatorAddress != alice.Address.String() {
		t.Fatalf("QueryDelegation: %+v %v", d, err)
	}
	res, err := write.State.Undelegate(ctx, v0, 1e8, &state.TxConfig{GasPrice: 2, IsGasPriceSet: true})
	if err != nil {
		t.Fatal(err)
	}
	u, err := write.State.QueryUnbonding(ctx, v0)
	if err != nil || len(u.Unbond.Entries) != 1 || u.Unbond.Entries[0].CreationHeight != res.Height ||
		u.Unbond.Entries[0].CompletionTime.IsZero() || u.Unbond.Entries[0].Balance != "100000000" {
		t.Fatalf("QueryUnbonding: %+v %v", u, err)
	}
	if _, err := write.State.CancelUnbondingDelegation(ctx, v0, 4e7, state.Int(res.Height), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := write.State.BeginRedelegate(ctx, v0, v1, 5e7, nil); err != nil {
		t.Fatal(err)
	}
	r, err := write.State.QueryRedelegations(ctx, v0, v1)
	if err != nil || len(r.RedelegationResponses) != 1 || len(r.RedelegationResponses[0].Entries) != 1 ||
		r.RedelegationResponses[0].Entries[0].Balance != "50000000" {
		t.Fatalf("QueryRedelegations: %+v %v", r, err)
	}
	if _, err := write.State.WithdrawDelegatorReward(ctx, v0, nil); err != nil {
		t.Fatal(err)
	}
	if rw, err := write.State.QueryDelegationRewards(ctx, v0); err != nil || len(rw.Rewards) != 1 {
		t.Fatalf("QueryDelegationRewards: %+v %v", rw, err)
	}

	// The delegation is 3e8 - 1e8 + 4e7 - 5e7: asked with v0 in
	// celestiavaloper form, as celestia-node's client sends it.
	valoper, err := tx.EncodeBech32("celestiavaloper", v0[:])
	if err != nil {
		t.Fatal(err)
	}
	raw := callHTTP(t, url, token(t, api.PermsFor(api.PermRead)), "state.QueryDelegation", []byte(`["`+valoper+`"]`))
	if raw.Error != nil || !strings.Contains(string(raw.Result), `"balance":{"denom":"umesh","amount":"190000000"}`) {
		t.Fatalf("QueryDelegation by %s: %+v %s", valoper, raw.Error, raw.Result)
	}
	// A read token may query but not delegate.
	read := newClient(t, url, token(t, api.PermsFor(api.PermRead)))
	if _, err := read.State.Delegate(ctx, v0, 1, nil); err == nil || !strings.Contains(err.Error(), "missing permission") {
		t.Fatalf("Delegate with a read token: %v", err)
	}
	if _, err := write.State.Delegate(ctx, v0, 0, nil); err == nil || !strings.Contains(err.Error(), "amount must be positive") {
		t.Fatalf("Delegate of 0: %v", err)
	}
}

// On a proof-of-authority chain the staking methods answer
// state.ErrProofOfAuthority's message; on a node without staking,
// ErrNoStaking's.
func TestStateStakingProofOfAuthority(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kr, alice := aliceKeyring(t)
	g := coretest.Genesis(t, "api-poa", "authority")
	g.Accounts = append(g.Accounts, app.GenesisAccount{Address: alice.Address, Balance: 1e12})
	v := coretest.StartChain(ctx, t, g)
	c := newClient(t, stateServer(t, v.RPCAddr, kr, "alice"), token(t, api.PermsFor(api.PermWrite)))
	var rerr *jsonrpc.JSONRPCError
	if _, err := c.State.QueryDelegation(ctx, alice.Address); !errors.As(err, &rerr) || !strings.HasPrefix(rerr.Message, state.ErrProofOfAuthority.Error()) {
		t.Fatalf("QueryDelegation: %v", err)
	}
	if _, err := c.State.Delegate(ctx, alice.Address, 1, nil); !errors.As(err, &rerr) || rerr.Message != state.ErrProofOfAuthority.Error() {
		t.Fatalf("Delegate: %v", err)
	}

	e := newEnv(t, api.ServerOptions{})
	r := callHTTP(t, e.http, token(t, api.PermsFor(api.PermRead)), "state.QueryUnbonding", []byte(`["`+alice.Address.String()+`"]`))
	if r.Error == nil || r.Error.Message != api.ErrNoStaking.Error() {
		t.Fatalf("QueryUnbonding without staking: %+v", r.Error)
	}
}
