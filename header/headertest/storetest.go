package headertest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/datamesh/mesh-node/header"
)

// TestStore runs the behaviour every header.Store must have against stores
// made by open, which returns a new, empty store for each subtest.
func TestStore(t *testing.T, open func(t *testing.T) header.Store) {
	ctx := context.Background()
	g := NewGenerator(Options{Seed: 7, Blobs: 1, MaxBlobSize: 64})
	chain := g.Chain(t, 12)

	t.Run("empty", func(t *testing.T) {
		s := open(t)
		if _, err := s.Head(ctx); !errors.Is(err, header.ErrNotFound) {
			t.Errorf("Head: %v", err)
		}
		if _, err := s.Tail(ctx); !errors.Is(err, header.ErrNotFound) {
			t.Errorf("Tail: %v", err)
		}
		if s.Height() != 0 {
			t.Errorf("Height %d", s.Height())
		}
		if _, err := s.Get(ctx, chain[0].Hash()); !errors.Is(err, header.ErrNotFound) {
			t.Errorf("Get: %v", err)
		}
		if _, err := s.GetByHeight(ctx, 1); !errors.Is(err, header.ErrNotFound) {
			t.Errorf("GetByHeight: %v", err)
		}
		if ok, err := s.Has(ctx, chain[0].Hash()); ok || err != nil {
			t.Errorf("Has: %v %v", ok, err)
		}
		if err := s.Append(ctx); err != nil {
			t.Errorf("empty Append: %v", err)
		}
	})

	t.Run("append and read", func(t *testing.T) {
		s := open(t)
		for _, batch := range [][]*header.ExtendedHeader{chain[:1], chain[1:5], chain[5:10]} {
			if err := s.Append(ctx, batch...); err != nil {
				t.Fatal(err)
			}
		}
		CheckStoreHolds(t, s, chain[:10])
		got, err := s.GetRange(ctx, 2, 9)
		if err != nil || len(got) != 7 {
			t.Fatalf("GetRange(2, 9): %d headers, %v", len(got), err)
		}
		for i, h := range got {
			if !bytes.Equal(h.Hash(), chain[i+1].Hash()) {
				t.Errorf("GetRange(2, 9)[%d] has height %d", i, h.Height())
			}
		}
		for _, r := range [][2]uint64{{5, 5}, {6, 5}, {0, 3}, {1, header.MaxRangeSize + 2}} {
			if _, err := s.GetRange(ctx, r[0], r[1]); !errors.Is(err, header.ErrRangeTooLarge) {
				t.Errorf("GetRange(%d, %d): %v", r[0], r[1], err)
			}
		}
		if _, err := s.GetRange(ctx, 8, 12); !errors.Is(err, header.ErrNotFound) {
			t.Errorf("GetRange past the head: %v", err)
		}
		if _, err := s.GetByHeight(ctx, 11); !errors.Is(err, header.ErrNotFound) {
			t.Errorf("GetByHeight above the head: %v", err)
		}
	})

	t.Run("rejected append writes nothing", func(t *testing.T) {
		s := open(t)
		if err := s.Append(ctx, chain[:4]...); err != nil {
			t.Fatal(err)
		}
		other := NewGenerator(Options{Seed: 8, Blobs: 1, MaxBlobSize: 64}).Chain(t, 6)
		for _, tc := range []struct {
			name  string
			batch []*header.ExtendedHeader
			want  error
		}{
			{"gap inside the batch", []*header.ExtendedHeader{chain[4], chain[5], chain[7]}, header.ErrHeightGap},
			{"gap above the head", chain[5:7], header.ErrHeightGap},
			{"again", chain[2:6], header.ErrHeightGap},
			{"another chain", []*header.ExtendedHeader{chain[4], other[5]}, header.ErrNotAdjacent},
			{"another chain at the head", other[4:5], header.ErrNotAdjacent},
			{"nil", []*header.ExtendedHeader{chain[4], nil}, header.ErrInvalidHeader},
			{"incomplete", []*header.ExtendedHeader{chain[4], withoutDAH(chain[5])}, header.ErrInvalidHeader},
		} {
			if err := s.Append(ctx, tc.batch...); !errors.Is(err, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
			}
			if s.Height() != 4 {
				t.Fatalf("%s: height %d after a rejected append", tc.name, s.Height())
			}
			if ok, _ := s.Has(ctx, chain[4].Hash()); ok {
				t.Fatalf("%s: a rejected append stored height 5", tc.name)
			}
		}
		CheckStoreHolds(t, s, chain[:4])
	})

	t.Run("base above genesis", func(t *testing.T) {
		s := open(t)
		later := NewGenerator(Options{Seed: 9, StartHeight: 1000, Blobs: 1, MaxBlobSize: 64}).Chain(t, 3)
		if err := s.Append(ctx, later...); err != nil {
			t.Fatal(err)
		}
		CheckStoreHolds(t, s, later)
		if _, err := s.GetByHeight(ctx, 999); !errors.Is(err, header.ErrNotFound) {
			t.Errorf("below the base: %v", err)
		}
	})

	t.Run("concurrent readers", func(t *testing.T) {
		s := open(t)
		if err := s.Append(ctx, chain[0]); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		done := make(chan struct{})
		for r := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					height := s.Height()
					h, err := s.GetByHeight(ctx, height)
					if err != nil || h.Height() != height {
						t.Errorf("reader %d: GetByHeight(%d) after Height: %v", r, height, err)
						return
					}
					head, err := s.Head(ctx)
					if err != nil || head.Height() < height {
						t.Errorf("reader %d: Head went back: %v", r, err)
						return
					}
					if tail, err := s.Tail(ctx); err != nil || tail.Height() != 1 {
						t.Errorf("reader %d: Tail: %v, %v", r, tail, err)
						return
					}
					if _, err := s.GetRange(ctx, 1, height+1); err != nil {
						t.Errorf("reader %d: GetRange(1, %d): %v", r, height+1, err)
						return
					}
				}
			}()
		}
		for _, h := range chain[1:] {
			if err := s.Append(ctx, h); err != nil {
				t.Error(err)
				break
			}
		}
		close(done)
		wg.Wait()
		CheckStoreHolds(t, s, chain)
	})
}

// CheckStoreHolds fails t unless s holds exactly want's headers, want[0]
// being its base and the last its head.
func CheckStoreHolds(t *testing.T, s header.Store, want []*header.ExtendedHeader) {
	t.Helper()
	ctx := context.Background()
	last := want[len(want)-1]
	head, err := s.Head(ctx)
	if err != nil || !bytes.Equal(head.Hash(), last.Hash()) {
		t.Fatalf("Head: %v, %v; want height %d", head, err, last.Height())
	}
	if s.Height() != last.Height() {
		t.Fatalf("Height %d, want %d", s.Height(), last.Height())
	}
	tail, err := s.Tail(ctx)
	if err != nil || !bytes.Equal(tail.Hash(), want[0].Hash()) {
		t.Fatalf("Tail: %v, %v; want height %d", tail, err, want[0].Height())
	}
	for _, w := range want {
		byHeight, err := s.GetByHeight(ctx, w.Height())
		if err != nil || !bytes.Equal(byHeight.Hash(), w.Hash()) {
			t.Fatalf("GetByHeight(%d): %v", w.Height(), err)
		}
		byHash, err := s.Get(ctx, w.Hash())
		if err != nil || byHash.Height() != w.Height() {
			t.Fatalf("Get(height %d): %v", w.Height(), err)
		}
		if ok, err := s.Has(ctx, w.Hash()); !ok || err != nil {
			t.Fatalf("Has(height %d): %v %v", w.Height(), ok, err)
		}
		if !byHash.DAH.Equals(w.DAH) || !bytes.Equal(byHash.DataRootTx, w.DataRootTx) {
			t.Fatalf("height %d: stored header differs", w.Height())
		}
	}
}

func withoutDAH(h *header.ExtendedHeader) *header.ExtendedHeader {
	c := *h
	c.DAH = nil
	return &c
}
