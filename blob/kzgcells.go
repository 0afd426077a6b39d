package blob

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/share"
)

// KZGCells are cells of the EIP-7594 extension of one chunk of a blob,
// with the proof of each against the chunk's KZG commitment. JSON:
// {"commitment": base64, "cells": [{"index": N, "cell": base64, "proof":
// base64}, …]}.
type KZGCells struct {
	Commitment KZGPoint  `json:"commitment"`
	Cells      []KZGCell `json:"cells"`
}

// KZGCell is the cell at Index (0 to kzg.CellsPerBlob-1) of a chunk's
// extension and its proof.
type KZGCell struct {
	Index uint64   `json:"index"`
	Cell  CellData `json:"cell"`
	Proof KZGPoint `json:"proof"`
}

// CellCacheChunks bounds the chunks whose cells a Service keeps: each is
// kzg.CellsPerBlob cells of 2,048 bytes and their 48-byte proofs, about
// 262 KiB, so the cache holds at most about 4.1 MiB.
const CellCacheChunks = 16

// GetKZGCells returns the cells at indices (in that order) of the EIP-7594
// extension of chunk chunk (from 0) of the blob of ns with commitment c at
// height, with their cell proofs against the chunk's commitment. The blob
// and its commitment are found and checked as GetKZG does, for this chunk;
// the cells and proofs of the whole chunk are then computed
// (kzg.ComputeCells, about 330 ms) and kept in a cache of the
// CellCacheChunks chunks used last, and those returned are checked with
// kzg.VerifyCellProofBatch before returning.
//
// indices must name 1 to kzg.CellsPerBlob cells, each below
// kzg.CellsPerBlob, none twice, and chunk must be within the blob's
// chunks; otherwise the error wraps ErrInvalidKZGRequest (the indices are
// checked before anything is fetched). The other errors are GetKZG's.
func (s *Service) GetKZGCells(ctx context.Context, height uint64, ns share.Namespace, c Commitment, chunk int, indices []uint64) (*KZGCells, error) {
	if err := checkCellIndices(indices); err != nil {
		return nil, err
	}
	key := cellKey{height: height, ns: ns, commitment: string(c), chunk: chunk}
	e := s.cells.get(key)
	if e == nil {
		blob, commitment, err := s.verifiedChunk(ctx, height, ns, c, chunk)
		if err != nil {
			return nil, err
		}
		cells, proofs, err := kzg.ComputeCells(blob)
		if err != nil {
			return nil, fmt.Errorf("blob: cells of chunk %d at height %d: %w", chunk, height, err)
		}
		e = &cellEntry{commitment: commitment, cells: cells, proofs: proofs}
		s.cells.add(key, e)
	}
	out := &KZGCells{Commitment: KZGPoint(e.commitment), Cells: make([]KZGCell, len(indices))}
	commitments := make([]kzg.Commitment, len(indices))
	cells := make([]*kzg.Cell, len(indices))
	proofs := make([]kzg.Proof, len(indices))
	for i, idx := range indices {
		commitments[i], cells[i], proofs[i] = e.commitment, e.cells[idx], e.proofs[idx]
		out.Cells[i] = KZGCell{Index: idx, Cell: CellData(*e.cells[idx]), Proof: KZGPoint(e.proofs[idx])}
	}
	if err := kzg.VerifyCellProofBatch(commitments, indices, cells, proofs); err != nil {
		return nil, fmt.Errorf("blob: cells of chunk %d at height %d do not verify: %w", chunk, height, err)
	}
	return out, nil
}

// checkCellIndices checks a GetKZGCells request's indices.
func checkCellIndices(indices []uint64) error {
	if len(indices) == 0 || len(indices) > kzg.CellsPerBlob {
		return fmt.Errorf("%w: %d cell indices, want 1 to %d", ErrInvalidKZGRequest, len(indices), kzg.CellsPerBlob)
	}
	var seen [kzg.CellsPerBlob]bool
	for _, idx := range indices {
		if idx >= kzg.CellsPerBlob {
			return fmt.Errorf("%w: cell index %d, at most %d", ErrInvalidKZGRequest, idx, kzg.CellsPerBlob-1)
		}
		if seen[idx] {
			return fmt.Errorf("%w: cell index %d asked twice", ErrInvalidKZGRequest, idx)
		}
		seen[idx] = true
	}
	return nil
}

// cellKey names a chunk of a blob in a square.
type cellKey struct {
	height     uint64
	ns         share.Namespace
	commitment string
	chunk      int
}

// cellEntry is a chunk's commitment (checked against the chunk's bytes)
// and the cells and proofs of its extension. It is not modified once made.
type cellEntry struct {
	commitment kzg.Commitment
	cells      []*kzg.Cell
	proofs     []kzg.Proof
}

// cellCache keeps the cells of the CellCacheChunks chunks used last. Its
// zero value is empty and ready; it is safe for concurrent use. Two calls
// for a chunk not yet held both compute it (the API bounds such calls).
type cellCache struct {
	mu    sync.Mutex
	order list.List // of *cacheItem, most recently used first
	items map[cellKey]*list.Element
}

type cacheItem struct {
	key   cellKey
	entry *cellEntry
}

// get returns the entry of key and marks it used, or nil.
func (c *cellCache) get(key cellKey) *cellEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheItem).entry
}

// add keeps e under key, dropping the entry used least recently past
// CellCacheChunks.
func (c *cellCache) add(key cellKey, e *cellEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = make(map[cellKey]*list.Element)
	}
	if el, ok := c.items[key]; ok {
		el.Value.(*cacheItem).entry = e
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&cacheItem{key: key, entry: e})
	for c.order.Len() > CellCacheChunks {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheItem).key)
	}
}

// len returns the number of chunks held.
func (c *cellCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
