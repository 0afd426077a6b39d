package store

import (
	"context"
	"errors"
	"testing"

	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
)

func TestPruneBelowInBatches(t *testing.T) {
	ctx := context.Background()
	db := badgertest.Open(t)
	s := New(db, Options{CacheSize: 32})
	s.pruneBatch = 3
	var batches []int
	s.afterBatch = func(n int) { batches = append(batches, n) }
	e := testSquare(t, 2)
	for h := uint64(5); h <= 20; h++ {
		put(t, db, s, h, e)
		s.Cache(h, e)
	}
	if base, ok, err := s.Base(ctx); err != nil || !ok || base != 5 {
		t.Fatalf("Base = %d, %v, %v; want 5", base, ok, err)
	}

	n, err := s.Prune(ctx, 15)
	if err != nil || n != 10 {
		t.Fatalf("Prune(15) = %d, %v; want 10", n, err)
	}
	if want := []int{3, 3, 3, 1}; len(batches) != len(want) || batches[0] != 3 || batches[3] != 1 {
		t.Fatalf("batches %v, want %v", batches, want)
	}
	for h := uint64(1); h <= 22; h++ {
		ok, err := s.Has(ctx, h)
		if err != nil || ok != (h >= 15 && h <= 20) {
			t.Fatalf("after Prune(15): Has(%d) = %v, %v", h, ok, err)
		}
		if cached := s.cache.get(h) != nil; cached && h < 15 {
			t.Fatalf("height %d still cached", h)
		}
		if _, err := s.EDS(ctx, h); (err == nil) != (h >= 15 && h <= 20) {
			t.Fatalf("after Prune(15): EDS(%d): %v", h, err)
		}
	}
	if base, ok, err := s.Base(ctx); err != nil || !ok || base != 15 {
		t.Fatalf("Base = %d, %v, %v; want 15", base, ok, err)
	}

	// Nothing below: no transaction at all.
	batches = nil
	if n, err := s.Prune(ctx, 15); err != nil || n != 0 || len(batches) != 0 {
		t.Fatalf("Prune(15) again = %d, %v, batches %v", n, err, batches)
	}

	// A cancelled prune keeps what it deleted and stops between batches.
	cctx, cancel := context.WithCancel(ctx)
	s.afterBatch = func(int) { cancel() }
	n, err = s.Prune(cctx, 100)
	if !errors.Is(err, context.Canceled) || n != 3 {
		t.Fatalf("cancelled Prune = %d, %v; want 3, Canceled", n, err)
	}
	if base, _, _ := s.Base(ctx); base != 18 {
		t.Fatalf("Base after a cancelled prune = %d, want 18", base)
	}
	s.afterBatch = nil
	if n, err := s.Prune(ctx, 100); err != nil || n != 3 {
		t.Fatalf("Prune(100) = %d, %v; want 3", n, err)
	}
	if _, ok, err := s.Base(ctx); ok || err != nil {
		t.Fatalf("Base of an empty store: %v, %v", ok, err)
	}
}
