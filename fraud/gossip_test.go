package fraud_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

// A publishes the proof it found; B and C, C connected to A only through
// B, validate it against their own headers, store it and halt. Nobody is
// blocked.
func TestGossipSpreadsAndHalts(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	a, b, c := f.newNode(t, ctx, 20, nil), f.newNode(t, ctx, 20, nil), f.newNode(t, ctx, 20, nil)
	connect(t, ctx, a.p2p, b.p2p)
	connect(t, ctx, b.p2p, c.p2p)
	b.p2p.WaitMesh(t, ctx, fraud.TopicID(chainID), c.id())
	sub, err := c.svc.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if err := a.svc.Publish(ctx, f.proof); err != nil {
		t.Fatal(err)
	}
	a.waitHalted(t, ctx, f)
	b.waitHalted(t, ctx, f)
	c.waitHalted(t, ctx, f)
	select {
	case p := <-sub:
		if p.Height != f.bad {
			t.Fatalf("subscription got height %d", p.Height)
		}
	case <-ctx.Done():
		t.Fatal("the subscription got nothing")
	}
	for name, n := range map[string]*node{"a": a, "b": b, "c": c} {
		got, err := n.svc.Get(ctx)
		if err != nil || len(got) != 1 || got[0].Height != f.bad {
			t.Errorf("%s holds %v (%v), want the proof", name, got, err)
		}
		if n.blocker.count() != 0 {
			t.Errorf("%s blocked a peer", name)
		}
	}
	// What travelled is the form with k shares.
	got, _ := c.svc.Get(ctx)
	if b, _ := got[0].MarshalBinary(); !bytes.Equal(b, f.data) {
		t.Error("c holds another form of the proof than the one with k shares")
	}
	if st := c.svc.Stats(); st.Validations != 1 || st.Valid != 1 || st.Invalid != 0 {
		t.Errorf("c: %+v, want one validation of one valid proof", st)
	}
	c.restart(t, ctx, testOptions()) // c stored it
	c.waitHalted(t, ctx, f)
}

// A proof that would validate against the bad block's DAH but names
// another header is refused before validation, and its sender blocked.
func TestGossipWrongHeaderHash(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	b := f.newNode(t, ctx, 20, nil)
	r := newRawPublisher(t, ctx)
	connect(t, ctx, r.node, b.p2p)

	r.publish(t, ctx, f.wrongHeader(t))
	err := b.blocker.wait(t, ctx, r.node.Host.ID())
	if !errors.Is(err, fraud.ErrInvalidProof) {
		t.Fatalf("blocked for %v", err)
	}
	if st := b.svc.Stats(); st.Validations != 0 || st.Invalid != 1 {
		t.Fatalf("stats %+v, want no validation and one invalid proof", st)
	}
	if b.halt.Proof() != nil {
		t.Fatal("halted on a proof naming the wrong header")
	}
}

// A proof above the store's head is held until the store reaches its
// height, then validated, stored and gossiped on; one more than MaxAhead
// above is dropped unread, and a sender's holds are bounded.
func TestGossipHoldsProofsAhead(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	o := testOptions()
	o.MaxAhead, o.HoldPerPeer, o.PeerBurst = 2, 2, 100
	b := f.newNode(t, ctx, int(f.bad)-1, &o) // head 11
	c := f.newNode(t, ctx, 20, nil)
	r := newRawPublisher(t, ctx)
	connect(t, ctx, r.node, b.p2p)
	connect(t, ctx, b.p2p, c.p2p)
	b.p2p.WaitMesh(t, ctx, fraud.TopicID(chainID), c.id())

	far := *f.proof
	far.Height = f.bad + 2 // 3 above the head
	sent := [][]byte{
		f.data,
		encode(t, &far),
		withUnknownField(f.data, 1), // a second hold of r: its last
		withUnknownField(f.data, 2), // a third: no room
	}
	for _, m := range sent {
		r.publish(t, ctx, m)
	}
	waitFor(t, ctx, "b to judge every message", func() bool { return b.svc.Stats().Received == uint64(len(sent)) })
	st := b.svc.Stats()
	if st.Holding != 2 || st.Held != 2 || st.Validations != 0 || st.Ignored != 4 {
		t.Fatalf("stats %+v, want 2 held and 4 ignored, nothing validated", st)
	}
	if b.halt.Proof() != nil || b.blocker.count() != 0 {
		t.Fatal("b halted or blocked before it could check the proof")
	}

	if err := b.headers.Append(ctx, f.chain[f.bad-1]); err != nil {
		t.Fatal(err)
	}
	b.waitHalted(t, ctx, f)
	c.waitHalted(t, ctx, f) // b published what it had held
	st = b.svc.Stats()
	if st.Holding != 0 || st.Validations != 1 {
		t.Fatalf("stats %+v, want nothing held and one validation (the second hold a duplicate)", st)
	}
	if b.blocker.count() != 0 {
		t.Fatal("b blocked the sender of a valid proof")
	}
}

// Subscribe delivers the proof the node halts on first; its channel closes
// when its context ends.
func TestSubscribeWhenHalted(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	a := f.newNode(t, ctx, 20, nil)
	if err := a.svc.Publish(ctx, f.proof); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	sub, err := a.svc.Subscribe(sctx)
	if err != nil {
		t.Fatal(err)
	}
	if p := <-sub; p.Height != f.bad {
		t.Fatalf("got height %d first", p.Height)
	}
	// A second Publish of the same proof is not delivered again.
	if err := a.svc.Publish(ctx, f.proof); err != nil {
		t.Fatal(err)
	}
	cancel()
	for p := range sub {
		t.Fatalf("got %d again", p.Height)
	}
	if err := a.svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.Subscribe(ctx); !errors.Is(err, fraud.ErrStopped) {
		t.Fatalf("Subscribe after Stop: %v", err)
	}
	if err := a.svc.Publish(ctx, f.proof); !errors.Is(err, fraud.ErrNotStarted) {
		t.Fatalf("Publish after Stop: %v", err)
	}
	if err := a.svc.Publish(ctx, &eds.BadEncodingProof{}); !errors.Is(err, fraud.ErrNotStarted) {
		t.Fatalf("Publish after Stop: %v", err)
	}
}

// quietNode is a node whose store holds the chain, on a gossipsub that
// never runs its heartbeat: meshes form only when a node joins the topic,
// and nothing is announced by IHAVE gossip. Its Service is not started.
func (f *chainFixture) quietNode(t *testing.T, ctx context.Context) *node {
	t.Helper()
	params := pubsub.DefaultGossipSubParams()
	params.HeartbeatInitialDelay = time.Hour
	opts := append(p2ptest.NodeOptions(), pubsub.WithGossipSubParams(params))
	n := &node{p2p: p2ptest.NewNode(t, ctx, opts...), headers: headertest.NewMemStore(), dir: t.TempDir()}
	if err := n.headers.Append(ctx, f.chain...); err != nil {
		t.Fatal(err)
	}
	return n
}

// A peer that joins the node's mesh of the topic is asked for its proofs:
// B holds one it published before C was in its mesh, and that no message
// will bring again (no heartbeat, so no IHAVE gossip; C runs no Sync and
// no background sync). C, on the topic, grafts B when it joins and learns
// the proof by asking it.
func TestMeshPeerAsked(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	b, c := f.quietNode(t, ctx), f.quietNode(t, ctx)
	b.open(t, ctx, b.p2p.PubSub, testOptions())
	if err := b.svc.Publish(ctx, f.proof); err != nil {
		t.Fatal(err)
	}
	p2ptest.Connect(t, ctx, b.p2p.Host, c.p2p.Host)
	topic := fraud.TopicID(chainID)
	// C knows B is on the topic when it joins: joining grafts B.
	p2ptest.WaitPeer(t, ctx, func() []peer.ID { return c.p2p.PubSub.ListPeers(topic) }, b.id(), 5*time.Millisecond)
	c.open(t, ctx, c.p2p.PubSub, testOptions())
	c.waitHalted(t, ctx, f)
	if st := c.svc.Stats(); st.MeshPulls != 1 || st.Received != 1 || st.Valid != 1 {
		t.Errorf("c: %+v, want the proof from one request to its one mesh peer", st)
	}
}
