package validator_test

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/staking"
	"github.com/datamesh/mesh-node/core/validator"
)

// A proof-of-stake Testnet: each validator's dev key operates it with an
// equal self-bond and the genesis commission, CometBFT's genesis gives
// each the power of its stake, and the staking params are the ones asked
// for (NetworkStakingParams by default).
func TestTestnetPoS(t *testing.T) {
	params := validator.NetworkStakingParams()
	params.MaxValidators = 7
	dir := filepath.Join(t.TempDir(), "net")
	nodes, err := validator.Testnet(dir, validator.TestnetOptions{Validators: 3, ChainID: "tn-pos", BlockTime: time.Second,
		BasePort: 40000, Balance: 5e9, StakeOptions: validator.StakeOptions{Consensus: app.ConsensusPoS, Staking: &params, SelfBond: 2e9}})
	if err != nil {
		t.Fatal(err)
	}
	doc, g := readGenesis(t, nodes[0].Home)
	if !g.IsPoS() || !sameJSON(g.Staking.Params, params) || len(g.Staking.Validators) != 3 {
		t.Fatalf("staking genesis %+v", g.Staking)
	}
	for i, v := range g.Staking.Validators {
		if v.Operator != nodes[i].Account || v.SelfBond != 2e9 || v.CommissionRate.Cmp(validator.GenesisCommissionRate) != 0 ||
			v.CommissionMaxRate.Cmp(validator.GenesisCommissionMaxRate) != 0 {
			t.Errorf("staking validator %d: %+v", i, v)
		}
		if string(doc.Validators[i].PubKey.Bytes()) != string(v.PubKey) || doc.Validators[i].Power != 2000 {
			t.Errorf("CometBFT validator %d: %X power %d, want %X power 2000", i, doc.Validators[i].PubKey.Bytes(), doc.Validators[i].Power, v.PubKey)
		}
	}
	for i, a := range g.Accounts {
		if a.Address != nodes[i].Account || a.Balance != 5e9 {
			t.Errorf("account %d: %+v", i, a)
		}
	}

	// The defaults: NetworkStakingParams and DefaultSelfBond.
	dir = filepath.Join(t.TempDir(), "net")
	nodes, err = validator.Testnet(dir, validator.TestnetOptions{Validators: 2, ChainID: "tn-pos", BlockTime: time.Second,
		BasePort: 40000, Balance: 5e9, StakeOptions: validator.StakeOptions{Consensus: app.ConsensusPoS}})
	if err != nil {
		t.Fatal(err)
	}
	doc, g = readGenesis(t, nodes[1].Home)
	if !sameJSON(g.Staking.Params, validator.NetworkStakingParams()) || g.Staking.Params.UnbondingTime != 60 ||
		g.Staking.Validators[1].SelfBond != validator.DefaultSelfBond || doc.Validators[1].Power != validator.DefaultSelfBond/1e6 {
		t.Fatalf("defaults: params %+v, validator %+v, power %d", g.Staking.Params, g.Staking.Validators[1], doc.Validators[1].Power)
	}

	for _, bad := range []validator.StakeOptions{
		{Consensus: "pow"},
		{Consensus: app.ConsensusPoS, SelfBond: 6e9},              // more than the balance
		{Consensus: app.ConsensusPoS, SelfBond: 1},                // no power
		{Consensus: app.ConsensusPoS, Staking: &staking.Params{}}, // invalid params
	} {
		if _, err := validator.Testnet(filepath.Join(t.TempDir(), "net"), validator.TestnetOptions{Validators: 2, ChainID: "tn-pos",
			BlockTime: time.Second, BasePort: 40000, Balance: 5e9, StakeOptions: bad}); err == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}

// A proof-of-stake Init: the dev account bonds the one validator's stake.
func TestInitPoS(t *testing.T) {
	home := t.TempDir()
	dev, err := validator.Init(home, validator.InitOptions{ChainID: "one-pos", Moniker: "m", BlockTime: time.Second, DevBalance: 3e9,
		StakeOptions: validator.StakeOptions{Consensus: app.ConsensusPoS}})
	if err != nil {
		t.Fatal(err)
	}
	doc, g := readGenesis(t, home)
	if !g.IsPoS() || len(g.Staking.Validators) != 1 || g.Staking.Validators[0].Operator != dev ||
		string(g.Staking.Validators[0].PubKey) != string(doc.Validators[0].PubKey.Bytes()) || doc.Validators[0].Power != 1000 {
		t.Fatalf("genesis %+v, CometBFT validators %+v", g.Staking, doc.Validators)
	}
}

func readGenesis(t *testing.T, home string) (*cmttypes.GenesisDoc, *app.Genesis) {
	t.Helper()
	data, err := validator.ReadGenesisFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, g, err := validator.ParseGenesisDoc(data)
	if err != nil {
		t.Fatal(err)
	}
	return doc, g
}

// sameJSON reports whether a and b encode alike (staking.Dec holds a
// pointer, so == compares identity).
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
