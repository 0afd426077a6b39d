package headertest

import (
	"context"
	"fmt"
	"sync"

	"github.com/datamesh/mesh-node/header"
)

// MemStore is an in-memory header.Store. It keeps the pointers it is given
// and returns them: neither the caller nor readers may modify them. The
// zero value is not usable; call NewMemStore.
type MemStore struct {
	mu       sync.RWMutex
	byHeight map[uint64]*header.ExtendedHeader
	byHash   map[string]*header.ExtendedHeader
	head     *header.ExtendedHeader
	tail     *header.ExtendedHeader
}

var _ header.Store = (*MemStore)(nil)

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{byHeight: map[uint64]*header.ExtendedHeader{}, byHash: map[string]*header.ExtendedHeader{}}
}

// Append implements header.Store.
func (s *MemStore) Append(ctx context.Context, headers ...*header.ExtendedHeader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := header.CheckChain(s.head, headers); err != nil {
		return err
	}
	for _, h := range headers {
		s.byHeight[h.Height()] = h
		s.byHash[string(h.Hash())] = h
		s.head = h
		if s.tail == nil {
			s.tail = h
		}
	}
	return nil
}

// Get implements header.Store.
func (s *MemStore) Get(ctx context.Context, hash []byte) (*header.ExtendedHeader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, ok := s.byHash[string(hash)]
	if !ok {
		return nil, fmt.Errorf("%w: hash %X", header.ErrNotFound, hash)
	}
	return h, nil
}

// GetByHeight implements header.Store.
func (s *MemStore) GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, ok := s.byHeight[height]
	if !ok {
		return nil, fmt.Errorf("%w: height %d", header.ErrNotFound, height)
	}
	return h, nil
}

// GetRange implements header.Store.
func (s *MemStore) GetRange(ctx context.Context, from, to uint64) ([]*header.ExtendedHeader, error) {
	if err := header.CheckRange(from, to); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*header.ExtendedHeader, 0, to-from)
	for h := from; h < to; h++ {
		eh, ok := s.byHeight[h]
		if !ok {
			return nil, fmt.Errorf("%w: height %d", header.ErrNotFound, h)
		}
		out = append(out, eh)
	}
	return out, nil
}

// Head implements header.Store.
func (s *MemStore) Head(ctx context.Context) (*header.ExtendedHeader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.head == nil {
		return nil, fmt.Errorf("%w: empty store", header.ErrNotFound)
	}
	return s.head, nil
}

// Tail implements header.Store.
func (s *MemStore) Tail(ctx context.Context) (*header.ExtendedHeader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.tail == nil {
		return nil, fmt.Errorf("%w: empty store", header.ErrNotFound)
	}
	return s.tail, nil
}

// Has implements header.Store.
func (s *MemStore) Has(ctx context.Context, hash []byte) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.byHash[string(hash)]
	return ok, nil
}

// Height implements header.Store.
func (s *MemStore) Height() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.head == nil {
		return 0
	}
	return s.head.Height()
}
