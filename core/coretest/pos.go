package coretest

import (
	"context"
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/secp256k1"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/staking"
	"github.com/datamesh/mesh-node/core/tx"
)

// Proof-of-stake networks: validators with stake instead of power.

// OperatorKey returns the key and address of the operator account of
// validator i of a PoSGenesis (Key(t, "operator<i>")).
func OperatorKey(t testing.TB, i int) (secp256k1.PrivKey, tx.Address) {
	t.Helper()
	return Key(t, fmt.Sprint("operator", i))
}

// StakingParams returns staking parameters for test networks: a power
// reduction of 1e6, 5 s of unbonding, a window of 10 blocks, 4 validators
// at most, a 10 s downtime jail, 1% slashed for downtime, a minimum
// self-bond of 1e6.
func StakingParams() staking.Params {
	p := app.DefaultStakingParams()
	p.UnbondingTime = 5
	p.SignedBlocksWindow = 10
	p.MaxValidators = 4
	p.DowntimeJailDuration = 10
	p.SlashFractionDowntime = staking.MustParseDec("0.01")
	p.MinSelfBond = 1e6
	return p
}

// PoSGenesis returns a proof-of-stake genesis of chainID with params in
// which the operator of each of vals (OperatorKey(t, i)) holds 1e12 and
// self-bonds selfBond with 10% commission, and each of keys' addresses
// holds 1e12. Write it with WriteGenesis(t, g, vals...): CometBFT's
// validators get their staking power.
func PoSGenesis(t testing.TB, chainID string, params staking.Params, selfBond uint64, vals []*Validator, keys ...string) *app.Genesis {
	t.Helper()
	g := &app.Genesis{ChainID: chainID, Params: tx.DefaultParams(), Consensus: app.ConsensusPoS, Staking: &app.StakingGenesis{Params: params}}
	for i, v := range vals {
		_, op := OperatorKey(t, i)
		pk, err := v.PV.GetPubKey()
		if err != nil {
			t.Fatal(err)
		}
		g.Accounts = append(g.Accounts, app.GenesisAccount{Address: op, Balance: 1e12})
		g.Staking.Validators = append(g.Staking.Validators, app.GenesisStakeValidator{Operator: op, PubKey: pk.Bytes(), SelfBond: selfBond,
			Moniker: fmt.Sprint("v", i), CommissionRate: staking.MustParseDec("0.1"), CommissionMaxRate: staking.MustParseDec("0.2"),
			CommissionMaxChangeRate: staking.MustParseDec("0.01")})
	}
	for _, k := range keys {
		_, a := Key(t, k)
		g.Accounts = append(g.Accounts, app.GenesisAccount{Address: a, Balance: 1e12})
	}
	return g
}

// StartPoSNetwork makes n validator homes peered with each other, writes
// PoSGenesis(t, chainID, params, selfBond, vals, keys...) into them and
// starts them with CheckInvariants.
func StartPoSNetwork(t testing.TB, chainID string, params staking.Params, selfBond uint64, n int, keys ...string) ([]*Validator, *app.Genesis) {
	t.Helper()
	vals := NewValidators(t, n)
	g := PoSGenesis(t, chainID, params, selfBond, vals, keys...)
	WriteGenesis(t, g, vals...)
	for _, v := range vals {
		v.Start(CheckInvariants(t))
	}
	return vals, g
}

// CheckInvariants returns a wrap for Start whose application checks the
// staking invariants (app.App.CheckInvariants) after every Commit; a
// broken one fails t and the Commit (halting the node).
func CheckInvariants(t testing.TB) func(*app.App) abci.Application {
	return func(a *app.App) abci.Application { return invariantChecker{App: a, t: t} }
}

type invariantChecker struct {
	*app.App
	t testing.TB
}

func (c invariantChecker) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	res, err := c.App.Commit(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := c.App.CheckInvariants(); err != nil {
		c.t.Errorf("invariants: %v", err)
		return nil, err
	}
	return res, nil
}
