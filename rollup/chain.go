package rollup

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	coreexec "github.com/evstack/ev-node/core/execution"
)

// tip is the last block a node holds: the next block builds on it.
type tip struct {
	height uint64 // 0 before the first block
	hash   []byte // the header's Hash; zeros before the first block
	root   []byte // the state root after it; the genesis root before
	time   time.Time
}

// next is the height of the block after t.
func (t *tip) next(g *Genesis) uint64 {
	if t.height == 0 {
		return g.InitialHeight
	}
	return t.height + 1
}

// resume initialises the executor with g and brings it up to the
// store's head: the blocks the store holds past the executor's height
// are executed again, each checked to reach its header's state root. The
// executor's height is its GetLatestHeight when it reports one
// (execution.HeightProvider); otherwise every stored block is given
// again, which an executor answers from its record (the execution
// package's determinism contract). It returns the store's tip.
func resume(ctx context.Context, g *Genesis, exec coreexec.Executor, st *Store, log *slog.Logger) (*tip, error) {
	root, err := exec.InitChain(ctx, g.Time, g.InitialHeight, g.ChainID)
	if err != nil {
		return nil, fmt.Errorf("rollup: init chain: %w", err)
	}
	t := &tip{hash: make([]byte, HashSize), root: root, time: g.Time}
	head, ok, err := st.Head()
	if err != nil || !ok {
		return t, err
	}
	executed := g.InitialHeight - 1
	if hp, isHP := exec.(coreexec.HeightProvider); isHP {
		if executed, err = hp.GetLatestHeight(ctx); err != nil {
			return nil, fmt.Errorf("rollup: executor height: %w", err)
		}
	}
	replayed := 0
	for h := g.InitialHeight; h <= head; h++ {
		sb, err := st.Block(h)
		if err != nil {
			return nil, err
		}
		hdr := &sb.Block.Header
		if h > executed {
			res, err := exec.ExecuteTxs(ctx, sb.Block.Txs, h, hdr.Time, t.root)
			if err != nil {
				return nil, fmt.Errorf("rollup: replay block %d: %w", h, err)
			}
			if !bytes.Equal(res.UpdatedStateRoot, hdr.StateRoot) {
				return nil, fmt.Errorf("rollup: replay block %d: state root %X, the stored header has %X", h, res.UpdatedStateRoot, hdr.StateRoot)
			}
			replayed++
		}
		if t.hash, err = hdr.Hash(); err != nil {
			return nil, err
		}
		t.height, t.root, t.time = h, hdr.StateRoot, hdr.Time
	}
	if replayed > 0 {
		log.Info("rollup: replayed stored blocks the executor had not executed", "blocks", replayed, "head", head)
	}
	return t, nil
}

// checkNext checks that hdr, signed by the sequencer, follows t: the
// next height, ParentHash linking to t and a later time.
func (t *tip) checkNext(g *Genesis, hdr *Header) error {
	switch {
	case hdr.Height != t.next(g):
		return fmt.Errorf("height %d, the next is %d", hdr.Height, t.next(g))
	case !bytes.Equal(hdr.ParentHash, t.hash):
		return fmt.Errorf("parent hash %X, the previous block's is %X", hdr.ParentHash, t.hash)
	case !hdr.Time.After(t.time):
		return fmt.Errorf("time %s is not after the previous block's (or genesis) %s", hdr.Time.Format(time.RFC3339Nano), t.time.Format(time.RFC3339Nano))
	}
	return nil
}

// Evidence is why a follower rejected a block signed by the sequencer
// and halted: the block as posted, where, and what was wrong.
type Evidence struct {
	DAHeight uint64 `json:"da_height"`
	Height   uint64 `json:"height"`
	Reason   string `json:"reason"`
	// ClaimedStateRoot and ComputedStateRoot are set for a state root
	// mismatch: the header's and the executor's.
	ClaimedStateRoot  HexBytes `json:"claimed_state_root,omitempty"`
	ComputedStateRoot HexBytes `json:"computed_state_root,omitempty"`
	// Block is the blob as found in the namespace; empty for a missed
	// forced-inclusion deadline, which no block shows.
	Block []byte `json:"block"`
	// ForcedTx, ForcedDAHeight and ForcedDeadline are set when the
	// sequencer broke the forced-inclusion rule: the forced transaction
	// concerned, the DataMesh height it was posted at and the last
	// height a block including it could be posted at.
	ForcedTx       HexBytes `json:"forced_tx,omitempty"`
	ForcedDAHeight uint64   `json:"forced_da_height,omitempty"`
	ForcedDeadline uint64   `json:"forced_deadline,omitempty"`
}

// ErrHalted is wrapped by the error of a follower that halted.
var ErrHalted = errors.New("rollup: follower halted")

func (e *Evidence) String() string {
	if e.Block == nil && e.ForcedTx != nil {
		return fmt.Sprintf("at DA height %d: %s (forced tx %s posted at DA height %d, deadline %d)", e.DAHeight, e.Reason, e.ForcedTx, e.ForcedDAHeight, e.ForcedDeadline)
	}
	s := fmt.Sprintf("block %d at DA height %d: %s", e.Height, e.DAHeight, e.Reason)
	if e.ClaimedStateRoot != nil {
		s += fmt.Sprintf(" (claimed state root %s, computed %s)", e.ClaimedStateRoot, e.ComputedStateRoot)
	}
	return s
}

// HexBytes is bytes written as hex in JSON and by String.
type HexBytes []byte

func (b HexBytes) String() string { return hex.EncodeToString(b) }

// MarshalText writes hex.
func (b HexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(b)), nil }

// UnmarshalText reads hex.
func (b *HexBytes) UnmarshalText(t []byte) error {
	v, err := hex.DecodeString(string(t))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// backoff doubles d up to max.
func backoff(d, minD, maxD time.Duration) time.Duration {
	if d < minD {
		return minD
	}
	if d *= 2; d > maxD {
		return maxD
	}
	return d
}

// sleep waits d or until ctx ends, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// runner owns the goroutines of a Sequencer or Follower: started once,
// stopped by cancelling their context and waiting for them.
type runner struct {
	name    string
	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// claim marks the runner started; it fails the second time.
func (r *runner) claim() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return fmt.Errorf("rollup: %s: started twice", r.name)
	}
	r.started = true
	return nil
}

// run starts each of loops in a goroutine with a context that Stop
// ends (not ctx's end: only its values).
func (r *runner) run(ctx context.Context, loops ...func(context.Context)) {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	r.mu.Lock()
	r.cancel, r.done = cancel, done
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, loop := range loops {
		wg.Add(1)
		go func() { defer wg.Done(); loop(runCtx) }()
	}
	go func() { wg.Wait(); close(done) }()
}

// stop ends the loops and waits for them, or for ctx's end.
func (r *runner) stop(ctx context.Context) error {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rollup: %s: stop: %w", r.name, ctx.Err())
	}
}

func nopLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
