package statemachine

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/merkle"
	"github.com/dgraph-io/badger/v4"
)

// MaxKeySize is the most bytes of a state key: Leaf writes its length in
// 2 bytes. Machines set lower limits of their own.
const MaxKeySize = 1<<16 - 1

// ErrBadEntry is wrapped by State.Set and State.Delete given a key the state
// cannot hold (empty, or over MaxKeySize).
var ErrBadEntry = errors.New("statemachine: bad state entry")

// Leaf returns the Merkle leaf of the entry (key, value): the key's length
// as 2 bytes big-endian, the key, then the value. The encoding is
// injective: the length prefix says where the key ends, so the entries
// ("ab", "c") and ("a", "bc") have different leaves. RFC 6962's 0x00 and
// 0x01 prefixes keep a leaf from being read as an inner node, and a
// proof's Total and Index pin the entry's place.
func Leaf(key, value []byte) []byte {
	b := make([]byte, 2, 2+len(key)+len(value))
	binary.BigEndian.PutUint16(b, uint16(len(key))) // len(key) <= MaxKeySize
	b = append(b, key...)
	return append(b, value...)
}

// EmptyRoot is the state root of a state with no entries, SHA256("").
func EmptyRoot() []byte { return merkle.HashFromByteSlices(nil) }

// State is the machine's view of the state inside one Badger transaction:
// a block's (read-write: its writes are the block's, committed with it) or
// a snapshot of the latest block (read-only: Set and Delete fail). Reads
// see the transaction's own writes. It implements the Storage interface of
// execution/wasm. It is not safe for concurrent use.
type State struct {
	txn     *badger.Txn
	k       keys
	chainID string
	// changes, when not nil, collects the block's writes for the tree:
	// each key written to its last leaf hash, nil when deleted.
	changes map[string][]byte
}

// ChainID is the chain's ID, empty before InitChain.
func (s *State) ChainID() string { return s.chainID }

// Get returns the value of key, a copy the caller may keep, and whether
// the key is set.
func (s *State) Get(key []byte) ([]byte, bool, error) {
	if len(key) == 0 || len(key) > MaxKeySize {
		return nil, false, nil
	}
	item, err := s.txn.Get(s.k.value(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v, err := item.ValueCopy(nil)
	return v, err == nil, err
}

// Set sets key to value. The key has 1 to MaxKeySize bytes (ErrBadEntry);
// the value may be empty (the entry is still set).
func (s *State) Set(key, value []byte) error {
	if len(key) == 0 || len(key) > MaxKeySize {
		return fmt.Errorf("%w: key of %d bytes (1 to %d)", ErrBadEntry, len(key), MaxKeySize)
	}
	if err := s.txn.Set(s.k.value(key), bytes.Clone(value)); err != nil {
		return err
	}
	h := merkle.LeafHash(Leaf(key, value))
	if err := s.txn.Set(s.k.leaf(key), h); err != nil {
		return err
	}
	if s.changes != nil {
		s.changes[string(key)] = h
	}
	return nil
}

// Delete removes key; removing a missing key changes nothing.
func (s *State) Delete(key []byte) error {
	if len(key) == 0 || len(key) > MaxKeySize {
		return fmt.Errorf("%w: key of %d bytes (1 to %d)", ErrBadEntry, len(key), MaxKeySize)
	}
	if err := s.txn.Delete(s.k.value(key)); err != nil {
		return err
	}
	if err := s.txn.Delete(s.k.leaf(key)); err != nil {
		return err
	}
	if s.changes != nil {
		s.changes[string(key)] = nil
	}
	return nil
}

// leaves returns the keys of the state in order and their leaf hashes.
func (s *State) leaves() ([][]byte, [][]byte, error) {
	prefix := s.k.leafPrefix()
	it := s.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256, Prefix: prefix})
	defer it.Close()
	var keys, hashes [][]byte
	var buf []byte // the hashes, back to back, in blocks of 4096
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if len(buf)+sha256.Size > cap(buf) {
			buf = make([]byte, 0, 4096*sha256.Size)
		}
		err := item.Value(func(v []byte) error {
			if len(v) != sha256.Size {
				return fmt.Errorf("statemachine: stored leaf hash of %d bytes", len(v))
			}
			buf = append(buf, v...)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, item.KeyCopy(nil)[len(prefix):])
		hashes = append(hashes, buf[len(buf)-sha256.Size:len(buf):len(buf)])
	}
	return keys, hashes, nil
}

// tree builds the tree of the state from every entry's stored leaf hash,
// one pass over the state, and labels it with height.
func (s *State) tree(height uint64) (*tree, error) {
	keys, hashes, err := s.leaves()
	if err != nil {
		return nil, err
	}
	return newTree(height, keys, hashes), nil
}

// keys are the database keys of a Chain, under its prefix.
type keys struct{ prefix []byte }

func (k keys) with(s string, rest ...byte) []byte {
	b := make([]byte, 0, len(k.prefix)+len(s)+len(rest))
	return append(append(append(b, k.prefix...), s...), rest...)
}

func (k keys) genesis() []byte       { return k.with("genesis") }
func (k keys) head() []byte          { return k.with("head") }
func (k keys) final() []byte         { return k.with("final") }
func (k keys) value(x []byte) []byte { return k.with("v/", x...) }
func (k keys) leaf(x []byte) []byte  { return k.with("l/", x...) }
func (k keys) leafPrefix() []byte    { return k.with("l/") }
func (k keys) block(h uint64) []byte {
	return k.with("b/", binary.BigEndian.AppendUint64(nil, h)...)
}
