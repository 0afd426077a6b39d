package rollup

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// The forced queue: the forced transactions a node has found and not
// yet seen included, under "rollup/fq/" + DataMesh height (8 bytes) +
// blob index (4 bytes), big-endian, so that key order is inclusion
// order. A sequencer also records the last DataMesh height whose forced
// namespace it read ("rollup/forced-da"); a follower reads both
// namespaces of a height together, up to its sync height.
var (
	prefixForced = []byte("rollup/fq/")
	keyForcedDA  = []byte("rollup/forced-da")
)

func forcedKey(f *ForcedTx) []byte {
	k := binary.BigEndian.AppendUint64(bytes.Clone(prefixForced), f.DAHeight)
	return binary.BigEndian.AppendUint32(k, f.Index)
}

// sameGenesis reports whether two stored genesis encodings are the same
// genesis, the older one perhaps written before a field with a default
// existed.
func sameGenesis(a, b []byte) bool {
	var ga, gb Genesis
	if ga.UnmarshalJSON(a) != nil || gb.UnmarshalJSON(b) != nil {
		return false
	}
	ja, errA := json.Marshal(ga)
	jb, errB := json.Marshal(gb)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// ForcedQueue returns the pending forced transactions in inclusion
// order, at most limit of them (0: all).
func (s *Store) ForcedQueue(limit int) ([]ForcedTx, error) {
	var out []ForcedTx
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixForced, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid() && (limit == 0 || len(out) < limit); it.Next() {
			k := it.Item().Key()
			if len(k) != len(prefixForced)+12 {
				return fmt.Errorf("forced queue key %x", k)
			}
			tx, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, ForcedTx{DAHeight: binary.BigEndian.Uint64(k[len(prefixForced):]),
				Index: binary.BigEndian.Uint32(k[len(prefixForced)+8:]), Tx: tx})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rollup: store: forced queue: %w", err)
	}
	return out, nil
}

// popForced deletes the first n entries of the forced queue.
func popForced(txn *badger.Txn, n uint64) error {
	if n == 0 {
		return nil
	}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixForced})
	var keys [][]byte
	for it.Rewind(); it.Valid() && uint64(len(keys)) < n; it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	it.Close()
	if uint64(len(keys)) < n {
		return fmt.Errorf("%d forced transactions included, %d pending", n, len(keys))
	}
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func addForced(txn *badger.Txn, found []ForcedTx) error {
	for i := range found {
		if err := txn.Set(forcedKey(&found[i]), found[i].Tx); err != nil {
			return err
		}
	}
	return nil
}

// ForcedDAHeight returns the last DataMesh height whose forced namespace
// a sequencer read, 0 before the first.
func (s *Store) ForcedDAHeight() (uint64, error) {
	var h uint64
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		h, _, err = getUint64(txn, keyForcedDA)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("rollup: store: forced height: %w", err)
	}
	return h, nil
}

// AddForced appends the forced transactions found at DataMesh height d
// to the queue and records d as read, in one transaction (a sequencer).
func (s *Store) AddForced(d uint64, found []ForcedTx) error {
	err := s.db.Update(func(txn *badger.Txn) error {
		if err := addForced(txn, found); err != nil {
			return err
		}
		return setUint64(txn, keyForcedDA, d)
	})
	if err != nil {
		return fmt.Errorf("rollup: store: add forced: %w", err)
	}
	return nil
}

// AppendBlocksForced is AppendBlocks for a follower with forced
// inclusion: in the same transaction it drops the forced transactions
// the blocks included (their Header.ForcedTxs, from the queue's front,
// after appending found, the forced transactions of syncDA, which blocks
// posted at syncDA may include).
func (s *Store) AppendBlocksForced(blocks []*StoredBlock, syncDA uint64, found []ForcedTx) error {
	err := s.db.Update(func(txn *badger.Txn) error {
		if err := addForced(txn, found); err != nil {
			return err
		}
		for _, sb := range blocks {
			if err := popForced(txn, sb.Block.Header.ForcedTxs); err != nil {
				return err
			}
		}
		return appendBlocks(txn, blocks, syncDA)
	})
	if err != nil {
		return fmt.Errorf("rollup: store: append: %w", err)
	}
	return nil
}
