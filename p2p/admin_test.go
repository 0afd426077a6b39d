package p2p_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/datamesh/mesh-node/p2p"
)

func TestAdminViews(t *testing.T) {
	a := startNode(t, "net", bridgeRole, nil, func(c *p2p.Config) { c.DisableDiscovery = true })
	b := startNode(t, "net", lightRole, a.FullAddrs(), func(c *p2p.Config) { c.DisableDiscovery = true })
	bID := b.Host().ID()
	waitConnectedness(t, a.Host(), bID, true)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	// Loopback addresses are private: AutoNAT never probes them.
	if r := a.Reachability(); r != network.ReachabilityUnknown {
		t.Errorf("reachability on loopback: %v", r)
	}

	rtt, err := a.Ping(ctx, bID)
	if err != nil || rtt <= 0 {
		t.Fatalf("Ping: %v, %v", rtt, err)
	}
	if _, err := a.Ping(ctx, a.Host().ID()); err == nil {
		t.Error("pinging itself succeeded")
	}
	// A ping is 32 bytes each way; libp2p's meters publish once a second.
	eventually(t, "ping traffic metered", func() bool {
		return a.BandwidthForProtocol(ping.ID).TotalOut >= ping.PingSize &&
			a.BandwidthForPeer(bID).TotalIn >= ping.PingSize &&
			b.BandwidthForProtocol(ping.ID).TotalIn >= ping.PingSize
	})
	if tot := a.BandwidthTotals(); tot.TotalOut < a.BandwidthForProtocol(ping.ID).TotalOut || tot.TotalIn == 0 {
		t.Errorf("totals %+v below the ping protocol's", tot)
	}
	if got := a.BandwidthForPeer(a.Host().ID()); got.TotalIn != 0 || got.TotalOut != 0 {
		t.Errorf("traffic with itself: %+v", got)
	}

	rs, err := a.ResourceState()
	if err != nil {
		t.Fatal(err)
	}
	if rs.System.NumConnsInbound+rs.System.NumConnsOutbound == 0 {
		t.Errorf("system scope has no connections: %+v", rs.System)
	}
	if ps, ok := rs.Peers[bID]; !ok || ps.NumConnsInbound+ps.NumConnsOutbound == 0 {
		t.Errorf("peer scope of b: %+v (present %v)", ps, ok)
	}

	topic := p2p.TopicID("net", "header-sub/v0.1.0")
	if got := a.PubSubTopics(); len(got) != 0 {
		t.Errorf("topics before joining: %q", got)
	}
	ta := join(t, a, topic)
	events := peerEvents(t, ta)
	if got := a.PubSubTopics(); len(got) != 0 {
		t.Errorf("topics joined but not subscribed to: %q", got)
	}
	subscribe(t, ta)
	subscribe(t, join(t, b, topic))
	if got := a.PubSubTopics(); !slices.Equal(got, []string{topic}) {
		t.Errorf("topics: %q, want %q", got, topic)
	}
	waitPeerJoin(ctx, t, events, bID)
	if got := a.PubSubPeers(topic); !slices.Contains(got, bID) {
		t.Errorf("peers of %s: %v, want %s among them", topic, got, bID)
	}
	if got := a.PubSubPeers("/datamesh/net/other"); len(got) != 0 {
		t.Errorf("peers of a topic nobody joined: %v", got)
	}
}

// Before Start there is no gossipsub: no topics, no peers.
func TestAdminViewsBeforeStart(t *testing.T) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := on("net", lightRole)
	cfg.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	n, err := p2p.New(key, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	if got := n.PubSubTopics(); got != nil {
		t.Errorf("topics before Start: %q", got)
	}
	if got := n.PubSubPeers("t"); got != nil {
		t.Errorf("peers before Start: %v", got)
	}
	if _, err := n.ResourceState(); err != nil {
		t.Errorf("ResourceState before Start: %v", err)
	}
}

// ResourceStat's JSON keys peers by their text IDs, and decodes back.
func TestResourceStatJSON(t *testing.T) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	in := p2p.ResourceStat{
		System:    network.ScopeStat{NumConnsInbound: 1, Memory: 4096},
		Services:  map[string]network.ScopeStat{"libp2p.ping": {NumStreamsOutbound: 1}},
		Protocols: map[protocol.ID]network.ScopeStat{ping.ID: {NumStreamsOutbound: 1}},
		Peers:     map[peer.ID]network.ScopeStat{id: {NumConnsInbound: 1}},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"Peers":{"` + id.String() + `":{"NumStreamsInbound":0,"NumStreamsOutbound":0,"NumConnsInbound":1,`; !strings.Contains(string(b), want) {
		t.Errorf("JSON %s does not contain %s", b, want)
	}
	var out p2p.ResourceStat
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip: %+v, want %+v", out, in)
	}
	if b, err := json.Marshal(p2p.ResourceStat{}); err != nil || !strings.Contains(string(b), `"Peers":null`) {
		t.Errorf("empty: %s %v", b, err)
	}
}
