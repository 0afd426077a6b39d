package gossip_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/gossip"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

const network = "test-chain" // headertest's default chain ID

func newNode(t *testing.T, ctx context.Context) *p2ptest.Node { return p2ptest.NewNode(t, ctx) }

func connect(t *testing.T, ctx context.Context, a, b *p2ptest.Node) {
	t.Helper()
	p2ptest.Connect(t, ctx, a.Host, b.Host)
}

// blocker records BlockPeer calls.
type blocker struct {
	ch chan peer.ID
}

func newBlocker() *blocker { return &blocker{ch: make(chan peer.ID, 16)} }

func (b *blocker) BlockPeer(id peer.ID, _ error) { b.ch <- id }

// recorder is a Verifier that reports every header it is given and answers
// with answer(h).
type recorder struct {
	ch     chan *header.ExtendedHeader
	answer func(*header.ExtendedHeader) error
}

func newRecorder(answer func(*header.ExtendedHeader) error) *recorder {
	if answer == nil {
		answer = func(*header.ExtendedHeader) error { return nil }
	}
	return &recorder{ch: make(chan *header.ExtendedHeader, 16), answer: answer}
}

func (r *recorder) verify(_ context.Context, h *header.ExtendedHeader) error {
	r.ch <- h
	return r.answer(h)
}

func startGossip(t *testing.T, ctx context.Context, n *p2ptest.Node, v gossip.Verifier, opts ...gossip.Option) *gossip.Gossip {
	t.Helper()
	opts = append(opts, gossip.WithLogger(slog.New(slog.DiscardHandler)))
	g, err := gossip.New(n.PubSub, network, v, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.Start(t, ctx, g)
	return g
}

func receive(t *testing.T, ctx context.Context, ch <-chan *header.ExtendedHeader) *header.ExtendedHeader {
	t.Helper()
	select {
	case h := <-ch:
		return h
	case <-ctx.Done():
		t.Fatalf("no header received: %v", ctx.Err())
		return nil
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// line builds bridge - light1 - light2 (light2 connected only to light1),
// each with a Gossip, and waits for the meshes.
func line(t *testing.T, ctx context.Context, v1, v2 gossip.Verifier, b1, b2 *blocker) (bridge *gossip.Gossip, nodes [3]*p2ptest.Node) {
	t.Helper()
	for i := range nodes {
		nodes[i] = newNode(t, ctx)
	}
	connect(t, ctx, nodes[0], nodes[1])
	connect(t, ctx, nodes[2], nodes[1])
	bridge = startGossip(t, ctx, nodes[0], func(context.Context, *header.ExtendedHeader) error { return gossip.ErrIgnore })
	startGossip(t, ctx, nodes[1], v1, gossip.WithPeerBlocker(b1))
	startGossip(t, ctx, nodes[2], v2, gossip.WithPeerBlocker(b2))
	topic := gossip.TopicID(network)
	nodes[0].WaitMesh(t, ctx, topic, nodes[1].Host.ID())
	nodes[1].WaitMesh(t, ctx, topic, nodes[2].Host.ID())
	nodes[2].WaitMesh(t, ctx, topic, nodes[1].Host.ID())
	return bridge, nodes
}

func TestTopicID(t *testing.T) {
	if got, want := gossip.TopicID("mocha"), "/datamesh/mocha/header-sub/v0.1.0"; got != want {
		t.Fatalf("TopicID = %q, want %q", got, want)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	ctx := testContext(t)
	n := newNode(t, ctx)
	v := func(context.Context, *header.ExtendedHeader) error { return nil }
	for name, f := range map[string]func() (*gossip.Gossip, error){
		"nil pubsub":   func() (*gossip.Gossip, error) { return gossip.New(nil, network, v) },
		"no network":   func() (*gossip.Gossip, error) { return gossip.New(n.PubSub, "", v) },
		"nil verifier": func() (*gossip.Gossip, error) { return gossip.New(n.PubSub, network, nil) },
		"nil blocker":  func() (*gossip.Gossip, error) { return gossip.New(n.PubSub, network, v, gossip.WithPeerBlocker(nil)) },
		"nil option":   func() (*gossip.Gossip, error) { return gossip.New(n.PubSub, network, v, nil) },
		"empty chain":  func() (*gossip.Gossip, error) { return gossip.New(n.PubSub, network, v, gossip.WithChainID("")) },
		"zero timeout": func() (*gossip.Gossip, error) {
			return gossip.New(n.PubSub, network, v, gossip.WithValidatorTimeout(0))
		},
	} {
		if _, err := f(); !errors.Is(err, gossip.ErrInvalidOption) {
			t.Errorf("%s: err = %v, want ErrInvalidOption", name, err)
		}
	}
}

func TestStartStopIdempotent(t *testing.T) {
	ctx := testContext(t)
	n := newNode(t, ctx)
	g, err := gossip.New(n.PubSub, network, func(context.Context, *header.ExtendedHeader) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	h := headertest.NewGenerator(headertest.Options{Seed: 1}).Must(t)
	if err := g.Publish(ctx, h); !errors.Is(err, gossip.ErrNotStarted) {
		t.Fatalf("Publish before Start: %v", err)
	}
	for range 2 {
		if err := g.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Publish(ctx, h); err != nil {
		t.Fatalf("Publish with no peers: %v", err)
	}
	for range 2 {
		if err := g.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Start(ctx); !errors.Is(err, gossip.ErrStopped) {
		t.Fatalf("Start after Stop: %v", err)
	}
	if err := g.Publish(ctx, h); !errors.Is(err, gossip.ErrNotStarted) {
		t.Fatalf("Publish after Stop: %v", err)
	}
	// The topic is free again: another Gossip can use it.
	g2, err := gossip.New(n.PubSub, network, func(context.Context, *header.ExtendedHeader) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := g2.Start(ctx); err != nil {
		t.Fatalf("second Gossip on the same PubSub: %v", err)
	}
	if err := g2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPublishRejectsInvalidHeader(t *testing.T) {
	ctx := testContext(t)
	n := newNode(t, ctx)
	g := startGossip(t, ctx, n, func(context.Context, *header.ExtendedHeader) error { return nil })
	other := headertest.NewGenerator(headertest.Options{ChainID: "other-chain", Seed: 3}).Must(t)
	if err := g.Publish(ctx, other); err == nil {
		t.Fatal("published a header of another chain")
	}
}

// A header published by the bridge reaches a node connected only to the
// bridge's neighbour.
func TestForwarding(t *testing.T) {
	ctx := testContext(t)
	r1, r2 := newRecorder(nil), newRecorder(nil)
	b1, b2 := newBlocker(), newBlocker()
	bridge, _ := line(t, ctx, r1.verify, r2.verify, b1, b2)

	chain := headertest.NewGenerator(headertest.Options{Seed: 2}).Chain(t, 2)
	for _, h := range chain {
		if err := bridge.Publish(ctx, h); err != nil {
			t.Fatal(err)
		}
		for _, r := range []*recorder{r1, r2} {
			if got := receive(t, ctx, r.ch); got.Height() != h.Height() || string(got.Hash()) != string(h.Hash()) {
				t.Fatalf("received %v, want %v", got, h)
			}
		}
	}
	select {
	case p := <-b1.ch:
		t.Fatalf("blocked %s", p)
	case p := <-b2.ch:
		t.Fatalf("blocked %s", p)
	default:
	}
}

func TestRejectsInvalidHeaders(t *testing.T) {
	chain := headertest.NewGenerator(headertest.Options{Seed: 4}).Chain(t, 3)
	good, err := chain[2].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	tampered := *chain[1]
	tampered.RawHeader.AppHash = []byte("not the app hash the validators signed")
	badSig, err := tampered.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	otherChain, err := headertest.NewGenerator(headertest.Options{ChainID: "other-chain", Seed: 4}).Must(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"tampered":    badSig,
		"other chain": otherChain,
		"garbage":     []byte("not a header"),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := testContext(t)
			r1, r2 := newRecorder(nil), newRecorder(nil)
			b1, b2 := newBlocker(), newBlocker()
			_, nodes := line(t, ctx, r1.verify, r2.verify, b1, b2)
			// A misbehaving peer connected to light1 publishes bad bytes
			// on a raw topic. (Messages over gossipsub's 1 MiB limit never
			// reach the validator: pubsub drops them first.)
			evil := newNode(t, ctx)
			connect(t, ctx, evil, nodes[1])
			topic, err := evil.PubSub.Join(gossip.TopicID(network))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = topic.Close() })
			p2ptest.WaitPeer(t, ctx, topic.ListPeers, nodes[1].Host.ID(), 10*time.Millisecond)
			if err := topic.Publish(ctx, bad); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-b1.ch:
				if p != evil.Host.ID() {
					t.Fatalf("blocked %s, want the sender %s", p, evil.Host.ID())
				}
			case <-ctx.Done():
				t.Fatal("sender not blocked")
			}
			// A good header sent after the bad one arrives; the bad one never
			// did.
			if err := topic.Publish(ctx, good); err != nil {
				t.Fatal(err)
			}
			if got := receive(t, ctx, r2.ch); got.Height() != chain[2].Height() {
				t.Fatalf("light2 received %v first, want %v", got, chain[2])
			}
			select {
			case p := <-b2.ch:
				t.Fatalf("light2 blocked %s: the bad message was forwarded", p)
			default:
			}
			if got := receive(t, ctx, r1.ch); got.Height() != chain[2].Height() {
				t.Fatalf("light1's verifier got %v", got)
			}
		})
	}
}

// A header the verifier ignores is not forwarded and its sender not blocked;
// one it rejects is not forwarded and its sender is blocked.
func TestVerifierVerdicts(t *testing.T) {
	chain := headertest.NewGenerator(headertest.Options{Seed: 5}).Chain(t, 3)
	errBad := errors.New("verifier says no")
	for name, verdict := range map[string]error{
		"ignore": fmt.Errorf("known: %w", gossip.ErrIgnore),
		"reject": errBad,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := testContext(t)
			r1 := newRecorder(func(h *header.ExtendedHeader) error {
				if h.Height() == chain[0].Height() {
					return verdict
				}
				return nil
			})
			r2 := newRecorder(nil)
			b1, b2 := newBlocker(), newBlocker()
			bridge, nodes := line(t, ctx, r1.verify, r2.verify, b1, b2)
			if err := bridge.Publish(ctx, chain[0]); err != nil {
				t.Fatal(err)
			}
			if got := receive(t, ctx, r1.ch); got.Height() != chain[0].Height() {
				t.Fatalf("light1 verified %v", got)
			}
			if verdict == errBad {
				select {
				case p := <-b1.ch:
					if p != nodes[0].Host.ID() {
						t.Fatalf("blocked %s, want the bridge", p)
					}
				case <-ctx.Done():
					t.Fatal("sender of a rejected header not blocked")
				}
			}
			if err := bridge.Publish(ctx, chain[1]); err != nil {
				t.Fatal(err)
			}
			if got := receive(t, ctx, r2.ch); got.Height() != chain[1].Height() {
				t.Fatalf("light2 received %v, want %v: the %s header was forwarded", got, chain[1], name)
			}
			if verdict != errBad {
				select {
				case p := <-b1.ch:
					t.Fatalf("blocked %s for an ignored header", p)
				default:
				}
			}
		})
	}
}
