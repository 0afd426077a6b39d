// Package p2ptest holds the libp2p helpers of the tests of header-ex,
// header-sub, shrex and eds-sub: loopback hosts, connecting them, gossipsub
// on them, and waiting for a topic's mesh or peers instead of sleeping, and
// hosts that answer streams as a test says. It is imported by tests only.
package p2ptest

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Timeout bounds the contexts Context returns: no test of a protocol over
// loopback hosts should take longer.
const Timeout = 60 * time.Second

// Context returns a context that ends after Timeout, or when the test ends.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

// Host returns a libp2p host listening on loopback TCP, without the relay
// transport (hosts on one machine need none), with opts added, closed when
// the test ends; a failure to close fails the test.
func Host(t testing.TB, opts ...libp2p.Option) host.Host {
	t.Helper()
	h, err := libp2p.New(append([]libp2p.Option{libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}

// Connect connects a to b. It returns once identify has run, so a's
// peerstore knows the protocols b announces; for a handler b set just
// before, see WaitAnnounced.
func Connect(t testing.TB, ctx context.Context, a, b host.Host) {
	t.Helper()
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// WaitAnnounced returns once h's identify service announces protos (h has
// handlers for them), so a peer that connects to h from then on knows them
// when Connect returns; it fails the test if ctx ends first.
//
// Without it a peer can miss a handler set just before it connected:
// identify updates what h announces asynchronously, so the peer may get
// the old list, then a push with the new one. And the peer applies the
// two concurrently: if the push lands first, the old list overwrites it in
// the peerstore, with no event, for good. WaitAnnounced watches what a
// probe host is told instead, and closes the probe.
func WaitAnnounced(t testing.TB, ctx context.Context, h host.Host, protos ...protocol.ID) {
	t.Helper()
	probe, err := libp2p.New(libp2p.NoListenAddrs)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := probe.Close(); err != nil {
			t.Error(err)
		}
	}()
	sub, err := probe.EventBus().Subscribe([]any{
		new(event.EvtPeerIdentificationCompleted),
		new(event.EvtPeerProtocolsUpdated),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := sub.Close(); err != nil {
			t.Error(err)
		}
	}()
	if err := probe.Connect(ctx, peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}); err != nil {
		t.Fatal(err)
	}
	// What h announces only grows (handlers are not removed here), so
	// one message naming a protocol is enough.
	missing := map[protocol.ID]bool{}
	for _, p := range protos {
		missing[p] = true
	}
	for len(missing) > 0 {
		var told []protocol.ID
		select {
		case e := <-sub.Out():
			switch ev := e.(type) {
			case event.EvtPeerIdentificationCompleted:
				if ev.Peer == h.ID() {
					told = ev.Protocols
				}
			case event.EvtPeerProtocolsUpdated:
				if ev.Peer == h.ID() {
					told = ev.Added
				}
			}
		case <-ctx.Done():
			t.Fatalf("%s never announced %v: %v", h.ID(), protos, ctx.Err())
		}
		for _, p := range told {
			delete(missing, p)
		}
	}
}

// NodeOptions are the gossipsub options p2p.Node sets besides flood
// publishing: no signatures, no author, message IDs by content.
func NodeOptions() []pubsub.Option {
	return []pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(func(m *pubsubpb.Message) string {
			sum := sha256.Sum256(m.GetData())
			return string(sum[:])
		}),
	}
}

// Node is a loopback host with gossipsub, which records its mesh.
type Node struct {
	Host   host.Host
	PubSub *pubsub.PubSub
	mesh   *meshTracer
}

// NewNode returns a Node on a new loopback host, with flood publishing and
// opts. Both live until the test's cleanups; ctx bounds gossipsub.
func NewNode(t testing.TB, ctx context.Context, opts ...pubsub.Option) *Node {
	t.Helper()
	h := Host(t)
	mt := &meshTracer{grafted: map[string]bool{}, changed: make(chan struct{})}
	opts = append([]pubsub.Option{pubsub.WithFloodPublish(true), pubsub.WithRawTracer(mt)}, opts...)
	ps, err := pubsub.NewGossipSub(ctx, h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &Node{Host: h, PubSub: ps, mesh: mt}
}

// WaitMesh returns once gossipsub grafted p into n's mesh of topic; it
// fails the test if ctx ends first.
func (n *Node) WaitMesh(t testing.TB, ctx context.Context, topic string, p peer.ID) {
	t.Helper()
	for {
		n.mesh.mu.Lock()
		ok, ch := n.mesh.grafted[topic+"/"+string(p)], n.mesh.changed
		n.mesh.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("peer %s never joined the mesh of %s: %v", p, topic, ctx.Err())
		}
	}
}

// WaitPeer returns once listPeers (a topic's ListPeers) includes p, polling
// every poll; it fails the test if ctx ends first.
func WaitPeer(t testing.TB, ctx context.Context, listPeers func() []peer.ID, p peer.ID, poll time.Duration) {
	t.Helper()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		for _, q := range listPeers() {
			if q == p {
				return
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s never joined the topic: %v", p, ctx.Err())
		}
	}
}

// meshTracer records which peers gossipsub grafted into a topic's mesh.
type meshTracer struct {
	mu      sync.Mutex
	grafted map[string]bool           // topic + peer
	changed chan struct{}             // closed and replaced on every graft
	watches map[*func(peer.ID)]string // OnGraft's functions and their topics
}

func (m *meshTracer) Graft(p peer.ID, topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.grafted[topic+"/"+string(p)] = true
	close(m.changed)
	m.changed = make(chan struct{})
	for fn, t := range m.watches {
		if t == topic {
			(*fn)(p)
		}
	}
}

// OnGraft calls fn with every peer later grafted into n's mesh of topic,
// until stop is called, as p2p.Node's OnGraft does (fraud.MeshWatcher).
// fn must not block.
func (n *Node) OnGraft(topic string, fn func(peer.ID)) (stop func()) {
	m := n.mesh
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watches == nil {
		m.watches = map[*func(peer.ID)]string{}
	}
	m.watches[&fn] = topic
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.watches, &fn)
	}
}

func (*meshTracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (*meshTracer) OnClosedOutboundStream(peer.ID)                       {}
func (*meshTracer) Join(string)                                          {}
func (*meshTracer) Leave(string)                                         {}
func (*meshTracer) Prune(peer.ID, string)                                {}
func (*meshTracer) ValidateMessage(*pubsub.Message)                      {}
func (*meshTracer) DeliverMessage(*pubsub.Message)                       {}
func (*meshTracer) RejectMessage(*pubsub.Message, string)                {}
func (*meshTracer) DuplicateMessage(*pubsub.Message)                     {}
func (*meshTracer) ThrottlePeer(peer.ID)                                 {}
func (*meshTracer) RecvRPC(*pubsub.RPC)                                  {}
func (*meshTracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (*meshTracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (*meshTracer) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (*meshTracer) UndeliverableMessage(*pubsub.Message)                 {}

var _ pubsub.RawTracer = (*meshTracer)(nil)

// Service is a node service: header-ex and shrex servers and clients,
// header-sub, eds-sub, the syncer.
type Service interface {
	Start(context.Context) error
	Stop(context.Context) error
}

// Start starts s with ctx and stops it when the test ends; an error of
// either fails the test.
func Start(t testing.TB, ctx context.Context, s Service) {
	t.Helper()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
}

// Answer makes h answer every stream of protocol id with respond(req),
// req being what the peer sent, up to maxRequest bytes, before closing its
// side: a server, honest or not, that a client's test controls, or with
// maxRequest 0 and a fixed answer the raw stream protocol benchmarks
// compare with. The stream is reset on a read or write error and closed
// otherwise.
func Answer(h host.Host, id protocol.ID, maxRequest int64, respond func(req []byte) []byte) {
	h.SetStreamHandler(id, func(s network.Stream) {
		req, err := io.ReadAll(io.LimitReader(s, maxRequest))
		if err != nil {
			_ = s.Reset()
			return
		}
		if _, err := s.Write(respond(req)); err != nil {
			_ = s.Reset()
			return
		}
		_ = s.Close()
	})
}

// ReadBytes opens a stream of protocol id from h to p and reads n bytes
// from it, or fails t: the client of a raw stream Answer serves.
func ReadBytes(t testing.TB, ctx context.Context, h host.Host, p peer.ID, id protocol.ID, n int) []byte {
	t.Helper()
	s, err := h.NewStream(ctx, p, id)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(s, buf); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	return buf
}

// CheckReset reads str, a stream on which nothing was sent since start,
// and fails the test unless the peer resets it once its read deadline wait
// has passed: not by closing it, not before wait, and not after 10×wait.
func CheckReset(t testing.TB, str network.Stream, start time.Time, wait time.Duration) {
	t.Helper()
	limit := 10 * wait
	if err := str.SetReadDeadline(start.Add(limit)); err != nil {
		t.Fatal(err)
	}
	_, err := io.ReadAll(str)
	d := time.Since(start)
	switch {
	case err == nil:
		t.Fatal("the server closed the stream instead of resetting it")
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Fatalf("the stream was still open after %v", limit)
	case !errors.Is(err, network.ErrReset):
		t.Fatalf("read: %v, want a reset", err)
	case d < wait:
		t.Fatalf("reset after %v, before the read deadline %v", d, wait)
	}
}
