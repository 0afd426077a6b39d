package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/staking"
	"github.com/datamesh/mesh-node/core/tx"
)

// ErrInvalidGenesis is wrapped by every genesis validation error.
var ErrInvalidGenesis = errors.New("app: invalid genesis")

// GenesisValidator is a validator of the initial set.
type GenesisValidator struct {
	PubKey []byte `json:"pub_key"` // ed25519, 32 bytes (base64 in JSON)
	Power  int64  `json:"power"`
}

// GenesisAccount is a funded account.
type GenesisAccount struct {
	Address tx.Address `json:"address"` // bech32 "mesh1..."
	Balance uint64     `json:"balance"`
}

// Genesis is the application's initial state, the app_state of CometBFT's
// genesis document (JSON).
type Genesis struct {
	ChainID    string             `json:"chain_id"`
	Authority  tx.Address         `json:"authority"`
	Validators []GenesisValidator `json:"validators,omitempty"`
	Accounts   []GenesisAccount   `json:"accounts"`
	Params     tx.Params          `json:"params"`
	// EVMAddresses register validators' EVM addresses from the first block,
	// as MsgRegisterEVMAddress does later (the genesis is trusted: no
	// signatures).
	EVMAddresses []GenesisEVMAddress `json:"evm_addresses,omitempty"`
	// Consensus chooses how the validator set is made: ConsensusPoA (the
	// default, also when empty: Validators, changed by the authority's
	// MsgUpdateValidator, fees burned) or ConsensusPoS (Staking: the
	// active set chosen by stake, fees and inflation paid to validators
	// and delegators).
	Consensus string `json:"consensus,omitempty"`
	// Staking is the proof-of-stake genesis, with ConsensusPoS only.
	Staking *StakingGenesis `json:"staking,omitempty"`
}

// The genesis choices of Genesis.Consensus.
const (
	ConsensusPoA = "poa"
	ConsensusPoS = "pos"
)

// IsPoS reports whether g is a proof-of-stake genesis.
func (g *Genesis) IsPoS() bool { return g.Consensus == ConsensusPoS }

// StakingGenesis is the staking part of a proof-of-stake genesis: the
// rules (core/staking's Params; DefaultStakingParams) and the genesis
// validators, each self-bonded from a funded account.
type StakingGenesis struct {
	Params     staking.Params          `json:"params"`
	Validators []GenesisStakeValidator `json:"validators"`
}

// GenesisStakeValidator is a genesis validator of a proof-of-stake chain:
// its operator account (a genesis account holding at least SelfBond), its
// ed25519 consensus key, the stake it bonds and its commission.
type GenesisStakeValidator struct {
	Operator                tx.Address  `json:"operator"`
	PubKey                  []byte      `json:"pub_key"` // ed25519, base64 in JSON
	SelfBond                uint64      `json:"self_bond"`
	Moniker                 string      `json:"moniker,omitempty"`
	CommissionRate          staking.Dec `json:"commission_rate"`
	CommissionMaxRate       staking.Dec `json:"commission_max_rate"`
	CommissionMaxChangeRate staking.Dec `json:"commission_max_change_rate"`
}

// DefaultStakingParams returns core/staking's defaults (21 days of
// unbonding, 100 validators, 5% slashed for a double sign, no inflation).
func DefaultStakingParams() staking.Params { return staking.DefaultParams() }

// genesisStaking builds the staking state of a proof-of-stake genesis at
// genesisTime: each genesis validator is created from its operator's
// balance in accounts (which it changes), then the first EndBlock chooses
// the active set, returned as the initial validators.
func genesisStaking(g *Genesis, accounts map[tx.Address]Account, genesisTime int64) (*staking.State, []GenesisValidator, error) {
	sk, err := staking.New(g.Staking.Params, genesisTime)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidGenesis, err)
	}
	bank := mapBank(accounts)
	for i, v := range g.Staking.Validators {
		err := sk.CreateValidator(bank, staking.CreateValidatorMsg{Operator: v.Operator, ConsPubKey: v.PubKey, Moniker: v.Moniker,
			SelfBond: v.SelfBond, Rate: v.CommissionRate, MaxRate: v.CommissionMaxRate, MaxChangeRate: v.CommissionMaxChangeRate})
		if err != nil {
			return nil, nil, fmt.Errorf("%w: staking validator %d: %w", ErrInvalidGenesis, i, err)
		}
	}
	var vals []GenesisValidator
	for _, u := range sk.EndBlock(bank) {
		vals = append(vals, GenesisValidator{PubKey: u.PubKey, Power: u.Power})
	}
	if len(vals) == 0 {
		return nil, nil, fmt.Errorf("%w: no staking validator has power (self-bond / power_reduction ≥ 1)", ErrInvalidGenesis)
	}
	return sk, vals, nil
}

// GenesisValidatorSet returns the initial validator set of g: its
// Validators on a proof-of-authority chain, the staking active set with
// each validator's power (Params.Power of its self-bond) on a
// proof-of-stake chain. CometBFT's genesis validators must equal it.
func (g *Genesis) GenesisValidatorSet() ([]GenesisValidator, error) {
	if !g.IsPoS() {
		return g.Validators, nil
	}
	accounts := map[tx.Address]Account{}
	for _, a := range g.Accounts {
		accounts[a.Address] = Account{Balance: a.Balance}
	}
	_, vals, err := genesisStaking(g, accounts, 0)
	return vals, err
}

// GenesisEVMAddress is a validator's EVM address at genesis.
type GenesisEVMAddress struct {
	PubKey     []byte             `json:"pub_key"` // ed25519, base64 in JSON
	EVMAddress blobstream.Address `json:"evm_address"`
}

// ParseGenesis decodes genesis JSON strictly (unknown fields are errors) and
// validates it.
func ParseGenesis(data []byte) (*Genesis, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var g Genesis
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidGenesis, err)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return &g, nil
}

// Validate checks the chain ID, the consensus choice, params, validators
// (ed25519 keys, positive power, no duplicates), accounts (no duplicates),
// that the total supply fits a uint64 and, on a proof-of-stake genesis,
// that the staking validators can be created (GenesisValidatorSet).
func (g *Genesis) Validate() error {
	if g.ChainID == "" || len(g.ChainID) > tx.MaxChainIDSize {
		return fmt.Errorf("%w: chain_id of %d bytes, want 1..%d", ErrInvalidGenesis, len(g.ChainID), tx.MaxChainIDSize)
	}
	switch g.Consensus {
	case "", ConsensusPoA:
		if g.Staking != nil {
			return fmt.Errorf("%w: staking set on a proof-of-authority genesis (consensus %q)", ErrInvalidGenesis, g.Consensus)
		}
		if g.Authority == (tx.Address{}) {
			return fmt.Errorf("%w: no authority", ErrInvalidGenesis)
		}
	case ConsensusPoS:
		if g.Staking == nil {
			return fmt.Errorf("%w: consensus %q without staking", ErrInvalidGenesis, g.Consensus)
		}
		if len(g.Validators) > 0 {
			return fmt.Errorf("%w: a proof-of-stake genesis lists validators under staking, not validators", ErrInvalidGenesis)
		}
	default:
		return fmt.Errorf("%w: consensus %q, want %q or %q", ErrInvalidGenesis, g.Consensus, ConsensusPoA, ConsensusPoS)
	}
	if err := g.Params.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidGenesis, err)
	}
	seenVal := map[string]bool{}
	var power int64
	for i, v := range g.Validators {
		if len(v.PubKey) != ed25519.PubKeySize {
			return fmt.Errorf("%w: validator %d: public key is %d bytes, want %d", ErrInvalidGenesis, i, len(v.PubKey), ed25519.PubKeySize)
		}
		if v.Power <= 0 || v.Power > tx.MaxValidatorPower {
			return fmt.Errorf("%w: validator %d: power %d outside 1..%d", ErrInvalidGenesis, i, v.Power, int64(tx.MaxValidatorPower))
		}
		if seenVal[string(v.PubKey)] {
			return fmt.Errorf("%w: validator %d: duplicate key %X", ErrInvalidGenesis, i, v.PubKey)
		}
		seenVal[string(v.PubKey)] = true
		if power > math.MaxInt64/8-v.Power {
			return fmt.Errorf("%w: total validator power overflows", ErrInvalidGenesis)
		}
		power += v.Power
	}
	if g.IsPoS() {
		for _, v := range g.Staking.Validators {
			seenVal[string(v.PubKey)] = true
		}
	}
	seenEVM := map[blobstream.Address]bool{}
	seenKey := map[string]bool{}
	for i, r := range g.EVMAddresses {
		switch {
		case len(r.PubKey) != ed25519.PubKeySize:
			return fmt.Errorf("%w: evm address %d: public key is %d bytes, want %d", ErrInvalidGenesis, i, len(r.PubKey), ed25519.PubKeySize)
		case r.EVMAddress == blobstream.Address{}:
			return fmt.Errorf("%w: evm address %d: zero address", ErrInvalidGenesis, i)
		case seenEVM[r.EVMAddress] || seenKey[string(r.PubKey)]:
			return fmt.Errorf("%w: evm address %d: validator %X or address %s registered twice", ErrInvalidGenesis, i, r.PubKey, r.EVMAddress)
		case len(seenVal) > 0 && !seenVal[string(r.PubKey)]:
			return fmt.Errorf("%w: evm address %d: %X is not a genesis validator", ErrInvalidGenesis, i, r.PubKey)
		}
		seenEVM[r.EVMAddress], seenKey[string(r.PubKey)] = true, true
	}
	seenAcc := map[tx.Address]bool{}
	var supply uint64
	for i, a := range g.Accounts {
		if seenAcc[a.Address] {
			return fmt.Errorf("%w: account %d: duplicate address %s", ErrInvalidGenesis, i, a.Address)
		}
		seenAcc[a.Address] = true
		var carry uint64
		supply, carry = bits.Add64(supply, a.Balance, 0)
		if carry != 0 {
			return fmt.Errorf("%w: total supply overflows uint64 at account %d", ErrInvalidGenesis, i)
		}
	}
	if g.IsPoS() {
		if _, err := g.GenesisValidatorSet(); err != nil {
			return err
		}
	}
	return nil
}
