package syncer_test

import (
	"context"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/gossip"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/header/syncer"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

// Two hosts on loopback: headers a bridge publishes on header-sub reach the
// other node's syncer through Incoming, the next one appended directly, a
// far one raising the target the loop then syncs to.
func TestGossipIntoSyncer(t *testing.T) {
	ctx := testContext(t)
	chain := longChain()[:60]
	const network = "test-chain" // headertest's default chain ID

	bridgeHost, bridgePS := newHost(t, ctx)
	lightHost, lightPS := newHost(t, ctx)

	// The light node: a syncer at height 20 of the network's chain.
	net := newNetwork(t, chain, 20, header.VerifyOptions{})
	st := watch(headertest.NewMemStore())
	s := startSyncer(t, ctx, st, net, syncer.Trust{Height: 20}, testOptions(t))
	if err := s.SyncWait(ctx); err != nil {
		t.Fatal(err)
	}
	verdicts := make(chan error, 8)
	light, err := gossip.New(lightPS, network, func(ctx context.Context, h *header.ExtendedHeader) error {
		err := s.Incoming(ctx, h)
		verdicts <- err
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	startStop(t, ctx, light)

	bridge, err := gossip.New(bridgePS, network, func(context.Context, *header.ExtendedHeader) error { return gossip.ErrIgnore })
	if err != nil {
		t.Fatal(err)
	}
	startStop(t, ctx, bridge)
	p2ptest.Connect(t, ctx, bridgeHost, lightHost)
	waitPeer(t, ctx, bridge, lightHost.ID())

	if err := bridge.Publish(ctx, chain[20]); err != nil { // height 21
		t.Fatal(err)
	}
	if err := <-verdicts; err != nil {
		t.Fatalf("Incoming(21): %v", err)
	}
	if st.Height() != 21 {
		t.Fatalf("store at %d after the next header", st.Height())
	}
	if err := bridge.Publish(ctx, chain[49]); err != nil { // height 50
		t.Fatal(err)
	}
	if err := <-verdicts; err != nil {
		t.Fatalf("Incoming(50): %v", err)
	}
	st.waitHeight(t, ctx, 50)
}

func newHost(t *testing.T, ctx context.Context) (host.Host, *pubsub.PubSub) {
	t.Helper()
	n := p2ptest.NewNode(t, ctx)
	return n.Host, n.PubSub
}

func startStop(t *testing.T, ctx context.Context, g *gossip.Gossip) {
	t.Helper()
	p2ptest.Start(t, ctx, g)
}

// waitPeer waits, bounded by ctx, until p is subscribed to g's topic as far
// as g knows.
func waitPeer(t *testing.T, ctx context.Context, g *gossip.Gossip, p peer.ID) {
	t.Helper()
	p2ptest.WaitPeer(t, ctx, g.ListPeers, p, 5*time.Millisecond)
}
