package edssub_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/shrex/edssub"
)

const network = "test-net"

// newNode returns a loopback host with gossipsub configured as p2p.Node
// configures it: flood publishing, no author, content message IDs.
func newNode(t *testing.T, ctx context.Context) *p2ptest.Node {
	return p2ptest.NewNode(t, ctx, p2ptest.NodeOptions()...)
}

func connect(t *testing.T, ctx context.Context, a, b *p2ptest.Node) {
	t.Helper()
	p2ptest.Connect(t, ctx, a.Host, b.Host)
}

// blocker records BlockPeer calls.
type blocker struct{ ch chan peer.ID }

func newBlocker() *blocker { return &blocker{ch: make(chan peer.ID, 64)} }

func (b *blocker) BlockPeer(id peer.ID, _ error) { b.ch <- id }

func startEdsSub(t *testing.T, ctx context.Context, n *p2ptest.Node, opts ...edssub.Option) *edssub.EdsSub {
	t.Helper()
	e, err := edssub.New(n.PubSub, network, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.Start(t, ctx, e)
	return e
}

func subscribe(t *testing.T, e *edssub.EdsSub) *edssub.Subscription {
	t.Helper()
	s, err := e.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Cancel)
	return s
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func root(h uint64) []byte {
	r := sha256.Sum256(fmt.Appendf(nil, "root %d", h))
	return r[:]
}

// line builds n0 - n1 - n2 (n2 connected only to n1).
func line(t *testing.T, ctx context.Context) [3]*p2ptest.Node {
	t.Helper()
	var nodes [3]*p2ptest.Node
	for i := range nodes {
		nodes[i] = newNode(t, ctx)
	}
	connect(t, ctx, nodes[0], nodes[1])
	connect(t, ctx, nodes[2], nodes[1])
	return nodes
}

func waitMesh(t *testing.T, ctx context.Context, nodes [3]*p2ptest.Node) {
	t.Helper()
	topic := edssub.TopicID(network)
	nodes[0].WaitMesh(t, ctx, topic, nodes[1].Host.ID())
	nodes[1].WaitMesh(t, ctx, topic, nodes[2].Host.ID())
	nodes[2].WaitMesh(t, ctx, topic, nodes[1].Host.ID())
}

// nextWithin returns the next notification of s, or false if none arrives
// within d.
func nextWithin(ctx context.Context, s *edssub.Subscription, d time.Duration) (edssub.Notification, bool) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	n, err := s.Next(ctx)
	return n, err == nil
}

// publishUntil publishes distinct heights from first (pubsub de-duplicates
// by content, and a message sent as a peer joins can be lost) until s
// receives one, and returns it.
func publishUntil(t *testing.T, ctx context.Context, e *edssub.EdsSub, s *edssub.Subscription, first uint64) edssub.Notification {
	t.Helper()
	for h := first; ; h++ {
		if err := e.Publish(ctx, h, root(h)); err != nil {
			t.Fatal(err)
		}
		if n, ok := nextWithin(ctx, s, time.Second); ok {
			return n
		}
		if ctx.Err() != nil {
			t.Fatalf("nothing received: %v", ctx.Err())
		}
	}
}

func TestTopicID(t *testing.T) {
	if got, want := edssub.TopicID("mocha"), "/datamesh/mocha/eds-sub/v0.1.0"; got != want {
		t.Fatalf("TopicID = %q, want %q", got, want)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	b, err := edssub.Marshal(0x0102030405060708, root(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != edssub.MessageSize || !bytes.Equal(b[:8], []byte{1, 2, 3, 4, 5, 6, 7, 8}) || !bytes.Equal(b[8:], root(1)) {
		t.Fatalf("Marshal = %x", b)
	}
	n, err := edssub.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if n.Height != 0x0102030405060708 || !bytes.Equal(n.DataRoot, root(1)) {
		t.Fatalf("Unmarshal = %+v", n)
	}
	b[8] ^= 0xff
	if bytes.Equal(n.DataRoot, b[8:]) {
		t.Fatal("Unmarshal's data root aliases the message")
	}
}

func TestMarshalRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		h    uint64
		root []byte
	}{
		"height 0":   {0, root(1)},
		"short root": {1, root(1)[:31]},
		"long root":  {1, append(root(1), 0)},
		"nil root":   {1, nil},
	} {
		if _, err := edssub.Marshal(tc.h, tc.root); !errors.Is(err, edssub.ErrInvalidNotification) {
			t.Errorf("%s: err = %v, want ErrInvalidNotification", name, err)
		}
	}
}

func TestUnmarshalRejects(t *testing.T) {
	good, _ := edssub.Marshal(7, root(7))
	for name, b := range map[string][]byte{
		"empty":    nil,
		"39 bytes": good[:39],
		"41 bytes": append(append([]byte(nil), good...), 0),
		"height 0": append(make([]byte, 8), root(7)...),
	} {
		if _, err := edssub.Unmarshal(b); !errors.Is(err, edssub.ErrInvalidMessage) {
			t.Errorf("%s: err = %v, want ErrInvalidMessage", name, err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	good, _ := edssub.Marshal(7, root(7))
	f.Add(good)
	f.Add([]byte{})
	f.Add(good[:39])
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := edssub.Unmarshal(b)
		if err != nil {
			return
		}
		again, err := edssub.Marshal(n.Height, n.DataRoot)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("round trip of %x: %x, %v", b, again, err)
		}
	})
}

func TestNewRejectsBadInput(t *testing.T) {
	ctx := testContext(t)
	n := newNode(t, ctx)
	for name, f := range map[string]func() (*edssub.EdsSub, error){
		"nil pubsub":    func() (*edssub.EdsSub, error) { return edssub.New(nil, network) },
		"no network":    func() (*edssub.EdsSub, error) { return edssub.New(n.PubSub, "") },
		"nil option":    func() (*edssub.EdsSub, error) { return edssub.New(n.PubSub, network, nil) },
		"nil blocker":   func() (*edssub.EdsSub, error) { return edssub.New(n.PubSub, network, edssub.WithPeerBlocker(nil)) },
		"nil logger":    func() (*edssub.EdsSub, error) { return edssub.New(n.PubSub, network, edssub.WithLogger(nil)) },
		"nil validator": func() (*edssub.EdsSub, error) { return edssub.New(n.PubSub, network, edssub.WithValidator(nil)) },
		"zero timeout":  func() (*edssub.EdsSub, error) { return edssub.New(n.PubSub, network, edssub.WithValidatorTimeout(0)) },
	} {
		if _, err := f(); !errors.Is(err, edssub.ErrInvalidOption) {
			t.Errorf("%s: err = %v, want ErrInvalidOption", name, err)
		}
	}
}

func TestLifecycle(t *testing.T) {
	ctx := testContext(t)
	n := newNode(t, ctx)
	e, err := edssub.New(n.PubSub, network)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Publish(ctx, 1, root(1)); !errors.Is(err, edssub.ErrNotStarted) {
		t.Fatalf("Publish before Start: %v", err)
	}
	if _, err := e.Subscribe(); !errors.Is(err, edssub.ErrNotStarted) {
		t.Fatalf("Subscribe before Start: %v", err)
	}
	if e.ListPeers() != nil {
		t.Fatal("ListPeers before Start is not nil")
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	if err := e.Publish(ctx, 0, root(1)); !errors.Is(err, edssub.ErrInvalidNotification) {
		t.Fatalf("Publish of height 0: %v", err)
	}
	s, err := e.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	// Our own messages are not delivered to our subscriptions.
	if err := e.Publish(ctx, 1, root(1)); err != nil {
		t.Fatal(err)
	}
	if n, ok := nextWithin(ctx, s, 300*time.Millisecond); ok {
		t.Fatalf("own notification delivered: %+v", n)
	}
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(ctx); err == nil {
		t.Fatal("Next after Stop returned no error")
	}
	s.Cancel() // idempotent after Stop
	if err := e.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := e.Start(ctx); !errors.Is(err, edssub.ErrStopped) {
		t.Fatalf("Start after Stop: %v", err)
	}
	if err := e.Publish(ctx, 2, root(2)); !errors.Is(err, edssub.ErrNotStarted) {
		t.Fatalf("Publish after Stop: %v", err)
	}
	// The topic was left and the validator unregistered: a new EdsSub can
	// take the topic.
	e2, err := edssub.New(n.PubSub, network)
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Start(ctx); err != nil {
		t.Fatalf("Start of a second EdsSub after Stop: %v", err)
	}
	if err := e2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAnnounceReachesSubscribers(t *testing.T) {
	ctx := testContext(t)
	nodes := line(t, ctx)
	b1, b2 := newBlocker(), newBlocker()
	pub := startEdsSub(t, ctx, nodes[0])
	e1 := startEdsSub(t, ctx, nodes[1], edssub.WithPeerBlocker(b1))
	e2 := startEdsSub(t, ctx, nodes[2], edssub.WithPeerBlocker(b2))
	s1, s2 := subscribe(t, e1), subscribe(t, e2)
	waitMesh(t, ctx, nodes)

	got := publishUntil(t, ctx, pub, s1, 100)
	if got.From != nodes[0].Host.ID() || !bytes.Equal(got.DataRoot, root(got.Height)) {
		t.Fatalf("n1 got %+v, want from %s", got, nodes[0].Host.ID())
	}
	// n2 hears it through n1, which forwarded it after validation.
	for {
		n, err := s2.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n.Height == got.Height {
			if n.From != nodes[1].Host.ID() || !bytes.Equal(n.DataRoot, root(n.Height)) {
				t.Fatalf("n2 got %+v, want from %s", n, nodes[1].Host.ID())
			}
			break
		}
	}
	select {
	case p := <-b1.ch:
		t.Fatalf("n1 blocked %s", p)
	case p := <-b2.ch:
		t.Fatalf("n2 blocked %s", p)
	default:
	}
}

func TestMalformedMessageRejectedAndSenderBlocked(t *testing.T) {
	ctx := testContext(t)
	nodes := line(t, ctx)
	// n0 publishes raw bytes on the topic, with no EdsSub (no validator).
	topic, err := nodes[0].PubSub.Join(edssub.TopicID(network))
	if err != nil {
		t.Fatal(err)
	}
	rawSub, err := topic.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rawSub.Cancel)
	b1, b2 := newBlocker(), newBlocker()
	e1 := startEdsSub(t, ctx, nodes[1], edssub.WithPeerBlocker(b1))
	e2 := startEdsSub(t, ctx, nodes[2], edssub.WithPeerBlocker(b2))
	s1, s2 := subscribe(t, e1), subscribe(t, e2)
	waitMesh(t, ctx, nodes)

	good, _ := edssub.Marshal(5, root(5))
	bad := [][]byte{
		append(append([]byte(nil), good...), 0), // 41 bytes
		good[:39],
		append(make([]byte, 8), root(5)...), // height 0
	}
	var blocked peer.ID
	for i := 0; blocked == ""; i++ {
		// Distinct content each round: pubsub drops what it has seen.
		msg := append(append([]byte(nil), bad[i%len(bad)]...), make([]byte, i/len(bad))...)
		if err := topic.Publish(ctx, msg); err != nil {
			t.Fatal(err)
		}
		select {
		case blocked = <-b1.ch:
		case <-time.After(time.Second):
		case <-ctx.Done():
			t.Fatalf("n1 never blocked the sender: %v", ctx.Err())
		}
	}
	if blocked != nodes[0].Host.ID() {
		t.Fatalf("n1 blocked %s, want %s", blocked, nodes[0].Host.ID())
	}
	// Rejected messages are neither delivered nor forwarded.
	if n, ok := nextWithin(ctx, s1, 300*time.Millisecond); ok {
		t.Fatalf("n1 delivered %+v", n)
	}
	if n, ok := nextWithin(ctx, s2, 300*time.Millisecond); ok {
		t.Fatalf("n2 delivered %+v", n)
	}
	select {
	case p := <-b2.ch:
		t.Fatalf("n2 blocked %s: the malformed message was forwarded", p)
	default:
	}
}

func TestValidator(t *testing.T) {
	ctx := testContext(t)
	nodes := line(t, ctx)
	errBadRoot := errors.New("data root does not match our header")
	seen := make(chan edssub.Notification, 64)
	// Heights below 1000 are ignored, heights from 2000 rejected, the rest
	// accepted.
	v := func(_ context.Context, n edssub.Notification) error {
		select {
		case seen <- n:
		default:
		}
		switch {
		case n.Height < 1000:
			return fmt.Errorf("no header at %d yet: %w", n.Height, edssub.ErrIgnore)
		case n.Height >= 2000:
			return errBadRoot
		}
		return nil
	}
	b1, b2 := newBlocker(), newBlocker()
	pub := startEdsSub(t, ctx, nodes[0])
	e1 := startEdsSub(t, ctx, nodes[1], edssub.WithPeerBlocker(b1), edssub.WithValidator(v))
	e2 := startEdsSub(t, ctx, nodes[2], edssub.WithPeerBlocker(b2))
	s1, s2 := subscribe(t, e1), subscribe(t, e2)
	waitMesh(t, ctx, nodes)

	// An ignored notification reaches the Validator but goes no further,
	// and nobody is blocked.
	for h := uint64(1); ; h++ {
		if err := pub.Publish(ctx, h, root(h)); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-seen:
			if n.From != nodes[0].Host.ID() || n.Height >= 1000 || !bytes.Equal(n.DataRoot, root(n.Height)) {
				t.Fatalf("Validator given %+v", n)
			}
		case <-time.After(time.Second):
			continue
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		break
	}
	// An accepted one follows it, through n1 to n2: the first each
	// subscription sees.
	got := publishUntil(t, ctx, pub, s1, 1000)
	if got.Height < 1000 {
		t.Fatalf("n1 delivered ignored height %d", got.Height)
	}
	if n, err := s2.Next(ctx); err != nil || n.Height < 1000 {
		t.Fatalf("n2 first got %+v, %v; want an accepted height", n, err)
	}
	select {
	case p := <-b1.ch:
		t.Fatalf("an ignored notification blocked %s", p)
	default:
	}

	// A rejected one blocks its sender.
	for h := uint64(2000); ; h++ {
		if err := pub.Publish(ctx, h, root(h)); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-b1.ch:
			if p != nodes[0].Host.ID() {
				t.Fatalf("n1 blocked %s, want %s", p, nodes[0].Host.ID())
			}
		case <-time.After(time.Second):
			continue
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		break
	}
	if n, ok := nextWithin(ctx, s1, 300*time.Millisecond); ok && n.Height >= 2000 {
		t.Fatalf("n1 delivered rejected %+v", n)
	}
}
