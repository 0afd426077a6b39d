// Package store is the Badger implementation of header.Store: extended
// headers by height and by hash, the head, the tail (the lowest height) and
// bounded ranges, in a Badger database the node owns and shares with its
// other stores.
//
// Layout (all heights 8-byte big-endian, so keys sort by height):
//
//	"eh/h/" height -> header.ExtendedHeader.MarshalBinary
//	"eh/x/" hash   -> height
//	"eh/head"      -> height of the head
//
// Append writes a batch in one Badger transaction, so a crash or a rejected
// batch leaves either all of it or none of it. The store does not own the
// database: the caller opens it, and closes it after the last call.
package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/header"
)

var (
	prefixHeight = []byte("eh/h/")
	prefixHash   = []byte("eh/x/")
	keyHead      = []byte("eh/head")
)

// Store is a header.Store on Badger. It is safe for concurrent use: reads
// run in their own read-only transactions; appends are serialised.
type Store struct {
	db *badger.DB

	writeMu sync.Mutex                            // serialises Append
	head    atomic.Pointer[header.ExtendedHeader] // cached once known; only rises
}

var _ header.Store = (*Store)(nil)

// New returns a store on db. It does no I/O: the head is read on first use.
func New(db *badger.DB) *Store { return &Store{db: db} }

func heightKey(h uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte{}, prefixHeight...), h)
}
func hashKey(hash []byte) []byte { return append(append([]byte{}, prefixHash...), hash...) }

// loadHead returns the head, nil for an empty store.
func (s *Store) loadHead() (*header.ExtendedHeader, error) {
	if h := s.head.Load(); h != nil {
		return h, nil
	}
	var h *header.ExtendedHeader
	err := s.db.View(func(txn *badger.Txn) error {
		height, err := getHeight(txn, keyHead)
		if err != nil {
			return err
		}
		h, err = getByHeight(txn, height)
		return err
	})
	if errors.Is(err, header.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.head.CompareAndSwap(nil, h) // an Append may have stored a newer one
	return s.head.Load(), nil
}

// Append implements header.Store. A batch that does not chain writes
// nothing. Otherwise it writes the headers in as few Badger transactions
// as fit the database's batch limits (MaxBatchSize, MaxBatchCount): 512
// headers of 512-wide squares are tens of MiB, more than one transaction of
// the default options holds. Each transaction moves the head to its last
// header, so the stored chain stays contiguous whatever happens; on an
// I/O error, a prefix of the headers may have been stored, and Head says
// how far.
func (s *Store) Append(ctx context.Context, headers ...*header.ExtendedHeader) error {
	// Check the whole batch first, so a batch that does not chain writes
	// nothing; each transaction checks its part against the head again.
	head, err := s.loadHead()
	if err != nil {
		return err
	}
	if err := header.CheckChain(head, headers); err != nil {
		return err
	}
	encoded, err := encode(headers)
	if err != nil {
		return err
	}
	// Badger counts each entry as key + value + a small fixed overhead;
	// leave a quarter of the limit as margin.
	budget := s.db.MaxBatchSize() / 4 * 3
	maxCount := int(s.db.MaxBatchCount()/2 - 1) // two entries per header, and the head key
	for len(headers) > 0 {
		n, size := 0, int64(0)
		for n < len(headers) && n < maxCount {
			size += int64(len(encoded[n])) + 2*(int64(len(prefixHeight))+8+32+64)
			if size > budget && n > 0 {
				break
			}
			n++
		}
		if err := s.appendEncoded(ctx, nil, headers[:n], encoded[:n]); err != nil {
			return err
		}
		headers, encoded = headers[n:], encoded[n:]
	}
	return nil
}

func encode(headers []*header.ExtendedHeader) ([][]byte, error) {
	encoded := make([][]byte, len(headers))
	for i, h := range headers {
		if h == nil {
			return nil, fmt.Errorf("%w: header %d of the batch is nil", header.ErrInvalidHeader, i)
		}
		var err error
		if encoded[i], err = h.MarshalBinary(); err != nil {
			return nil, fmt.Errorf("header/store: height %d: %w", h.Height(), err)
		}
	}
	return encoded, nil
}

// AppendWith is Append in one Badger transaction that also runs also, when
// not nil, before the headers are written: what also writes is committed
// together with the headers or, if also or any write fails, neither is. A
// node uses it to store a header and the data that goes with it (its
// square) atomically. The batch must fit one transaction.
func (s *Store) AppendWith(ctx context.Context, also func(txn *badger.Txn) error, headers ...*header.ExtendedHeader) error {
	encoded, err := encode(headers)
	if err != nil {
		return err
	}
	return s.appendEncoded(ctx, also, headers, encoded)
}

func (s *Store) appendEncoded(ctx context.Context, also func(txn *badger.Txn) error, headers []*header.ExtendedHeader, encoded [][]byte) error {
	if len(headers) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	head, err := s.loadHead()
	if err != nil {
		return err
	}
	if err := header.CheckChain(head, headers); err != nil {
		return err
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		if also != nil {
			if err := also(txn); err != nil {
				return err
			}
		}
		for i, h := range headers {
			hk := heightKey(h.Height())
			if err := txn.Set(hk, encoded[i]); err != nil {
				return err
			}
			if err := txn.Set(hashKey(h.Hash()), hk[len(prefixHeight):]); err != nil {
				return err
			}
		}
		return txn.Set(keyHead, binary.BigEndian.AppendUint64(nil, headers[len(headers)-1].Height()))
	})
	if err != nil {
		return fmt.Errorf("header/store: appending heights %d to %d: %w", headers[0].Height(), headers[len(headers)-1].Height(), err)
	}
	s.head.Store(headers[len(headers)-1])
	return nil
}

// Get implements header.Store.
func (s *Store) Get(ctx context.Context, hash []byte) (*header.ExtendedHeader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var h *header.ExtendedHeader
	err := s.db.View(func(txn *badger.Txn) error {
		height, err := getHeight(txn, hashKey(hash))
		if err != nil {
			return fmt.Errorf("%w: hash %X", err, hash)
		}
		h, err = getByHeight(txn, height)
		return err
	})
	return h, err
}

// GetByHeight implements header.Store.
func (s *Store) GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var h *header.ExtendedHeader
	err := s.db.View(func(txn *badger.Txn) (err error) {
		h, err = getByHeight(txn, height)
		return err
	})
	return h, err
}

// GetRange implements header.Store. The headers are read in one
// transaction, so they are a consistent snapshot.
func (s *Store) GetRange(ctx context.Context, from, to uint64) ([]*header.ExtendedHeader, error) {
	if err := header.CheckRange(from, to); err != nil {
		return nil, err
	}
	out := make([]*header.ExtendedHeader, 0, to-from)
	err := s.db.View(func(txn *badger.Txn) error {
		for height := from; height < to; height++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			h, err := getByHeight(txn, height)
			if err != nil {
				return err
			}
			out = append(out, h)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Head implements header.Store.
func (s *Store) Head(ctx context.Context) (*header.ExtendedHeader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, err := s.loadHead()
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("%w: empty store", header.ErrNotFound)
	}
	return h, nil
}

// Tail implements header.Store: the header under the lowest height key
// (keys sort by height), read in one transaction.
func (s *Store) Tail(ctx context.Context) (*header.ExtendedHeader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var h *header.ExtendedHeader
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = prefixHeight
		it := txn.NewIterator(opts)
		defer it.Close()
		it.Seek(prefixHeight)
		if !it.ValidForPrefix(prefixHeight) {
			return fmt.Errorf("%w: empty store", header.ErrNotFound)
		}
		key := it.Item().Key()
		if len(key) != len(prefixHeight)+8 {
			return fmt.Errorf("header/store: corrupt height key %q", key)
		}
		var err error
		h, err = getByHeight(txn, binary.BigEndian.Uint64(key[len(prefixHeight):]))
		return err
	})
	return h, err
}

// Has implements header.Store.
func (s *Store) Has(ctx context.Context, hash []byte) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(hashKey(hash))
		return err
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("header/store: %w", err)
	}
	return true, nil
}

// Height implements header.Store. It is 0 for an empty store and also when
// the head cannot be read; Head returns that error.
func (s *Store) Height() uint64 {
	h, err := s.loadHead()
	if err != nil || h == nil {
		return 0
	}
	return h.Height()
}

func getHeight(txn *badger.Txn, key []byte) (uint64, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, header.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("header/store: %w", err)
	}
	var height uint64
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("header/store: corrupt height of %d bytes under %q", len(v), key)
		}
		height = binary.BigEndian.Uint64(v)
		return nil
	})
	return height, err
}

func getByHeight(txn *badger.Txn, height uint64) (*header.ExtendedHeader, error) {
	item, err := txn.Get(heightKey(height))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: height %d", header.ErrNotFound, height)
	}
	if err != nil {
		return nil, fmt.Errorf("header/store: height %d: %w", height, err)
	}
	var h *header.ExtendedHeader
	err = item.Value(func(v []byte) (err error) {
		h, err = header.UnmarshalExtendedHeader(v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("header/store: corrupt header at height %d: %w", height, err)
	}
	return h, nil
}
