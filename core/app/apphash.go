package app

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/merkle"
)

// The app hash is kept incrementally. A State's Merkle tree (merkle.Tree
// over its entries) is handed down the chain of states: the State a
// Delta's apply makes takes its base's tree, if the base still holds it,
// and updates it from the entries the Delta changed (State.changes), so a
// block costs what it changed, not the state's size. A State that finds no
// tree to take (the first block after a start, or a second State made from
// one base) builds one from all its entries, once.

// appTree is a State's Merkle tree, shared along a chain of states and
// held by the last one that hashed with it.
type appTree struct {
	owner *State
	t     *merkle.Tree
}

// entryChange is an entry a block set (value) or deleted.
type entryChange struct {
	key, value []byte
	deleted    bool
}

// treeKey returns the key that orders an entry in the app hash's tree: its
// key, except that Blobstream's data roots ("br/") and attestations
// ("bn/"), of which every block adds some, come after all other entries
// (0xff before the key; no key starts with it). An insert moves the
// entries after it in the tree, which are re-hashed, so these only move
// Blobstream's own.
func treeKey(key []byte) []byte {
	if bytes.HasPrefix(key, []byte(keyBSRootPre)) || bytes.HasPrefix(key, []byte(keyBSNoncePre)) {
		return append([]byte{0xff}, key...)
	}
	return key
}

// leafHash returns the leaf hash of an entry: SHA256(0x00 || uvarint(len(key)) || key || value).
func leafHash(key, value []byte) []byte {
	leaf := protowire.AppendVarint(make([]byte, 0, 2+len(key)+len(value)), uint64(len(key)))
	return merkle.LeafHash(append(append(leaf, key...), value...))
}

// Hash is the app hash: the RFC 6962 Merkle root (merkle.HashFromByteSlices)
// over the state's entries in the order of their treeKey (key order, with
// Blobstream's data roots and attestations last), each leaf
// uvarint(len(key)) || key || value. It is computed once per State, by updating the tree of the
// State it was made from with the entries its Delta changed (O(changes ×
// log n)), or from all entries when that tree is gone. The state must not
// entryChange after Hash.
func (s *State) Hash() ([]byte, error) {
	if s.hash == nil {
		if err := s.hashTree(); err != nil {
			return nil, err
		}
	}
	return bytes.Clone(s.hash), nil
}

func (s *State) hashTree() error {
	if d := s.from; d != nil && d.base.tree != nil && d.base.tree.owner == d.base && d.base.hash != nil {
		cs, err := s.changes(d)
		if err != nil {
			return err
		}
		leaves := make(map[string][]byte, len(cs))
		for _, c := range cs {
			if c.deleted {
				leaves[string(treeKey(c.key))] = nil
			} else {
				leaves[string(treeKey(c.key))] = leafHash(c.key, c.value)
			}
		}
		tr := d.base.tree
		tr.t.Apply(leaves)
		tr.owner, s.tree = s, tr
	} else {
		es, err := s.entries()
		if err != nil {
			return err
		}
		slices.SortStableFunc(es, func(x, y kv) int { return bytes.Compare(treeKey(x.key), treeKey(y.key)) })
		keys, hashes := make([][]byte, len(es)), make([][]byte, len(es))
		for i, e := range es {
			keys[i], hashes[i] = treeKey(e.key), leafHash(e.key, e.value)
		}
		s.tree = &appTree{owner: s, t: merkle.NewTree(keys, hashes)}
	}
	s.hash = bytes.Clone(s.tree.t.Root())
	return nil
}

// changes returns the entries of s, made by d.apply() (and endBlock), that
// differ from d.base's, sorted by key: each key d's accounts, validators,
// EVM addresses and Blobstream records touched, the fees and the staking
// entries ChangedEntries reports. It is computed once and kept until
// settle.
func (s *State) changes(d *Delta) ([]entryChange, error) {
	if s.diff != nil && s.diffOf == d {
		return s.diff, nil
	}
	var out []entryChange
	for a := range d.accounts {
		out = append(out, entryChange{key: []byte(accountKey(a)), value: marshalAccount(s.Account(a))})
	}
	for pk := range d.validators {
		k := []byte(validatorKey([]byte(pk)))
		if p := s.ValidatorPower([]byte(pk)); p == 0 {
			out = append(out, entryChange{key: k, deleted: true})
		} else {
			out = append(out, entryChange{key: k, value: protowire.AppendVarint(nil, uint64(p))})
		}
	}
	keys := slices.Collect(maps.Keys(d.bsDirty))
	for pk := range d.evm {
		keys = append(keys, evmKey([]byte(pk)))
	}
	for _, k := range keys {
		v, ok, err := s.bsValue(k)
		if err != nil {
			return nil, err
		}
		out = append(out, entryChange{key: []byte(k), value: v, deleted: !ok})
	}
	if s.stake != nil {
		out = append(out, entryChange{key: []byte(keyFees), value: protowire.AppendVarint(nil, s.fees)})
		if s.stake != d.base.stake {
			if d.base.stake == nil {
				return nil, fmt.Errorf("app: staking state on a proof-of-authority chain")
			}
			for _, e := range s.stake.ChangedEntries(d.base.stake) {
				out = append(out, entryChange{key: stakeKey(e.Key), value: e.Value, deleted: e.Value == nil})
			}
		}
	}
	slices.SortFunc(out, func(x, y entryChange) int { return bytes.Compare(x.key, y.key) })
	// A key touched twice (an EVM address registered and dirty) is one entryChange.
	out = slices.CompactFunc(out, func(x, y entryChange) bool { return bytes.Equal(x.key, y.key) })
	s.diff, s.diffOf = out, d
	return out, nil
}

// settle drops what s keeps of the Delta it was made from (its base, the
// changes), once the changes are hashed and saved, so that a chain of
// committed states does not keep its ancestors alive.
func (s *State) settle() { s.from, s.diff, s.diffOf = nil, nil, nil }
