package das_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	edsstore "github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
)

// edsGetter serves whole squares the way a reconstructing getter does:
// eds.Repair of the cells it holds against the header's DAH, so a square
// whose cells contradict the DAH yields genuine *eds.ErrByzantineData.
type edsGetter struct {
	mu       sync.Mutex
	cells    map[uint64][][]byte // the 4k² cells of each height, row-major
	calls    map[uint64]int
	withhold map[uint64]bool
}

func newEDSGetter(squares map[uint64]*eds.ExtendedDataSquare) *edsGetter {
	g := &edsGetter{cells: map[uint64][][]byte{}, calls: map[uint64]int{}, withhold: map[uint64]bool{}}
	for h, sq := range squares {
		g.cells[h] = cellsOf(sq)
	}
	return g
}

func cellsOf(sq *eds.ExtendedDataSquare) [][]byte {
	w := sq.Width()
	out := make([][]byte, 0, w*w)
	for r := range w {
		for c := range w {
			out = append(out, bytes.Clone(sq.Share(r, c)))
		}
	}
	return out
}

func (g *edsGetter) GetEDS(ctx context.Context, h *header.ExtendedHeader) (*eds.ExtendedDataSquare, error) {
	g.mu.Lock()
	g.calls[h.Height()]++
	cells, withhold := g.cells[h.Height()], g.withhold[h.Height()]
	g.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cells == nil || withhold {
		return nil, fmt.Errorf("square %d withheld: %w", h.Height(), das.ErrUnavailable)
	}
	return eds.Repair(h.DAH, cells)
}

func (g *edsGetter) setWithhold(heights ...uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.withhold = map[uint64]bool{}
	for _, h := range heights {
		g.withhold[h] = true
	}
}

func (g *edsGetter) callCounts() map[uint64]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[uint64]int, len(g.calls))
	for h, n := range g.calls {
		out[h] = n
	}
	return out
}

// squareDB is a full node's SquareStore: eds/store on Badger, each square
// in its own transaction, cached once committed.
type squareDB struct {
	db *badger.DB
	s  *edsstore.Store
}

func (q *squareDB) Put(_ context.Context, h *header.ExtendedHeader, e *eds.ExtendedDataSquare) error {
	if err := q.db.Update(func(txn *badger.Txn) error { return q.s.Put(txn, h.Height(), e) }); err != nil {
		return err
	}
	q.s.Cache(h.Height(), e)
	return nil
}

func (q *squareDB) Has(ctx context.Context, height uint64) (bool, error) { return q.s.Has(ctx, height) }

// stored counts OnStored calls per height.
type stored struct {
	mu sync.Mutex
	n  map[uint64]int
}

func (s *stored) add(h *header.ExtendedHeader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[uint64]int{}
	}
	s.n[h.Height()]++
}

func (s *stored) counts() map[uint64]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[uint64]int, len(s.n))
	for h, n := range s.n {
		out[h] = n
	}
	return out
}

// fullNode is a full DASer's parts on one Badger database, reopenable.
type fullNode struct {
	t      *testing.T
	dir    string
	nt     *net
	getter *edsGetter
	stored stored
	opts   das.Options

	db      *badger.DB
	squares *squareDB
	d       *das.DASer
}

func newFullNode(t *testing.T, nt *net, opts das.Options) *fullNode {
	nt.getter.mu.Lock()
	g := newEDSGetter(nt.getter.squares)
	nt.getter.mu.Unlock()
	return &fullNode{t: t, dir: t.TempDir(), nt: nt, getter: g, opts: opts}
}

func (f *fullNode) start() {
	f.t.Helper()
	f.db = openDB(f.t, f.dir)
	f.squares = &squareDB{db: f.db, s: edsstore.New(f.db, edsstore.Options{CacheSize: 4})}
	opts := f.opts
	opts.DB = f.db
	opts.OnStored = f.stored.add
	d, err := das.NewFull(f.nt.store, f.getter, f.squares, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := d.Start(f.t.Context()); err != nil {
		f.t.Fatal(err)
	}
	f.d = d
}

func (f *fullNode) stop() {
	f.t.Helper()
	if err := f.d.Stop(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	if err := f.db.Close(); err != nil {
		f.t.Fatal(err)
	}
}

func fullOpts() das.Options {
	return das.Options{Workers: 4, RangeSize: 16, FullTimeout: 10 * time.Second, RetryBackoff: time.Hour, PollInterval: time.Hour}
}

// checkODS checks that the store holds the generator's square at each
// height, byte for byte.
func checkODS(t *testing.T, f *fullNode, heights ...uint64) {
	t.Helper()
	for _, h := range heights {
		got, err := f.squares.s.ODS(t.Context(), h)
		if err != nil {
			t.Fatalf("ODS(%d): %v", h, err)
		}
		f.nt.getter.mu.Lock()
		want := f.nt.getter.squares[h].FlattenedODS()
		f.nt.getter.mu.Unlock()
		if len(got) != len(want) {
			t.Fatalf("height %d: %d shares, want %d", h, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("height %d: share %d differs", h, i)
			}
		}
	}
}

func TestFullCatchUpStoresEverySquare(t *testing.T) {
	nt := newNet(t, 100, headertest.Options{})
	f := newFullNode(t, nt, fullOpts())
	f.start()
	waitCatchUp(t, f.d)
	st := f.d.Stats()
	if st.SampledChainHead != 100 || st.Sampled != 100 || len(st.Failed) != 0 || st.BadEncoding != nil {
		t.Fatalf("stats: %+v", st)
	}
	all := make([]uint64, 0, 100)
	for h := uint64(1); h <= 100; h++ {
		all = append(all, h)
		r, err := f.d.Result(t.Context(), h)
		if err != nil || !r.Available || !r.Full || r.Confidence != 1 || r.BadEncoding != 0 {
			t.Fatalf("Result(%d) = %+v, %v", h, r, err)
		}
	}
	checkODS(t, f, all...)
	calls := f.getter.callCounts()
	storedN := f.stored.counts()
	for _, h := range all {
		if calls[h] != 1 || storedN[h] != 1 {
			t.Fatalf("height %d: %d fetches, %d OnStored calls; want 1 and 1", h, calls[h], storedN[h])
		}
	}
	f.stop()

	// A restart fetches nothing it has; five new heads are fetched once.
	nt.extend(t, 5)
	for h := uint64(101); h <= 105; h++ {
		f.getter.cells[h] = cellsOf(nt.getter.squares[h])
	}
	f.start()
	defer f.stop()
	waitCatchUp(t, f.d)
	calls = f.getter.callCounts()
	storedN = f.stored.counts()
	for h := uint64(1); h <= 105; h++ {
		if calls[h] != 1 || storedN[h] != 1 {
			t.Fatalf("after restart, height %d: %d fetches, %d OnStored calls; want 1 and 1", h, calls[h], storedN[h])
		}
	}
	checkODS(t, f, 101, 102, 103, 104, 105)
}

// A square the store already has (a restart within a job) is available
// without a fetch and without OnStored.
func TestFullSkipsStoredSquares(t *testing.T) {
	nt := newNet(t, 10, headertest.Options{})
	f := newFullNode(t, nt, fullOpts())
	f.db = openDB(t, f.dir)
	sq := &squareDB{db: f.db, s: edsstore.New(f.db, edsstore.Options{})}
	for _, h := range nt.headers[:5] {
		if err := sq.Put(t.Context(), h, nt.getter.squares[h.Height()]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	f.start()
	defer f.stop()
	waitCatchUp(t, f.d)
	calls, storedN := f.getter.callCounts(), f.stored.counts()
	for h := uint64(1); h <= 10; h++ {
		want := 0
		if h > 5 {
			want = 1
		}
		if calls[h] != want || storedN[h] != want {
			t.Fatalf("height %d: %d fetches, %d OnStored; want %d", h, calls[h], storedN[h], want)
		}
		if r, err := f.d.Result(t.Context(), h); err != nil || !r.Available || !r.Full {
			t.Fatalf("Result(%d) = %+v, %v", h, r, err)
		}
	}
}

func TestFullWithholdingRetried(t *testing.T) {
	nt := newNet(t, 60, headertest.Options{})
	opts := fullOpts()
	opts.RetryBackoff = 20 * time.Millisecond
	opts.MaxRetryBackoff = 40 * time.Millisecond
	f := newFullNode(t, nt, opts)
	f.getter.setWithhold(17, 50)
	f.start()
	defer f.stop()
	waitCatchUp(t, f.d)
	for _, h := range []uint64{17, 50} {
		if r, err := f.d.Result(t.Context(), h); err != nil || r.Available || r.Full {
			t.Fatalf("Result(%d) = %+v, %v; want unavailable", h, r, err)
		}
		if ok, _ := f.squares.Has(t.Context(), h); ok {
			t.Fatalf("height %d stored while withheld", h)
		}
	}
	eventually(t, f.d, "second attempts", func(s das.Stats) bool { return s.Failed[17] >= 2 && s.Failed[50] >= 2 })
	f.getter.setWithhold()
	eventually(t, f.d, "withheld heights recovered", func(s das.Stats) bool { return len(s.Failed) == 0 })
	for _, h := range []uint64{17, 50} {
		if r, err := f.d.Result(t.Context(), h); err != nil || !r.Available || !r.Full {
			t.Fatalf("Result(%d) = %+v, %v; want available", h, r, err)
		}
		if n := f.stored.counts()[h]; n != 1 {
			t.Fatalf("height %d: %d OnStored calls", h, n)
		}
	}
	checkODS(t, f, 17, 50)
}

// corruptDAH returns the cells of sq with one share of its original
// quadrant changed, and the header such a square would have: roots
// computed over the changed cells, so every row and column matches its
// root but row r is not the encoding of its first half.
func corruptDAH(t *testing.T, sq *eds.ExtendedDataSquare, r, c int) (*eds.DataAvailabilityHeader, [][]byte) {
	t.Helper()
	cells := cellsOf(sq)
	w, k := sq.Width(), sq.K()
	cells[r*w+c][share.ShareSize-1] ^= 0x5a
	root := func(idx int, axisCells func(j int) []byte) []byte {
		tree := nmt.New()
		for j := range w {
			cell := axisCells(j)
			ns := share.ParitySharesNamespace[:]
			if idx < k && j < k {
				ns = cell[:share.NamespaceSize]
			}
			if err := tree.Push(append(bytes.Clone(ns), cell...)); err != nil {
				t.Fatal(err)
			}
		}
		rt, err := tree.Root()
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	dah := &eds.DataAvailabilityHeader{}
	for i := range w {
		dah.RowRoots = append(dah.RowRoots, root(i, func(j int) []byte { return cells[i*w+j] }))
		dah.ColumnRoots = append(dah.ColumnRoots, root(i, func(j int) []byte { return cells[j*w+i] }))
	}
	return dah, cells
}

// badNet is a chain of n headers whose block at height bad commits to a
// badly encoded square: its header carries the corrupted square's roots
// (dah), and cells are the cells a full node's getter is to serve for it.
func badNet(t *testing.T, n int, bad uint64) (nt *net, byzHeader *header.ExtendedHeader, dah *eds.DataAvailabilityHeader, cells [][]byte) {
	t.Helper()
	nt = newNet(t, 0, headertest.Options{})
	hs := nt.gen.Chain(t, n)
	dah, cells = corruptDAH(t, nt.getter.squares[bad], 0, 0)
	byz := *hs[bad-1]
	byz.DAH = dah
	hs[bad-1] = &byz
	if err := nt.store.Append(t.Context(), hs...); err != nil {
		t.Fatal(err)
	}
	nt.headers = hs
	return nt, &byz, dah, cells
}

// startBad starts a full node of nt serving cells for height bad, and
// waits for its DASer to find the bad encoding (WaitCatchUp returns
// ErrBadEncoding).
func startBad(t *testing.T, nt *net, opts das.Options, bad uint64, cells [][]byte) *fullNode {
	t.Helper()
	f := newFullNode(t, nt, opts)
	f.getter.cells[bad] = cells
	f.start()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := f.d.WaitCatchUp(ctx); !errors.Is(err, das.ErrBadEncoding) {
		t.Fatalf("WaitCatchUp = %v, want ErrBadEncoding", err)
	}
	return f
}

func TestFullBadEncoding(t *testing.T) {
	const bad = 20
	nt, byzHeader, dah, cells := badNet(t, 40, bad)

	opts := fullOpts()
	opts.Workers = 1 // heights in order: 1..19 are stored before the proof
	f := startBad(t, nt, opts, bad, cells)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := f.d.BadEncoding()
	if p == nil || p.Height != bad || !bytes.Equal(p.HeaderHash, byzHeader.Hash()) {
		t.Fatalf("BadEncoding() = %+v", p)
	}
	if err := p.Validate(dah); err != nil {
		t.Fatalf("the proof does not validate: %v", err)
	}
	if err := p.Validate(nt.headers[0].DAH); err == nil {
		t.Fatal("the proof validates against another block")
	}
	st := f.d.Stats()
	if st.BadEncoding == nil || st.BadEncoding.Height != bad || st.BadEncoding.Axis != p.Axis.String() || st.BadEncoding.Index != p.Index {
		t.Fatalf("Stats().BadEncoding = %+v, proof %s %d", st.BadEncoding, p.Axis, p.Index)
	}
	checkResults := func() {
		t.Helper()
		for h := uint64(1); h <= 40; h++ {
			r, err := f.d.Result(t.Context(), h)
			switch {
			case h < bad && (err != nil || !r.Available || r.BadEncoding != 0):
				t.Fatalf("Result(%d) = %+v, %v; want available", h, r, err)
			case h >= bad && (err != nil || r.Available || r.BadEncoding != bad || r.Height != h):
				t.Fatalf("Result(%d) = %+v, %v; want unavailable by bad encoding", h, r, err)
			}
		}
	}
	checkResults()
	if ok, _ := f.squares.Has(t.Context(), bad); ok {
		t.Fatal("the badly encoded square was stored")
	}
	want, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	f.stop()
	calls := f.getter.callCounts()
	if calls[bad+1] != 0 {
		t.Fatalf("height %d fetched after the proof", bad+1)
	}

	// A restart reloads the proof and checks nothing.
	f.start()
	if err := f.d.WaitCatchUp(ctx); !errors.Is(err, das.ErrBadEncoding) {
		t.Fatalf("after restart: WaitCatchUp = %v, want ErrBadEncoding", err)
	}
	p2 := f.d.BadEncoding()
	if p2 == nil {
		t.Fatal("the proof did not survive a restart")
	}
	if got, _ := p2.MarshalBinary(); !bytes.Equal(got, want) {
		t.Fatal("the reloaded proof differs")
	}
	if err := p2.Validate(dah); err != nil {
		t.Fatal(err)
	}
	if st := f.d.Stats(); st.BadEncoding == nil || st.BadEncoding.Height != bad {
		t.Fatalf("after restart: %+v", st)
	}
	f.d.OnHead(nt.extend(t, 1)[0])
	checkResults()
	f.stop()
	after := f.getter.callCounts()
	for h, n := range after {
		if n != calls[h] {
			t.Fatalf("height %d fetched after a restart with the proof", h)
		}
	}
}

func TestNewFullRejectsNil(t *testing.T) {
	nt := newNet(t, 1, headertest.Options{})
	g := newEDSGetter(nil)
	if _, err := das.NewFull(nt.store, g, nil, das.Options{}); !errors.Is(err, das.ErrInvalidOptions) {
		t.Fatalf("nil store: %v", err)
	}
	if _, err := das.NewFull(nt.store, g, &squareDB{}, das.Options{FullTimeout: -1}); !errors.Is(err, das.ErrInvalidOptions) {
		t.Fatalf("negative timeout: %v", err)
	}
}
