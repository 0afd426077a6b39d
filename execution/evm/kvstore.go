package evm

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/ethdb"
)

// errNotFound is what kvStore.Get returns for a missing key; go-ethereum
// treats any error from Get as "missing".
var errNotFound = errors.New("evm: key not found")

// kvStore is go-ethereum's ethdb.KeyValueStore over a Badger database,
// every key under prefix. go-ethereum writes the state trie's nodes
// (keyed by their hash) and contract code (keyed by its hash) through it;
// nothing it writes is ever overwritten with other content or deleted
// by this package, which is what makes a block's commit crash-safe (see
// Executor.ExecuteTxs). Close does nothing: the caller owns the database.
type kvStore struct {
	db     *badger.DB
	prefix []byte
}

var _ ethdb.KeyValueStore = (*kvStore)(nil)

func (s *kvStore) key(k []byte) []byte {
	return append(bytes.Clone(s.prefix), k...)
}

func (s *kvStore) Has(key []byte) (bool, error) {
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(s.key(key))
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (s *kvStore) Get(key []byte) ([]byte, error) {
	var v []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(s.key(key))
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, errNotFound
	}
	return v, err
}

func (s *kvStore) Put(key, value []byte) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(s.key(key), bytes.Clone(value)) })
}

func (s *kvStore) Delete(key []byte) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Delete(s.key(key)) })
}

func (s *kvStore) DeleteRange(start, end []byte) error {
	b := s.NewBatch()
	if err := b.DeleteRange(start, end); err != nil {
		return err
	}
	return b.Write()
}

func (s *kvStore) Stat() (string, error) { return "", nil }

func (s *kvStore) SyncKeyValue() error { return s.db.Sync() }

func (s *kvStore) Compact(start, limit []byte) error { return nil }

func (s *kvStore) Close() error { return nil }

func (s *kvStore) NewBatch() ethdb.Batch { return &kvBatch{s: s} }

func (s *kvStore) NewBatchWithSize(int) ethdb.Batch { return &kvBatch{s: s} }

// NewIterator iterates the keys starting with prefix from start on, in
// order, over a read transaction held until Release.
func (s *kvStore) NewIterator(prefix, start []byte) ethdb.Iterator {
	txn := s.db.NewTransaction(false)
	full := s.key(prefix)
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: full})
	it.Seek(append(bytes.Clone(full), start...))
	return &kvIterator{s: s, txn: txn, it: it}
}

type kvIterator struct {
	s          *kvStore
	txn        *badger.Txn
	it         *badger.Iterator
	started    bool
	key, value []byte
	err        error
}

func (i *kvIterator) Next() bool {
	if i.err != nil || i.it == nil {
		return false
	}
	if i.started {
		i.it.Next()
	}
	i.started = true
	if !i.it.Valid() {
		return false
	}
	item := i.it.Item()
	i.key = item.KeyCopy(nil)[len(i.s.prefix):]
	i.value, i.err = item.ValueCopy(nil)
	return i.err == nil
}

func (i *kvIterator) Error() error  { return i.err }
func (i *kvIterator) Key() []byte   { return i.key }
func (i *kvIterator) Value() []byte { return i.value }

func (i *kvIterator) Release() {
	if i.it != nil {
		i.it.Close()
		i.txn.Discard()
		i.it = nil
	}
}

// kvBatch buffers writes and applies them in one Badger transaction.
type kvBatch struct {
	s    *kvStore
	ops  []kvOp
	size int
}

type kvOp struct {
	key, value []byte
	del        bool
}

func (b *kvBatch) Put(key, value []byte) error {
	b.ops = append(b.ops, kvOp{key: bytes.Clone(key), value: bytes.Clone(value)})
	b.size += len(key) + len(value)
	return nil
}

func (b *kvBatch) Delete(key []byte) error {
	b.ops = append(b.ops, kvOp{key: bytes.Clone(key), del: true})
	b.size += len(key)
	return nil
}

// DeleteRange deletes the keys in [start, end) as the database holds them
// now.
func (b *kvBatch) DeleteRange(start, end []byte) error {
	it := b.s.NewIterator(nil, start)
	defer it.Release()
	for it.Next() {
		if end != nil && bytes.Compare(it.Key(), end) >= 0 {
			break
		}
		if err := b.Delete(it.Key()); err != nil {
			return err
		}
	}
	return it.Error()
}

func (b *kvBatch) ValueSize() int { return b.size }

func (b *kvBatch) Write() error {
	err := b.s.db.Update(func(txn *badger.Txn) error {
		for _, op := range b.ops {
			var err error
			if op.del {
				err = txn.Delete(b.s.key(op.key))
			} else {
				err = txn.Set(b.s.key(op.key), op.value)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("evm: write batch of %d operations: %w", len(b.ops), err)
	}
	return nil
}

func (b *kvBatch) Reset() { b.ops, b.size = nil, 0 }

func (b *kvBatch) Replay(w ethdb.KeyValueWriter) error {
	for _, op := range b.ops {
		var err error
		if op.del {
			err = w.Delete(op.key)
		} else {
			err = w.Put(op.key, op.value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *kvBatch) Close() {}
