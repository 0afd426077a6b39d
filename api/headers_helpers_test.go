package api_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/header/syncer"
	"github.com/datamesh/mesh-node/share"
)

// chain is a generated chain with its squares.
type chain struct {
	headers []*header.ExtendedHeader
	mu      sync.Mutex
	squares map[uint64]*eds.ExtendedDataSquare
}

// newChain generates n headers (and keeps their squares).
func newChain(t testing.TB, n int, seed uint64) *chain {
	t.Helper()
	c := &chain{squares: map[uint64]*eds.ExtendedDataSquare{}}
	g := headertest.NewGenerator(headertest.Options{Seed: seed, Blobs: 3, OnSquare: func(h int64, sq *eds.ExtendedDataSquare) {
		c.mu.Lock()
		c.squares[uint64(h)] = sq
		c.mu.Unlock()
	}})
	c.headers = g.Chain(t, n)
	return c
}

// at returns the header at height.
func (c *chain) at(height uint64) *header.ExtendedHeader { return c.headers[height-1] }

// square returns the square at height.
func (c *chain) square(height uint64) *eds.ExtendedDataSquare {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.squares[height]
}

// watchedStore is a MemStore that reports each Height call to a test
// listening on calls (a non-blocking send: calls nobody listens to are not
// reported), so a test knows a waiter is polling.
type watchedStore struct {
	*headertest.MemStore
	calls chan struct{}
}

func newWatchedStore() *watchedStore {
	return &watchedStore{MemStore: headertest.NewMemStore(), calls: make(chan struct{})}
}

func (s *watchedStore) Height() uint64 {
	select {
	case s.calls <- struct{}{}:
	default:
	}
	return s.MemStore.Height()
}

// awaitPolls returns after n Height calls, failing t at ctx's end.
func (s *watchedStore) awaitPolls(ctx context.Context, t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-s.calls:
		case <-ctx.Done():
			t.Fatal("the call never polled the store")
		}
	}
}

// fakeSync is a SyncInfo whose state the test sets.
type fakeSync struct {
	mu    sync.Mutex
	state syncer.State
	err   error
}

func (f *fakeSync) State() syncer.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *fakeSync) SyncWait(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// testCtx returns a context that ends with the test, or after 20 s.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// readCtx returns ctx carrying a read token's permissions.
func readCtx(ctx context.Context) context.Context {
	return api.WithPerms(ctx, api.PermsFor(api.PermRead))
}

// newHeaders returns a header service over store, failing t.
func newHeaders(t *testing.T, store header.Store, sync api.SyncInfo) *api.Headers {
	t.Helper()
	h, err := api.NewHeaders(api.HeaderOptions{Store: store, Sync: sync, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// squareGetter is an api.ShareGetter over a chain's squares, as
// nodebuilder's local adapter is over the node's square store.
type squareGetter struct{ c *chain }

func (g squareGetter) sq(h *header.ExtendedHeader) (*eds.ExtendedDataSquare, error) {
	sq := g.c.square(h.Height())
	if sq == nil {
		return nil, fmt.Errorf("no square at height %d", h.Height())
	}
	return sq, nil
}

func (g squareGetter) GetSample(_ context.Context, h *header.ExtendedHeader, row, col int) (*eds.Sample, error) {
	sq, err := g.sq(h)
	if err != nil {
		return nil, err
	}
	return sq.Sample(row, col, eds.Row)
}

func (g squareGetter) GetRow(_ context.Context, h *header.ExtendedHeader, row int) ([][]byte, error) {
	sq, err := g.sq(h)
	if err != nil {
		return nil, err
	}
	return sq.Row(row), nil
}

func (g squareGetter) GetNamespaceData(_ context.Context, h *header.ExtendedHeader, ns share.Namespace) (eds.NamespaceData, error) {
	sq, err := g.sq(h)
	if err != nil {
		return nil, err
	}
	return sq.NamespaceData(ns)
}

func (g squareGetter) GetEDS(_ context.Context, h *header.ExtendedHeader) (*eds.ExtendedDataSquare, error) {
	return g.sq(h)
}
