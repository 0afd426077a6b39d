package das_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/header/headertest"
)

func newPCG(seed uint64) rand.Source { return rand.NewPCG(seed, seed^0x5bd1e995) }

func TestCatchUpAndNewHeads(t *testing.T) {
	nt := newNet(t, 200, headertest.Options{})
	d := start(t, nt, testOpts(1))
	waitCatchUp(t, d)

	st := d.Stats()
	if st.SampleFrom != 1 || st.SampledChainHead != 200 || st.NetworkHead != 200 || st.CatchUpHead != 200 ||
		!st.CatchUpDone || !st.IsRunning || len(st.Failed) != 0 || st.Sampled != 200 || st.Skipped != 0 || st.InvalidSamples != 0 {
		t.Fatalf("stats after catch-up: %+v", st)
	}
	for h := uint64(1); h <= 200; h++ {
		r, err := d.Result(t.Context(), h)
		if err != nil || !r.Available || r.Height != h || r.Confidence < 1-0.75*0.75 {
			t.Fatalf("Result(%d) = %+v, %v", h, r, err)
		}
		k := nt.headers[h-1].DAH.SquareSize()
		want := min(16, 4*k*k)
		if r.Samples != want || r.Confidence != das.Confidence(k, want) {
			t.Fatalf("Result(%d) = %+v: want %d samples of a k=%d square", h, r, want, k)
		}
		if got := nt.getter.callsAt(h); got != want {
			t.Fatalf("height %d: %d requests, want %d", h, got, want)
		}
	}
	if _, err := d.Result(t.Context(), 201); !errors.Is(err, das.ErrNotSampled) {
		t.Fatalf("Result(201) = %v, want ErrNotSampled", err)
	}

	// New heads reach the DASer only through OnHead (polling is hourly).
	for range 5 {
		h := nt.extend(t, 1)[0]
		d.OnHead(h)
		waitCatchUp(t, d)
		if r, err := d.Result(t.Context(), h.Height()); err != nil || !r.Available {
			t.Fatalf("new head %d: %+v, %v", h.Height(), r, err)
		}
	}
	st = d.Stats()
	if st.SampledChainHead != 205 || st.NetworkHead != 205 || st.Sampled != 205 {
		t.Fatalf("stats after new heads: %+v", st)
	}
	for h := uint64(201); h <= 205; h++ {
		k := nt.headers[h-1].DAH.SquareSize()
		if got := nt.getter.callsAt(h); got != min(16, 4*k*k) {
			t.Fatalf("new head %d sampled with %d requests: sampled twice?", h, got)
		}
	}
}

func TestWithholdingMarksUnavailable(t *testing.T) {
	nt := newNet(t, 200, headertest.Options{})
	withheld := []uint64{17, 18, 120}
	nt.getter.set(&nt.getter.withhold, withheld...)
	opts := testOpts(2)
	opts.SampleTimeout = 300 * time.Millisecond
	begin := time.Now()
	d := start(t, nt, opts)
	waitCatchUp(t, d)

	st := d.Stats()
	if st.SampledChainHead != 200 || st.Sampled != 197 || st.Unavailable != 3 || len(st.Failed) != 3 {
		t.Fatalf("stats: %+v", st)
	}
	for _, h := range withheld {
		if st.Failed[h] != 1 {
			t.Fatalf("Failed[%d] = %d, want 1 attempt (failed: %v)", h, st.Failed[h], st.Failed)
		}
		r, err := d.Result(t.Context(), h)
		if err != nil || r.Available || r.Confidence != 0 {
			t.Fatalf("Result(%d) = %+v, %v; want unavailable", h, r, err)
		}
		// Found within the timeout (plus scheduling slack), not at the
		// end of the whole catch-up.
		if took := r.SampledAt.Sub(begin); took > 10*opts.SampleTimeout {
			t.Fatalf("height %d marked unavailable after %v", h, took)
		}
	}
	if r, err := d.Result(t.Context(), 19); err != nil || !r.Available {
		t.Fatalf("Result(19) = %+v, %v", r, err)
	}
}

func TestRetryRecoversFailedHeight(t *testing.T) {
	nt := newNet(t, 40, headertest.Options{})
	nt.getter.set(&nt.getter.withhold, 10)
	opts := testOpts(3)
	opts.SampleTimeout = 200 * time.Millisecond
	opts.RetryBackoff = 20 * time.Millisecond
	opts.MaxRetryBackoff = 40 * time.Millisecond
	d := start(t, nt, opts)
	waitCatchUp(t, d)
	eventually(t, d, "a second failed attempt", func(s das.Stats) bool { return s.Failed[10] >= 2 })
	nt.getter.set(&nt.getter.withhold)
	eventually(t, d, "height 10 recovered", func(s das.Stats) bool { return len(s.Failed) == 0 })
	if r, err := d.Result(t.Context(), 10); err != nil || !r.Available {
		t.Fatalf("Result(10) = %+v, %v", r, err)
	}
}

func TestLyingGetterRejected(t *testing.T) {
	nt := newNet(t, 60, headertest.Options{})
	nt.getter.set(&nt.getter.lie, 30)      // a corrupted share
	nt.getter.set(&nt.getter.misplace, 40) // a valid sample of another cell
	opts := testOpts(4)
	opts.SampleTimeout = 300 * time.Millisecond
	d := start(t, nt, opts)
	waitCatchUp(t, d)
	st := d.Stats()
	if st.Failed[30] != 1 || st.Failed[40] != 1 || len(st.Failed) != 2 || st.InvalidSamples == 0 || st.Sampled != 58 {
		t.Fatalf("stats: %+v", st)
	}
	for _, h := range []uint64{30, 40} {
		if r, err := d.Result(t.Context(), h); err != nil || r.Available {
			t.Fatalf("Result(%d) = %+v, %v; want unavailable", h, r, err)
		}
	}
}

func TestRestartResumesFromCheckpoint(t *testing.T) {
	dir := t.TempDir()
	nt := newNet(t, 60, headertest.Options{})
	nt.getter.set(&nt.getter.withhold, 20)

	var db *badger.DB
	run := func(sampleTimeout time.Duration) *das.DASer {
		db = openDB(t, dir)
		opts := testOpts(5)
		opts.SampleTimeout = sampleTimeout
		opts.DB = db
		d, err := das.New(nt.store, nt.getter, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		return d
	}
	// stop stops d, which writes its checkpoint, and closes the database.
	stop := func(d *das.DASer) {
		if err := d.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// Run 1: 60 heights, 20 withheld.
	d := run(300 * time.Millisecond)
	waitCatchUp(t, d)
	if st := d.Stats(); st.SampledChainHead != 60 || st.Failed[20] != 1 {
		t.Fatalf("run 1: %+v", d.Stats())
	}
	stop(d)
	_ = nt.getter.resetCalls()

	// Run 2: height 20 is served now; heights 61..100 arrive but their
	// samples never come. The DASer retries 20 at once (the backoff does
	// not survive a restart), samples nothing else below 61, and is
	// stopped while stuck at 61.
	nt.getter.set(&nt.getter.withhold)
	nt.extend(t, 40)
	var blocked []uint64
	for h := uint64(61); h <= 100; h++ {
		blocked = append(blocked, h)
	}
	nt.getter.set(&nt.getter.block, blocked...)
	d = run(time.Minute)
	eventually(t, d, "height 20 retried and stuck at 61", func(s das.Stats) bool {
		return len(s.Failed) == 0 && s.SampledChainHead == 60 && nt.getter.callsAt(61) > 0
	})
	stop(d)
	calls := nt.getter.resetCalls()
	for h := range calls {
		if h <= 60 && h != 20 {
			t.Fatalf("run 2 asked for done height %d", h)
		}
	}
	if calls[20] == 0 {
		t.Fatal("run 2 did not retry height 20")
	}

	// Run 3: everything is served; only 61..100 are sampled.
	nt.getter.set(&nt.getter.block)
	d = run(time.Minute)
	waitCatchUp(t, d)
	st := d.Stats()
	if st.SampledChainHead != 100 || len(st.Failed) != 0 || st.Sampled != 40 {
		t.Fatalf("run 3: %+v", st)
	}
	calls = nt.getter.resetCalls()
	for h := uint64(1); h <= 100; h++ {
		if (calls[h] > 0) != (h > 60) {
			t.Fatalf("run 3: height %d asked %d times", h, calls[h])
		}
	}
	for h := uint64(1); h <= 100; h++ {
		if r, err := d.Result(t.Context(), h); err != nil || !r.Available {
			t.Fatalf("run 3: Result(%d) = %+v, %v", h, r, err)
		}
	}
	stop(d)
}
