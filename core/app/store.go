package app

import (
	"github.com/datamesh/mesh-node/core/staking"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/internal/cowmap"

	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/encoding/protowire"
)

// Badger layout. The hashed state lives under statePrefix with the keys of
// State.entries; the last committed height (8 bytes big-endian) and app hash
// live under their own keys. Everything a block changes is written in one
// Badger transaction, so a crash leaves either the old or the new block.
const (
	statePrefix = "s/"
	keyHeight   = "m/height"
	keyAppHash  = "m/apphash"
)

// Store persists the State in a Badger database it does not own.
type Store struct {
	db *badger.DB
}

// NewStore returns a store over db. It does no I/O.
func NewStore(db *badger.DB) *Store { return &Store{db: db} }

// Load reads the last committed state. st is nil for an empty database (no
// genesis yet); height is 0 after InitChain and before the first block.
func (s *Store) Load() (st *State, height int64, appHash []byte, err error) {
	var haveConfig bool
	st = &State{accounts: &cowmap.Map[tx.Address, Account]{}, validators: map[string]int64{}, bs: newBSState()}
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(statePrefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			key := bytes.TrimPrefix(item.Key(), []byte(statePrefix))
			val, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("read %q: %w", item.Key(), err)
			}
			if k, ok := bytes.CutPrefix(key, []byte(keyStakePre)); ok {
				st.stakeKV = append(st.stakeKV, staking.KV{Key: bytes.Clone(k), Value: val})
				continue
			}
			if err := st.load(key, val); err != nil {
				return err
			}
			haveConfig = haveConfig || string(key) == keyConfig
		}
		if !haveConfig {
			return nil
		}
		if err := st.loadStake(); err != nil {
			return err
		}
		h, err := getValue(txn, keyHeight)
		if err != nil {
			return err
		}
		if len(h) != 8 || binary.BigEndian.Uint64(h) > 1<<62 {
			return fmt.Errorf("bad height record %x", h)
		}
		height = int64(binary.BigEndian.Uint64(h))
		appHash, err = getValue(txn, keyAppHash)
		return err
	})
	if err != nil {
		return nil, 0, nil, fmt.Errorf("app: load state: %w", err)
	}
	if !haveConfig {
		return nil, 0, nil, nil
	}
	return st, height, appHash, nil
}

func getValue(txn *badger.Txn, key string) ([]byte, error) {
	item, err := txn.Get([]byte(key))
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", key, err)
	}
	return item.ValueCopy(nil)
}

// load sets one entry read from the store.
func (s *State) load(key, val []byte) error {
	k := string(key)
	switch {
	case k == keyConfig:
		if err := json.Unmarshal(val, &s.Config); err != nil {
			return fmt.Errorf("decode config: %w", err)
		}
	case len(k) == len(keyAccountPre)+tx.AddressSize && k[:len(keyAccountPre)] == keyAccountPre:
		acc, err := unmarshalAccount(val)
		if err != nil {
			return fmt.Errorf("decode account %x: %w", key, err)
		}
		s.accounts.Set(tx.Address(key[len(keyAccountPre):]), acc)
	case k == keyFees:
		f, n := protowire.ConsumeVarint(val)
		if n != len(val) {
			return fmt.Errorf("decode fees: %x", val)
		}
		s.fees = f
	case len(k) > len(keyValidatorPre) && k[:len(keyValidatorPre)] == keyValidatorPre:
		p, n := protowire.ConsumeVarint(val)
		if n != len(val) || p == 0 || p > tx.MaxValidatorPower {
			return fmt.Errorf("decode validator %x: bad power %x", key, val)
		}
		s.validators[k[len(keyValidatorPre):]] = int64(p)
	default:
		ok, err := s.loadBS(k, val)
		if err != nil {
			return fmt.Errorf("decode %x: %w", key, err)
		}
		if !ok {
			return fmt.Errorf("unknown state key %x", key)
		}
	}
	return nil
}

// Save writes st as the state after height with appHash, in one Badger
// transaction. With changed nil it replaces the whole stored state (genesis);
// otherwise it writes only the entries changed changed (st must be
// changed.apply(), and changed's base the state last saved).
func (s *Store) Save(st *State, changed *Delta, height int64, appHash []byte) error {
	err := s.db.Update(func(txn *badger.Txn) error {
		if changed == nil {
			if err := deletePrefix(txn, statePrefix); err != nil {
				return err
			}
			es, err := st.entries()
			if err != nil {
				return err
			}
			for _, e := range es {
				if err := txn.Set(append([]byte(statePrefix), e.key...), e.value); err != nil {
					return err
				}
			}
		} else {
			cs, err := st.changes(changed)
			if err != nil {
				return err
			}
			for _, c := range cs {
				key := append([]byte(statePrefix), c.key...)
				if c.deleted {
					err = txn.Delete(key)
				} else {
					err = txn.Set(key, c.value)
				}
				if err != nil {
					return err
				}
			}
		}
		if err := txn.Set([]byte(keyHeight), binary.BigEndian.AppendUint64(nil, uint64(height))); err != nil {
			return err
		}
		return txn.Set([]byte(keyAppHash), appHash)
	})
	if err != nil {
		return fmt.Errorf("app: save state at height %d: %w", height, err)
	}
	return nil
}

func deletePrefix(txn *badger.Txn, prefix string) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
	var keys [][]byte
	for it.Rewind(); it.Valid(); it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	it.Close()
	for _, k := range keys {
		if err := txn.Delete(k); err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
	}
	return nil
}
