package das_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
)

var _ das.Halter = (*fraud.Halt)(nil)

// gateGetter is a light node's getter (the net's real squares) that holds
// the requests for chosen heights until they are released or their
// context ends, and counts the requests in flight and those begun after
// halt held a proof.
type gateGetter struct {
	inner   *squareGetter
	halt    *fraud.Halt
	release chan struct{}

	mu   sync.Mutex
	hold map[uint64]bool

	inFlight  atomic.Int64
	afterHalt atomic.Int64
}

func (g *gateGetter) GetSample(ctx context.Context, h *header.ExtendedHeader, row, col int) (*eds.Sample, error) {
	if g.halt.Proof() != nil {
		g.afterHalt.Add(1)
	}
	g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	g.mu.Lock()
	hold := g.hold[h.Height()]
	g.mu.Unlock()
	if hold {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-g.release:
		}
	}
	return g.inner.GetSample(ctx, h, row, col)
}

// logBuffer collects a logger's output.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitUntil polls cond, up to 30 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// samplesOf is the number of samples a light DASer takes of h.
func samplesOf(h *header.ExtendedHeader) int {
	k := h.DAH.SquareSize()
	return min(das.DefaultSamplesPerHeader, 4*k*k)
}

// scriptedProof is a proof that the block of h is badly encoded, as the
// fraud service would hand it over once validated (the DASer trusts its
// Halter: validation is not its business).
func scriptedProof(h *header.ExtendedHeader, axis eds.Axis, index int) *eds.BadEncodingProof {
	return &eds.BadEncodingProof{HeaderHash: h.Hash(), Height: h.Height(), Axis: axis, Index: index}
}

// checkHaltedResults checks that every height in [1, to] below bad is
// reported as sampling found it (available) and every one from bad on
// unavailable by the proof, SharesAvailable included, naming it.
func checkHaltedResults(t *testing.T, d *das.DASer, nt *net, bad, to uint64) {
	t.Helper()
	hash := fmt.Sprintf("%X", nt.headers[bad-1].Hash())
	for h := uint64(1); h <= to; h++ {
		r, err := d.Result(t.Context(), h)
		avail := d.SharesAvailable(t.Context(), nt.headers[h-1])
		switch {
		case h < bad && (err != nil || !r.Available || r.BadEncoding != 0 || avail != nil):
			t.Fatalf("height %d below the proof: Result = %+v, %v; SharesAvailable = %v", h, r, err, avail)
		case h >= bad && (err != nil || r.Available || r.Confidence != 0 || r.BadEncoding != bad || r.Height != h):
			t.Fatalf("height %d: Result = %+v, %v; want unavailable by the proof of %d", h, r, err, bad)
		case h >= bad && (!errors.Is(avail, das.ErrUnavailable) || !strings.Contains(avail.Error(), hash)):
			t.Fatalf("height %d: SharesAvailable = %v; want ErrUnavailable naming header %s", h, avail, hash)
		}
	}
}

// A light DASer halts on a proof it did not find, given mid-run: the
// requests in flight are cancelled, nothing more is asked of the getter,
// heights from the proof's block on are unavailable, those below it as
// sampling found them; a restart stays halted.
func TestLightHaltsOnExternalProof(t *testing.T) {
	nt := newNet(t, 40, headertest.Options{})
	var halt fraud.Halt
	g := &gateGetter{inner: nt.getter, halt: &halt, release: make(chan struct{}), hold: map[uint64]bool{15: true, 25: true}}
	dir := t.TempDir()
	db := openDB(t, dir)
	opts := testOpts(11)
	opts.Workers, opts.RangeSize = 2, 10
	opts.SampleTimeout = time.Hour // the held heights stay in flight
	opts.Halt = &halt
	opts.DB = db
	var logs logBuffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
	d, err := das.New(nt.store, g, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Jobs [1, 10] and [11, 20] start; the first ends and [21, 30]
	// starts; the other two wait at 15 and 25, every request of theirs
	// held. [31, 40] waits for a worker.
	sampled := func(h uint64) bool { return h <= 14 || (h >= 21 && h <= 24) }
	waitUntil(t, "heights sampled up to 14 and 24, samples of 15 and 25 in flight", func() bool {
		if g.inFlight.Load() != int64(samplesOf(nt.headers[14])+samplesOf(nt.headers[24])) {
			return false
		}
		for h := uint64(1); h <= 24; h++ {
			if r, err := d.Result(t.Context(), h); sampled(h) && (err != nil || !r.Available) {
				return false
			}
		}
		return true
	})
	for h := uint64(1); h <= 40; h++ {
		if _, err := d.Result(t.Context(), h); !sampled(h) && !errors.Is(err, das.ErrNotSampled) {
			t.Fatalf("before the halt, height %d: %v", h, err)
		}
	}

	const bad = 12
	p := scriptedProof(nt.headers[bad-1], eds.Col, 3)
	if !halt.Set(p) {
		t.Fatal("the proof was not taken")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err = d.WaitCatchUp(ctx)
	if !errors.Is(err, das.ErrBadEncoding) || !strings.Contains(err.Error(), fmt.Sprintf("%X", p.HeaderHash)) {
		t.Fatalf("WaitCatchUp = %v, want ErrBadEncoding naming the header", err)
	}
	waitUntil(t, "the requests in flight to be cancelled", func() bool { return g.inFlight.Load() == 0 })
	close(g.release) // a DASer that did not halt would now go on

	// The loop still follows the head, and starts nothing for it.
	d.OnHead(nt.extend(t, 1)[0])
	eventually(t, d, "the new head", func(s das.Stats) bool { return s.NetworkHead == 41 })
	st := d.Stats()
	want := das.BadEncodingStats{Height: bad, Axis: "col", Index: 3, HeaderHash: fmt.Sprintf("%X", p.HeaderHash)}
	if st.BadEncoding == nil || *st.BadEncoding != want || st.Concurrency != 0 || st.CatchUpDone {
		t.Fatalf("stats: %+v (bad encoding %+v)", st, st.BadEncoding)
	}
	if d.BadEncoding() != p {
		t.Fatalf("BadEncoding() = %+v", d.BadEncoding())
	}
	checkHaltedResults(t, d, nt, bad, 41)
	if err := d.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := g.afterHalt.Load(); n != 0 {
		t.Fatalf("%d requests after the halt", n)
	}
	if got := logs.String(); strings.Count(got, "level=ERROR") != 1 || !strings.Contains(got, "das: halted by a bad-encoding proof") ||
		!strings.Contains(got, "header_hash="+fmt.Sprintf("%X", p.HeaderHash)) || !strings.Contains(got, "height=12") {
		t.Fatalf("error log: %q", got)
	}
	for h := uint64(31); h <= 41; h++ {
		if n := nt.getter.callsAt(h); n != 0 {
			t.Fatalf("height %d: %d requests", h, n)
		}
	}

	// A restart with the halt held (the fraud service reloads its
	// proofs) checks nothing.
	d, err = das.New(nt.store, g, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := d.WaitCatchUp(ctx); !errors.Is(err, das.ErrBadEncoding) {
		t.Fatalf("after restart: WaitCatchUp = %v", err)
	}
	checkHaltedResults(t, d, nt, bad, 41)
	if err := d.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := g.afterHalt.Load(); n != 0 {
		t.Fatalf("%d requests after the restart", n)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// A halt held before Start: the DASer samples nothing.
func TestLightHaltedBeforeStart(t *testing.T) {
	nt := newNet(t, 10, headertest.Options{})
	var halt fraud.Halt
	halt.Set(scriptedProof(nt.headers[4], eds.Row, 0))
	opts := testOpts(12)
	opts.Halt = &halt
	d := start(t, nt, opts)
	if err := d.WaitCatchUp(t.Context()); !errors.Is(err, das.ErrBadEncoding) {
		t.Fatalf("WaitCatchUp = %v", err)
	}
	if err := d.SharesAvailable(t.Context(), nt.headers[7]); !errors.Is(err, das.ErrUnavailable) {
		t.Fatalf("SharesAvailable(8) = %v", err)
	}
	if c := nt.getter.resetCalls(); len(c) != 0 {
		t.Fatalf("requests while halted: %v", c)
	}
	// Below the proof, a height not sampled is sampled on demand, as
	// before.
	if err := d.SharesAvailable(t.Context(), nt.headers[2]); err != nil {
		t.Fatalf("SharesAvailable(3) = %v", err)
	}
}

// A full DASer's own proof and an external one agree: the lower block
// wins, in BadEncoding, Stats and Result; its own proof goes to
// OnBadEncoding when found and again when reloaded after a restart.
func TestFullOwnAndExternalProofs(t *testing.T) {
	const bad = 20
	nt, _, _, cells := badNet(t, 40, bad)

	var (
		mu        sync.Mutex
		published []*eds.BadEncodingProof
	)
	halt := &fraud.Halt{}
	opts := fullOpts()
	opts.Workers = 1
	opts.Halt = halt
	opts.OnBadEncoding = func(p *eds.BadEncodingProof) {
		mu.Lock()
		published = append(published, p)
		mu.Unlock()
		halt.Set(p) // as the node's fraud service would, once validated
	}
	f := startBad(t, nt, opts, bad, cells)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	own := f.d.BadEncoding()
	mu.Lock()
	if len(published) != 1 || published[0] != own || own.Height != bad {
		t.Fatalf("published %v, own %+v", published, own)
	}
	mu.Unlock()
	if halt.Proof() != own {
		t.Fatal("the halt does not hold the own proof")
	}

	// A higher external proof changes nothing; a lower one wins.
	halt.Set(scriptedProof(nt.headers[29], eds.Row, 1))
	if p := f.d.BadEncoding(); p != own {
		t.Fatalf("BadEncoding() = %+v after a higher proof", p)
	}
	const lower = 10
	ext := scriptedProof(nt.headers[lower-1], eds.Row, 2)
	if !halt.Set(ext) {
		t.Fatal("the lower proof was not taken")
	}
	if p := f.d.BadEncoding(); p != ext {
		t.Fatalf("BadEncoding() = %+v, want the lower external proof", p)
	}
	if st := f.d.Stats(); st.BadEncoding == nil || st.BadEncoding.Height != lower || st.BadEncoding.Axis != "row" || st.BadEncoding.Index != 2 {
		t.Fatalf("stats: %+v", st.BadEncoding)
	}
	for h := uint64(1); h <= 40; h++ {
		r, err := f.d.Result(t.Context(), h)
		if err != nil || r.Available != (h < lower) || (h >= lower && r.BadEncoding != lower) {
			t.Fatalf("Result(%d) = %+v, %v", h, r, err)
		}
	}
	f.stop()

	// After a restart without the external proof, the reloaded own proof
	// halts the DASer and is handed to OnBadEncoding again.
	halt = &fraud.Halt{}
	f.opts.Halt = halt
	f.start()
	if err := f.d.WaitCatchUp(ctx); !errors.Is(err, das.ErrBadEncoding) {
		t.Fatalf("after restart: WaitCatchUp = %v", err)
	}
	if p := f.d.BadEncoding(); p == nil || p.Height != bad {
		t.Fatalf("after restart: BadEncoding() = %+v", p)
	}
	f.stop() // the loop has run: OnBadEncoding was called
	mu.Lock()
	defer mu.Unlock()
	if len(published) != 2 || published[1].Height != bad {
		t.Fatalf("published after restart: %v", published)
	}
}

func TestNilHaltRefused(t *testing.T) {
	nt := newNet(t, 1, headertest.Options{})
	var h *fraud.Halt
	if _, err := das.New(nt.store, nt.getter, das.Options{Halt: h}); !errors.Is(err, das.ErrInvalidOptions) {
		t.Fatalf("nil *fraud.Halt: %v", err)
	}
}
