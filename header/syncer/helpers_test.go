package syncer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/header/syncer"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

// network is a test Exchange over a local chain (a headertest.MemStore),
// making the checks the header-ex client makes: Head verifies against the
// trusted header, GetVerifiedRange verifies every header adjacently.
type network struct {
	chain *headertest.MemStore
	opts  header.VerifyOptions

	mu      sync.Mutex
	visible uint64                                // the height Head reports
	fault   func(method string, arg uint64) error // injected before each call; nil: none
	ranges  [][2]uint64                           // GetVerifiedRange calls: trusted height, to
}

var _ syncer.Exchange = (*network)(nil)

func newNetwork(t testing.TB, chain []*header.ExtendedHeader, visible uint64, opts header.VerifyOptions) *network {
	t.Helper()
	ms := headertest.NewMemStore()
	if err := ms.Append(context.Background(), chain...); err != nil {
		t.Fatal(err)
	}
	return &network{chain: ms, visible: visible, opts: opts}
}

func (n *network) setVisible(h uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.visible = h
}

func (n *network) setFault(f func(method string, arg uint64) error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fault = f
}

func (n *network) calls() [][2]uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([][2]uint64(nil), n.ranges...)
}

func (n *network) inject(method string, arg uint64) error {
	n.mu.Lock()
	f := n.fault
	n.mu.Unlock()
	if f == nil {
		return nil
	}
	return f(method, arg)
}

func (n *network) Head(ctx context.Context, trusted *header.ExtendedHeader) (*header.ExtendedHeader, error) {
	var th uint64
	if trusted != nil {
		th = trusted.Height()
	}
	if err := n.inject("Head", th); err != nil {
		return nil, err
	}
	n.mu.Lock()
	visible := n.visible
	n.mu.Unlock()
	h, err := n.chain.GetByHeight(ctx, visible)
	if err != nil {
		return nil, err
	}
	if trusted == nil {
		return h, h.Validate()
	}
	if h.Height() <= trusted.Height() || header.Verify(trusted, h, n.opts) != nil {
		return trusted, nil
	}
	return h, nil
}

func (n *network) GetByHash(ctx context.Context, hash []byte) (*header.ExtendedHeader, error) {
	if err := n.inject("GetByHash", 0); err != nil {
		return nil, err
	}
	return n.chain.Get(ctx, hash)
}

func (n *network) GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	if err := n.inject("GetByHeight", height); err != nil {
		return nil, err
	}
	return n.chain.GetByHeight(ctx, height)
}

func (n *network) GetVerifiedRange(ctx context.Context, trusted *header.ExtendedHeader, to uint64) ([]*header.ExtendedHeader, error) {
	if err := n.inject("GetVerifiedRange", trusted.Height()); err != nil {
		return nil, err
	}
	if to <= trusted.Height() || to-trusted.Height() > header.MaxRangeSize {
		return nil, fmt.Errorf("test exchange: range %d..%d: %w", trusted.Height()+1, to, header.ErrRangeTooLarge)
	}
	n.mu.Lock()
	n.ranges = append(n.ranges, [2]uint64{trusted.Height(), to})
	n.mu.Unlock()
	hs, err := n.chain.GetRange(ctx, trusted.Height()+1, to+1)
	if err != nil {
		return nil, err
	}
	prev := trusted
	for _, h := range hs {
		if err := header.VerifyAdjacent(prev, h, n.opts); err != nil {
			return nil, fmt.Errorf("test exchange: %w", err)
		}
		prev = h
	}
	return hs, nil
}

// watchedStore wraps a header.Store to let tests wait for a height.
type watchedStore struct {
	header.Store
	mu      sync.Mutex
	changed chan struct{}
}

func watch(s header.Store) *watchedStore {
	return &watchedStore{Store: s, changed: make(chan struct{})}
}

func (w *watchedStore) Append(ctx context.Context, hs ...*header.ExtendedHeader) error {
	err := w.Store.Append(ctx, hs...)
	w.mu.Lock()
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
	return err
}

// waitHeight returns once the store's head is at least h.
func (w *watchedStore) waitHeight(t *testing.T, ctx context.Context, h uint64) {
	t.Helper()
	for {
		w.mu.Lock()
		ch := w.changed
		w.mu.Unlock()
		if w.Height() >= h {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("store stuck at height %d, waiting for %d: %v", w.Height(), h, ctx.Err())
		}
	}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testLogger logs to the test, so failures show what the syncer did.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// testOptions are fast to retry and quiet to poll.
func testOptions(t *testing.T) syncer.Options {
	return syncer.Options{RetryBackoff: time.Millisecond, MaxRetryBackoff: 10 * time.Millisecond, Logger: testLogger(t)}
}

// startSyncer initialises store from trust, starts a syncer, and stops it
// at the end of the test.
func startSyncer(t *testing.T, ctx context.Context, store header.Store, ex syncer.Exchange, trust syncer.Trust, opts syncer.Options) *syncer.Syncer {
	t.Helper()
	if _, err := syncer.Init(ctx, store, ex, trust, opts); err != nil {
		t.Fatal(err)
	}
	s, err := syncer.New(store, ex, opts)
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.Start(t, ctx, s)
	return s
}

var errTransient = errors.New("test exchange: peer went away")
