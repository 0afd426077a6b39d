package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/staking"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/internal/cowmap"
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
	ChainID   string     `json:"chain_id"`
	Authority tx.Address `json:"authority"`
	Params    tx.Params  `json:"params"`
	// Consensus is Genesis.Consensus: empty on a proof-of-authority chain
	// (so its config, and app hash, are as before staking existed).
	Consensus string `json:"consensus,omitempty"`
	// Supply is the genesis supply of a proof-of-stake chain, which the
	// staking invariants check against (with the minted tokens).
	Supply uint64 `json:"genesis_supply,omitempty"`
}

// State is the application state after a committed block: the genesis
// configuration, the accounts and the validator set. It is a plain value in
// memory; Store persists it. Methods do no I/O.
type State struct {
	Config     Config
	accounts   *cowmap.Map[tx.Address, Account] // shared with clones until written
	validators map[string]int64                 // ed25519 public key -> power
	bs         bsState
	// stake is the staking state of a proof-of-stake chain, nil on a
	// proof-of-authority one; validators then mirror its active set.
	stake *staking.State
	// fees are the fees the last block's transactions paid on a
	// proof-of-stake chain, distributed at the next block's start.
	fees uint64
	// stakeKV caches stake.Entries() (stake.go: stakeEntries).
	stakeKV []staking.KV
	// hash is the app hash once computed, the root of tree (apphash.go).
	hash []byte
	tree *appTree
	// from is the Delta whose apply made s; diff the entries it changed,
	// computed for diffOf. settle drops them.
	from   *Delta
	diff   []entryChange
	diffOf *Delta
}

// NewState returns the state a proof-of-authority genesis describes
// (NewGenesisState at time 0 for any genesis that passed Validate).
func NewState(g *Genesis) *State {
	s, err := NewGenesisState(g, 0)
	if err != nil {
		// Only a proof-of-stake genesis that fails Validate gets here.
		s = newPoAState(g)
	}
	return s
}

// NewGenesisState returns the state a genesis describes, at genesis time
// genesisTime (unix seconds: CometBFT's genesis time, where a
// proof-of-stake chain's staking clock starts). On a proof-of-stake chain
// the genesis validators' self-bonds are taken from their operators'
// balances and the validator set is the staking active set.
func NewGenesisState(g *Genesis, genesisTime int64) (*State, error) {
	if !g.IsPoS() {
		return newPoAState(g), nil
	}
	s := newPoAState(&Genesis{ChainID: g.ChainID, Authority: g.Authority, Params: g.Params, Accounts: g.Accounts})
	s.Config.Consensus = ConsensusPoS
	for _, a := range g.Accounts {
		s.Config.Supply += a.Balance
	}
	accounts := maps.Collect(s.accounts.All())
	sk, vals, err := genesisStaking(g, accounts, genesisTime)
	if err != nil {
		return nil, err
	}
	for a, acc := range accounts {
		s.accounts.Set(a, acc)
	}
	s.stake = sk
	for _, v := range vals {
		s.validators[string(v.PubKey)] = v.Power
	}
	for _, r := range g.EVMAddresses {
		s.bs.evm[string(r.PubKey)] = r.EVMAddress
	}
	if s.attesting() {
		s.addValset(0, attestationChanges{})
	}
	return s, nil
}

func newPoAState(g *Genesis) *State {
	s := &State{
		Config:     Config{ChainID: g.ChainID, Authority: g.Authority, Params: g.Params},
		accounts:   &cowmap.Map[tx.Address, Account]{},
		validators: make(map[string]int64, len(g.Validators)),
		bs:         newBSState(),
	}
	for _, a := range g.Accounts {
		s.accounts.Set(a.Address, Account{Balance: a.Balance})
	}
	for _, v := range g.Validators {
		s.validators[string(v.PubKey)] = v.Power
	}
	for _, r := range g.EVMAddresses {
		s.bs.evm[string(r.PubKey)] = r.EVMAddress
	}
	if s.attesting() {
		s.addValset(0, attestationChanges{})
	}
	return s
}

// Account returns the account at a (the zero Account if it has none).
func (s *State) Account(a tx.Address) Account { return s.accounts.At(a) }

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

// clone copies s, except the staking state, which the caller replaces
// or shares (a State's staking state is never changed in place).
func (s *State) clone() *State {
	return &State{Config: s.Config, accounts: s.accounts.Clone(), validators: maps.Clone(s.validators), bs: s.bs.clone(),
		stake: s.stake, fees: s.fees, stakeKV: s.stakeKV}
}

// Keys of the hashed state, as stored in Badger under statePrefix.
const (
	keyConfig       = "c"
	keyAccountPre   = "a/"
	keyValidatorPre = "v/"
	keyFees         = "f"
	keyStakePre     = "k/"
)

func stakeKey(k []byte) []byte { return append([]byte(keyStakePre), k...) }

func accountKey(a tx.Address) string { return keyAccountPre + string(a[:]) }
func validatorKey(pk []byte) string  { return keyValidatorPre + string(pk) }

// kv is one entry of the hashed state.
type kv struct{ key, value []byte }

// entries returns the state as sorted key/value pairs: the configuration as
// JSON, each account as protobuf {1: balance, 2: nonce, 3: pubkey}, each
// validator's power as a uvarint, Blobstream's entries (attest.go) and, on
// a proof-of-stake chain, the fees to distribute (uvarint) and the staking
// state's entries under "k/".
func (s *State) entries() ([]kv, error) {
	cfg, err := json.Marshal(s.Config)
	if err != nil {
		return nil, fmt.Errorf("app: encode config: %w", err)
	}
	out := make([]kv, 0, 1+s.accounts.Len()+len(s.validators))
	out = append(out, kv{[]byte(keyConfig), cfg})
	for a, acc := range s.accounts.All() {
		out = append(out, kv{[]byte(accountKey(a)), marshalAccount(acc)})
	}
	for pk, p := range s.validators {
		out = append(out, kv{[]byte(validatorKey([]byte(pk))), protowire.AppendVarint(nil, uint64(p))})
	}
	for _, k := range s.bsKeys() {
		v, _, err := s.bsValue(k)
		if err != nil {
			return nil, err
		}
		out = append(out, kv{[]byte(k), v})
	}
	if s.stake != nil {
		out = append(out, kv{[]byte(keyFees), protowire.AppendVarint(nil, s.fees)})
		for _, e := range s.stakeEntries() {
			out = append(out, kv{stakeKey(e.Key), e.Value})
		}
	}
	slices.SortFunc(out, func(x, y kv) int { return bytes.Compare(x.key, y.key) })
	return out, nil
}

// Field numbers of a stored account.
const (
	accountBalanceField = 1
	accountNonceField   = 2
	accountPubKeyField  = 3
)

// marshalAccount encodes a as protobuf {1: balance, 2: nonce, 3: pubkey},
// zero fields omitted.
func marshalAccount(a Account) []byte {
	var out []byte
	if a.Balance != 0 {
		out = protowire.AppendTag(out, accountBalanceField, protowire.VarintType)
		out = protowire.AppendVarint(out, a.Balance)
	}
	if a.Nonce != 0 {
		out = protowire.AppendTag(out, accountNonceField, protowire.VarintType)
		out = protowire.AppendVarint(out, a.Nonce)
	}
	if len(a.PubKey) != 0 {
		out = protowire.AppendTag(out, accountPubKeyField, protowire.BytesType)
		out = protowire.AppendBytes(out, a.PubKey)
	}
	return out
}

// unmarshalAccount decodes what marshalAccount wrote. Unknown fields and
// wire types are errors.
func unmarshalAccount(b []byte) (Account, error) {
	var a Account
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return Account{}, fmt.Errorf("app: account: bad tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == accountBalanceField && typ == protowire.VarintType:
			a.Balance, n = protowire.ConsumeVarint(b)
		case num == accountNonceField && typ == protowire.VarintType:
			a.Nonce, n = protowire.ConsumeVarint(b)
		case num == accountPubKeyField && typ == protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(b)
			a.PubKey = bytes.Clone(v)
		default:
			return Account{}, fmt.Errorf("app: account: unknown field %d of wire type %d", num, typ)
		}
		if n < 0 {
			return Account{}, fmt.Errorf("app: account: field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return a, nil
}

// Delta is a set of changes over a State: what a block, a proposal under
// construction or the mempool has done. Reads fall through to the base. A
// Delta is not safe for concurrent use.
type Delta struct {
	base       *State
	accounts   map[tx.Address]Account
	validators map[string]int64
	evm        map[string]blobstream.Address
	// stake is the staking state as changed by the block or the mempool:
	// a clone of the base's made by the first change (stakeState), nil
	// before.
	stake *staking.State
	// fees are the fees the transactions applied to d paid (on a
	// proof-of-stake chain); feesPaid is set once the block's BeginBlock
	// has distributed the base's.
	fees     uint64
	feesPaid bool
	// bsDirty lists Blobstream's keys the block's end changed (endBlock).
	bsDirty attestationChanges
}

// NewDelta returns an empty Delta over base.
func NewDelta(base *State) *Delta {
	return &Delta{base: base, accounts: map[tx.Address]Account{}, validators: map[string]int64{},
		evm: map[string]blobstream.Address{}, bsDirty: attestationChanges{}}
}

// evmView returns the EVM addresses as changed by d, in a new map.
func (d *Delta) evmView() map[string]blobstream.Address {
	m := maps.Clone(d.base.bs.evm)
	maps.Copy(m, d.evm)
	return m
}

// Config returns the base's configuration.
func (d *Delta) Config() Config { return d.base.Config }

// Account returns a's account as changed by d.
func (d *Delta) Account(a tx.Address) Account {
	if acc, ok := d.accounts[a]; ok {
		return acc
	}
	return d.base.Account(a)
}

func (d *Delta) setAccount(a tx.Address, acc Account) { d.accounts[a] = acc }

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
	s.from = d
	if d.stake != nil {
		s.stake, s.stakeKV = d.stake, nil
	}
	if s.stake != nil {
		if d.feesPaid {
			s.fees = d.fees
		} else {
			s.fees += d.fees
		}
	}
	for a, acc := range d.accounts {
		s.accounts.Set(a, acc)
	}
	maps.Copy(s.bs.evm, d.evm)
	for k, p := range d.validators {
		if p == 0 {
			delete(s.validators, k)
		} else {
			s.validators[k] = p
		}
	}
	return s
}
