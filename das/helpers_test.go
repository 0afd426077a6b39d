package das_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
)

// net is a chain of real headers with their real squares: the store a
// light node's syncer would have filled, and a getter serving the squares.
type net struct {
	gen     *headertest.Generator
	store   *headertest.MemStore
	getter  *squareGetter
	headers []*header.ExtendedHeader
}

func newNet(t testing.TB, n int, opts headertest.Options) *net {
	t.Helper()
	g := &squareGetter{squares: map[uint64]*eds.ExtendedDataSquare{}, calls: map[uint64]int{}}
	opts.OnSquare = func(h int64, sq *eds.ExtendedDataSquare) {
		g.mu.Lock()
		g.squares[uint64(h)] = sq
		g.mu.Unlock()
	}
	if opts.Seed == 0 {
		opts.Seed = 7
	}
	nt := &net{gen: headertest.NewGenerator(opts), store: headertest.NewMemStore(), getter: g}
	nt.extend(t, n)
	return nt
}

// extend appends n headers to the store and returns them.
func (nt *net) extend(t testing.TB, n int) []*header.ExtendedHeader {
	t.Helper()
	hs := nt.gen.Chain(t, n)
	if err := nt.store.Append(context.Background(), hs...); err != nil {
		t.Fatal(err)
	}
	nt.headers = append(nt.headers, hs...)
	return hs
}

// squareGetter serves samples of real squares, with faults for chosen
// heights, and counts the requests per height.
type squareGetter struct {
	mu       sync.Mutex
	squares  map[uint64]*eds.ExtendedDataSquare
	calls    map[uint64]int
	withhold map[uint64]bool // serve less than 75% of the square
	lie      map[uint64]bool // serve a corrupted share
	misplace map[uint64]bool // serve another cell's valid sample
	block    map[uint64]bool // never answer (until ctx ends)
}

func (g *squareGetter) GetSample(ctx context.Context, h *header.ExtendedHeader, row, col int) (*eds.Sample, error) {
	g.mu.Lock()
	g.calls[h.Height()]++
	sq := g.squares[h.Height()]
	withhold, lie, block, misplace := g.withhold[h.Height()], g.lie[h.Height()], g.block[h.Height()], g.misplace[h.Height()]
	g.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if sq == nil {
		return nil, fmt.Errorf("no square for %d: %w", h.Height(), das.ErrUnavailable)
	}
	// Withholding the (k+1)² cells of the top-left corner leaves the
	// square unrecoverable: more than a quarter of it.
	if k := sq.K(); withhold && row <= k && col <= k {
		return nil, fmt.Errorf("withheld (%d, %d): %w", row, col, das.ErrUnavailable)
	}
	if misplace {
		col = (col + 1) % sq.Width()
	}
	s, err := sq.Sample(row, col, eds.Row)
	if err != nil {
		return nil, err
	}
	if lie {
		s.Share[len(s.Share)-1] ^= 0xff
	}
	return s, nil
}

func (g *squareGetter) set(m *map[uint64]bool, heights ...uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	*m = map[uint64]bool{}
	for _, h := range heights {
		(*m)[h] = true
	}
}

func (g *squareGetter) callsAt(h uint64) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[h]
}

func (g *squareGetter) resetCalls() map[uint64]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.calls
	g.calls = map[uint64]int{}
	return c
}

func openDB(t testing.TB, dir string) *badger.DB {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// start starts a DASer and stops it at the end of the test.
func start(t *testing.T, nt *net, opts das.Options) *das.DASer {
	t.Helper()
	return startWith(t, nt, nt.getter, opts)
}

// startWith is start sampling through g.
func startWith(t *testing.T, nt *net, g das.Getter, opts das.Options) *das.DASer {
	t.Helper()
	d, err := das.New(nt.store, g, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return d
}

func waitCatchUp(t *testing.T, d *das.DASer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := d.WaitCatchUp(ctx); err != nil {
		t.Fatalf("WaitCatchUp: %v (stats %+v)", err, d.Stats())
	}
}

// eventually waits, up to 30 s, for cond to hold of the DASer's stats. It
// polls: retries happen on the DASer's own timers.
func eventually(t *testing.T, d *das.DASer, what string, cond func(das.Stats) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond(d.Stats()) {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (stats %+v)", what, ctx.Err(), d.Stats())
		case <-tick.C:
		}
	}
}

// testOpts are fast, deterministic options.
func testOpts(seed uint64) das.Options {
	return das.Options{
		Workers:       4,
		RangeSize:     16,
		SampleTimeout: 2 * time.Second,
		RetryBackoff:  time.Hour,
		PollInterval:  time.Hour,
		Rand:          newPCG(seed),
	}
}
