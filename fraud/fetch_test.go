package fraud_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/exchange"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

// The tests of proofs below the store's base run a real header-ex server
// on a trusted peer and a real header-ex client, Deps.Fetch, on the node;
// the checks the client already makes (Validate, the chain ID, trusted
// peers agreeing) keep it from handing over a header that does not
// Validate or is at another height, so those cases use fetchFunc.

// serveHeaders starts a header-ex server over headers on n's host.
func serveHeaders(t testing.TB, ctx context.Context, n *p2ptest.Node, headers header.Store) {
	t.Helper()
	srv, err := exchange.NewServer(n.Host, chainID, headers)
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.Start(t, ctx, srv)
	p2ptest.WaitAnnounced(t, ctx, n.Host, exchange.ProtocolID(chainID))
}

// trustedFetcher returns a header-ex client on a new host, connected to
// trusted, which it trusts; the host's node serves nothing.
func trustedFetcher(t testing.TB, ctx context.Context, h *p2ptest.Node, trusted *p2ptest.Node) *exchange.Client {
	t.Helper()
	c, err := exchange.NewClient(h.Host, chainID, exchange.WithTrustedPeers(trusted.Host.ID()))
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.Start(t, ctx, c)
	p2ptest.Connect(t, ctx, h.Host, trusted.Host)
	return c
}

// newFetchingNode returns a started node whose store holds the chain from
// base up, fetching headers through a header-ex client that trusts
// trusted, and syncing from syncFrom.
func (f *chainFixture) newFetchingNode(t testing.TB, ctx context.Context, base uint64, trusted *p2ptest.Node, syncFrom peer.ID) *node {
	t.Helper()
	o := testOptions()
	o.SyncPeers = []peer.ID{syncFrom}
	// The client needs the host, which startNode makes: a lazy fetcher
	// binds them.
	lazy := &lazyFetcher{}
	d := f.newNodeFrom(t, ctx, base, o, lazy)
	lazy.set(trustedFetcher(t, ctx, d.p2p, trusted))
	return d
}

// lazyFetcher is a HeaderFetcher set after the Service is made.
type lazyFetcher struct {
	mu sync.Mutex
	f  fraud.HeaderFetcher
}

func (l *lazyFetcher) set(f fraud.HeaderFetcher) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f = f
}

func (l *lazyFetcher) GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	l.mu.Lock()
	f := l.f
	l.mu.Unlock()
	if f == nil {
		return nil, errors.New("no fetcher yet")
	}
	return f.GetByHeight(ctx, height)
}

// A light node that started from a trusted header above the bad block
// (its store begins at 13, the proof is of 12) learns the proof by Sync,
// fetches the header of 12 from its trusted peer over header-ex, checks
// the proof against it and is halted when Sync returns.
func TestSyncProofBelowTheBase(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	a := f.holder(t, ctx) // stores the whole chain
	serveHeaders(t, ctx, a.p2p, a.headers)
	d := f.newFetchingNode(t, ctx, f.bad+1, a.p2p, a.id())
	if err := d.svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if d.halt.Proof() == nil {
		t.Fatalf("not halted when Sync returned (stats %+v)", d.svc.Stats())
	}
	d.waitHalted(t, ctx, f)
	if st := d.svc.Stats(); st.Fetches != 1 || st.Validations != 1 || st.Valid != 1 {
		t.Fatalf("stats %+v, want one fetch and one valid proof", st)
	}
	if d.blocker.count() != 0 {
		t.Fatal("d blocked a peer")
	}
}

// A proof whose header hash is not that of the chain's header at its
// height, as the trusted peers give it, blocks its sender: it claimed a
// header that is not the chain's. The proof is not validated.
func TestSyncProofBelowTheBaseWrongHeader(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	trusted := p2ptest.NewNode(t, ctx)
	full := headertest.NewMemStore()
	if err := full.Append(ctx, f.chain...); err != nil {
		t.Fatal(err)
	}
	serveHeaders(t, ctx, trusted, full)
	liar := p2ptest.NewNode(t, ctx, p2ptest.NodeOptions()...)
	b, err := fraud.SyncResponse{Proofs: []fraud.ProofsOfType{{Type: "badencodingv0.1", Values: [][]byte{f.wrongHeader(t)}}}}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	serveRaw(liar, frameOf(b))
	d := f.newFetchingNode(t, ctx, f.bad+1, trusted, liar.Host.ID())
	p2ptest.Connect(t, ctx, d.p2p.Host, liar.Host)
	if err := d.svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.blocker.reason(liar.Host.ID()); !errors.Is(err, fraud.ErrInvalidProof) {
		t.Fatalf("liar blocked for %v, want an invalid proof", err)
	}
	if st := d.svc.Stats(); st.Fetches != 1 || st.Validations != 0 || d.halt.Proof() != nil {
		t.Fatalf("stats %+v, halted %v; want one fetch, no validation, not halted", st, d.halt.Proof() != nil)
	}
	if d.blocker.reason(trusted.Host.ID()) != nil {
		t.Fatal("d blocked its trusted peer")
	}
}

// Without Deps.Fetch, or when the trusted peers do not have the header, a
// proof below the store's base is ignored: nobody is blocked, the node
// does not halt.
func TestSyncProofBelowTheBaseIgnored(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	a := f.holder(t, ctx)

	t.Run("no fetcher", func(t *testing.T) {
		o := testOptions()
		o.SyncPeers = []peer.ID{a.id()}
		d := f.newNodeFrom(t, ctx, f.bad+1, o, nil)
		p2ptest.Connect(t, ctx, d.p2p.Host, a.p2p.Host)
		if err := d.svc.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		// a may also have gossiped it to d (the copy in its message
		// cache), which d ignores alike.
		if st := d.svc.Stats(); st.Received == 0 || st.Ignored != st.Received || st.Fetches != 0 || d.halt.Proof() != nil || d.blocker.count() != 0 {
			t.Fatalf("stats %+v, halted %v, %d blocked; want the proof ignored", st, d.halt.Proof() != nil, d.blocker.count())
		}
	})
	t.Run("header unavailable", func(t *testing.T) {
		trusted := p2ptest.NewNode(t, ctx)
		partial := headertest.NewMemStore() // from 13: no header at 12
		if err := partial.Append(ctx, f.chain[f.bad:]...); err != nil {
			t.Fatal(err)
		}
		serveHeaders(t, ctx, trusted, partial)
		d := f.newFetchingNode(t, ctx, f.bad+1, trusted, a.id())
		p2ptest.Connect(t, ctx, d.p2p.Host, a.p2p.Host)
		if err := d.svc.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if st := d.svc.Stats(); st.Received == 0 || st.Ignored != st.Received || st.Fetches == 0 || d.halt.Proof() != nil || d.blocker.count() != 0 {
			t.Fatalf("stats %+v, halted %v, %d blocked; want the proof ignored after one fetch", st, d.halt.Proof() != nil, d.blocker.count())
		}
	})
}

// fetchFunc is a HeaderFetcher made of a function: it stands for the
// trusted peers where a real header-ex client would refuse what a test
// needs them to send.
type fetchFunc func(ctx context.Context, height uint64) (*header.ExtendedHeader, error)

func (f fetchFunc) GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	return f(ctx, height)
}

// unstarted returns a Service that is not started, whose store holds the
// chain from base up, fetching through fetch: JudgeGossip drives it.
func (f *chainFixture) unstarted(t testing.TB, ctx context.Context, base uint64, fetch fraud.HeaderFetcher, o fraud.Options) (*fraud.Service, *fraud.Halt, *blocker) {
	t.Helper()
	headers := headertest.NewMemStore()
	if err := headers.Append(ctx, f.chain[base-1:]...); err != nil {
		t.Fatal(err)
	}
	return newService(t, ctx, headers, fetch, o)
}

// newService returns a Service that is not started, on a new host, over
// headers, fetching through fetch, with a sender's burst of 100 messages.
func newService(t testing.TB, ctx context.Context, headers fraud.Headers, fetch fraud.HeaderFetcher, o fraud.Options) (*fraud.Service, *fraud.Halt, *blocker) {
	t.Helper()
	n := p2ptest.NewNode(t, ctx, p2ptest.NodeOptions()...)
	halt, b := &fraud.Halt{}, newBlocker()
	o.PeerBurst = 100
	s, err := fraud.New(fraud.Deps{Network: chainID, Host: n.Host, PubSub: n.PubSub, Headers: headers, Halt: halt, Blocker: b, Fetch: fetch}, o)
	if err != nil {
		t.Fatal(err)
	}
	return s, halt, b
}

// A fetched header that does not Validate, or is at another height, is
// nobody's fault the sender could answer for: the proof is ignored and
// its sender kept.
func TestFetchedHeaderChecked(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	tampered := *f.chain[f.bad-1]
	tampered.DAH = f.chain[f.bad-2].DAH // no longer what the block committed to
	for name, fetch := range map[string]fetchFunc{
		"does not validate": func(context.Context, uint64) (*header.ExtendedHeader, error) { return &tampered, nil },
		"another height":    func(context.Context, uint64) (*header.ExtendedHeader, error) { return f.chain[f.bad], nil },
		"nil":               func(context.Context, uint64) (*header.ExtendedHeader, error) { return nil, nil },
		"empty":             func(context.Context, uint64) (*header.ExtendedHeader, error) { return &header.ExtendedHeader{}, nil },
	} {
		t.Run(name, func(t *testing.T) {
			s, halt, b := f.unstarted(t, ctx, f.bad+1, fetch, fraud.Options{})
			if got := s.JudgeGossip(ctx, "sender", f.data); got != "ignore" {
				t.Fatalf("%s, want ignore", got)
			}
			if st := s.Stats(); st.Fetches != 1 || st.Validations != 0 || halt.Proof() != nil || b.count() != 0 {
				t.Fatalf("stats %+v, halted %v, %d blocked", st, halt.Proof() != nil, b.count())
			}
		})
	}
}

// Fetches are bounded: one in flight per height (a second proof of the
// height waits for the first's check, then finds the header cached), at
// most MaxFetches in all (a proof that finds them busy is ignored), each
// within FetchTimeout; a proof at or above the store's base is never
// fetched for.
func TestFetchBounds(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)

	var mu sync.Mutex
	calls := map[uint64]int{}
	entered, open := make(chan struct{}), make(chan struct{})
	fetch := fetchFunc(func(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
		mu.Lock()
		calls[height]++
		mu.Unlock()
		if height == f.bad {
			close(entered)
			<-open
		}
		return f.chain[height-1], nil
	})
	s, halt, b := f.unstarted(t, ctx, 15, fetch, fraud.Options{MaxFetches: 1})

	// The proof of 12 (a copy naming the wrong header) holds the only
	// fetch slot.
	first := make(chan string)
	go func() { first <- s.JudgeGossip(ctx, "p1", f.wrongHeader(t)) }()
	<-entered
	// Another height below the base: no slot, ignored without a fetch.
	if got := s.JudgeGossip(ctx, "p2", f.honestRow(t, f.bad+1, 0)); got != "ignore" {
		t.Fatalf("while the slot is taken: %s, want ignore", got)
	}
	// At the base: the stored header, no fetch (an honest row: rejected).
	if got := s.JudgeGossip(ctx, "p3", f.honestRow(t, 15, 0)); got != "reject" {
		t.Fatalf("at the base: %s, want reject", got)
	}
	// The same height: waits for the first check.
	second := make(chan string)
	go func() { second <- s.JudgeGossip(ctx, "p4", withUnknownField(f.wrongHeader(t), 1)) }()
	close(open)
	if got := <-first; got != "reject" {
		t.Fatalf("the proof naming the wrong header: %s, want reject", got)
	}
	if got := <-second; got != "reject" {
		t.Fatalf("its copy: %s, want reject", got)
	}
	// The valid proof, against the cached header.
	if got := s.JudgeGossip(ctx, "p5", f.data); got != "accept" || halt.Proof() == nil {
		t.Fatalf("the valid proof: %s, halted %v", got, halt.Proof() != nil)
	}
	mu.Lock()
	if len(calls) != 1 || calls[f.bad] != 1 {
		t.Fatalf("fetched %v, want height %d once", calls, f.bad)
	}
	mu.Unlock()
	for _, p := range []peer.ID{"p1", "p4"} {
		if !errors.Is(b.reason(p), fraud.ErrInvalidProof) {
			t.Fatalf("%s blocked for %v", p, b.reason(p))
		}
	}
	if b.reason("p2") != nil || b.reason("p5") != nil {
		t.Fatal("blocked an honest sender")
	}

	// A fetch that does not answer ends at FetchTimeout: ignored.
	stuck := fetchFunc(func(ctx context.Context, _ uint64) (*header.ExtendedHeader, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	s, halt, b = f.unstarted(t, ctx, f.bad+1, stuck, fraud.Options{FetchTimeout: 20 * time.Millisecond})
	if got := s.JudgeGossip(ctx, "sender", f.data); got != "ignore" || halt.Proof() != nil || b.count() != 0 {
		t.Fatalf("a fetch that timed out: %s, halted %v, %d blocked", got, halt.Proof() != nil, b.count())
	}
}
