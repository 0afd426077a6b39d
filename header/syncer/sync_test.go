package syncer_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/gossip"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/header/store"
	"github.com/datamesh/mesh-node/header/syncer"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

// longChain is 2,001 headers, built once for the tests that need it.
var longChain = sync.OnceValue(func() []*header.ExtendedHeader {
	g := headertest.NewGenerator(headertest.Options{Seed: 20, Blobs: 1, MaxBlobSize: 64})
	out := make([]*header.ExtendedHeader, 2001)
	for i := range out {
		h, err := g.Next()
		if err != nil {
			panic(err)
		}
		out[i] = h
	}
	return out
})

func TestSync2000(t *testing.T) {
	ctx := testContext(t)
	chain := longChain()
	db := badgertest.Open(t)
	st := store.New(db)
	net := newNetwork(t, chain, 2001, header.VerifyOptions{})
	s := startSyncer(t, ctx, st, net, syncer.Trust{Height: 1}, testOptions(t))
	if err := s.SyncWait(ctx); err != nil {
		t.Fatal(err)
	}
	state := s.State()
	if state.Height != 2001 || state.Target != 2001 || state.Syncing || state.HeadersPerSecond <= 0 {
		t.Fatalf("state %+v", state)
	}
	// One range sync, above height 1; it ends just after the last append.
	for state.Round.End.IsZero() && ctx.Err() == nil {
		runtime.Gosched()
		state = s.State()
	}
	if r := state.Round; r.ID != 1 || r.From != 1 || r.Start.IsZero() || r.End.Before(r.Start) {
		t.Fatalf("round %+v, want the first, above height 1, ended", r)
	}
	for _, h := range []uint64{1, 2, 513, 2000, 2001} {
		got, err := st.GetByHeight(ctx, h)
		if err != nil || string(got.Hash()) != string(chain[h-1].Hash()) {
			t.Fatalf("height %d: %v %v", h, got, err)
		}
	}
	want := [][2]uint64{{1, 513}, {513, 1025}, {1025, 1537}, {1537, 2001}}
	if got := net.calls(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ranges %v, want %v", got, want)
	}
}

func TestRestartResumes(t *testing.T) {
	ctx := testContext(t)
	chain := longChain()[:1200]
	dir := t.TempDir()
	net := newNetwork(t, chain, 700, header.VerifyOptions{})

	db := badgertest.OpenAt(t, dir)
	opts := testOptions(t)
	opts.BatchSize = 300
	s, err := syncer.New(store.New(db), net, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syncer.Init(ctx, store.New(db), net, syncer.Trust{Height: 1}, opts); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncWait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal("second Stop:", err)
	}
	if err := s.Start(ctx); !errors.Is(err, syncer.ErrStopped) {
		t.Fatalf("Start after Stop: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before := len(net.calls())

	db = badgertest.OpenAt(t, dir)
	defer db.Close()
	st := store.New(db)
	net.setVisible(1200)
	// Init on the non-empty store keeps its head, without the network.
	net.setFault(func(m string, _ uint64) error {
		if m == "Head" || m == "GetVerifiedRange" {
			return nil
		}
		return fmt.Errorf("%s: Init must not fetch", m)
	})
	s2 := startSyncer(t, ctx, st, net, syncer.Trust{Height: 1}, opts)
	if err := s2.SyncWait(ctx); err != nil {
		t.Fatal(err)
	}
	if st.Height() != 1200 {
		t.Fatalf("height %d", st.Height())
	}
	calls := net.calls()[before:]
	want := [][2]uint64{{700, 1000}, {1000, 1200}}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("after restart, ranges %v, want %v", calls, want)
	}
}

func TestTransientErrorsRetried(t *testing.T) {
	ctx := testContext(t)
	chain := longChain()[:100]
	net := newNetwork(t, chain, 100, header.VerifyOptions{})
	var mu sync.Mutex
	failures := map[string]int{"Head": 2, "GetVerifiedRange": 3}
	net.setFault(func(m string, _ uint64) error {
		mu.Lock()
		defer mu.Unlock()
		if failures[m] > 0 && m != "GetByHeight" {
			failures[m]--
			return errTransient
		}
		return nil
	})
	opts := testOptions(t)
	opts.BatchSize = 30
	st := headertest.NewMemStore()
	s := startSyncer(t, ctx, st, net, syncer.Trust{Height: 1}, opts)
	if err := s.SyncWait(ctx); err != nil {
		t.Fatal(err)
	}
	if st.Height() != 100 || s.Err() != nil {
		t.Fatalf("height %d, err %v", st.Height(), s.Err())
	}
}

// A gossiped header cuts a retry pause short: a peer that lacked a range a
// moment ago (one header behind) has it once the next header arrives.
// The backoff here is an hour, so only the wake-up can finish the sync.
func TestGossipCutsRetryPauseShort(t *testing.T) {
	ctx := testContext(t)
	chain := longChain()[:40]
	net := newNetwork(t, chain, 20, header.VerifyOptions{})
	failed := make(chan struct{})
	var once sync.Once
	net.setFault(func(m string, _ uint64) error {
		if m != "GetVerifiedRange" {
			return nil
		}
		err := error(nil)
		once.Do(func() { err = errTransient; close(failed) })
		return err
	})
	opts := testOptions(t)
	opts.RetryBackoff, opts.MaxRetryBackoff = time.Hour, time.Hour
	st := headertest.NewMemStore()
	s := startSyncer(t, ctx, st, net, syncer.Trust{Height: 1}, opts)
	select {
	case <-failed:
	case <-ctx.Done():
		t.Fatal("no range was asked for")
	}
	if err := s.Incoming(ctx, chain[29]); err != nil { // height 30, ahead of the head
		t.Fatal(err)
	}
	if err := s.SyncWait(ctx); err != nil {
		t.Fatal(err)
	}
	if st.Height() != 30 {
		t.Fatalf("height %d, want 30", st.Height())
	}
}

// A range sync that meets an expired head stops the syncer: Done closes and
// Err is ErrTrustExpired.
func TestExpiredTrustDuringSyncStops(t *testing.T) {
	ctx := testContext(t)
	chain := longChain()[:50]
	net := newNetwork(t, chain, 50, header.VerifyOptions{})
	net.setFault(func(m string, h uint64) error {
		if m == "GetVerifiedRange" {
			return fmt.Errorf("test exchange: %w: trusted %d", header.ErrExpiredTrust, h)
		}
		return nil
	})
	s := startSyncer(t, ctx, headertest.NewMemStore(), net, syncer.Trust{Height: 1}, testOptions(t))
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("syncer did not stop")
	}
	if err := s.Err(); !errors.Is(err, syncer.ErrTrustExpired) || !errors.Is(err, header.ErrExpiredTrust) {
		t.Fatalf("Err: %v", err)
	}
	if err := s.SyncWait(ctx); !errors.Is(err, syncer.ErrTrustExpired) {
		t.Fatalf("SyncWait: %v", err)
	}
}

func TestFollowGossip(t *testing.T) {
	ctx := testContext(t)
	chain := longChain()[:100]
	fork := headertest.NewGenerator(headertest.Options{Seed: 20, Blobs: 2, MaxBlobSize: 64}).Chain(t, 100)
	net := newNetwork(t, chain, 50, header.VerifyOptions{})
	st := watch(headertest.NewMemStore())
	s := startSyncer(t, ctx, st, net, syncer.Trust{Height: 1}, testOptions(t))
	if err := s.SyncWait(ctx); err != nil {
		t.Fatal(err)
	}
	at := func(h uint64) *header.ExtendedHeader { return chain[h-1] }

	if err := s.Incoming(ctx, at(51)); err != nil {
		t.Fatalf("next header: %v", err)
	}
	if st.Height() != 51 || s.State().Height != 51 {
		t.Fatalf("next header not appended: store %d, state %+v", st.Height(), s.State())
	}
	for _, h := range []*header.ExtendedHeader{at(51), at(40), fork[44]} {
		if err := s.Incoming(ctx, h); !errors.Is(err, gossip.ErrIgnore) {
			t.Fatalf("known header %d: %v", h.Height(), err)
		}
	}
	if err := s.Incoming(ctx, fork[51]); err == nil || errors.Is(err, gossip.ErrIgnore) {
		t.Fatalf("next header of a fork: %v, want a rejection", err)
	}
	// A far header raises the target; the loop fills the gap.
	if err := s.Incoming(ctx, at(90)); err != nil {
		t.Fatalf("far header: %v", err)
	}
	if got := s.State().Target; got != 90 {
		t.Fatalf("target %d, want 90", got)
	}
	if err := s.SyncWait(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := st.GetByHeight(ctx, 90); err != nil || string(got.Hash()) != string(at(90).Hash()) || st.Height() != 90 {
		t.Fatalf("height 90: %v %v, store at %d", got, err, st.Height())
	}
}

// The head poll learns of new heights when gossip is quiet.
func TestHeadPoll(t *testing.T) {
	ctx := testContext(t)
	chain := longChain()[:80]
	net := newNetwork(t, chain, 40, header.VerifyOptions{})
	opts := testOptions(t)
	opts.HeadPollInterval = time.Millisecond
	st := watch(headertest.NewMemStore())
	startSyncer(t, ctx, st, net, syncer.Trust{Height: 1}, opts)
	st.waitHeight(t, ctx, 40)
	net.setVisible(80)
	st.waitHeight(t, ctx, 80)
}

func TestValidatorRotation(t *testing.T) {
	ctx := testContext(t)
	half := headertest.ValidatorChange{Keep: 2, Add: 2}
	chain := headertest.NewGenerator(headertest.Options{Seed: 30, Changes: map[int64]headertest.ValidatorChange{
		10: half, 20: half, 30: half, 40: {Keep: 0, Add: 4},
	}}).Chain(t, 60)
	at := func(h uint64) *header.ExtendedHeader { return chain[h-1] }
	net := newNetwork(t, chain, 25, header.VerifyOptions{})
	opts := testOptions(t)
	opts.BatchSize = 7
	st := watch(headertest.NewMemStore())
	s := startSyncer(t, ctx, st, net, syncer.Trust{Height: 1}, opts)
	if err := s.SyncWait(ctx); err != nil {
		t.Fatal(err)
	}
	if st.Height() != 25 {
		t.Fatalf("adjacent sync through two rotations reached %d", st.Height())
	}
	// Across the change at 30, half the trusted set signed: enough.
	if err := s.Incoming(ctx, at(32)); err != nil {
		t.Fatalf("non-adjacent header across a change: %v", err)
	}
	if err := s.SyncWait(ctx); err != nil {
		t.Fatal(err)
	}
	if st.Height() != 32 {
		t.Fatalf("height %d, want 32", st.Height())
	}
	// Across the full rotation at 40 nobody we trust signed: ignored.
	err := s.Incoming(ctx, at(45))
	if !errors.Is(err, gossip.ErrIgnore) || !errors.Is(err, header.ErrNotEnoughTrust) {
		t.Fatalf("header past a full rotation: %v", err)
	}
	if got := s.State().Target; got != 32 {
		t.Fatalf("target %d after an unverifiable header", got)
	}
	// The network moves on; the exchange cannot verify its head from ours,
	// so the syncer follows the trusted peers' head adjacently.
	s2opts := opts
	s2opts.HeadPollInterval = time.Millisecond
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	net.setVisible(60)
	s2, err := syncer.New(st, net, s2opts)
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.Start(t, ctx, s2)
	st.waitHeight(t, ctx, 60)
	if got, _ := st.GetByHeight(ctx, 60); string(got.Hash()) != string(at(60).Hash()) {
		t.Fatal("wrong header at 60")
	}
}

// A verified far header that is not on the chain the exchange serves: the
// syncer reaches its height, finds another header there, and stops.
func TestForkStops(t *testing.T) {
	ctx := testContext(t)
	chain := longChain()[:40]
	fork := headertest.NewGenerator(headertest.Options{Seed: 20, Blobs: 2, MaxBlobSize: 64}).Chain(t, 40)
	net := newNetwork(t, chain, 10, header.VerifyOptions{})
	s := startSyncer(t, ctx, headertest.NewMemStore(), net, syncer.Trust{Height: 1}, testOptions(t))
	if err := s.SyncWait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Incoming(ctx, fork[29]); err != nil {
		t.Fatalf("forked header signed by the trusted validators: %v", err)
	}
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("syncer did not stop on a fork")
	}
	if err := s.Err(); !errors.Is(err, syncer.ErrFork) {
		t.Fatalf("Err: %v", err)
	}
	if err := s.SyncWait(ctx); !errors.Is(err, syncer.ErrFork) {
		t.Fatalf("SyncWait: %v", err)
	}
	if err := s.Incoming(ctx, chain[30]); !errors.Is(err, gossip.ErrIgnore) {
		t.Fatalf("Incoming after failure: %v", err)
	}
}

func TestIncomingTable(t *testing.T) {
	chain := headertest.NewGenerator(headertest.Options{Seed: 40, Changes: map[int64]headertest.ValidatorChange{
		20: {Keep: 0, Add: 4},
	}}).Chain(t, 30)
	fork := headertest.NewGenerator(headertest.Options{Seed: 40, Blobs: 3, Changes: map[int64]headertest.ValidatorChange{
		20: {Keep: 0, Add: 4},
	}}).Chain(t, 30)
	other := headertest.NewGenerator(headertest.Options{ChainID: "other-chain", Seed: 40}).Chain(t, 30)
	at := func(h uint64) *header.ExtendedHeader { return chain[h-1] }
	tampered := *at(15)
	tampered.Commit = at(14).Commit
	// Verification time is fixed at block 13: block 18 is 5 s ahead,
	// beyond the allowed 10 s drift only from block 24 on.
	now := at(13).Time()

	const (
		accept = iota
		ignore
		reject
	)
	for _, tc := range []struct {
		name   string
		h      *header.ExtendedHeader
		want   int
		height uint64 // store height after
		target uint64
	}{
		{"below head", at(5), ignore, 10, 10},
		{"head", at(10), ignore, 10, 10},
		{"conflicting with a stored header", fork[9], ignore, 10, 10},
		{"next", at(11), accept, 11, 11},
		{"next of a fork", fork[10], reject, 10, 10},
		{"far", at(12), accept, 10, 12},
		{"far, tampered", &tampered, reject, 10, 10},
		{"far, another chain", other[14], reject, 10, 10},
		{"far, from the future", at(25), ignore, 10, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			net := newNetwork(t, chain[:10], 10, header.VerifyOptions{Now: now})
			opts := testOptions(t)
			opts.VerifyOptions.Now = now
			st := headertest.NewMemStore()
			s := startSyncer(t, ctx, st, net, syncer.Trust{Height: 1}, opts)
			if err := s.SyncWait(ctx); err != nil {
				t.Fatal(err)
			}
			err := s.Incoming(ctx, tc.h)
			switch {
			case tc.want == accept && err != nil,
				tc.want == ignore && !errors.Is(err, gossip.ErrIgnore),
				tc.want == reject && (err == nil || errors.Is(err, gossip.ErrIgnore)):
				t.Fatalf("Incoming(%v) = %v, want verdict %d", tc.h, err, tc.want)
			}
			if st.Height() != tc.height || s.State().Target != tc.target {
				t.Fatalf("store at %d, target %d; want %d, %d", st.Height(), s.State().Target, tc.height, tc.target)
			}
		})
	}

	// Across the full rotation at 20: not enough trust, ignored.
	ctx := testContext(t)
	net := newNetwork(t, chain[:10], 10, header.VerifyOptions{})
	s := startSyncer(t, ctx, headertest.NewMemStore(), net, syncer.Trust{Height: 1}, testOptions(t))
	if err := s.SyncWait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Incoming(ctx, at(22)); !errors.Is(err, gossip.ErrIgnore) || !errors.Is(err, header.ErrNotEnoughTrust) {
		t.Fatalf("across a full rotation: %v", err)
	}
}

// OnHead hears of every new head in height order: the end of each range
// and each gossiped header.
func TestOnHead(t *testing.T) {
	ctx := testContext(t)
	chain := longChain()[:100]
	net := newNetwork(t, chain, 60, header.VerifyOptions{})
	var mu sync.Mutex
	var heads []uint64
	opts := testOptions(t)
	opts.BatchSize = 25
	opts.OnHead = func(h *header.ExtendedHeader) {
		mu.Lock()
		defer mu.Unlock()
		heads = append(heads, h.Height())
	}
	s := startSyncer(t, ctx, headertest.NewMemStore(), net, syncer.Trust{Height: 1}, opts)
	if err := s.SyncWait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Incoming(ctx, chain[60]); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(heads) != fmt.Sprint([]uint64{26, 51, 60, 61}) {
		t.Fatalf("OnHead heard %v", heads)
	}
}
