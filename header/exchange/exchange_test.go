package exchange_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/exchange"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

// countingStore counts the range requests a server answers.
type countingStore struct {
	header.Store
	ranges atomic.Int64
}

func (s *countingStore) GetRange(ctx context.Context, from, to uint64) ([]*header.ExtendedHeader, error) {
	s.ranges.Add(1)
	return s.Store.GetRange(ctx, from, to)
}

func TestRoundTrips(t *testing.T) {
	ctx := testCtx(t)
	c := honest(t)[:520]
	stores := []*countingStore{{Store: memStore(t, c)}, {Store: memStore(t, c)}, {Store: badgerStore(t, c)}}
	a, b, d := serve(t, stores[0]), serve(t, stores[1]), serve(t, stores[2])
	rec := &recorder{}
	cl := newClient(t, newHost(t), []host.Host{a, b, d}, exchange.WithTrustedPeers(ids(a, b, d)...), exchange.WithBlocker(rec))

	head, err := cl.Head(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, []*header.ExtendedHeader{head}, c[519:520])

	got, err := cl.GetByHeight(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, []*header.ExtendedHeader{got}, c[6:7])

	got, err = cl.GetByHash(ctx, c[99].Hash())
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, []*header.ExtendedHeader{got}, c[99:100])

	for _, tc := range []struct{ trusted, to uint64 }{{1, 2}, {1, 65}, {3, 515}, {100, 163}} {
		rng, err := cl.GetVerifiedRange(ctx, c[tc.trusted-1], tc.to)
		if err != nil {
			t.Fatalf("range (%d, %d]: %v", tc.trusted, tc.to, err)
		}
		checkRange(t, rng, c[tc.trusted:tc.to])
	}
	served := 0
	for _, s := range stores {
		if s.ranges.Load() > 0 {
			served++
		}
	}
	if served < 2 {
		t.Errorf("ranges were served by %d of 3 servers, want them spread", served)
	}

	for _, tc := range []struct{ trusted, to uint64 }{{1, 1}, {5, 4}, {1, 514}} {
		if _, err := cl.GetVerifiedRange(ctx, c[tc.trusted-1], tc.to); !errors.Is(err, header.ErrRangeTooLarge) {
			t.Errorf("range (%d, %d]: got %v, want ErrRangeTooLarge", tc.trusted, tc.to, err)
		}
	}
	if len(rec.get()) != 0 {
		t.Errorf("honest peers blocked: %v", rec.get())
	}
}

// TestTrackedPeers has no trusted peers: the client uses the peers that
// speak header-ex it found in the peerstore at Start.
func TestTrackedPeers(t *testing.T) {
	ctx := testCtx(t)
	c := honest(t)[:200]
	a, b := serve(t, memStore(t, c)), serve(t, memStore(t, c))
	lonely := newClient(t, newHost(t), nil)
	if _, err := lonely.GetVerifiedRange(ctx, c[0], 100); !errors.Is(err, exchange.ErrNoPeers) {
		t.Fatalf("with no peer: got %v, want ErrNoPeers", err)
	}
	if _, err := lonely.Head(ctx, nil); !errors.Is(err, exchange.ErrNoPeers) {
		t.Fatalf("Head(nil) with no trusted peer: got %v, want ErrNoPeers", err)
	}
	other := newHost(t) // connected, but does not speak header-ex
	cl := newClient(t, newHost(t), []host.Host{a, b, other}, exchange.WithParallelism(2))
	rng, err := cl.GetVerifiedRange(ctx, c[9], 200)
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, rng, c[10:200])
	head, err := cl.Head(ctx, c[9])
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, []*header.ExtendedHeader{head}, c[199:200])
	got, err := cl.GetByHeight(ctx, 150)
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, []*header.ExtendedHeader{got}, c[149:150])
}

// TestPartialAndMissing: servers answer the part of a range they hold; the
// client completes it elsewhere and reports what nobody has.
func TestPartialAndMissing(t *testing.T) {
	ctx := testCtx(t)
	c := honest(t)
	short := serve(t, memStore(t, c[:100]))
	long := serve(t, memStore(t, c[:200]))
	client := newHost(t)
	connect(t, client, short)

	// On the wire: a partial range ends with NOT_FOUND.
	resp := ask(t, client, short.ID(), rawRequest{from: 90, amount: 20})
	if len(resp) != 12 || resp[11].status != exchange.StatusNotFound || resp[11].header != nil {
		t.Fatalf("partial range: got %d messages, want 11 headers and NOT_FOUND", len(resp))
	}
	for i, r := range resp[:11] {
		if r.status != exchange.StatusOK || r.header.Height() != uint64(90+i) {
			t.Fatalf("message %d: status %v height %v", i, r.status, r.header)
		}
	}
	if resp := ask(t, client, short.ID(), rawRequest{from: 150, amount: 5}); len(resp) != 1 || resp[0].status != exchange.StatusNotFound {
		t.Fatalf("missing range: %+v", resp)
	}
	if resp := ask(t, client, short.ID(), rawRequest{hash: make([]byte, 32)}); len(resp) != 1 || resp[0].status != exchange.StatusNotFound {
		t.Fatalf("missing hash: %+v", resp)
	}
	for _, bad := range []rawRequest{{from: 0, amount: 5}, {from: 1, amount: 65}, {from: 1}, {hash: []byte{1}}, {head: true, from: 1, amount: 1}, {}} {
		if resp := ask(t, client, short.ID(), bad); len(resp) != 1 || resp[0].status != exchange.StatusBadRequest {
			t.Errorf("request %+v: got %+v, want BAD_REQUEST", bad, resp)
		}
	}

	rec := &recorder{}
	cl := newClient(t, newHost(t), []host.Host{short, long}, exchange.WithTrustedPeers(short.ID(), long.ID()), exchange.WithBlocker(rec))
	rng, err := cl.GetVerifiedRange(ctx, c[0], 200)
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, rng, c[1:200])
	if _, err := cl.GetVerifiedRange(ctx, c[179], 250); !errors.Is(err, header.ErrNotFound) {
		t.Errorf("range beyond every store: got %v, want ErrNotFound", err)
	}
	if _, err := cl.GetByHash(ctx, c[300].Hash()); !errors.Is(err, header.ErrNotFound) {
		t.Errorf("unknown hash: got %v, want ErrNotFound", err)
	}
	if _, err := cl.GetByHeight(ctx, 300); !errors.Is(err, header.ErrNotFound) {
		t.Errorf("unknown height: got %v, want ErrNotFound", err)
	}
	// Only long has 150: GetByHeight takes the trusted peers that answer.
	got, err := cl.GetByHeight(ctx, 150)
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, []*header.ExtendedHeader{got}, c[149:150])
	// Head(nil): the lowest head (100), which both have.
	head, err := cl.Head(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, []*header.ExtendedHeader{head}, c[99:100])
	if len(rec.get()) != 0 {
		t.Errorf("honest peers blocked: %v", rec.get())
	}
}

// TestDisagreement: trusted peers on different forks of the chain (same
// chain ID, other validators) make Head(nil) and GetByHeight fail with the
// evidence, blocking nobody.
func TestDisagreement(t *testing.T) {
	ctx := testCtx(t)
	c := honest(t)
	fork := headertest.NewGenerator(headertest.Options{Seed: 99}).Chain(t, 40)
	a, b := serve(t, memStore(t, c[:30])), serve(t, memStore(t, c[:35]))
	f := serve(t, memStore(t, fork))
	rec := &recorder{}

	agreeing := newClient(t, newHost(t), []host.Host{a, b}, exchange.WithTrustedPeers(a.ID(), b.ID()), exchange.WithBlocker(rec))
	head, err := agreeing.Head(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, []*header.ExtendedHeader{head}, c[29:30])

	cl := newClient(t, newHost(t), []host.Host{a, b, f}, exchange.WithTrustedPeers(a.ID(), b.ID(), f.ID()), exchange.WithBlocker(rec))
	_, err = cl.Head(ctx, nil)
	var dis *exchange.DisagreementError
	if !errors.As(err, &dis) || !errors.Is(err, exchange.ErrPeersDisagree) {
		t.Fatalf("Head: got %v, want a DisagreementError", err)
	}
	if dis.Height != 30 || len(dis.Hashes) != 3 || string(dis.Hashes[f.ID()]) != string(fork[29].Hash()) {
		t.Errorf("evidence: %v", dis)
	}
	if _, err := cl.GetByHeight(ctx, 12); !errors.As(err, &dis) || dis.Height != 12 {
		t.Fatalf("GetByHeight: got %v, want a DisagreementError", err)
	}
	if len(rec.get()) != 0 {
		t.Errorf("peers blocked for disagreeing: %v", rec.get())
	}
}

// TestValidatorRotation: a chain whose validator set changes every 10
// blocks (keeping 2 of 4) is followed adjacently, and Head verifies across
// one change non-adjacently; across a full rotation it cannot, and blocks
// nobody.
func TestValidatorRotation(t *testing.T) {
	ctx := testCtx(t)
	changes := map[int64]headertest.ValidatorChange{}
	for h := int64(10); h <= 60; h += 10 {
		changes[h] = headertest.ValidatorChange{Keep: 2, Add: 2}
	}
	rot := headertest.NewGenerator(headertest.Options{Seed: 7, Changes: changes}).Chain(t, 70)
	rec := &recorder{}
	full := serve(t, memStore(t, rot))
	cl := newClient(t, newHost(t), []host.Host{full}, exchange.WithBlocker(rec))
	rng, err := cl.GetVerifiedRange(ctx, rot[0], 70)
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, rng, rot[1:70])

	// Heads at 12: one change (half the trusted power still signs) from 1.
	near := serve(t, memStore(t, rot[:12]))
	cl2 := newClient(t, newHost(t), []host.Host{near}, exchange.WithBlocker(rec))
	head, err := cl2.Head(ctx, rot[0])
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, []*header.ExtendedHeader{head}, rot[11:12])

	// A full rotation at 10: no validator of height 1 signs height 15.
	gone := headertest.NewGenerator(headertest.Options{Seed: 8, Changes: map[int64]headertest.ValidatorChange{10: {Keep: 0, Add: 4}}}).Chain(t, 15)
	far := serve(t, memStore(t, gone))
	cl3 := newClient(t, newHost(t), []host.Host{far}, exchange.WithBlocker(rec))
	if head, err := cl3.Head(ctx, gone[0]); !errors.Is(err, header.ErrNotEnoughTrust) {
		t.Fatalf("Head across a full rotation: got %v, %v, want ErrNotEnoughTrust", head, err)
	}
	// Adjacently it is fine.
	rng, err = cl3.GetVerifiedRange(ctx, gone[0], 15)
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, rng, gone[1:15])
	if len(rec.get()) != 0 {
		t.Errorf("honest peers blocked: %v", rec.get())
	}
}

// TestExpiredTrust: a trusted header past the trusting period is our
// problem: the error says so and nobody is blocked.
func TestExpiredTrust(t *testing.T) {
	ctx := testCtx(t)
	c := honest(t)
	srv := serve(t, memStore(t, c[:100]))
	rec := &recorder{}
	cl := newClient(t, newHost(t), []host.Host{srv}, exchange.WithBlocker(rec),
		exchange.WithVerifyOptions(header.VerifyOptions{Now: time.Now().Add(365 * 24 * time.Hour)}))
	if _, err := cl.GetVerifiedRange(ctx, c[0], 100); !errors.Is(err, header.ErrExpiredTrust) {
		t.Errorf("GetVerifiedRange: got %v, want ErrExpiredTrust", err)
	}
	if _, err := cl.Head(ctx, c[0]); !errors.Is(err, header.ErrExpiredTrust) {
		t.Errorf("Head: got %v, want ErrExpiredTrust", err)
	}
	if len(rec.get()) != 0 {
		t.Errorf("peers blocked for our expired trust: %v", rec.get())
	}
}

func TestRateLimit(t *testing.T) {
	ctx := testCtx(t)
	c := honest(t)
	// Two requests, then (practically) never another.
	srv := serve(t, memStore(t, c[:10]), exchange.WithPeerRateLimit(1e-6, 2))
	client := newHost(t)
	connect(t, client, srv)
	for i := range 2 {
		if resp := ask(t, client, srv.ID(), rawRequest{head: true}); len(resp) != 1 || resp[0].status != exchange.StatusOK {
			t.Fatalf("request %d: %+v", i, resp)
		}
	}
	if resp := ask(t, client, srv.ID(), rawRequest{head: true}); len(resp) != 1 || resp[0].status != exchange.StatusRateLimited {
		t.Fatalf("request over the limit: %+v, want RATE_LIMITED", resp)
	}
	rec := &recorder{}
	cl := newClient(t, client, nil, exchange.WithTrustedPeers(srv.ID()), exchange.WithBlocker(rec))
	if _, err := cl.GetByHeight(ctx, 3); !errors.Is(err, exchange.ErrRateLimited) {
		t.Errorf("GetByHeight: got %v, want ErrRateLimited", err)
	}
	// Another peer is not limited by the first one's use.
	other := newHost(t)
	connect(t, other, srv)
	if resp := ask(t, other, srv.ID(), rawRequest{head: true}); len(resp) != 1 || resp[0].status != exchange.StatusOK {
		t.Fatalf("another peer: %+v", resp)
	}
	if len(rec.get()) != 0 {
		t.Errorf("a rate-limiting peer was blocked: %v", rec.get())
	}
}

func TestOptionsRejectBadValues(t *testing.T) {
	h := newHost(t)
	s := headertest.NewMemStore()
	for _, o := range []exchange.ServerOption{exchange.WithMaxStreamsPerPeer(0), exchange.WithPeerRateLimit(0, 1),
		exchange.WithPeerRateLimit(1, 0), exchange.WithServerTimeouts(0, time.Second), exchange.WithServerLogger(nil)} {
		if _, err := exchange.NewServer(h, netID, s, o); err == nil {
			t.Error("a bad server option was accepted")
		}
	}
	for _, o := range []exchange.ClientOption{exchange.WithParallelism(0), exchange.WithRequestTimeout(-1), exchange.WithChainID(""),
		exchange.WithLogger(nil), exchange.WithVerifyOptions(header.VerifyOptions{TrustingPeriod: -1})} {
		if _, err := exchange.NewClient(h, netID, o); err == nil {
			t.Error("a bad client option was accepted")
		}
	}
	if _, err := exchange.NewServer(h, "", s); err == nil {
		t.Error("empty network accepted")
	}
	if got := exchange.ProtocolID("mesh-1"); got != "/datamesh/mesh-1/header-ex/v0.1.0" {
		t.Errorf("ProtocolID: %s", got)
	}
}

func TestServerStop(t *testing.T) {
	ctx := testCtx(t)
	h := newHost(t)
	srv, err := exchange.NewServer(h, netID, memStore(t, honest(t)[:5]))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, newHost(t), []host.Host{h}, exchange.WithTrustedPeers(h.ID()))
	if _, err := cl.GetByHeight(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := srv.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.GetByHeight(ctx, 2); err == nil {
		t.Fatal("a stopped server answered")
	}
	if err := srv.Start(ctx); err == nil {
		t.Fatal("a stopped server restarted")
	}
}

// TestPartialSegments: the first peer asked holds only the start of a
// chunk; the client takes it and asks another peer for the rest.
func TestPartialSegments(t *testing.T) {
	ctx := testCtx(t)
	c := honest(t)
	shortStore := &countingStore{Store: memStore(t, c[:100])}
	longStore := &countingStore{Store: memStore(t, c[:200])}
	short, long := serve(t, shortStore), serve(t, longStore)
	h := newHost(t)
	// short is tracked (connected at Start) and so asked first; long is a
	// trusted peer the client only knows the addresses of.
	h.Peerstore().AddAddrs(long.ID(), long.Addrs(), time.Hour)
	rec := &recorder{}
	cl := newClient(t, h, []host.Host{short}, exchange.WithTrustedPeers(long.ID()), exchange.WithBlocker(rec))
	rng, err := cl.GetVerifiedRange(ctx, c[69], 134)
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, rng, c[70:134])
	if shortStore.ranges.Load() == 0 || longStore.ranges.Load() == 0 {
		t.Errorf("range requests: short %d, long %d; want both", shortStore.ranges.Load(), longStore.ranges.Load())
	}
	if len(rec.get()) != 0 {
		t.Errorf("honest peers blocked: %v", rec.get())
	}
}

// blockingStore blocks GetRange until its context ends, and records
// that it returned.
type blockingStore struct {
	header.Store
	entered  chan struct{}
	returned atomic.Bool
}

func (s *blockingStore) GetRange(ctx context.Context, from, to uint64) ([]*header.ExtendedHeader, error) {
	close(s.entered)
	<-ctx.Done()
	s.returned.Store(true)
	return nil, ctx.Err()
}

// TestStopWaitsForHandlers: Stop cancels the requests in flight and
// returns only after their handlers did.
func TestStopWaitsForHandlers(t *testing.T) {
	ctx := testCtx(t)
	st := &blockingStore{Store: memStore(t, honest(t)[:5]), entered: make(chan struct{})}
	h := newHost(t)
	srv, err := exchange.NewServer(h, netID, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, newHost(t), []host.Host{h}, exchange.WithTrustedPeers(h.ID()))
	errc := make(chan error, 1)
	go func() {
		_, err := cl.GetByHeight(ctx, 2)
		errc <- err
	}()
	select {
	case <-st.entered:
	case <-ctx.Done():
		t.Fatal("the request never reached the store")
	}
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if !st.returned.Load() {
		t.Fatal("Stop returned before the handler")
	}
	if err := <-errc; err == nil {
		t.Fatal("a cancelled request succeeded")
	}
}

// Exchange is the interface the header syncer consumes; the Client must
// implement it.
type Exchange interface {
	Head(ctx context.Context, trusted *header.ExtendedHeader) (*header.ExtendedHeader, error)
	GetByHash(ctx context.Context, hash []byte) (*header.ExtendedHeader, error)
	GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error)
	GetVerifiedRange(ctx context.Context, trusted *header.ExtendedHeader, to uint64) ([]*header.ExtendedHeader, error)
}

var _ Exchange = (*exchange.Client)(nil)

// TestRateLimitedClientBacksOff: with its only peer refusing for lack of
// tokens, the client waits and asks again rather than failing, and does
// not block the peer.
func TestRateLimitedClientBacksOff(t *testing.T) {
	ctx := testCtx(t)
	c := honest(t)
	srv := serve(t, memStore(t, c[:200]), exchange.WithPeerRateLimit(20, 2))
	rec := &recorder{}
	cl := newClient(t, newHost(t), []host.Host{srv}, exchange.WithBlocker(rec), exchange.WithParallelism(3))
	rng, err := cl.GetVerifiedRange(ctx, c[0], 193) // three requests, two tokens
	if err != nil {
		t.Fatalf("%v (blocked: %v)", err, rec.get())
	}
	checkRange(t, rng, c[1:193])
	if len(rec.get()) != 0 {
		t.Errorf("a rate-limiting peer was blocked: %v", rec.get())
	}
}

// TestSilentStreamReset: a stream on which nothing is sent is reset when
// the read deadline passes, not left open.
func TestSilentStreamReset(t *testing.T) {
	srv := serve(t, memStore(t, honest(t)[:2]))
	c := newHost(t)
	connect(t, c, srv)
	start := time.Now()
	str, err := c.NewStream(testCtx(t), srv.ID(), exchange.ProtocolID(netID))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = str.Reset() }()
	// A write of nothing sends the protocol negotiation only.
	if _, err := str.Write(nil); err != nil {
		t.Fatal(err)
	}
	p2ptest.CheckReset(t, str, start, exchange.DefaultReadTimeout)
}
