package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/validator"
)

// The staking commands against a real proof-of-stake network: delegate
// shows in query staking delegation, create-validator in query staking
// validators; bad flags are refused before anything is sent, and a
// proof-of-authority chain refuses staking.
func TestTxStaking(t *testing.T) {
	if testing.Short() {
		t.Skip("runs CometBFT nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	home := t.TempDir()
	alice, err := validator.Keyring(home).Add("alice")
	if err != nil {
		t.Fatal(err)
	}
	vals := coretest.NewValidators(t, 1)
	g := coretest.PoSGenesis(t, "cli-stake", coretest.StakingParams(), 1e9, vals)
	g.Accounts = append(g.Accounts, app.GenesisAccount{Address: alice.Address, Balance: 1e12})
	coretest.WriteGenesis(t, g, vals...)
	vals[0].Start(coretest.CheckInvariants(t))
	coretest.WaitHeight(ctx, t, vals[0].Client(), 1)
	h, node := "--home="+home, "--node="+vals[0].RPCAddr
	_, op := coretest.OperatorKey(t, 0)

	wantErr(ctx, t, "--validator", "tx", "staking", "delegate", h, node, "--from", "alice", "--validator", "cosmos1xyz", "--amount", "5")
	wantErr(ctx, t, "--commission-rate", "tx", "staking", "create-validator", h, node, "--from", "alice", "--self-bond", "1",
		"--pubkey", base64.StdEncoding.EncodeToString(make([]byte, 32)), "--commission-rate", "1.5")

	out := mustRun(ctx, t, "tx", "staking", "delegate", h, node, "--from", "alice", "--validator", op.String(), "--amount", "300000000")
	if field(t, out, "height") == "" {
		t.Fatalf("delegate printed %q", out)
	}
	out = mustRun(ctx, t, "query", "staking", "delegation", h, node, "--delegator", "alice", "--validator", op.String(), "-o", "json")
	var d tx.QueryDelegationResponse
	if err := json.Unmarshal([]byte(out), &d); err != nil || d.DelegationResponse == nil || d.DelegationResponse.Balance.Amount != "300000000" {
		t.Fatalf("query staking delegation: %s (%v)", out, err)
	}
	out = mustRun(ctx, t, "query", "staking", "delegation", node, "--delegator", alice.Address.String(), "--validator", op.String())
	if field(t, out, "balance") != "300000000umesh" {
		t.Fatalf("query staking delegation (text): %q", out)
	}

	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	mustRun(ctx, t, "tx", "staking", "create-validator", h, node, "--from", "alice", "--self-bond", "2000000",
		"--pubkey", base64.StdEncoding.EncodeToString(pub), "--moniker", "alice", "--commission-rate", "0.05")
	out = mustRun(ctx, t, "query", "staking", "validators", node, "-o", "json")
	var vs tx.QueryValidatorsResponse
	if err := json.Unmarshal([]byte(out), &vs); err != nil || len(vs.Validators) != 2 {
		t.Fatalf("query staking validators: %s (%v)", out, err)
	}
	var found bool
	for _, v := range vs.Validators {
		if v.OperatorAddress == alice.Address.String() {
			found = v.Description.Moniker == "alice" && v.Tokens == "2000000" && v.Commission.CommissionRates.Rate == "0.050000000000000000"
		}
	}
	if !found {
		t.Fatalf("alice's validator is not among %s", out)
	}
	mustRun(ctx, t, "tx", "distribution", "withdraw-rewards", h, node, "--from", "alice", "--commission")
	out = mustRun(ctx, t, "query", "distribution", "rewards", h, node, "--delegator", "alice", "--validator", op.String(), "-o", "json")
	var rw tx.QueryDelegationRewardsResponse
	if err := json.Unmarshal([]byte(out), &rw); err != nil || len(rw.Rewards) != 1 {
		t.Fatalf("query distribution rewards: %s (%v)", out, err)
	}

	poa := initCore(ctx, t, "cli-poa")
	wantErr(ctx, t, "proof of authority", "tx", "staking", "delegate", poa.h, poa.node, "--from", "dev", "--validator", op.String(), "--amount", "5")
	wantErr(ctx, t, "proof of authority", "query", "staking", "validators", poa.node)
}
