package peers_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/shrex/edssub"
	"github.com/datamesh/mesh-node/shrex/peers"
)

// newPubSub returns a loopback host with gossipsub configured as p2p.Node
// configures it. Both live until the test's cleanups, after the services
// started on them have stopped.
func newPubSub(t *testing.T) (host.Host, *pubsub.PubSub) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	n := p2ptest.NewNode(t, ctx, p2ptest.NodeOptions()...)
	return n.Host, n.PubSub
}

func startEdsSub(t *testing.T, ctx context.Context, ps *pubsub.PubSub) *edssub.EdsSub {
	t.Helper()
	e, err := edssub.New(ps, "test-net")
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.Start(t, ctx, e)
	return e
}

// TestEdsSubFeedsManager wires a full node's eds-sub subscription into its
// Manager, as nodebuilder does, and has a bridge announce squares.
func TestEdsSubFeedsManager(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bridgeHost, bridgePS := newPubSub(t)
	fullHost, fullPS := newPubSub(t)
	bridge := startEdsSub(t, ctx, bridgePS)
	full := startEdsSub(t, ctx, fullPS)
	if err := fullHost.Connect(ctx, peer.AddrInfo{ID: bridgeHost.ID(), Addrs: bridgeHost.Addrs()}); err != nil {
		t.Fatal(err)
	}

	m, err := peers.New(peers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := full.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sub.Cancel()
		for {
			n, err := sub.Next(ctx)
			if err != nil {
				return
			}
			m.Announced(n.Height, n.DataRoot, n.From)
		}
	}()
	defer func() { cancel(); <-done }()

	for !slices.Contains(bridge.ListPeers(), fullHost.ID()) {
		select {
		case <-ctx.Done():
			t.Fatalf("the full node never joined the topic: %v", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	// A message sent as a peer joins can be lost: announce new heights
	// until the manager learns one.
	root := func(h uint64) []byte {
		r := sha256.Sum256(fmt.Appendf(nil, "root %d", h))
		return r[:]
	}
	var learned uint64
	for h := uint64(1); learned == 0; h++ {
		if err := bridge.Publish(ctx, h, root(h)); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(time.Second)
	wait:
		for {
			for k := uint64(1); k <= h; k++ {
				if got := m.Peers(k, root(k), 3); len(got) > 0 {
					if !slices.Equal(got, []peer.ID{bridgeHost.ID()}) {
						t.Fatalf("Peers(%d) = %v, want the bridge", k, got)
					}
					learned = k
					break wait
				}
			}
			select {
			case <-deadline:
				break wait
			case <-ctx.Done():
				t.Fatalf("the manager never learned an announcement: %v", ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	if got := m.Peers(learned, root(learned+1000), 3); got != nil {
		t.Fatalf("Peers for a root never announced = %v", got)
	}
}
