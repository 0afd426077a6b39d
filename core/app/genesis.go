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

// Validate checks the chain ID, params, validators (ed25519 keys, positive
// power, no duplicates), accounts (no duplicates) and that the total supply
// fits a uint64.
func (g *Genesis) Validate() error {
	if g.ChainID == "" || len(g.ChainID) > tx.MaxChainIDSize {
		return fmt.Errorf("%w: chain_id of %d bytes, want 1..%d", ErrInvalidGenesis, len(g.ChainID), tx.MaxChainIDSize)
	}
	if g.Authority == (tx.Address{}) {
		return fmt.Errorf("%w: no authority", ErrInvalidGenesis)
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
		case len(g.Validators) > 0 && !seenVal[string(r.PubKey)]:
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
	return nil
}
