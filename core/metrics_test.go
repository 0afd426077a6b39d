package core_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
)

// ingests records a follower's ObserveIngest calls.
type ingests struct {
	mu   sync.Mutex
	seen []ingest
}

type ingest struct {
	height uint64
	k      int
	d      time.Duration
}

func (m *ingests) ObserveIngest(height uint64, k int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seen = append(m.seen, ingest{height, k, d})
}

func (m *ingests) get() []ingest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]ingest(nil), m.seen...)
}

func TestFollowerMetrics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fc := &fakeCore{chainID: "test-chain", blocks: genBlocks(t, 4, nil)}
	fc.latest.Store(4)
	db := badgertest.Open(t)
	s := core.NewStore(db, 0)
	col := newCollector()
	m := &ingests{}
	opts := fakeOptions(t, fc, s, col)
	opts.Metrics = m
	// OnHeader runs after the observation of its height.
	opts.OnHeader = func(h *header.ExtendedHeader) {
		if got := m.get(); len(got) == 0 || got[len(got)-1].height != h.Height() {
			t.Errorf("OnHeader(%d) before its observation (%v)", h.Height(), got)
		}
		col.onHeader(h)
	}
	f := startFollower(ctx, t, opts)
	col.waitHeight(ctx, t, 4)
	if err := f.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	got := m.get()
	if len(got) != 4 {
		t.Fatalf("observed %v, want heights 1 to 4", got)
	}
	for i, o := range got {
		h, err := s.GetByHeight(ctx, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if o.height != uint64(i+1) || o.k != h.DAH.SquareSize() || o.d <= 0 {
			t.Errorf("observation %d: %+v, want height %d, k %d and a duration", i, o, i+1, h.DAH.SquareSize())
		}
	}
}
