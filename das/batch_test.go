package das_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
)

// batchGetter is a das.SamplesGetter over a squareGetter: each batch is
// its cells' GetSample, so the squareGetter's faults apply to batches too.
// short makes it return one sample fewer than asked at those heights.
type batchGetter struct {
	*squareGetter
	mu      sync.Mutex
	batches map[uint64]int
	short   map[uint64]bool
}

func (g *batchGetter) GetSamples(ctx context.Context, h *header.ExtendedHeader, coords []das.Coord) ([]*eds.Sample, error) {
	g.mu.Lock()
	g.batches[h.Height()]++
	short := g.short[h.Height()]
	g.mu.Unlock()
	out := make([]*eds.Sample, len(coords))
	for i, c := range coords {
		s, err := g.GetSample(ctx, h, c.Row, c.Col)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	if short {
		out = out[:len(out)-1]
	}
	return out, nil
}

var _ das.SamplesGetter = (*batchGetter)(nil)

// TestBatchedSampling: with a SamplesGetter the DASer asks once per
// header for all its samples, still verifies each, and marks a height
// whose samples lie, are misplaced or missing unavailable.
func TestBatchedSampling(t *testing.T) {
	nt := newNet(t, 60, headertest.Options{})
	nt.getter.set(&nt.getter.lie, 30)
	nt.getter.set(&nt.getter.misplace, 40)
	bg := &batchGetter{squareGetter: nt.getter, batches: map[uint64]int{}, short: map[uint64]bool{50: true}}
	opts := testOpts(4)
	opts.SampleTimeout = 300 * time.Millisecond
	d := startWith(t, nt, bg, opts)
	waitCatchUp(t, d)
	st := d.Stats()
	if st.Failed[30] != 1 || st.Failed[40] != 1 || st.Failed[50] != 1 || len(st.Failed) != 3 || st.InvalidSamples == 0 || st.Sampled != 57 {
		t.Fatalf("stats: %+v", st)
	}
	for _, h := range []uint64{30, 40, 50} {
		if r, err := d.Result(t.Context(), h); err != nil || r.Available {
			t.Fatalf("Result(%d) = %+v, %v; want unavailable", h, r, err)
		}
	}
	bg.mu.Lock()
	defer bg.mu.Unlock()
	for h := uint64(1); h <= 60; h++ {
		switch n := bg.batches[h]; {
		case h == 30 || h == 40 || h == 50:
			if n < 2 {
				t.Errorf("height %d: %d batches, want retries", h, n)
			}
		case n != 1:
			t.Errorf("height %d: %d batches, want 1", h, n)
		}
	}
	if c := nt.getter.callsAt(10); c != das.DefaultSamplesPerHeader {
		t.Errorf("height 10: %d samples asked, want %d", c, das.DefaultSamplesPerHeader)
	}
}
