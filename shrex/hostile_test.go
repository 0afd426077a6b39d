package shrex_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/internal/peerlimit"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/shrex"
)

// These tests are the attack of issue 12, item 4: one peer holding every
// stream it is allowed must not make another peer's nd or eds request
// fail.

// openStream opens a stream of protocol k from h to p and writes req, which
// may be empty (the protocol is then negotiated and nothing more is sent);
// a non-empty request is followed by closing the write side, as a client
// does. The stream is reset when the test ends.
func openStream(t *testing.T, h host.Host, p peer.ID, k shrex.Kind, req []byte) network.Stream {
	t.Helper()
	str, err := h.NewStream(testCtx(t), p, shrex.ProtocolID(netID, k))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = str.Reset() })
	// A write, even of nothing, sends the protocol negotiation.
	if _, err := str.Write(req); err != nil {
		t.Fatal(err)
	}
	if len(req) > 0 {
		if err := str.CloseWrite(); err != nil {
			t.Fatal(err)
		}
	}
	return str
}

func edsRequest(height uint64) []byte { return binary.BigEndian.AppendUint64(nil, height) }

func ndRequest(t *testing.T, height uint64, ns share.Namespace) []byte {
	t.Helper()
	b, err := shrex.NamespaceDataID{Height: height, Namespace: ns}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// await receives n times from ch, or fails the test when ctx ends.
func await(ctx context.Context, t *testing.T, ch <-chan struct{}, n int, what string) {
	t.Helper()
	for i := range n {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("%s: %d of %d: %v", what, i, n, ctx.Err())
		}
	}
}

// checkHonest makes nd and eds requests of b from a new peer, which must
// succeed.
func checkHonest(ctx context.Context, t *testing.T, srv host.Host, b block) {
	t.Helper()
	present, _ := namespaces(t, b)
	c := client(t, srv)
	for range 3 {
		if _, err := c.GetNamespaceData(ctx, srv.ID(), b.h, present[0]); err != nil {
			t.Errorf("another peer's nd request: %v", err)
		}
		if _, err := c.GetEDS(ctx, srv.ID(), b.h); err != nil {
			t.Errorf("another peer's eds request: %v", err)
		}
	}
}

// TestIdleStreamsDenyNobody: a peer opens all the streams it may have, nd
// and eds, and sends nothing on them. They count against that peer only.
func TestIdleStreamsDenyNobody(t *testing.T) {
	ctx := testCtx(t)
	b := square(t, 4, 8)
	admitted := make(chan struct{}, 2*shrex.DefaultMaxStreamsPerPeer)
	// A long read deadline: the idle streams stay for the whole test.
	srv := serve(t, newStore(b), shrex.WithServerTimeouts(time.Hour, shrex.DefaultWriteTimeout),
		shrex.WithAdmitHook(func() { admitted <- struct{}{} }))
	hostile := newHost(t)
	connect(t, hostile, srv)
	for i := range shrex.DefaultMaxStreamsPerPeer {
		k := shrex.KindNamespaceData
		if i%2 == 1 {
			k = shrex.KindEDS
		}
		openStream(t, hostile, srv.ID(), k, nil)
	}
	await(ctx, t, admitted, shrex.DefaultMaxStreamsPerPeer, "idle streams admitted")

	// The hostile peer is at its limit...
	hc, err := shrex.NewClient(hostile, netID, shrex.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hc.GetEDS(ctx, srv.ID(), b.h); !errors.Is(err, shrex.ErrRateLimited) {
		t.Fatalf("the hostile peer's next request: %v, want ErrRateLimited", err)
	}
	// ...and everyone else is served.
	checkHonest(ctx, t, srv, b)
}

// heldStore holds every read of height held until release is closed,
// telling entered of each; other heights are read from squares.
func heldStore(held uint64, squares ...block) (st storeFunc, entered, release chan struct{}) {
	entered, release = make(chan struct{}, 1024), make(chan struct{})
	mem := newStore(squares...)
	return func(ctx context.Context, h uint64) (*eds.ExtendedDataSquare, error) {
		if h != held {
			return mem.EDS(ctx, h)
		}
		entered <- struct{}{}
		select {
		case <-release:
			return nil, shrex.ErrNotFound
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}, entered, release
}

// statuses reads the response status of each stream in a goroutine of its
// own and sends it on the channel returned (a stream that fails sends 0).
// Only the status is read. The goroutines end with their streams.
func statuses(t *testing.T, strs []network.Stream) <-chan shrex.Status {
	t.Helper()
	ch := make(chan shrex.Status, len(strs))
	for _, str := range strs {
		go func() {
			var b [3]byte
			if _, err := io.ReadFull(str, b[:]); err != nil || b[0] != 2 || b[1] != 0x08 {
				ch <- 0
				return
			}
			ch <- shrex.Status(b[2])
		}()
	}
	return ch
}

// awaitRefused receives n statuses from ch, each of which must be
// RATE_LIMITED.
func awaitRefused(ctx context.Context, t *testing.T, ch <-chan shrex.Status, n int, what string) {
	t.Helper()
	for i := range n {
		select {
		case st := <-ch:
			if st != shrex.StatusRateLimited {
				t.Fatalf("%s: answered %v, want RATE_LIMITED", what, st)
			}
		case <-ctx.Done():
			t.Fatalf("%s: %d of %d refused: %v", what, i, n, ctx.Err())
		}
	}
}

// allowed is how many requests of protocol k one peer may have served at
// once when it is the only one asking.
func allowed(k shrex.Kind) int {
	return shrex.DefaultMaxConcurrent(k) - peerlimit.Reserve(shrex.DefaultMaxConcurrent(k))
}

// TestBusyPeerDeniesNobody: a peer makes more nd and eds requests than the
// server has slots and reads nothing of the answers while the server works
// on them (held in the store). It is given its share and refused the rest,
// and another peer is still served.
func TestBusyPeerDeniesNobody(t *testing.T) {
	ctx := testCtx(t)
	b := square(t, 4, 8)
	const held = 1000
	st, entered, release := heldStore(held, b)
	defer close(release)
	srv := serve(t, st)
	hostile := newHost(t)
	connect(t, hostile, srv)
	present, _ := namespaces(t, b)
	for _, k := range []shrex.Kind{shrex.KindNamespaceData, shrex.KindEDS} {
		req := edsRequest(held)
		if k == shrex.KindNamespaceData {
			req = ndRequest(t, held, present[0])
		}
		tries := shrex.DefaultMaxConcurrent(k) + 1
		strs := make([]network.Stream, tries)
		for i := range strs {
			strs[i] = openStream(t, hostile, srv.ID(), k, req)
		}
		answers := statuses(t, strs)
		await(ctx, t, entered, allowed(k), k.String()+" requests in the store")
		awaitRefused(ctx, t, answers, tries-allowed(k), k.String()+" requests beyond the peer's share")
	}
	checkHonest(ctx, t, srv, b)
}

// TestUnreadSquaresDenyNobody: a peer asks for a square too large for the
// stream's flow-control window more often than the server has eds slots,
// and reads nothing but the status, so the server's writes block for their
// whole deadline. It is given its share and refused the rest, and another
// peer is still served.
func TestUnreadSquaresDenyNobody(t *testing.T) {
	ctx := testCtx(t)
	small, large := square(t, 4, 8), square(t, 5, 64) // 2 MiB of ODS
	srv := serve(t, newStore(small, large), shrex.WithServerTimeouts(shrex.DefaultReadTimeout, time.Hour))
	hostile := newHost(t)
	connect(t, hostile, srv)
	tries := shrex.DefaultMaxConcurrent(shrex.KindEDS) + 1
	counts := map[shrex.Status]int{}
	for range tries {
		str := openStream(t, hostile, srv.ID(), shrex.KindEDS, edsRequest(large.h.Height()))
		counts[<-statuses(t, []network.Stream{str})]++
	}
	if want := allowed(shrex.KindEDS); counts[shrex.StatusOK] != want || counts[shrex.StatusRateLimited] != tries-want {
		t.Fatalf("answers to %d square requests: %v, want %d OK and the rest RATE_LIMITED", tries, counts, want)
	}
	checkHonest(ctx, t, srv, small)
}

// TestSilentStreamReset: a stream on which nothing is sent is reset when
// the read deadline passes, not left open.
func TestSilentStreamReset(t *testing.T) {
	b := square(t, 4, 4)
	srv := serve(t, newStore(b))
	c := newHost(t)
	connect(t, c, srv)
	start := time.Now()
	str := openStream(t, c, srv.ID(), shrex.KindNamespaceData, nil)
	p2ptest.CheckReset(t, str, start, shrex.DefaultReadTimeout)
}
