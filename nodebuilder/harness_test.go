package nodebuilder_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/exchange"
	"github.com/datamesh/mesh-node/header/gossip"
	"github.com/datamesh/mesh-node/p2p"
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
}

func startTestBridge(ctx context.Context, t testing.TB, chainID string, store header.Store) *testBridge {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := p2p.New(key, p2p.Config{Network: chainID, Mode: p2p.ModeBridge,
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, DisableDiscovery: true}, nil)
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
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, stop := range []func(context.Context) error{b.gossip.Stop, b.server.Stop, n.Stop} {
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
