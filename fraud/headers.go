package fraud

import (
	"context"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/header"
)

// This file holds where the header a proof is checked against comes from:
// the node's verified store, or, below the store's base, the node's
// trusted peers through Deps.Fetch (see the package documentation).

// headerCacheSize is how many headers check keeps at hand: a flood of
// proofs naming a few heights reads (or fetches) and hashes each once.
const headerCacheSize = 16

type cachedHeader struct {
	h       *header.ExtendedHeader
	hash    []byte
	fetched bool // from Deps.Fetch, not the store
}

// headerFor returns the header a proof of height is checked against and
// its hash: the stored one, or, when the store holds none because height
// is below its base and Deps.Fetch is set, the one the trusted peers give.
// fetched says the header came, or was asked for, through Deps.Fetch. An
// error means there is no header to check against: the store's (wrapping
// header.ErrNotFound when it holds no header at height and none was
// fetched), or the fetch's.
func (s *Service) headerFor(ctx context.Context, height uint64) (h *header.ExtendedHeader, hash []byte, fetched bool, err error) {
	e, err := s.headerAt(ctx, height)
	if errors.Is(err, header.ErrNotFound) && s.deps.Fetch != nil && s.belowTail(ctx, height) {
		e, err = s.fetchHeader(ctx, height)
		e.fetched = true
	}
	if err != nil {
		return nil, nil, e.fetched, err
	}
	return e.h, e.hash, e.fetched, nil
}

// headerAt returns the stored header at height and its hash. Stored
// headers never change, so they are cached (with the fetched ones).
func (s *Service) headerAt(ctx context.Context, height uint64) (cachedHeader, error) {
	s.mu.Lock()
	e, ok := s.hdrCache[height]
	s.mu.Unlock()
	if ok {
		return e, nil
	}
	h, err := s.deps.Headers.GetByHeight(ctx, height)
	if err == nil && (h == nil || h.DAH == nil) {
		err = errors.New("a header without a DAH")
	}
	if err != nil {
		return cachedHeader{}, err
	}
	e = cachedHeader{h: h, hash: h.Hash()}
	s.cacheHeader(height, e)
	return e, nil
}

// belowTail reports whether height is below the store's base. A store
// that cannot say is taken to hold height.
func (s *Service) belowTail(ctx context.Context, height uint64) bool {
	tail, err := s.deps.Headers.Tail(ctx)
	if err != nil || tail == nil {
		s.log.Debug("fraud: reading the store's base", "err", err)
		return false
	}
	return height < tail.Height()
}

// fetchHeader gets the header at height, below the store's base, through
// Deps.Fetch, within FetchTimeout and if fewer than MaxFetches are in
// flight (the caller checks at most one proof of a height at a time, so
// at most one fetch of a height is in flight). The header must Validate
// (its commit, DAH and data root agree) and be at height. It is cached:
// nothing fetches it again until it leaves the cache.
func (s *Service) fetchHeader(ctx context.Context, height uint64) (cachedHeader, error) {
	select {
	case s.fetches <- struct{}{}:
	default:
		return cachedHeader{}, fmt.Errorf("fraud: fetching the header at height %d: %d fetches in flight already", height, cap(s.fetches))
	}
	defer func() { <-s.fetches }()
	s.mu.Lock()
	s.stats.Fetches++
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.opts.FetchTimeout)
	defer cancel()
	h, err := s.deps.Fetch.GetByHeight(ctx, height)
	if err == nil && h == nil {
		err = errors.New("no header")
	}
	if err != nil {
		return cachedHeader{}, fmt.Errorf("fraud: fetching the header at height %d: %w", height, err)
	}
	if err := h.Validate(); err != nil {
		return cachedHeader{}, fmt.Errorf("fraud: the fetched header at height %d: %w", height, err)
	}
	if h.Height() != height {
		return cachedHeader{}, fmt.Errorf("fraud: asked for the header at height %d, got height %d", height, h.Height())
	}
	e := cachedHeader{h: h, hash: h.Hash(), fetched: true}
	s.cacheHeader(height, e)
	s.log.Info("fraud: fetched the header of a proof below the store's base from the trusted peers", "height", height, "hash", fmt.Sprintf("%X", e.hash))
	return e, nil
}

// cacheHeader keeps e as the header at height, unless one is kept
// already, forgetting the oldest beyond headerCacheSize.
func (s *Service) cacheHeader(height uint64, e cachedHeader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.hdrCache[height]; ok {
		return
	}
	if len(s.hdrOrder) == headerCacheSize {
		delete(s.hdrCache, s.hdrOrder[0])
		s.hdrOrder = s.hdrOrder[1:]
	}
	s.hdrCache[height] = e
	s.hdrOrder = append(s.hdrOrder, height)
}
