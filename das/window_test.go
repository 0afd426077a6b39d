package das_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/header/headertest"
)

// A chain of 240 hourly headers spanning 10 days, seen by a node whose
// clock is one hour after the last: the first 72 are older than the 7-day
// window.
func windowNet(t *testing.T) (*net, time.Time, uint64) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	nt := newNet(t, 240, headertest.Options{StartTime: start, BlockTime: time.Hour})
	now := start.Add(240 * time.Hour)
	firstIn := uint64(0)
	for _, h := range nt.headers {
		if !h.Time().Before(now.Add(-das.DefaultSamplingWindow)) {
			firstIn = h.Height()
			break
		}
	}
	if firstIn != 73 {
		t.Fatalf("first header in the window is %d, want 73", firstIn)
	}
	return nt, now, firstIn
}

func TestSamplingWindowSkipsOldHeaders(t *testing.T) {
	nt, now, firstIn := windowNet(t)
	opts := testOpts(6)
	opts.Now = func() time.Time { return now }
	opts.SampleFrom = 1
	d := start(t, nt, opts)
	waitCatchUp(t, d)
	st := d.Stats()
	if st.SampledChainHead != 240 || st.Skipped != firstIn-1 || st.Sampled != 240-(firstIn-1) || len(st.Failed) != 0 {
		t.Fatalf("stats: %+v", st)
	}
	for h := uint64(1); h < firstIn; h++ {
		if n := nt.getter.callsAt(h); n != 0 {
			t.Fatalf("skipped height %d was asked for %d samples", h, n)
		}
		if _, err := d.Result(t.Context(), h); !errors.Is(err, das.ErrNotSampled) {
			t.Fatalf("Result(%d): %v, want ErrNotSampled", h, err)
		}
	}
	if r, err := d.Result(t.Context(), firstIn); err != nil || !r.Available {
		t.Fatalf("Result(%d) = %+v, %v", firstIn, r, err)
	}
}

func TestDefaultSampleFromIsWindowStart(t *testing.T) {
	nt, now, firstIn := windowNet(t)
	opts := testOpts(7)
	opts.Now = func() time.Time { return now }
	d := start(t, nt, opts)
	waitCatchUp(t, d)
	st := d.Stats()
	if st.SampleFrom != firstIn || st.SampledChainHead != 240 || st.Skipped != 0 || st.Sampled != 240-(firstIn-1) {
		t.Fatalf("stats: %+v", st)
	}
}

func TestDefaultSampleFromIsStoreBase(t *testing.T) {
	// A store started from a trusted header at 1000: nothing below it.
	nt := newNet(t, 30, headertest.Options{StartHeight: 1000})
	d := start(t, nt, testOpts(8))
	waitCatchUp(t, d)
	if st := d.Stats(); st.SampleFrom != 1000 || st.SampledChainHead != 1029 || st.Sampled != 30 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestPruneDropsResultsOutsideWindow(t *testing.T) {
	nt, now, firstIn := windowNet(t)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	opts := testOpts(9)
	opts.Now = func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	opts.PruneInterval = 5 * time.Millisecond
	db := openDB(t, t.TempDir())
	t.Cleanup(func() { _ = db.Close() })
	opts.DB = db
	d := start(t, nt, opts)
	waitCatchUp(t, d)
	if _, err := d.Result(t.Context(), firstIn); err != nil {
		t.Fatal(err)
	}
	// A day later, the first 24 sampled headers have left the window.
	clock.Add(int64(24 * time.Hour))
	eventually(t, d, "results pruned", func(das.Stats) bool {
		_, err := d.Result(t.Context(), firstIn+23)
		return errors.Is(err, das.ErrNotSampled)
	})
	for h := firstIn; h < firstIn+24; h++ {
		if _, err := d.Result(t.Context(), h); !errors.Is(err, das.ErrNotSampled) {
			t.Fatalf("Result(%d) after pruning: %v", h, err)
		}
	}
	if r, err := d.Result(t.Context(), firstIn+24); err != nil || !r.Available {
		t.Fatalf("Result(%d) = %+v, %v: pruned too much", firstIn+24, r, err)
	}
}
