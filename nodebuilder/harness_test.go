package nodebuilder_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/exchange"
	"github.com/datamesh/mesh-node/header/gossip"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/p2p"
	"github.com/datamesh/mesh-node/shrex"
)

// testBridge serves a header store over header-ex and publishes on
// header-sub from a real p2p host, without a core node: the store is
// filled by the test (a headertest chain), or made to lie by wrapping it.
// It runs exactly the header-ex server and header-sub a bridge runs.
type testBridge struct {
	p2p    *p2p.Node
	store  header.Store
	server *exchange.Server
	gossip *gossip.Gossip
	shrex  *shrex.Server
}

func startTestBridge(ctx context.Context, t testing.TB, chainID string, store header.Store) *testBridge {
	return startSquareBridge(ctx, t, chainID, store, nil)
}

// startSquareBridge is startTestBridge that also serves squares over shrex
// from squares, if not nil, with the shrex server options opts.
func startSquareBridge(ctx context.Context, t testing.TB, chainID string, store header.Store, squares shrex.Store, opts ...shrex.ServerOption) *testBridge {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := nodebuilder.P2PConfig(nodebuilder.Bridge, chainID)
	cfg.ListenAddrs, cfg.DisableDiscovery = []string{"/ip4/127.0.0.1/tcp/0"}, true
	n, err := p2p.New(key, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	b := &testBridge{p2p: n, store: store}
	if b.server, err = exchange.NewServer(n.Host(), chainID, store); err != nil {
		t.Fatal(err)
	}
	if err := b.server.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Like a bridge, it does not take headers from gossip.
	ignore := func(context.Context, *header.ExtendedHeader) error { return gossip.ErrIgnore }
	if b.gossip, err = gossip.New(n.PubSub(), chainID, ignore); err != nil {
		t.Fatal(err)
	}
	if err := b.gossip.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stops := []func(context.Context) error{b.gossip.Stop, b.server.Stop, n.Stop}
	if squares != nil {
		if b.shrex, err = shrex.NewServer(n.Host(), chainID, squares, opts...); err != nil {
			t.Fatal(err)
		}
		if err := b.shrex.Start(ctx); err != nil {
			t.Fatal(err)
		}
		stops = append([]func(context.Context) error{b.shrex.Stop}, stops...)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, stop := range stops {
			if err := stop(ctx); err != nil {
				t.Errorf("stop test bridge: %v", err)
			}
		}
	})
	return b
}

func (b *testBridge) id() peer.ID { return b.p2p.Host().ID() }

func (b *testBridge) addr(t testing.TB) string {
	t.Helper()
	addrs := b.p2p.FullAddrs()
	if len(addrs) == 0 {
		t.Fatal("test bridge has no address")
	}
	return addrs[0]
}

// publish appends hs to the bridge's store and publishes each, as a bridge
// does with the headers it builds. Gossip is best effort (a peer that just
// joined may miss a message); the nodes' syncers fill gaps over header-ex.
func (b *testBridge) publish(ctx context.Context, t testing.TB, hs ...*header.ExtendedHeader) {
	t.Helper()
	for _, h := range hs {
		if err := b.store.Append(ctx, h); err != nil {
			t.Fatal(err)
		}
		if err := b.gossip.Publish(ctx, h); err != nil {
			t.Fatal(fmt.Errorf("publish %d: %w", h.Height(), err))
		}
	}
}

// squareMap serves the squares of a headertest chain (Options.OnSquare) to
// a shrex server; withhold, if set, makes it refuse a height's square.
type squareMap struct {
	squares  map[uint64]*eds.ExtendedDataSquare
	withhold func(height uint64) bool
}

func (m *squareMap) EDS(_ context.Context, height uint64) (*eds.ExtendedDataSquare, error) {
	e, ok := m.squares[height]
	if !ok || m.withhold != nil && m.withhold(height) {
		return nil, fmt.Errorf("%w: height %d", shrex.ErrNotFound, height)
	}
	return e, nil
}

// chainWithSquares makes n headers of chainID with blobs and returns them
// with their squares by height.
func chainWithSquares(t testing.TB, chainID string, seed uint64, n int) ([]*header.ExtendedHeader, map[uint64]*eds.ExtendedDataSquare) {
	t.Helper()
	squares := map[uint64]*eds.ExtendedDataSquare{}
	g := headertest.NewGenerator(headertest.Options{ChainID: chainID, Seed: seed, Blobs: 4, MaxBlobSize: 4000,
		OnSquare: func(h int64, e *eds.ExtendedDataSquare) { squares[uint64(h)] = e }})
	return g.Chain(t, n), squares
}
