package p2p_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"

	"github.com/datamesh/mesh-node/p2p"
)

const testTimeout = 30 * time.Second

// The settings nodebuilder gives a bridge, a full and a light node, which
// the tests' nodes play.
var (
	bridgeRole = p2p.Config{UserAgent: "mesh-node/bridge", DHTServer: true, PeerExchange: true, Advertise: p2p.RendezvousFull,
		Limits: p2p.Limits{ConnLow: 400, ConnHigh: 800, Memory: 8 << 30, FDs: 8192}}
	fullRole = p2p.Config{UserAgent: "mesh-node/full", DHTServer: true, PeerExchange: true, Advertise: p2p.RendezvousFull, Discover: p2p.RendezvousFull,
		Limits: p2p.Limits{ConnLow: 100, ConnHigh: 200, Memory: 1 << 30, FDs: 2048, DiscoveryPeers: 10}}
	lightRole = p2p.Config{UserAgent: "mesh-node/light", Discover: p2p.RendezvousFull,
		Limits: p2p.Limits{ConnLow: 25, ConnHigh: 50, Memory: 128 << 20, FDs: 256, DiscoveryPeers: 5}}
)

// on returns role's settings on network.
func on(network string, role p2p.Config) p2p.Config {
	role.Network = network
	return role
}

// startNode starts a node of role on 127.0.0.1 (random TCP and QUIC ports)
// with fast discovery, stopped when the test ends.
func startNode(t *testing.T, network string, role p2p.Config, bootstrap []string, mutate ...func(*p2p.Config)) *p2p.Node {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := on(network, role)
	cfg.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	cfg.BootstrapPeers = bootstrap
	cfg.DiscoveryInterval = 50 * time.Millisecond
	cfg.DialTimeout = 5 * time.Second
	for _, m := range mutate {
		m(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", role.UserAgent)
	n, err := p2p.New(key, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if len(n.FullAddrs()) == 0 {
		t.Fatal("started node has no addresses")
	}
	return n
}

// waitConnectedness waits until h's connectedness to id satisfies want.
func waitConnectedness(t *testing.T, h host.Host, id peer.ID, connected bool) {
	t.Helper()
	sub, err := h.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ok := func() bool { return (h.Network().Connectedness(id) == network.Connected) == connected }
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for !ok() {
		select {
		case <-sub.Out():
		case <-ctx.Done():
			t.Fatalf("%s: connected to %s = %v after %v", h.ID(), id, !connected, testTimeout)
		}
	}
}

// eventually polls cond until it holds or testTimeout passes, for state
// (such as a DHT routing table) that emits no event.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s: not after %v", what, testTimeout)
		}
	}
}

// join joins topic on n's gossipsub and leaves it when the test ends,
// after the subscriptions and event handlers the test made on it are
// cancelled (Close fails while one is open, and a node's Stop closes
// gossipsub anyway, so its error is not checked).
func join(t *testing.T, n *p2p.Node, topic string) *pubsub.Topic {
	t.Helper()
	tp, err := n.PubSub().Join(topic)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Close() })
	return tp
}

// subscribe subscribes to tp until the test ends.
func subscribe(t *testing.T, tp *pubsub.Topic) *pubsub.Subscription {
	t.Helper()
	sub, err := tp.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Cancel)
	return sub
}

// peerEvents returns the peer events of tp until the test ends.
func peerEvents(t *testing.T, tp *pubsub.Topic) *pubsub.TopicEventHandler {
	t.Helper()
	events, err := tp.EventHandler()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(events.Cancel)
	return events
}

// waitPeerJoin returns once events reports id joining its topic.
func waitPeerJoin(ctx context.Context, t *testing.T, events *pubsub.TopicEventHandler, id peer.ID) {
	t.Helper()
	for {
		ev, err := events.NextPeerEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Peer == id && ev.Type == pubsub.PeerJoin {
			return
		}
	}
}

func TestBootstrap(t *testing.T) {
	bridge := startNode(t, "net", bridgeRole, nil)
	light := startNode(t, "net", lightRole, bridge.FullAddrs())
	// Start returns once reachable trusted peers are connected.
	if c := light.Host().Network().Connectedness(bridge.Host().ID()); c != network.Connected {
		t.Fatalf("light's connectedness to its bootstrap bridge: %v", c)
	}
	if got := light.TrustedPeers(); !slices.Equal(got, []peer.ID{bridge.Host().ID()}) {
		t.Fatalf("TrustedPeers = %v, want [%s]", got, bridge.Host().ID())
	}
	if !light.IsTrusted(bridge.Host().ID()) || light.IsTrusted(light.Host().ID()) {
		t.Fatal("IsTrusted wrong")
	}
	if light.PubSub() == nil || light.DHT() == nil {
		t.Fatal("PubSub or DHT nil after Start")
	}
	// The bridge is a DHT server: the light client puts it in its table.
	eventually(t, "bridge in light's routing table", func() bool {
		return light.DHT().RoutingTable().Find(bridge.Host().ID()) != ""
	})
}

func TestDiscoveryThroughDHT(t *testing.T) {
	bridge := startNode(t, "net", bridgeRole, nil)
	full := startNode(t, "net", fullRole, bridge.FullAddrs())
	light := startNode(t, "net", lightRole, bridge.FullAddrs())
	// The light node knows only the bridge; it finds the full node by the
	// "full" rendezvous, which the full node advertised in the DHT.
	// (The DHT's own queries may dial the full node first; the
	// rendezvous lookup is what marks it discovered.)
	waitConnectedness(t, light.Host(), full.Host().ID(), true)
	eventually(t, "full node discovered by light", func() bool {
		return slices.Contains(light.DiscoveredPeers(), full.Host().ID())
	})
	eventually(t, "bridge discovered by full", func() bool {
		return slices.Contains(full.DiscoveredPeers(), bridge.Host().ID())
	})
	if len(bridge.DiscoveredPeers()) != 0 {
		t.Fatal("a bridge looked for rendezvous peers")
	}
	if light.IsTrusted(full.Host().ID()) {
		t.Fatal("discovered peer reported as trusted")
	}
}

func TestBlockPeer(t *testing.T) {
	a := startNode(t, "net", fullRole, nil, func(c *p2p.Config) { c.DisableDiscovery = true })
	b := startNode(t, "net", lightRole, nil, func(c *p2p.Config) { c.DisableDiscovery = true })
	aID, bID := a.Host().ID(), b.Host().ID()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := b.Host().Connect(ctx, a.Info()); err != nil {
		t.Fatal(err)
	}
	waitConnectedness(t, a.Host(), bID, true)

	a.BlockPeer(bID, errors.New("served a bad sample"))
	if c := a.Host().Network().Connectedness(bID); c == network.Connected {
		t.Fatal("blocked peer still connected")
	}
	waitConnectedness(t, b.Host(), aID, false)
	bl := a.BlockedPeers()
	if len(bl) != 1 || bl[0].ID != bID || bl[0].Reason != "served a bad sample" || bl[0].Since.IsZero() {
		t.Fatalf("BlockedPeers = %+v", bl)
	}

	// A refuses to dial B.
	if err := a.Host().Connect(network.WithForceDirectDial(ctx, "test"), b.Info()); err == nil {
		t.Fatal("a dialled a blocked peer")
	}
	// B's dial is refused once A authenticates it. The dialer may see its
	// handshake complete before A drops the connection.
	if err := b.Host().Connect(network.WithForceDirectDial(ctx, "test"), a.Info()); err == nil {
		waitConnectedness(t, b.Host(), aID, false)
	}
	if len(a.Host().Network().ConnsToPeer(bID)) != 0 {
		t.Fatal("a accepted a connection from a blocked peer")
	}

	a.UnblockPeer(bID)
	if len(a.BlockedPeers()) != 0 {
		t.Fatal("still blocked after UnblockPeer")
	}
	if err := b.Host().Connect(network.WithForceDirectDial(ctx, "test"), a.Info()); err != nil {
		t.Fatalf("redial after unblock: %v", err)
	}
	waitConnectedness(t, a.Host(), bID, true)
}

func TestConfiguredBlockedPeer(t *testing.T) {
	a := startNode(t, "net", fullRole, nil, func(c *p2p.Config) { c.DisableDiscovery = true })
	b := startNode(t, "net", fullRole, a.FullAddrs(), func(c *p2p.Config) {
		c.DisableDiscovery = true
		c.BlockedPeers = []string{a.Host().ID().String()}
	})
	if b.Host().Network().Connectedness(a.Host().ID()) == network.Connected {
		t.Fatal("connected to a trusted peer that is also configured blocked")
	}
	if bl := b.BlockedPeers(); len(bl) != 1 || bl[0].Reason != "configured" {
		t.Fatalf("BlockedPeers = %+v", bl)
	}
}

func TestNetworksDoNotShareDHT(t *testing.T) {
	x := startNode(t, "x", bridgeRole, nil)
	y := startNode(t, "y", fullRole, nil, func(c *p2p.Config) { c.DisableDiscovery = true })
	// Connect by hand (libp2p itself is network-agnostic) and wait until y
	// has identified x, so y knows every protocol x speaks.
	sub, err := y.Host().EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := y.Host().Connect(ctx, x.Info()); err != nil {
		t.Fatal(err)
	}
	for identified := false; !identified; {
		select {
		case e := <-sub.Out():
			identified = e.(event.EvtPeerIdentificationCompleted).Peer == x.Host().ID()
		case <-ctx.Done():
			t.Fatal("y never identified x")
		}
	}
	protos, err := y.Host().Peerstore().GetProtocols(x.Host().ID())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(protos, "/datamesh/x/kad/1.0.0") {
		t.Fatalf("x does not speak its DHT protocol: %v", protos)
	}
	if slices.Contains(protos, "/datamesh/y/kad/1.0.0") {
		t.Fatal("x speaks y's DHT protocol")
	}
	if n := y.DHT().RoutingTable().Size(); n != 0 {
		t.Fatalf("y's routing table holds %d peers of another network", n)
	}
	if _, err := y.DHT().GetClosestPeers(ctx, "some key"); err == nil {
		t.Fatal("y ran a DHT query through a node of another network")
	}
}

func TestNodeResourceLimitsByMode(t *testing.T) {
	systemMemory := func(n *p2p.Node) int64 {
		var mem int64
		err := n.Host().Network().ResourceManager().ViewSystem(func(s network.ResourceScope) error {
			l, ok := s.(rcmgr.ResourceScopeLimiter)
			if !ok {
				t.Fatalf("system scope %T exposes no limits", s)
			}
			mem = l.Limit().GetMemoryLimit()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return mem
	}
	light := startNode(t, "net", lightRole, nil, func(c *p2p.Config) { c.DisableDiscovery = true })
	bridge := startNode(t, "net", bridgeRole, nil, func(c *p2p.Config) { c.DisableDiscovery = true })
	lm, bm := systemMemory(light), systemMemory(bridge)
	if lm != 128<<20 {
		t.Fatalf("light system memory limit %d, want 128 MiB", lm)
	}
	if lm >= bm {
		t.Fatalf("light memory limit %d not below bridge's %d", lm, bm)
	}
	if light.Limits().ConnHigh >= bridge.Limits().ConnHigh {
		t.Fatal("light's ConnHigh not below bridge's")
	}
}

func TestStopIdempotent(t *testing.T) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := on("net", fullRole)
	cfg.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.DiscoveryInterval = 10 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	// Stop before Start.
	n0, err := p2p.New(key, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n0.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n0.Start(ctx); !errors.Is(err, p2p.ErrStopped) {
		t.Fatalf("Start after Stop: %v, want ErrStopped", err)
	}

	n, err := p2p.New(key, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	for i := range 3 {
		if err := n.Stop(ctx); err != nil {
			t.Fatalf("Stop #%d: %v", i+1, err)
		}
	}
	if len(n.Host().Network().ListenAddresses()) != 0 {
		t.Fatal("host still listening after Stop")
	}
	// Stop waited for every goroutine of ours.
	buf := make([]byte, 1<<22)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, fn := range []string{"startLoops", "advertiseLoop", "maintainLoop", "connectTrusted", "findRendezvous"} {
		if strings.Contains(stacks, "p2p.(*Node)."+fn) {
			t.Fatalf("goroutine in %s still running after Stop", fn)
		}
	}
	if _, err := n.Host().NewStream(ctx, n.Host().ID(), "/x"); err == nil {
		t.Fatal("host usable after Stop")
	}
}

func TestGossipsub(t *testing.T) {
	a := startNode(t, "net", bridgeRole, nil, func(c *p2p.Config) { c.DisableDiscovery = true })
	b := startNode(t, "net", lightRole, a.FullAddrs(), func(c *p2p.Config) { c.DisableDiscovery = true })
	topic := p2p.TopicID("net", "header-sub/v0.1.0")
	ta := join(t, a, topic)
	events := peerEvents(t, ta)
	sub := subscribe(t, join(t, b, topic))

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	waitPeerJoin(ctx, t, events, b.Host().ID())
	// Publish as soon as a has seen b's subscription, with flood
	// publishing (the mesh has not formed yet). gossipsub can see a
	// subscription before its router can send to that peer ("No send
	// queue for peer"), dropping a message published in that window, so
	// publish new data until one arrives. Identical data would not be
	// re-sent: the message ID is its hash, and a has seen it.
	var msg *pubsub.Message
	for i := 0; msg == nil; i++ {
		if err := ta.Publish(ctx, fmt.Appendf(nil, "header %d", i)); err != nil {
			t.Fatal(err)
		}
		nctx, ncancel := context.WithTimeout(ctx, 200*time.Millisecond)
		m, err := sub.Next(nctx)
		ncancel()
		switch {
		case err == nil:
			msg = m
		case ctx.Err() != nil:
			t.Fatal("no message delivered")
		}
	}
	// Unsigned, anonymous (StrictNoSign, no author).
	if !strings.HasPrefix(string(msg.Data), "header ") || msg.Signature != nil || msg.From != nil || msg.Seqno != nil {
		t.Fatalf("got %q (signature %x, from %x)", msg.Data, msg.Signature, msg.From)
	}
}

func TestOwnIDInBootstrapIgnored(t *testing.T) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	self, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	other := "/ip4/127.0.0.1/tcp/1/p2p/" + testPeerID
	cfg := on("net", fullRole)
	cfg.BootstrapPeers = []string{"/ip4/127.0.0.1/tcp/2121/p2p/" + self.String(), other}
	n, err := p2p.New(key, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop(context.Background())
	if got := n.TrustedPeers(); len(got) != 1 || got[0].String() != testPeerID {
		t.Fatalf("TrustedPeers = %v, want only %s", got, testPeerID)
	}
}

// OnGraft reports the peer gossipsub adds to the node's mesh of the
// topic, registered before the node joins it.
func TestOnGraft(t *testing.T) {
	a := startNode(t, "net", bridgeRole, nil, func(c *p2p.Config) { c.DisableDiscovery = true })
	b := startNode(t, "net", lightRole, a.FullAddrs(), func(c *p2p.Config) { c.DisableDiscovery = true })
	topic := p2p.TopicID("net", "fraud-sub/test")
	grafted := make(chan peer.ID, 16)
	stop := b.OnGraft(topic, func(p peer.ID) {
		select {
		case grafted <- p:
		default:
		}
	})
	defer stop()
	other := b.OnGraft(p2p.TopicID("net", "other"), func(p peer.ID) { t.Errorf("graft of %s reported for another topic", p) })
	defer other()
	subscribe(t, join(t, a, topic))
	subscribe(t, join(t, b, topic))
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	select {
	case p := <-grafted:
		if p != a.Host().ID() {
			t.Fatalf("grafted %s, want %s", p, a.Host().ID())
		}
	case <-ctx.Done():
		t.Fatal("no graft reported")
	}
}
