package core_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cometbft/cometbft/p2p"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
)

// fakeCore serves signed blocks as a core node's RPC would, up to a height
// the test raises, and fails every call while down.
type fakeCore struct {
	chainID string
	blocks  []signedBlock
	latest  atomic.Int64
	down    atomic.Bool
	calls   atomic.Int64
}

var errDown = errors.New("fake core: connection refused")

func (f *fakeCore) Status(context.Context) (*coretypes.ResultStatus, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return nil, errDown
	}
	return &coretypes.ResultStatus{NodeInfo: p2p.DefaultNodeInfo{Network: f.chainID},
		SyncInfo: coretypes.SyncInfo{LatestBlockHeight: f.latest.Load()}}, nil
}

func (f *fakeCore) get(h *int64) (signedBlock, error) {
	if f.down.Load() {
		return signedBlock{}, errDown
	}
	if h == nil || *h < 1 || *h > f.latest.Load() {
		return signedBlock{}, fmt.Errorf("fake core: no height %v", h)
	}
	return f.blocks[*h-1], nil
}

func (f *fakeCore) Block(_ context.Context, h *int64) (*coretypes.ResultBlock, error) {
	b, err := f.get(h)
	if err != nil {
		return nil, err
	}
	return &coretypes.ResultBlock{Block: b.block}, nil
}

func (f *fakeCore) Commit(_ context.Context, h *int64) (*coretypes.ResultCommit, error) {
	b, err := f.get(h)
	if err != nil {
		return nil, err
	}
	return &coretypes.ResultCommit{SignedHeader: cmttypes.SignedHeader{Header: &b.block.Header, Commit: b.commit}}, nil
}

// Validators pages the set two at a time, whatever perPage asks.
func (f *fakeCore) Validators(_ context.Context, h *int64, page, _ *int) (*coretypes.ResultValidators, error) {
	b, err := f.get(h)
	if err != nil {
		return nil, err
	}
	vals := b.vals.Copy().Validators
	from := (*page - 1) * 2
	to := min(from+2, len(vals))
	return &coretypes.ResultValidators{BlockHeight: *h, Validators: vals[from:to], Count: to - from, Total: len(vals)}, nil
}

// collector records the headers a follower reports.
type collector struct {
	mu      sync.Mutex
	heights []uint64
	ch      chan uint64
}

func newCollector() *collector { return &collector{ch: make(chan uint64, 1024)} }

func (c *collector) onHeader(h *header.ExtendedHeader) {
	c.mu.Lock()
	c.heights = append(c.heights, h.Height())
	c.mu.Unlock()
	select { // a wake-up: waitHeight reads heights
	case c.ch <- h.Height():
	default:
	}
}

// waitHeight waits for the header at height to be reported.
func (c *collector) waitHeight(ctx context.Context, t *testing.T, height uint64) {
	t.Helper()
	for {
		c.mu.Lock()
		n := len(c.heights)
		done := n > 0 && c.heights[n-1] >= height
		c.mu.Unlock()
		if done {
			return
		}
		select {
		case <-c.ch:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for height %d", height)
		}
	}
}

// checkContiguous checks that the reported heights are from..to, each once.
func (c *collector) checkContiguous(t *testing.T, from, to uint64) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if uint64(len(c.heights)) != to-from+1 {
		t.Fatalf("reported heights %v, want %d to %d", c.heights, from, to)
	}
	for i, h := range c.heights {
		if h != from+uint64(i) {
			t.Fatalf("reported heights %v, want %d to %d", c.heights, from, to)
		}
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func fakeOptions(t *testing.T, fc *fakeCore, s *core.Store, c *collector) core.Options {
	return core.Options{
		RPC: "fake", ChainID: fc.chainID, Store: s, Logger: testLogger(t), OnHeader: c.onHeader,
		PollInterval: 10 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		Dial: func(string) (core.Client, error) { return fc, nil },
	}
}

// startFollower makes a follower with opts and starts it, or fails t.
func startFollower(ctx context.Context, t *testing.T, opts core.Options) *core.Follower {
	t.Helper()
	f, err := core.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// A test that fails before it stops the follower must not leave it
	// logging through t after the test ends (testing panics on that).
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := f.Stop(sctx); err != nil {
			t.Error(err)
		}
	})
	return f
}

func TestFollowerResumesAndReconnects(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fc := &fakeCore{chainID: "test-chain", blocks: genBlocks(t, 8, nil)}
	fc.latest.Store(3)
	dir := t.TempDir()
	db := badgertest.OpenAt(t, dir)
	s := core.NewStore(db, 0)
	col := newCollector()
	f := startFollower(ctx, t, fakeOptions(t, fc, s, col))
	if err := f.Start(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	col.waitHeight(ctx, t, 3)
	// The core node goes away; calls fail until it comes back with more
	// blocks, and the follower goes on from where it was.
	fc.down.Store(true)
	before := fc.calls.Load()
	coretest.WaitUntil(ctx, t, "reconnection attempts", func() bool { return fc.calls.Load() > before+3 })
	fc.latest.Store(5)
	fc.down.Store(false)
	col.waitHeight(ctx, t, 5)
	if err := f.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Stop(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A new follower on the reopened store resumes at 6.
	fc.latest.Store(8)
	db = badgertest.OpenAt(t, dir)
	defer db.Close()
	s = core.NewStore(db, 0)
	f = startFollower(ctx, t, fakeOptions(t, fc, s, col))
	col.waitHeight(ctx, t, 8)
	if err := f.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	col.checkContiguous(t, 1, 8)
	checkChain(ctx, t, s, 8)
}

// checkChain checks that s is consistent and holds a header for every
// height from 1 to at least head, each verifying against the one before.
func checkChain(ctx context.Context, t *testing.T, s *core.Store, head uint64) {
	t.Helper()
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Height() < head {
		t.Fatalf("store height %d, want at least %d", s.Height(), head)
	}
	prev, err := s.GetByHeight(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	for h := uint64(2); h <= s.Height(); h++ {
		cur, err := s.GetByHeight(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if err := header.VerifyAdjacent(prev, cur, header.VerifyOptions{}); err != nil {
			t.Fatalf("height %d does not verify against %d: %v", h, h-1, err)
		}
		prev = cur
	}
}

func TestFollowerMalformedBlock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	blocks := genBlocks(t, 4, func(h int64, txs cmttypes.Txs) cmttypes.Txs {
		if h == 3 { // a wrong data root, genuinely signed
			drt, _ := header.UnmarshalDataRootTx(txs[len(txs)-1])
			drt.DataRoot[0] ^= 1
			txs[len(txs)-1], _ = drt.Marshal()
		}
		return txs
	})
	fc := &fakeCore{chainID: "test-chain", blocks: blocks}
	fc.latest.Store(4)
	db := badgertest.Open(t)
	s := core.NewStore(db, 0)
	col := newCollector()
	f := startFollower(ctx, t, fakeOptions(t, fc, s, col))
	col.waitHeight(ctx, t, 2)
	before := fc.calls.Load()
	coretest.WaitUntil(ctx, t, "retries", func() bool { return fc.calls.Load() > before+3 })
	if err := f.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Height() != 2 {
		t.Fatalf("stored up to %d past a malformed block 3", s.Height())
	}
	col.checkContiguous(t, 1, 2)
	checkChain(ctx, t, s, 2)
}

func TestFollowerStartErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db := badgertest.Open(t)
	s := core.NewStore(db, 0)
	fc := &fakeCore{chainID: "other-chain", blocks: genBlocks(t, 1, nil)}
	fc.latest.Store(1)
	opts := fakeOptions(t, fc, s, newCollector())
	opts.ChainID = "test-chain"
	f, err := core.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(ctx); !errors.Is(err, core.ErrChainIDMismatch) {
		t.Fatalf("another chain: %v", err)
	}
	fc.down.Store(true)
	if err := f.Start(ctx); !errors.Is(err, errDown) {
		t.Fatalf("unreachable: %v", err)
	}
	if err := f.Stop(ctx); err != nil { // never started
		t.Fatal(err)
	}
	for _, o := range []core.Options{
		{RPC: "x", Store: s},
		{ChainID: "c", RPC: "x"},
		{ChainID: "c", Store: s},
		{ChainID: "c", RPC: "x", Store: s, MaxSquareSize: 3},
		{ChainID: "c", RPC: "x", Store: s, PollInterval: -1},
	} {
		if _, err := core.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// A bridge whose last stored header is older than the light client's
// trusting period resumes: adjacent headers need no trusting period.
func TestFollowerResumesAfterLongDowntime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Second)
	fc := &fakeCore{chainID: "test-chain", blocks: genBlocksAt(t, 3, start, nil)}
	fc.latest.Store(3)
	db := badgertest.Open(t)
	s := core.NewStore(db, 0)
	col := newCollector()
	f := startFollower(ctx, t, fakeOptions(t, fc, s, col))
	col.waitHeight(ctx, t, 3)
	if err := f.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	col.checkContiguous(t, 1, 3)
}
