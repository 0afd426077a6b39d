package blob_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/share"
)

// testGetter serves the squares of an in-memory map, verifying what it
// returns against the header's DAH, as a bridge node's local getter does.
type testGetter struct {
	mu      sync.RWMutex
	squares map[uint64]*eds.ExtendedDataSquare
}

func (g *testGetter) square(h *header.ExtendedHeader) (*eds.ExtendedDataSquare, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	e, ok := g.squares[h.Height()]
	if !ok {
		return nil, fmt.Errorf("test getter: no square at height %d", h.Height())
	}
	return e, nil
}

func (g *testGetter) GetNamespaceData(ctx context.Context, h *header.ExtendedHeader, ns share.Namespace) (eds.NamespaceData, error) {
	e, err := g.square(h)
	if err != nil {
		return nil, err
	}
	nd, err := e.NamespaceData(ns)
	if err != nil {
		return nil, err
	}
	if err := nd.Verify(h.DAH, ns); err != nil {
		return nil, err
	}
	return nd, nil
}

func (g *testGetter) GetRow(ctx context.Context, h *header.ExtendedHeader, row int) ([][]byte, error) {
	e, err := g.square(h)
	if err != nil {
		return nil, err
	}
	if row < 0 || row >= e.Width() {
		return nil, fmt.Errorf("test getter: row %d out of range", row)
	}
	half := e.Row(row)[:e.K()]
	out := make([][]byte, len(half))
	for i, s := range half {
		out[i] = append([]byte(nil), s...)
	}
	return out, nil
}

// EDS makes the getter a blob.SquareSource for the index tests.
func (g *testGetter) EDS(ctx context.Context, height uint64) (*eds.ExtendedDataSquare, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	e, ok := g.squares[height]
	if !ok {
		return nil, fmt.Errorf("%w: height %d", errNoSquare, height)
	}
	return e, nil
}

var errNoSquare = fmt.Errorf("test getter: no square")

// testHeaders is blob.Headers over a headertest.MemStore; WaitForHeight
// wakes on every append.
type testHeaders struct {
	*headertest.MemStore
	mu      sync.Mutex
	changed chan struct{}
}

func newTestHeaders() *testHeaders {
	return &testHeaders{MemStore: headertest.NewMemStore(), changed: make(chan struct{})}
}

func (s *testHeaders) append(t *testing.T, hs ...*header.ExtendedHeader) {
	t.Helper()
	if err := s.Append(context.Background(), hs...); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *testHeaders) WaitForHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if h, err := s.GetByHeight(ctx, height); err == nil {
			return h, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// fixture is a chain of headers over real squares: generator blocks, and
// at customHeight a square built here with two blobs in nsA (one spanning
// several rows) and one in nsB.
type fixture struct {
	headers []*header.ExtendedHeader
	store   *testHeaders
	getter  *testGetter
	svc     *blob.Service
}

const customHeight = 2

var (
	nsA = mustNS("rollup-a")
	nsB = mustNS("rollup-b")
)

func mustNS(id string) share.Namespace {
	ns, err := share.NewV0Namespace([]byte(id))
	if err != nil {
		panic(err)
	}
	return ns
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// customSquare builds a square holding the blobs of nsA and nsB.
func customSquare(t *testing.T) *eds.ExtendedDataSquare {
	t.Helper()
	mk := func(ns share.Namespace, data []byte) *share.Blob {
		b, err := share.NewBlob(ns, data, share.ShareVersionZero, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tx1, err := share.MarshalBlobTx([]byte("pfb a"), mk(nsA, pattern(3000, 1)), mk(nsB, pattern(100, 2)))
	if err != nil {
		t.Fatal(err)
	}
	tx2, err := share.MarshalBlobTx([]byte("pfb a2"), mk(nsA, pattern(5000, 3)))
	if err != nil {
		t.Fatal(err)
	}
	return edstest.BuildEDS(t, [][]byte{tx1, tx2, []byte("transfer")}, share.SquareSizeUpperBound)
}

// newFixture makes n headers (n >= customHeight) and a service over them;
// the first appended of them are in the header store.
func newFixture(t *testing.T, n, appended int) *fixture {
	t.Helper()
	return newFixtureWith(t, n, appended, customSquare(t))
}

// newFixtureWith is newFixture with e as the square at customHeight.
func newFixtureWith(t *testing.T, n, appended int, e *eds.ExtendedDataSquare) *fixture {
	t.Helper()
	squares := map[uint64]*eds.ExtendedDataSquare{}
	gen := headertest.NewGenerator(headertest.Options{
		Blobs: 6, MaxBlobSize: 6000, Seed: 7,
		OnSquare: func(h int64, e *eds.ExtendedDataSquare) { squares[uint64(h)] = e },
	})
	hs := gen.Chain(t, n)
	// Swap in the custom square at customHeight: the header keeps its
	// hash (so the chain still links) and gets the square's DAH.
	dah, err := eds.NewDAH(e)
	if err != nil {
		t.Fatal(err)
	}
	custom := *hs[customHeight-1]
	custom.DAH = dah
	hs[customHeight-1] = &custom
	squares[customHeight] = e

	f := &fixture{headers: hs, store: newTestHeaders(), getter: &testGetter{squares: squares}}
	if appended > 0 {
		f.store.append(t, hs[:appended]...)
	}
	f.svc, err = blob.NewService(blob.Options{Headers: f.store, Getter: f.getter})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// expected returns the blobs of the square at height as share.ParseSquare
// reads them, with their index in the extended square.
func (f *fixture) expected(t *testing.T, height uint64) []*blob.Blob {
	t.Helper()
	e := f.getter.squares[height]
	parsed, err := share.ParseSquare(e.ODS())
	if err != nil {
		t.Fatal(err)
	}
	k := e.K()
	out := make([]*blob.Blob, 0, len(parsed.Blobs))
	for _, p := range parsed.Blobs {
		c, err := p.Blob.Commitment()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &blob.Blob{Namespace: p.Blob.Namespace(), Data: p.Blob.Data(), ShareVersion: p.Blob.ShareVersion(),
			Signer: p.Blob.Signer(), Commitment: c, Index: (p.Start/k)*2*k + p.Start%k})
	}
	return out
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// namespacesOf returns the namespaces of the blobs of e.
func namespacesOf(e *eds.ExtendedDataSquare) []share.Namespace {
	parsed, err := share.ParseSquare(e.ODS())
	if err != nil {
		return nil
	}
	var out []share.Namespace
	for _, p := range parsed.Blobs {
		out = append(out, p.Blob.Namespace())
	}
	return out
}
