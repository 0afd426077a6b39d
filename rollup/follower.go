package rollup

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	coreexec "github.com/evstack/ev-node/core/execution"

	"github.com/datamesh/mesh-node/header"
)

// Follower defaults.
const (
	DefaultFollowRetryMin = 200 * time.Millisecond
	DefaultFollowRetryMax = 10 * time.Second
)

// FollowerConfig configures a Follower; all but the durations and the
// logger are required.
type FollowerConfig struct {
	Genesis  *Genesis
	Executor coreexec.Executor
	Store    *Store
	// Headers are trusted (the user's light node); Data is not.
	Headers HeaderSource
	Data    NamespaceSource
	// RetryMin and RetryMax bound the backoff after a failed height.
	RetryMin, RetryMax time.Duration
	Logger             *slog.Logger
}

// FollowerStatus is a snapshot of a Follower.
type FollowerStatus struct {
	// Height and StateRoot are the last block accepted (Height 0: none).
	Height    uint64
	StateRoot []byte
	// DAHeight is the last DataMesh height read completely.
	DAHeight uint64
	// LastError is why the next DataMesh height failed (it is retried),
	// cleared once it succeeds.
	LastError string
	// Halted is set when a block signed by the sequencer was rejected,
	// or the sequencer missed a forced-inclusion deadline: the follower
	// stopped there and stays stopped across restarts.
	Halted *Evidence
	// ForcedPending is the number of forced transactions found and not
	// yet included.
	ForcedPending int
}

// Follower is a full node of the rollup: it reads every DataMesh height
// from Genesis.DAStartHeight on, verifies the namespace's data against
// the trusted header, re-executes the sequencer's blocks and stores
// them (the package doc tells what is checked).
type Follower struct {
	cfg FollowerConfig
	log *slog.Logger

	mu     sync.Mutex
	tip    *tip
	status FollowerStatus
	forced []ForcedTx // the pending forced transactions, in inclusion order

	loops runner
}

// NewFollower checks cfg and returns a Follower; it does no I/O.
func NewFollower(cfg FollowerConfig) (*Follower, error) {
	if cfg.Genesis == nil || cfg.Executor == nil || cfg.Store == nil || cfg.Headers == nil || cfg.Data == nil {
		return nil, errors.New("rollup: follower: genesis, executor, store, headers and data are required")
	}
	if err := cfg.Genesis.Validate(); err != nil {
		return nil, err
	}
	if cfg.RetryMin < 0 || cfg.RetryMax < 0 {
		return nil, errors.New("rollup: follower: negative retry durations")
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin = DefaultFollowRetryMin
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = max(DefaultFollowRetryMax, cfg.RetryMin)
	}
	return &Follower{cfg: cfg, log: nopLogger(cfg.Logger), loops: runner{name: "follower"}}, nil
}

// Start resumes from the store (replaying into the executor the blocks
// it lacks) and follows DataMesh until Stop. A follower halted before
// does not follow: Status reports its evidence. It fails if the follower
// was started before.
func (f *Follower) Start(ctx context.Context) error {
	if err := f.loops.claim(); err != nil {
		return err
	}
	t, err := resume(ctx, f.cfg.Genesis, f.cfg.Executor, f.cfg.Store, f.log)
	if err != nil {
		return err
	}
	syncDA, err := f.cfg.Store.SyncDAHeight()
	if err != nil {
		return err
	}
	halt, err := f.cfg.Store.Halt()
	if err != nil {
		return err
	}
	forced, err := f.cfg.Store.ForcedQueue(0)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.tip = t
	f.forced = forced
	f.status = FollowerStatus{Height: t.height, StateRoot: t.root, DAHeight: max(syncDA, f.cfg.Genesis.DAStartHeight-1), Halted: halt,
		ForcedPending: len(forced)}
	f.mu.Unlock()
	if halt != nil {
		f.log.Error("rollup: follower halted before, not following", "evidence", halt.String())
		return nil
	}
	f.loops.run(ctx, f.run)
	return nil
}

// Stop stops following and returns once the loop has exited, or when
// ctx ends.
func (f *Follower) Stop(ctx context.Context) error { return f.loops.stop(ctx) }

// Status returns a snapshot; its slices are the caller's.
func (f *Follower) Status() FollowerStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.status
	st.StateRoot = bytes.Clone(st.StateRoot)
	if st.Halted != nil {
		ev := *st.Halted
		ev.ClaimedStateRoot, ev.ComputedStateRoot, ev.Block = bytes.Clone(ev.ClaimedStateRoot), bytes.Clone(ev.ComputedStateRoot), bytes.Clone(ev.Block)
		ev.ForcedTx = bytes.Clone(ev.ForcedTx)
		st.Halted = &ev
	}
	return st
}

func (f *Follower) run(ctx context.Context) {
	var wait time.Duration
	for ctx.Err() == nil {
		f.mu.Lock()
		d := f.status.DAHeight + 1
		f.mu.Unlock()
		err := f.follow(ctx, d)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrHalted) {
			return
		}
		if err != nil {
			wait = backoff(wait, f.cfg.RetryMin, f.cfg.RetryMax)
			f.log.Warn("rollup: DataMesh height failed, retrying", "da_height", d, "err", err, "in", wait)
			f.mu.Lock()
			f.status.LastError = err.Error()
			f.mu.Unlock()
			if !sleep(ctx, wait) {
				return
			}
			continue
		}
		wait = 0
	}
}

// candidate is a block found in the namespace, signed by the sequencer.
type candidate struct {
	blk *Block
	raw []byte
}

// follow reads DataMesh height d completely: its verified blobs, the
// sequencer's blocks among them, each executed in height order. On
// success the blocks and d are stored as one step. A block that fails
// after being found signed (linkage, time, state root) halts the
// follower: the blocks before it are stored, the evidence too, and the
// error wraps ErrHalted.
func (f *Follower) follow(ctx context.Context, d uint64) error {
	g := f.cfg.Genesis
	h, err := trustedHeader(ctx, f.cfg.Headers, d)
	if err != nil {
		return err
	}
	f.mu.Lock()
	queue := slices.Clone(f.forced)
	f.mu.Unlock()
	// Every block posted up to d-1 has been read: a forced transaction
	// whose deadline is before d and still pending was censored.
	if len(queue) > 0 && queue[0].Deadline(g) < d {
		late := queue[0]
		return f.halt(&Evidence{DAHeight: d, Reason: "the sequencer did not include a forced transaction by its deadline",
			ForcedTx: late.Tx, ForcedDAHeight: late.DAHeight, ForcedDeadline: late.Deadline(g)}, nil, nil, d)
	}
	found, err := f.readForced(ctx, h, d)
	if err != nil {
		return err
	}
	queue = append(queue, found...)
	rows, err := f.cfg.Data.GetNamespaceData(ctx, d, g.Namespace)
	if err != nil {
		return fmt.Errorf("rollup: DA height %d: namespace data from %s: %w", d, f.cfg.Data, err)
	}
	blobs, err := verifiedBlobs(h, rows, g.Namespace)
	if err != nil {
		return fmt.Errorf("rollup: DA height %d: namespace data from %s does not verify against the trusted header: %w", d, f.cfg.Data, err)
	}
	var cands []candidate
	for i, raw := range blobs {
		blk, err := DecodeBlock(raw)
		if err != nil {
			f.log.Info("rollup: ignoring a blob that is not a rollup block", "da_height", d, "blob", i, "bytes", len(raw), "err", err)
			continue
		}
		if blk.Header.ChainID != g.ChainID {
			f.log.Info("rollup: ignoring a block of another chain", "da_height", d, "blob", i, "chain_id", blk.Header.ChainID)
			continue
		}
		if err := blk.Header.VerifySignature(g.Sequencer); err != nil {
			f.log.Warn("rollup: ignoring a block not signed by the sequencer", "da_height", d, "blob", i, "height", blk.Header.Height, "err", err)
			continue
		}
		cands = append(cands, candidate{blk: blk, raw: raw})
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		return cmp.Compare(a.blk.Header.Height, b.blk.Header.Height)
	})
	f.mu.Lock()
	t := *f.tip
	f.mu.Unlock()
	var accepted []*StoredBlock
	included := 0 // of queue
	for _, c := range cands {
		hdr := &c.blk.Header
		if hdr.Height < t.next(g) {
			f.ignoreOld(d, c)
			continue
		}
		if hdr.Height > t.next(g) {
			f.log.Warn("rollup: ignoring a block past the next height (the blocks between are not posted)", "da_height", d, "height", hdr.Height, "next", t.next(g))
			continue
		}
		if err := t.checkNext(g, hdr); err != nil {
			return f.halt(&Evidence{DAHeight: d, Height: hdr.Height, Reason: err.Error(), Block: c.raw}, accepted, found, d)
		}
		if ev := checkForced(g, c, queue[included:], d); ev != nil {
			return f.halt(ev, accepted, found, d)
		}
		res, err := f.cfg.Executor.ExecuteTxs(ctx, c.blk.Txs, hdr.Height, hdr.Time, t.root)
		if err != nil {
			return fmt.Errorf("rollup: DA height %d: execute block %d: %w", d, hdr.Height, err)
		}
		if !bytes.Equal(res.UpdatedStateRoot, hdr.StateRoot) {
			return f.halt(&Evidence{DAHeight: d, Height: hdr.Height, Reason: "state root differs from the executor's",
				ClaimedStateRoot: hdr.StateRoot, ComputedStateRoot: res.UpdatedStateRoot, Block: c.raw}, accepted, found, d)
		}
		hash, err := hdr.Hash()
		if err != nil {
			return err
		}
		accepted = append(accepted, &StoredBlock{Block: c.blk, Raw: c.raw, DAHeight: d})
		included += int(hdr.ForcedTxs)
		t = tip{height: hdr.Height, hash: hash, root: hdr.StateRoot, time: hdr.Time}
	}
	if err := f.cfg.Store.AppendBlocksForced(accepted, d, found); err != nil {
		return err
	}
	f.mu.Lock()
	f.tip = &t
	f.forced = queue[included:]
	f.status.ForcedPending = len(f.forced)
	f.status.Height, f.status.StateRoot, f.status.DAHeight, f.status.LastError = t.height, t.root, d, ""
	f.mu.Unlock()
	if len(accepted) > 0 {
		f.log.Info("rollup: blocks synced", "da_height", d, "from", accepted[0].Block.Header.Height, "to", t.height)
	}
	return nil
}

// ignoreOld logs a sequencer's block at a height already held: the same
// block posted again (a resubmission) or, when it differs, a second
// block for the height, which the sequencer signed: equivocation,
// evidence worth keeping in the log. The first block found stands.
func (f *Follower) ignoreOld(d uint64, c candidate) {
	h := c.blk.Header.Height
	sb, err := f.cfg.Store.Block(h)
	if err == nil && bytes.Equal(sb.Raw, c.raw) {
		f.log.Debug("rollup: ignoring a block posted again", "da_height", d, "height", h)
		return
	}
	f.log.Error("rollup: the sequencer signed a second block for a height; keeping the first", "da_height", d, "height", h,
		"first_da_height", daHeightOf(sb), "block", HexBytes(c.raw).String())
}

func daHeightOf(sb *StoredBlock) uint64 {
	if sb == nil {
		return 0
	}
	return sb.DAHeight
}

// halt stores the blocks accepted before the rejected one (the sync
// height stays before d; found, the forced transactions of d, are kept
// with them) and the evidence, and stops the follower.
func (f *Follower) halt(ev *Evidence, accepted []*StoredBlock, found []ForcedTx, d uint64) error {
	if ev.Block == nil {
		f.log.Error("rollup: the sequencer missed a forced-inclusion deadline; halting", "evidence", ev.String())
	} else {
		f.log.Error("rollup: rejected a block signed by the sequencer; halting", "evidence", ev.String(), "block", HexBytes(ev.Block).String())
	}
	if err := f.cfg.Store.AppendBlocksForced(accepted, d-1, found); err != nil {
		return err
	}
	if err := f.cfg.Store.SetHalt(ev); err != nil {
		return err
	}
	f.mu.Lock()
	if n := len(accepted); n > 0 {
		last := accepted[n-1].Block.Header
		f.status.Height, f.status.StateRoot = last.Height, last.StateRoot
	}
	f.status.Halted = ev
	f.mu.Unlock()
	return fmt.Errorf("%w: %s", ErrHalted, ev)
}

// readForced returns the forced transactions posted at DataMesh height
// d, from the forced namespace's data verified against h like the
// rollup's own namespace.
func (f *Follower) readForced(ctx context.Context, h *header.ExtendedHeader, d uint64) ([]ForcedTx, error) {
	return readForced(ctx, f.cfg.Genesis, f.cfg.Data, h, d, f.log)
}

func readForced(ctx context.Context, g *Genesis, src NamespaceSource, h *header.ExtendedHeader, d uint64, log *slog.Logger) ([]ForcedTx, error) {
	ns := g.ForcedInclusionNamespace()
	rows, err := src.GetNamespaceData(ctx, d, ns)
	if err != nil {
		return nil, fmt.Errorf("rollup: DA height %d: forced namespace data from %s: %w", d, src, err)
	}
	blobs, err := verifiedBlobs(h, rows, ns)
	if err != nil {
		return nil, fmt.Errorf("rollup: DA height %d: forced namespace data from %s does not verify against the trusted header: %w", d, src, err)
	}
	return forcedTxs(d, blobs, func(i int, err error) {
		log.Info("rollup: ignoring a blob of the forced namespace", "da_height", d, "blob", i, "err", err)
	}), nil
}

// checkForced checks the forced transactions a block claims
// (Header.ForcedTxs) against pending, the forced transactions not yet
// included, in order: they must be its first transactions.
func checkForced(g *Genesis, c candidate, pending []ForcedTx, d uint64) *Evidence {
	n := c.blk.Header.ForcedTxs
	ev := func(reason string, f *ForcedTx) *Evidence {
		e := &Evidence{DAHeight: d, Height: c.blk.Header.Height, Reason: reason, Block: c.raw}
		if f != nil {
			e.ForcedTx, e.ForcedDAHeight, e.ForcedDeadline = f.Tx, f.DAHeight, f.Deadline(g)
		}
		return e
	}
	if n > uint64(len(pending)) {
		return ev(fmt.Sprintf("the block claims %d forced transactions, %d are pending (one included twice, or never posted)", n, len(pending)), nil)
	}
	for i := range n {
		if !bytes.Equal(c.blk.Txs[i], pending[i].Tx) {
			return ev(fmt.Sprintf("forced transaction %d of the block is not the next pending one (DA height %d, blob %d): out of order, included twice or never posted",
				i, pending[i].DAHeight, pending[i].Index), &pending[i])
		}
	}
	return nil
}

// trustedHeader returns the header at DataMesh height d from src,
// checked to be that height's and valid (header.Validate).
func trustedHeader(ctx context.Context, src HeaderSource, d uint64) (*header.ExtendedHeader, error) {
	h, err := src.WaitForHeight(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("rollup: DA height %d: trusted header: %w", d, err)
	}
	if h.Height() != d {
		return nil, fmt.Errorf("rollup: DA height %d: the header source returned height %d", d, h.Height())
	}
	if err := h.Validate(); err != nil {
		return nil, fmt.Errorf("rollup: DA height %d: trusted header: %w", d, err)
	}
	return h, nil
}
