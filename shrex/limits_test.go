package shrex_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/shrex"
)

// holdFirst makes st's first read wait until release is closed, telling
// entered when it starts.
func holdFirst(st *memStore) (entered, release chan struct{}) {
	entered, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	st.gate = func(ctx context.Context) error {
		first := false
		once.Do(func() { first = true })
		if !first {
			return nil
		}
		close(entered)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return entered, release
}

func TestPeerRateLimit(t *testing.T) {
	b := square(t, 4, 4)
	srv := serve(t, newStore(b), shrex.WithPeerRateLimit(1e-6, 2))
	c := client(t, srv)
	ctx := testCtx(t)
	for i := range 2 {
		if _, err := c.GetSample(ctx, srv.ID(), b.h, i, i); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	_, err := c.GetRow(ctx, srv.ID(), b.h, 0)
	if !errors.Is(err, shrex.ErrRateLimited) || errors.Is(err, shrex.ErrInvalidResponse) {
		t.Fatalf("third request: %v, want ErrRateLimited", err)
	}
	// Another peer has its own bucket.
	if _, err := client(t, srv).GetRow(ctx, srv.ID(), b.h, 0); err != nil {
		t.Fatalf("another peer: %v", err)
	}
}

// TestConcurrencyLimits holds one request in the store and checks that
// the global limit of its protocol and the peer's stream limit refuse the
// next.
func TestConcurrencyLimits(t *testing.T) {
	b := square(t, 4, 4)
	for _, tc := range []struct {
		name string
		opt  shrex.ServerOption
		// refused: a second request (from the same peer or another), and
		// whether one of another protocol still passes.
		samePeer, otherKindPasses bool
	}{
		{"global", shrex.WithMaxConcurrent(shrex.KindSample, 1), false, true},
		{"per peer", shrex.WithMaxStreamsPerPeer(1), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(b)
			entered, release := holdFirst(st)
			// Three streams take a slot before the last request: the held
			// sample, the refused one and the row.
			released := make(chan struct{}, 8)
			srv := serve(t, st, tc.opt, shrex.WithReleaseHook(func() { released <- struct{}{} }))
			c := client(t, srv)
			ctx := testCtx(t)
			done := make(chan error, 1)
			go func() {
				_, err := c.GetSample(ctx, srv.ID(), b.h, 0, 0)
				done <- err
			}()
			<-entered
			second := c
			if !tc.samePeer {
				second = client(t, srv)
			}
			if _, err := second.GetSample(ctx, srv.ID(), b.h, 1, 1); !errors.Is(err, shrex.ErrRateLimited) {
				t.Errorf("second sample: %v, want ErrRateLimited", err)
			}
			_, err := second.GetRow(ctx, srv.ID(), b.h, 1)
			if tc.otherKindPasses && err != nil || !tc.otherKindPasses && !errors.Is(err, shrex.ErrRateLimited) {
				t.Errorf("row while a sample is held: %v", err)
			}
			close(release)
			if err := <-done; err != nil {
				t.Errorf("held request: %v", err)
			}
			// The slots are free again once the server has given them back,
			// which it does after the client has read its response.
			await(ctx, t, released, 3, "slots given back")
			if _, err := second.GetSample(ctx, srv.ID(), b.h, 1, 1); err != nil {
				t.Errorf("after release: %v", err)
			}
		})
	}
}

// TestStopWaits: Stop cancels a request held in the store and returns once
// its handler has; the client sees INTERNAL, not a fault.
func TestStopWaits(t *testing.T) {
	b := square(t, 4, 4)
	st := newStore(b)
	entered, _ := holdFirst(st)
	h := newHost(t)
	srv, err := shrex.NewServer(h, netID, st)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := srv.Start(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	c := client(t, h)
	done := make(chan error, 1)
	go func() {
		_, err := c.GetEDS(testCtx(t), h.ID(), b.h)
		done <- err
	}()
	<-entered
	for range 2 {
		if err := srv.Stop(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; !errors.Is(err, shrex.ErrInternal) {
		t.Errorf("held request: %v, want ErrInternal", err)
	}
	if err := srv.Start(testCtx(t)); err == nil {
		t.Error("a stopped server started again")
	}
	if _, err := c.GetSample(testCtx(t), h.ID(), b.h, 0, 0); err == nil || errors.Is(err, shrex.ErrInvalidResponse) {
		t.Errorf("after Stop: %v, want a protocol negotiation error", err)
	}
}

// TestClientCancel: a cancelled request is the caller's doing, not the
// peer's fault.
func TestClientCancel(t *testing.T) {
	b := square(t, 4, 4)
	st := newStore(b)
	entered, release := holdFirst(st)
	defer close(release)
	srv := serve(t, st)
	c := client(t, srv)
	ctx, cancel := context.WithCancel(testCtx(t))
	go func() {
		<-entered
		cancel()
	}()
	_, err := c.GetRow(ctx, srv.ID(), b.h, 0)
	if !errors.Is(err, context.Canceled) || errors.Is(err, shrex.ErrInvalidResponse) {
		t.Fatalf("%v, want context.Canceled", err)
	}
	// A timeout likewise.
	c2 := client(t, srv, shrex.WithRequestTimeout(50*time.Millisecond), shrex.WithMinThroughput(1<<40))
	st.mu.Lock()
	st.gate = func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	st.mu.Unlock()
	_, err = c2.GetRow(testCtx(t), srv.ID(), b.h, 0)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, shrex.ErrInvalidResponse) {
		t.Fatalf("timeout: %v, want context.DeadlineExceeded", err)
	}
}

func TestOptionsRejectBadValues(t *testing.T) {
	h := newHost(t)
	st := newStore()
	for name, o := range map[string]shrex.ServerOption{
		"streams":    shrex.WithMaxStreamsPerPeer(0),
		"rate":       shrex.WithPeerRateLimit(0, 1),
		"burst":      shrex.WithPeerRateLimit(1, 0),
		"concurrent": shrex.WithMaxConcurrent(shrex.KindEDS, 0),
		"kind":       shrex.WithMaxConcurrent(9, 1),
		"timeouts":   shrex.WithServerTimeouts(0, time.Second),
		"throughput": shrex.WithServerMinThroughput(0),
		"notfound":   shrex.WithNotFound(nil),
		"logger":     shrex.WithServerLogger(nil),
	} {
		if _, err := shrex.NewServer(h, netID, st, o); err == nil {
			t.Errorf("server option %s accepted", name)
		}
	}
	for name, o := range map[string]shrex.ClientOption{
		"timeout":    shrex.WithRequestTimeout(0),
		"throughput": shrex.WithMinThroughput(-1),
		"logger":     shrex.WithLogger(nil),
	} {
		if _, err := shrex.NewClient(h, netID, o); err == nil {
			t.Errorf("client option %s accepted", name)
		}
	}
	if _, err := shrex.NewServer(nil, netID, st); err == nil {
		t.Error("nil host accepted")
	}
	if _, err := shrex.NewServer(h, "", st); err == nil {
		t.Error("empty network accepted")
	}
	if _, err := shrex.NewClient(h, ""); err == nil {
		t.Error("empty network accepted")
	}
}

// TestPanicRecovered: a store that panics costs its stream only; the
// client sees a reset, not a fault, and the server goes on serving.
func TestPanicRecovered(t *testing.T) {
	b := square(t, 4, 4)
	var once sync.Once
	st := storeFunc(func(context.Context, uint64) (*eds.ExtendedDataSquare, error) {
		first := false
		once.Do(func() { first = true })
		if first {
			panic("store bug")
		}
		return b.eds, nil
	})
	srv := serve(t, st, shrex.WithServerLogger(slog.New(slog.DiscardHandler)))
	c := client(t, srv)
	if _, err := c.GetSample(testCtx(t), srv.ID(), b.h, 0, 0); err == nil || errors.Is(err, shrex.ErrInvalidResponse) {
		t.Fatalf("panicking store: %v, want a reset", err)
	}
	if _, err := c.GetSample(testCtx(t), srv.ID(), b.h, 0, 0); err != nil {
		t.Fatalf("after the panic: %v", err)
	}
}
