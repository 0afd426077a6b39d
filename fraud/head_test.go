package fraud_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

// A proof held for height h is validated, and the Halt set, by the time
// HeadAdvanced(h) returns: the poll runs once an hour, so only
// HeadAdvanced can have released it. The proof then goes on to the node's
// peers as a released one does.
func TestHeadAdvancedReleasesSynchronously(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	a := f.holder(t, ctx)
	o := testOptions()
	o.PollInterval = time.Hour
	o.SyncPeers = []peer.ID{a.id()}
	b := f.newNode(t, ctx, int(f.bad)-1, &o) // head 11
	c := f.newNode(t, ctx, 20, nil)
	connect(t, ctx, b.p2p, c.p2p)
	b.p2p.WaitMesh(t, ctx, fraud.TopicID(chainID), c.id())
	p2ptest.Connect(t, ctx, b.p2p.Host, a.p2p.Host)
	if err := b.svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if st := b.svc.Stats(); st.Holding == 0 {
		t.Fatalf("after Sync: %+v, want the proof held", st)
	}

	// A head below the held proof releases nothing.
	b.svc.HeadAdvanced(ctx, f.bad-1)
	if st := b.svc.Stats(); st.Holding == 0 || b.halt.Proof() != nil {
		t.Fatalf("HeadAdvanced(%d): %+v, halted %v; want the proof still held", f.bad-1, st, b.halt.Proof() != nil)
	}

	// The syncer appends the header, then calls OnHead.
	if err := b.headers.Append(ctx, f.chain[f.bad-1]); err != nil {
		t.Fatal(err)
	}
	b.svc.HeadAdvanced(ctx, f.bad)
	if b.halt.Proof() == nil {
		t.Fatalf("not halted when HeadAdvanced returned (stats %+v)", b.svc.Stats())
	}
	b.waitHalted(t, ctx, f)
	if st := b.svc.Stats(); st.Holding != 0 || st.Validations != 1 {
		t.Fatalf("stats %+v, want nothing held and one validation", st)
	}
	c.waitHalted(t, ctx, f) // b gossiped what it released
	if b.blocker.count() != 0 || c.blocker.count() != 0 {
		t.Fatal("a peer was blocked")
	}
}

// holding returns a Service, not started, polling every poll, over
// headers, to which it appends the chain below the bad block, and holding
// the fixture's proof, sent on the topic.
func (f *chainFixture) holding(t testing.TB, ctx context.Context, headers interface {
	fraud.Headers
	Append(context.Context, ...*header.ExtendedHeader) error
}, poll time.Duration) (*fraud.Service, *fraud.Halt) {
	t.Helper()
	if err := headers.Append(ctx, f.chain[:f.bad-1]...); err != nil {
		t.Fatal(err)
	}
	s, halt, _ := newService(t, ctx, headers, nil, fraud.Options{PollInterval: poll, ResyncInterval: -1})
	if got := s.JudgeGossip(ctx, "sender", f.data); got != "ignore" || s.Stats().Holding != 1 {
		t.Fatalf("%s, %+v; want the proof held", got, s.Stats())
	}
	return s, halt
}

// gatedStore is a MemStore whose GetByHeight of one height waits for
// open to close, after closing entered.
type gatedStore struct {
	*headertest.MemStore
	height        uint64
	entered, open chan struct{}
	once          sync.Once
}

func (g *gatedStore) GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	if height == g.height {
		g.once.Do(func() { close(g.entered) })
		select {
		case <-g.open:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.MemStore.GetByHeight(ctx, height)
}

// HeadAdvanced called while the poll is checking the proof it took out of
// the holds (its read of the header is held back here) returns only once
// that check is over: the Halt is set when it returns. The header read is
// let go 20 ms after HeadAdvanced is called; that only gives a
// HeadAdvanced that did not wait the time to return too early.
func TestHeadAdvancedWaitsForThePoll(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	headers := &gatedStore{MemStore: headertest.NewMemStore(), height: f.bad, entered: make(chan struct{}), open: make(chan struct{})}
	s, halt := f.holding(t, ctx, headers, time.Millisecond)
	p2ptest.Start(t, ctx, s)
	if err := headers.Append(ctx, f.chain[f.bad-1]); err != nil {
		t.Fatal(err)
	}
	select {
	case <-headers.entered: // the poll is checking the proof
	case <-ctx.Done():
		t.Fatal("the poll never checked the proof")
	}
	if st := s.Stats(); st.Holding != 0 {
		t.Fatalf("stats %+v: the proof is still held", st)
	}
	release := time.AfterFunc(20*time.Millisecond, func() { close(headers.open) })
	defer release.Stop()
	s.HeadAdvanced(ctx, f.bad)
	if halt.Proof() == nil {
		t.Fatalf("not halted when HeadAdvanced returned (stats %+v)", s.Stats())
	}
}

// HeadAdvanced does nothing before Start or after Stop, or with nothing
// held.
func TestHeadAdvancedIdle(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	headers := headertest.NewMemStore()
	s, halt := f.holding(t, ctx, headers, time.Hour)
	if err := headers.Append(ctx, f.chain[f.bad-1]); err != nil {
		t.Fatal(err)
	}
	s.HeadAdvanced(ctx, f.bad) // not started
	if halt.Proof() != nil || s.Stats().Holding != 1 {
		t.Fatal("HeadAdvanced released a proof before Start")
	}
	p2ptest.Start(t, ctx, s)
	s.HeadAdvanced(ctx, f.bad)
	if halt.Proof() == nil {
		t.Fatal("not halted")
	}
	s.HeadAdvanced(ctx, f.bad+1) // nothing held
	if st := s.Stats(); st.Validations != 1 || st.Holding != 0 {
		t.Fatalf("stats %+v", st)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	s.HeadAdvanced(context.Background(), f.bad+2)
}
