package shrex_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/shrex"
)

const netID = "test-net"

// testCtx bounds a test's requests.
func testCtx(t testing.TB) context.Context { return p2ptest.Context(t) }

func newHost(t testing.TB) host.Host { t.Helper(); return p2ptest.Host(t) }

func connect(t testing.TB, a, b host.Host) { t.Helper(); p2ptest.Connect(t, testCtx(t), a, b) }

// block is a square and the header the client checks it against (only
// its height and DAH matter here).
type block struct {
	eds *eds.ExtendedDataSquare
	h   *header.ExtendedHeader
}

var blocks sync.Map // "seed/k" -> block

// square returns the block of width k built from seed, at height seed.
func square(t testing.TB, seed uint64, k int) block {
	t.Helper()
	key := fmt.Sprintf("%d/%d", seed, k)
	if b, ok := blocks.Load(key); ok {
		return b.(block)
	}
	e, dah := edstest.RandomEDS(t, seed, k, k/2)
	b := block{eds: e, h: &header.ExtendedHeader{RawHeader: cmttypes.Header{Height: int64(seed)}, DAH: dah}}
	blocks.Store(key, b)
	return b
}

// memStore is a shrex.Store over a map; gate, when set, is called before
// each read (to hold requests in flight).
type memStore struct {
	mu      sync.Mutex
	squares map[uint64]*eds.ExtendedDataSquare
	gate    func(ctx context.Context) error
}

func newStore(bs ...block) *memStore {
	s := &memStore{squares: map[uint64]*eds.ExtendedDataSquare{}}
	for _, b := range bs {
		s.squares[b.h.Height()] = b.eds
	}
	return s
}

func (s *memStore) EDS(ctx context.Context, height uint64) (*eds.ExtendedDataSquare, error) {
	s.mu.Lock()
	e, gate := s.squares[height], s.gate
	s.mu.Unlock()
	if gate != nil {
		if err := gate(ctx); err != nil {
			return nil, err
		}
	}
	if e == nil {
		return nil, fmt.Errorf("height %d: %w", height, shrex.ErrNotFound)
	}
	return e, nil
}

// quiet is the tests' logger: the servers log what the tests provoke.
var quiet = slog.New(slog.DiscardHandler)

// serve starts a server on a new host.
func serve(t testing.TB, st shrex.Store, opts ...shrex.ServerOption) host.Host {
	t.Helper()
	h := newHost(t)
	opts = append([]shrex.ServerOption{shrex.WithServerLogger(quiet)}, opts...)
	srv, err := shrex.NewServer(h, netID, st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.Start(t, context.Background(), srv)
	return h
}

// client returns a client on a new host connected to server.
func client(t testing.TB, server host.Host, opts ...shrex.ClientOption) *shrex.Client {
	t.Helper()
	h := newHost(t)
	connect(t, h, server)
	opts = append([]shrex.ClientOption{shrex.WithLogger(quiet)}, opts...)
	c, err := shrex.NewClient(h, netID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
