package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/merkle"
)

// Account is the state of an address.
type Account struct {
	Balance uint64
	// Nonce is the account sequence: the number of transactions the account
	// has had executed. The next transaction must carry it.
	Nonce uint64
	// PubKey is set by the account's first transaction.
	PubKey []byte
}

// Config is the part of the state fixed at genesis.
type Config struct {
	ChainID   string  `json:"chain_id"`
	Authority Address `json:"authority"`
	Params    Params  `json:"params"`
}

// State is the application state after a committed block: the genesis
// configuration, the accounts and the validator set. It is a plain value in
// memory; Store persists it. Methods do no I/O.
type State struct {
	Config     Config
	accounts   map[Address]Account
	validators map[string]int64 // ed25519 public key -> power
}

// NewState returns the state a genesis describes. validators, when not
// empty, replace g.Validators (CometBFT's genesis validators win).
func NewState(g *Genesis) *State {
	s := &State{
		Config:     Config{ChainID: g.ChainID, Authority: g.Authority, Params: g.Params},
		accounts:   make(map[Address]Account, len(g.Accounts)),
		validators: make(map[string]int64, len(g.Validators)),
	}
	for _, a := range g.Accounts {
		s.accounts[a.Address] = Account{Balance: a.Balance}
	}
	for _, v := range g.Validators {
		s.validators[string(v.PubKey)] = v.Power
	}
	return s
}

// Account returns the account at a (the zero Account if it has none).
func (s *State) Account(a Address) Account { return s.accounts[a] }

// ValidatorPower returns the power of the validator with ed25519 key pk, 0
// if it is not a validator.
func (s *State) ValidatorPower(pk []byte) int64 { return s.validators[string(pk)] }

// Validators returns the validator set, sorted by key.
func (s *State) Validators() []GenesisValidator {
	out := make([]GenesisValidator, 0, len(s.validators))
	for _, k := range slices.Sorted(maps.Keys(s.validators)) {
		out = append(out, GenesisValidator{PubKey: []byte(k), Power: s.validators[k]})
	}
	return out
}

func (s *State) clone() *State {
	return &State{Config: s.Config, accounts: maps.Clone(s.accounts), validators: maps.Clone(s.validators)}
}

// Keys of the hashed state, as stored in Badger under statePrefix.
const (
	keyConfig       = "c"
	keyAccountPre   = "a/"
	keyValidatorPre = "v/"
)

func accountKey(a Address) string   { return keyAccountPre + string(a[:]) }
func validatorKey(pk []byte) string { return keyValidatorPre + string(pk) }

// kv is one entry of the hashed state.
type kv struct{ key, value []byte }

// entries returns the state as sorted key/value pairs: the configuration as
// JSON, each account as protobuf {1: balance, 2: nonce, 3: pubkey}, each
// validator's power as a uvarint.
func (s *State) entries() ([]kv, error) {
	cfg, err := json.Marshal(s.Config)
	if err != nil {
		return nil, fmt.Errorf("app: encode config: %w", err)
	}
	out := make([]kv, 0, 1+len(s.accounts)+len(s.validators))
	out = append(out, kv{[]byte(keyConfig), cfg})
	for a, acc := range s.accounts {
		out = append(out, kv{[]byte(accountKey(a)), marshalAccount(acc)})
	}
	for pk, p := range s.validators {
		out = append(out, kv{[]byte(validatorKey([]byte(pk))), protowire.AppendVarint(nil, uint64(p))})
	}
	slices.SortFunc(out, func(x, y kv) int { return bytes.Compare(x.key, y.key) })
	return out, nil
}

// Hash is the app hash: the RFC 6962 Merkle root (merkle.HashFromByteSlices)
// over the state's entries in key order, each leaf uvarint(len(key)) || key
// || value. It is recomputed from all entries, O(n log n) per block.
func (s *State) Hash() ([]byte, error) {
	es, err := s.entries()
	if err != nil {
		return nil, err
	}
	leaves := make([][]byte, len(es))
	for i, e := range es {
		leaf := protowire.AppendVarint(make([]byte, 0, 2+len(e.key)+len(e.value)), uint64(len(e.key)))
		leaves[i] = append(append(leaf, e.key...), e.value...)
	}
	return merkle.HashFromByteSlices(leaves), nil
}

func marshalAccount(a Account) []byte {
	var out []byte
	out = appendVarint(out, 1, a.Balance)
	out = appendVarint(out, 2, a.Nonce)
	return appendBytes(out, 3, a.PubKey)
}

func unmarshalAccount(b []byte) (Account, error) {
	var a Account
	err := walkFields(b, func(f field) error {
		switch {
		case f.num == 1 && f.typ == protowire.VarintType:
			a.Balance = f.x
		case f.num == 2 && f.typ == protowire.VarintType:
			a.Nonce = f.x
		case f.num == 3 && f.typ == protowire.BytesType:
			a.PubKey = bytes.Clone(f.v)
		default:
			return unknownField("account", f)
		}
		return nil
	})
	return a, err
}

// Delta is a set of changes over a State: what a block, a proposal under
// construction or the mempool has done. Reads fall through to the base. A
// Delta is not safe for concurrent use.
type Delta struct {
	base       *State
	accounts   map[Address]Account
	validators map[string]int64
}

// NewDelta returns an empty Delta over base.
func NewDelta(base *State) *Delta {
	return &Delta{base: base, accounts: map[Address]Account{}, validators: map[string]int64{}}
}

// Config returns the base's configuration.
func (d *Delta) Config() Config { return d.base.Config }

// Account returns a's account as changed by d.
func (d *Delta) Account(a Address) Account {
	if acc, ok := d.accounts[a]; ok {
		return acc
	}
	return d.base.Account(a)
}

func (d *Delta) setAccount(a Address, acc Account) { d.accounts[a] = acc }

// ValidatorPower returns the power of pk as changed by d.
func (d *Delta) ValidatorPower(pk []byte) int64 {
	if p, ok := d.validators[string(pk)]; ok {
		return p
	}
	return d.base.ValidatorPower(pk)
}

// totalPower returns the validator set's total power as changed by d.
func (d *Delta) totalPower() int64 {
	var total int64
	for k, p := range d.base.validators {
		if _, changed := d.validators[k]; !changed {
			total += p
		}
	}
	for _, p := range d.validators {
		total += p
	}
	return total
}

func (d *Delta) setValidator(pk []byte, power int64) { d.validators[string(pk)] = power }

// apply returns a new State: the base with d's changes. The base is not
// modified.
func (d *Delta) apply() *State {
	s := d.base.clone()
	maps.Copy(s.accounts, d.accounts)
	for k, p := range d.validators {
		if p == 0 {
			delete(s.validators, k)
		} else {
			s.validators[k] = p
		}
	}
	return s
}
