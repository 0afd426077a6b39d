package das_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/das"
	edsstore "github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/header/headertest"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// prunerNet is a chain of hourly blocks from height 5 (the store's base)
// to 54, with every square stored in eds/store.
func prunerNet(t *testing.T) (*net, *edsstore.Store, time.Time) {
	t.Helper()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	nt := newNet(t, 50, headertest.Options{StartHeight: 5, StartTime: t0, BlockTime: time.Hour})
	db := openDB(t, t.TempDir())
	t.Cleanup(func() { _ = db.Close() })
	s := edsstore.New(db, edsstore.Options{CacheSize: 8})
	for _, h := range nt.headers {
		sq := nt.getter.squares[h.Height()]
		if err := db.Update(func(txn *badger.Txn) error { return s.Put(txn, h.Height(), sq) }); err != nil {
			t.Fatal(err)
		}
		s.Cache(h.Height(), sq)
	}
	return nt, s, t0
}

func checkStored(t *testing.T, s *edsstore.Store, from uint64) {
	t.Helper()
	for h := uint64(1); h <= 55; h++ {
		ok, err := s.Has(t.Context(), h)
		if err != nil || ok != (h >= from && h <= 54) {
			t.Fatalf("Has(%d) = %v, %v; want squares from %d to 54", h, ok, err, from)
		}
	}
}

func TestPrunerCutoffFromHeaderTimes(t *testing.T) {
	nt, s, t0 := prunerNet(t)
	clock := &fakeClock{}
	p, err := das.NewPruner(nt.store, das.PruneFunc(s.Prune), das.PrunerOptions{Window: 10 * time.Hour, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	// Height h has time t0 + (h-5) hours.
	for _, tc := range []struct {
		now       time.Time
		below     uint64
		keepsFrom uint64
	}{
		{t0, 5, 5},                                     // everything inside the window
		{t0.Add(10 * time.Hour), 5, 5},                 // height 5 exactly at the edge: kept
		{t0.Add(10*time.Hour + time.Second), 6, 6},     // height 5 just left it
		{t0.Add(30*time.Hour + 30*time.Minute), 26, 6}, // heights 6..25 too: pruned next
		{t0.Add(30*time.Hour + 30*time.Minute), 26, 26},
		{t0.Add(1000 * time.Hour), 54, 54}, // the head keeps its square
	} {
		clock.set(tc.now)
		got, err := p.Cutoff(t.Context())
		if err != nil || got != tc.below {
			t.Fatalf("now %v: Cutoff = %d, %v; want %d", tc.now.Sub(t0), got, err, tc.below)
		}
	}

	clock.set(t0.Add(30*time.Hour + 30*time.Minute))
	below, n, err := p.Prune(t.Context())
	if err != nil || below != 26 || n != 21 {
		t.Fatalf("Prune = %d, %d, %v; want below 26, 21 squares", below, n, err)
	}
	checkStored(t, s, 26)
	if _, n, err := p.Prune(t.Context()); err != nil || n != 0 {
		t.Fatalf("second Prune deleted %d, %v", n, err)
	}
}

func TestPrunerArchivalKeepsAll(t *testing.T) {
	nt, s, t0 := prunerNet(t)
	calls := 0
	pf := das.PruneFunc(func(ctx context.Context, below uint64) (int, error) { calls++; return s.Prune(ctx, below) })
	p, err := das.NewPruner(nt.store, pf, das.PrunerOptions{Archival: true, Window: time.Hour, Now: func() time.Time { return t0.Add(1000 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, n, err := p.Prune(t.Context()); err != nil || n != 0 {
		t.Fatalf("archival Prune = %d, %v", n, err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Fatalf("archival pruner pruned %d times", calls)
	}
	checkStored(t, s, 5)
}

func TestPrunerStartStop(t *testing.T) {
	nt, s, t0 := prunerNet(t)
	pruned := make(chan uint64, 16)
	pf := das.PruneFunc(func(ctx context.Context, below uint64) (int, error) {
		n, err := s.Prune(ctx, below)
		pruned <- below
		return n, err
	})
	p, err := das.NewPruner(nt.store, pf, das.PrunerOptions{Window: 10 * time.Hour, Interval: time.Hour,
		Now: func() time.Time { return t0.Add(20 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The first prune runs at Start.
	select {
	case below := <-pruned:
		if below != 15 {
			t.Fatalf("pruned below %d, want 15", below)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no prune after Start")
	}
	for range 2 {
		if err := p.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	checkStored(t, s, 15)
	if err := p.Start(t.Context()); !errors.Is(err, das.ErrStopped) {
		t.Fatalf("Start after Stop: %v", err)
	}
	// Stop before Start is a no-op after which Start refuses, as a DASer's.
	p2, err := das.NewPruner(nt.store, pf, das.PrunerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := p2.Start(t.Context()); !errors.Is(err, das.ErrStopped) {
		t.Fatalf("Start after an early Stop: %v", err)
	}
	if _, err := das.NewPruner(nt.store, pf, das.PrunerOptions{Window: -1}); !errors.Is(err, das.ErrInvalidOptions) {
		t.Fatalf("negative window: %v", err)
	}
}
