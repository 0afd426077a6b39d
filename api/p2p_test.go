package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/gossip"
	"github.com/datamesh/mesh-node/internal/logging"
	"github.com/datamesh/mesh-node/p2p"
)

const p2pNetwork = "api-p2p"

// The p2p settings nodebuilder gives a bridge and a light node, but for
// discovery, which these tests turn off.
var (
	bridgeP2P = p2p.Config{UserAgent: "mesh-node/bridge", DHTServer: true, PeerExchange: true,
		Limits: p2p.Limits{ConnLow: 400, ConnHigh: 800, Memory: 8 << 30, FDs: 8192}}
	lightP2P = p2p.Config{UserAgent: "mesh-node/light",
		Limits: p2p.Limits{ConnLow: 25, ConnHigh: 50, Memory: 128 << 20, FDs: 256}}
)

// startP2P starts a p2p node of role on 127.0.0.1 (TCP only) trusting
// bootstrap, stopped when the test ends.
func startP2P(t *testing.T, role p2p.Config, bootstrap []string) *p2p.Node {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := role
	cfg.Network, cfg.ListenAddrs, cfg.BootstrapPeers = p2pNetwork, []string{"/ip4/127.0.0.1/tcp/0"}, bootstrap
	cfg.DisableDiscovery, cfg.DialTimeout = true, 5*time.Second
	n, err := p2p.New(key, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Errorf("stop p2p node: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

// serve starts a server of mods and returns its HTTP URL.
func serve(t *testing.T, mods api.Modules) string {
	t.Helper()
	return "http://" + api.StartServer(t, api.ServerOptions{Secret: testSecret}, mods).Addr()
}

// waitFor polls cond until it holds or ctx ends, for state that emits no
// event (libp2p's bandwidth meters, gossipsub's view of a topic's peers).
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s: not before the deadline", what)
		}
	}
}

// jsonKeys returns the sorted keys of the JSON object raw.
func jsonKeys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// p2pDeps are all of n's sources, as nodebuilder wires them.
func p2pDeps(n *p2p.Node) api.P2PDeps {
	return api.P2PDeps{Host: n.Host(), Network: n.Network(), Blocker: n, NAT: n, Bandwidth: n, Resources: n, PubSub: n, Pinger: n}
}

func TestP2PModule(t *testing.T) {
	a := startP2P(t, bridgeP2P, nil)
	b := startP2P(t, lightP2P, a.FullAddrs()) // b dials a in Start
	bID := b.Host().ID()
	// b's Start returns once b holds the connection; a registers its end a
	// moment later.
	waitFor(testCtx(t), t, "a sees b connected", func() bool { return a.Host().Network().Connectedness(bID) == network.Connected })
	mod, err := api.NewP2PModule(p2pDeps(a))
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, api.Modules{P2P: mod})
	admin := token(t, api.PermsFor(api.PermAdmin))
	c := newClient(t, url, admin)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The wire shapes are celestia-node's.
	raw := func(method string, params ...any) json.RawMessage {
		t.Helper()
		p, err := json.Marshal(params)
		if err != nil {
			t.Fatal(err)
		}
		if params == nil {
			p = []byte(`[]`)
		}
		r := callHTTP(t, url, admin, method, p)
		if r.Error != nil {
			t.Fatalf("%s: %s", method, r.Error.Message)
		}
		return r.Result
	}
	if got := string(raw("p2p.Network")); got != `"`+p2pNetwork+`"` {
		t.Errorf("p2p.Network: %s", got)
	}
	if nw, err := c.P2P.Network(ctx); err != nil || nw != p2pNetwork {
		t.Errorf("client P2P.Network: %q %v", nw, err)
	}
	// Loopback addresses are private: AutoNAT never probes them.
	if got := string(raw("p2p.NATStatus")); got != "0" {
		t.Errorf("p2p.NATStatus on loopback: %s, want 0 (unknown)", got)
	}

	// Protect, IsProtected, Unprotect.
	if ok, err := c.P2P.IsProtected(ctx, bID, "keep"); err != nil || ok {
		t.Fatalf("IsProtected before Protect: %v %v", ok, err)
	}
	for _, tag := range []string{"keep", "also"} {
		if err := c.P2P.Protect(ctx, bID, tag); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := c.P2P.IsProtected(ctx, bID, "keep"); err != nil || !ok {
		t.Errorf("IsProtected after Protect: %v %v", ok, err)
	}
	if ok, err := c.P2P.IsProtected(ctx, bID, "other"); err != nil || ok {
		t.Errorf("IsProtected under another tag: %v %v", ok, err)
	}
	if still, err := c.P2P.Unprotect(ctx, bID, "keep"); err != nil || !still {
		t.Errorf("Unprotect with a second tag left: still protected %v, %v", still, err)
	}
	if ok, err := c.P2P.IsProtected(ctx, bID, "keep"); err != nil || ok {
		t.Errorf("IsProtected after Unprotect: %v %v", ok, err)
	}
	if still, err := c.P2P.Unprotect(ctx, bID, "also"); err != nil || still {
		t.Errorf("Unprotect of the last tag: still protected %v, %v", still, err)
	}

	// Ping: a positive round-trip time, nanoseconds on the wire.
	rtt, err := c.P2P.Ping(ctx, bID)
	if err != nil || rtt <= 0 || rtt > 10*time.Second {
		t.Fatalf("Ping: %v %v", rtt, err)
	}
	var ns int64
	if err := json.Unmarshal(raw("p2p.Ping", bID), &ns); err != nil || ns <= 0 {
		t.Errorf("p2p.Ping on the wire: %d %v", ns, err)
	}
	if _, err := c.P2P.Ping(ctx, a.Host().ID()); err == nil {
		t.Error("Ping of the node itself succeeded")
	}

	// Bandwidth: the pings are metered (libp2p's meters publish once a
	// second).
	adminCtx := api.WithPerms(ctx, api.PermsFor(api.PermAdmin))
	waitFor(ctx, t, "ping traffic metered", func() bool {
		st, err := mod.BandwidthForProtocol(adminCtx, ping.ID)
		return err == nil && st.TotalOut >= 2*ping.PingSize && st.TotalIn >= 2*ping.PingSize
	})
	if st, err := c.P2P.BandwidthForProtocol(ctx, ping.ID); err != nil || st.TotalOut < 2*ping.PingSize {
		t.Errorf("BandwidthForProtocol(ping): %+v %v", st, err)
	}
	if st, err := c.P2P.BandwidthForPeer(ctx, bID); err != nil || st.TotalOut < 2*ping.PingSize || st.TotalIn < 2*ping.PingSize {
		t.Errorf("BandwidthForPeer(b): %+v %v", st, err)
	}
	if st, err := c.P2P.BandwidthForProtocol(ctx, "/no/such/protocol"); err != nil || st.TotalIn != 0 || st.TotalOut != 0 {
		t.Errorf("BandwidthForProtocol of an unused protocol: %+v %v", st, err)
	}
	total, err := c.P2P.BandwidthStats(ctx)
	if err != nil || total.TotalOut < 2*ping.PingSize || total.TotalIn < 2*ping.PingSize {
		t.Errorf("BandwidthStats: %+v %v", total, err)
	}
	if got := jsonKeys(t, raw("p2p.BandwidthStats")); !slices.Equal(got, []string{"RateIn", "RateOut", "TotalIn", "TotalOut"}) {
		t.Errorf("p2p.BandwidthStats keys %q", got)
	}

	// ConnectionState: b dialled a, so a's connection is inbound.
	states, err := c.P2P.ConnectionState(ctx, bID)
	if err != nil || len(states) == 0 {
		t.Fatalf("ConnectionState: %v %v", states, err)
	}
	if !slices.ContainsFunc(states, func(s api.ConnectionState) bool { return s.Direction == network.DirInbound }) {
		t.Errorf("no inbound connection from b: %+v", states)
	}
	for _, s := range states {
		if s.Info.Transport != "tcp" || s.Info.Security == "" || s.Info.StreamMultiplexer == "" ||
			s.Opened.IsZero() || time.Since(s.Opened) > time.Minute || s.Limited {
			t.Errorf("connection state %+v", s)
		}
	}
	var wire []json.RawMessage
	if err := json.Unmarshal(raw("p2p.ConnectionState", bID), &wire); err != nil || len(wire) == 0 {
		t.Fatalf("p2p.ConnectionState on the wire: %v", err)
	}
	if got := jsonKeys(t, wire[0]); !slices.Equal(got, []string{"Direction", "Info", "Limited", "NumStreams", "Opened"}) {
		t.Errorf("p2p.ConnectionState keys %q", got)
	}
	var info struct{ Info json.RawMessage }
	if err := json.Unmarshal(wire[0], &info); err != nil {
		t.Fatal(err)
	}
	if got := jsonKeys(t, info.Info); !slices.Equal(got, []string{"Security", "StreamMultiplexer", "Transport", "UsedEarlyMuxerNegotiation"}) {
		t.Errorf("p2p.ConnectionState Info keys %q", got)
	}
	stranger := startP2P(t, lightP2P, nil).Host().ID()
	if _, err := c.P2P.ConnectionState(ctx, stranger); err == nil || !strings.Contains(err.Error(), "no connections to peer") {
		t.Errorf("ConnectionState of an unconnected peer: %v", err)
	}

	// ResourceState: b's connection is in the system and its peer scope.
	rs, err := c.P2P.ResourceState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rs.System.NumConnsInbound == 0 || rs.Peers[bID].NumConnsInbound == 0 {
		t.Errorf("ResourceState: system %+v, peer b %+v", rs.System, rs.Peers[bID])
	}
	rsRaw := raw("p2p.ResourceState")
	if got := jsonKeys(t, rsRaw); !slices.Equal(got, []string{"Peers", "Protocols", "Services", "System", "Transient"}) {
		t.Errorf("p2p.ResourceState keys %q", got)
	}
	if !bytes.Contains(rsRaw, []byte(`"`+bID.String()+`":{"NumStreamsInbound":`)) {
		t.Errorf("p2p.ResourceState does not key b's scope by its ID: %s", rsRaw)
	}

	// PubSubTopics and PubSubPeers: both nodes run header-sub, as every
	// node does.
	if topics, err := c.P2P.PubSubTopics(ctx); err != nil || len(topics) != 0 {
		t.Errorf("PubSubTopics before header-sub: %q %v", topics, err)
	}
	topic := gossip.TopicID(p2pNetwork)
	ignore := func(context.Context, *header.ExtendedHeader) error { return gossip.ErrIgnore }
	for _, n := range []*p2p.Node{a, b} {
		g, err := gossip.New(n.PubSub(), p2pNetwork, ignore)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := g.Stop(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	if topics, err := c.P2P.PubSubTopics(ctx); err != nil || !slices.Equal(topics, []string{topic}) {
		t.Errorf("PubSubTopics: %q %v, want %q", topics, err, topic)
	}
	waitFor(ctx, t, "a sees b on header-sub", func() bool { return slices.Contains(a.PubSubPeers(topic), bID) })
	if peers, err := c.P2P.PubSubPeers(ctx, topic); err != nil || !slices.Equal(peers, []peer.ID{bID}) {
		t.Errorf("PubSubPeers(%s): %v %v, want [%s]", topic, peers, err, bID)
	}
	if peers, err := c.P2P.PubSubPeers(ctx, "/datamesh/"+p2pNetwork+"/nobody"); err != nil || len(peers) != 0 {
		t.Errorf("PubSubPeers of a topic nobody joined: %v %v", peers, err)
	}
}

// A module made with only a host serves the host's methods; the others
// fail with ErrP2PUnavailable (ErrNoBlocker for the block list).
func TestP2PModuleUnavailable(t *testing.T) {
	a := startP2P(t, lightP2P, nil)
	mod, err := api.NewP2PModule(api.P2PDeps{Host: a.Host()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := api.WithPerms(context.Background(), api.PermsFor(api.PermAdmin))
	id := a.Host().ID()
	calls := map[string]func() error{
		"Network":              func() error { _, err := mod.Network(ctx); return err },
		"NATStatus":            func() error { _, err := mod.NATStatus(ctx); return err },
		"BandwidthStats":       func() error { _, err := mod.BandwidthStats(ctx); return err },
		"BandwidthForPeer":     func() error { _, err := mod.BandwidthForPeer(ctx, id); return err },
		"BandwidthForProtocol": func() error { _, err := mod.BandwidthForProtocol(ctx, ping.ID); return err },
		"ResourceState":        func() error { _, err := mod.ResourceState(ctx); return err },
		"PubSubPeers":          func() error { _, err := mod.PubSubPeers(ctx, "t"); return err },
		"PubSubTopics":         func() error { _, err := mod.PubSubTopics(ctx); return err },
		"Ping":                 func() error { _, err := mod.Ping(ctx, id); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, api.ErrP2PUnavailable) {
			t.Errorf("%s without its source: %v, want ErrP2PUnavailable", name, err)
		}
	}
	if err := mod.BlockPeer(ctx, id); !errors.Is(err, api.ErrNoBlocker) {
		t.Errorf("BlockPeer without a blocker: %v", err)
	}
	// The host's own methods work.
	if err := mod.Protect(ctx, id, "t"); err != nil {
		t.Error(err)
	}
	if ok, err := mod.IsProtected(ctx, id, "t"); err != nil || !ok {
		t.Errorf("IsProtected: %v %v", ok, err)
	}
	if _, err := api.NewP2PModule(api.P2PDeps{}); err == nil {
		t.Error("NewP2PModule without a host succeeded")
	}
}

func TestLogLevelSet(t *testing.T) {
	levels, err := logging.ParseLevels("info")
	if err != nil {
		t.Fatal(err)
	}
	v := logging.NewLevelVar(levels)
	var buf bytes.Buffer // written only by the test's goroutine
	das := slog.New(logging.NewVarHandler(&buf, v, false)).With("service", "das")
	node, err := api.NewNodeModule(api.NodeOptions{Type: api.NodeLight, Version: "v0.2.2", Secret: testSecret, LogLevels: v})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, api.Modules{Node: node})
	c := newClient(t, url, token(t, api.PermsFor(api.PermAdmin)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	das.Debug("before")
	if err := c.Node.LogLevelSet(ctx, "das", "debug"); err != nil {
		t.Fatal(err)
	}
	das.Debug("after")
	if out := buf.String(); strings.Contains(out, "before") || !strings.Contains(out, "after") {
		t.Errorf("das at debug logged %q", out)
	}
	buf.Reset()

	err = c.Node.LogLevelSet(ctx, "das", "loud")
	if err == nil || !strings.Contains(err.Error(), `unknown level "loud"`) {
		t.Errorf("unknown level: %v", err)
	}
	if err := c.Node.LogLevelSet(ctx, "Bad Name", "info"); err == nil || !strings.Contains(err.Error(), "bad module name") {
		t.Errorf("bad module name: %v", err)
	}
	das.Debug("still debug")
	// "*" sets every module.
	if err := c.Node.LogLevelSet(ctx, "*", "error"); err != nil {
		t.Fatal(err)
	}
	das.Warn("dropped")
	das.Error("kept")
	if out := buf.String(); !strings.Contains(out, "still debug") || strings.Contains(out, "dropped") || !strings.Contains(out, "kept") {
		t.Errorf("after * error: %q", out)
	}

	// Without log levels the method says so.
	plain, err := api.NewNodeModule(api.NodeOptions{Type: api.NodeLight, Version: "v0.2.2", Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.LogLevelSet(api.WithPerms(ctx, api.PermsFor(api.PermAdmin)), "das", "debug"); err == nil {
		t.Error("LogLevelSet without log levels succeeded")
	}
	if _, err := api.NewNodeModule(api.NodeOptions{Type: api.NodeLight, Version: "v0.2.2", Secret: testSecret, LogLevels: (*logging.LevelVar)(nil)}); err == nil {
		t.Error("a nil *LevelVar as LogLevels accepted")
	}
}
