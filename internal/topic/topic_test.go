package topic_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/internal/topic"
)

const id = "/test/topic/v0"

var errNotStarted, errStopped = errors.New("not started"), errors.New("stopped")

// call is one Validate call.
type call struct {
	data string
	own  bool
}

type recorder struct {
	mu    sync.Mutex
	calls []call
}

// validate accepts our own messages and, of others, "a…"; it ignores
// "i…" and rejects anything else.
func (r *recorder) validate(_ context.Context, _ peer.ID, data []byte, own bool) topic.Result {
	r.mu.Lock()
	r.calls = append(r.calls, call{string(data), own})
	r.mu.Unlock()
	switch {
	case own:
		return topic.Accept
	case len(data) > 0 && data[0] == 'a':
		return topic.Accept
	case len(data) > 0 && data[0] == 'i':
		return topic.Ignore
	}
	return topic.Reject
}

func (r *recorder) saw(data string, own bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		if c == (call{data, own}) {
			return true
		}
	}
	return false
}

func newTopic(n *p2ptest.Node, r *recorder) *topic.Topic {
	return topic.New(n.PubSub, topic.Config{
		Name: "test", ID: id, Validate: r.validate, Timeout: time.Second,
		Log: slog.New(slog.DiscardHandler), ErrNotStarted: errNotStarted, ErrStopped: errStopped,
	})
}

func TestLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel) // after the nodes' cleanups
	n := p2ptest.NewNode(t, ctx)
	tp := newTopic(n, &recorder{})
	if tp.ID() != id || tp.Started() || tp.ListPeers() != nil {
		t.Fatal("new topic: wrong ID, started or with peers")
	}
	if err := tp.Publish(ctx, []byte("a")); !errors.Is(err, errNotStarted) {
		t.Fatalf("Publish before Start: %v", err)
	}
	if _, err := tp.Subscribe(); !errors.Is(err, errNotStarted) {
		t.Fatalf("Subscribe before Start: %v", err)
	}
	for range 2 {
		if err := tp.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s, err := tp.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := tp.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Next(ctx); err == nil {
		t.Error("a subscription outlived Stop")
	}
	if err := tp.Start(ctx); !errors.Is(err, errStopped) {
		t.Fatalf("Start after Stop: %v", err)
	}
	// The validator is unregistered: the topic can be used again.
	tp2 := newTopic(n, &recorder{})
	p2ptest.Start(t, ctx, tp2)
}

// Our own messages reach Validate tagged own and are skipped by our
// subscriptions; others' accepted messages are delivered, ignored and
// rejected ones are not.
func TestOwnMessagesAndVerdicts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel) // after the nodes' cleanups
	n0, n1 := p2ptest.NewNode(t, ctx), p2ptest.NewNode(t, ctx)
	r0, r1 := &recorder{}, &recorder{}
	t0, t1 := newTopic(n0, r0), newTopic(n1, r1)
	p2ptest.Start(t, ctx, t0)
	p2ptest.Start(t, ctx, t1)
	s0, err := t0.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer s0.Cancel()
	s1, err := t1.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Cancel()
	p2ptest.Connect(t, ctx, n0.Host, n1.Host)
	n0.WaitMesh(t, ctx, id, n1.Host.ID())
	p2ptest.WaitPeer(t, ctx, t0.ListPeers, n1.Host.ID(), 5*time.Millisecond)

	for _, m := range []string{"i1", "r1", "a1"} {
		if err := t0.Publish(ctx, []byte(m)); err != nil {
			t.Fatalf("publishing %s: %v", m, err)
		}
	}
	msg, err := s1.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg.GetData()) != "a1" || msg.ReceivedFrom != n0.Host.ID() {
		t.Fatalf("n1 got %q from %s, want a1 from n0", msg.GetData(), msg.ReceivedFrom)
	}
	// Validation is concurrent: i1 and r1 may still be being judged.
	for !r1.saw("i1", false) || !r1.saw("r1", false) {
		select {
		case <-ctx.Done():
			t.Fatal("n1 never validated i1 and r1")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if !r0.saw("a1", true) || r1.saw("a1", true) || !r1.saw("a1", false) {
		t.Error("own messages not tagged as such")
	}
	// n0's own subscription skips a1 and delivers n1's message.
	if err := t1.Publish(ctx, []byte("a2")); err != nil {
		t.Fatal(err)
	}
	msg, err = s0.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg.GetData()) != "a2" {
		t.Fatalf("n0 got %q, want a2 (its own a1 skipped)", msg.GetData())
	}
}
