package rollup

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	coreexec "github.com/evstack/ev-node/core/execution"
)

// Sequencer defaults.
const (
	DefaultBlockTime     = time.Second
	DefaultMaxBlockBytes = 1 << 20
	DefaultMaxUnposted   = 64
	DefaultRetryMin      = 500 * time.Millisecond
	DefaultRetryMax      = 30 * time.Second
	// maxSubmitBlobs and maxSubmitBytes bound one Submit: the oldest
	// unposted blocks up to either (at least one block).
	maxSubmitBlobs = 16
	maxSubmitBytes = 2 << 20
)

// SequencerConfig configures a Sequencer. Genesis, Key, Executor, Store
// and DA are required.
type SequencerConfig struct {
	Genesis *Genesis
	// Key signs the blocks; its public key must be Genesis.Sequencer.
	Key      ed25519.PrivateKey
	Executor coreexec.Executor
	Store    *Store
	DA       Submitter
	// Headers and Data read the forced namespace (forced inclusion):
	// Data's answers are verified against Headers' like a follower's.
	// Without them the sequencer includes no forced transaction, and its
	// followers halt at the first missed deadline; only tests of that
	// leave them out.
	Headers HeaderSource
	Data    NamespaceSource
	// BlockTime is how often the sequencer makes a block of the
	// executor's waiting transactions (none when there are none).
	BlockTime time.Duration
	// MaxBlockBytes bounds a block's transactions (FilterTxs' maxBytes),
	// at most DefaultMaxBlockBytes.
	MaxBlockBytes uint64
	// MaxUnposted is how many blocks may wait to be posted before the
	// sequencer stops making blocks until they are.
	MaxUnposted int
	// RetryMin and RetryMax bound the backoff between failed submits.
	RetryMin, RetryMax time.Duration
	Logger             *slog.Logger
}

// SequencerStatus is a snapshot of a Sequencer.
type SequencerStatus struct {
	// Height and StateRoot are the last block's (Height 0: none).
	Height    uint64
	StateRoot []byte
	// Posted is the highest height included in DataMesh, PostedDA the
	// DataMesh height it was included at.
	Posted, PostedDA uint64
	// Unposted is the number of blocks waiting to be posted.
	Unposted int
	// LastError is the last failure to make or post a block, cleared by
	// the next success.
	LastError string
	// ForcedDA is the last DataMesh height whose forced namespace was
	// read (0 without Headers and Data).
	ForcedDA uint64
}

// Sequencer makes the rollup's blocks: every BlockTime it takes the
// executor's transactions (GetTxs, FilterTxs), executes them, signs the
// header and stores the block; a second loop posts stored blocks in
// order (Submitter) and marks them final (SetFinal) once included,
// retrying with backoff. A restart posts the blocks not yet posted, with
// the same bytes, and finishes a block cut short.
type Sequencer struct {
	cfg SequencerConfig
	log *slog.Logger

	produceMu sync.Mutex // serialises block making
	wake      chan struct{}

	mu     sync.Mutex
	tip    *tip
	status SequencerStatus

	loops runner
}

// NewSequencer checks cfg and returns a Sequencer; it does no I/O.
func NewSequencer(cfg SequencerConfig) (*Sequencer, error) {
	switch {
	case cfg.Genesis == nil || cfg.Executor == nil || cfg.Store == nil || cfg.DA == nil:
		return nil, errors.New("rollup: sequencer: genesis, executor, store and DA are required")
	case (cfg.Headers == nil) != (cfg.Data == nil):
		return nil, errors.New("rollup: sequencer: headers and data go together")
	case len(cfg.Key) != ed25519.PrivateKeySize:
		return nil, fmt.Errorf("rollup: sequencer: key of %d bytes, want %d", len(cfg.Key), ed25519.PrivateKeySize)
	case !bytes.Equal(cfg.Key.Public().(ed25519.PublicKey), cfg.Genesis.Sequencer):
		return nil, errors.New("rollup: sequencer: the key is not the genesis sequencer key")
	case cfg.BlockTime < 0 || cfg.MaxUnposted < 0 || cfg.RetryMin < 0 || cfg.RetryMax < cfg.RetryMin:
		return nil, errors.New("rollup: sequencer: negative durations or bounds")
	case cfg.MaxBlockBytes > DefaultMaxBlockBytes:
		return nil, fmt.Errorf("rollup: sequencer: max block bytes %d, at most %d", cfg.MaxBlockBytes, DefaultMaxBlockBytes)
	}
	if err := cfg.Genesis.Validate(); err != nil {
		return nil, err
	}
	if cfg.BlockTime == 0 {
		cfg.BlockTime = DefaultBlockTime
	}
	if cfg.MaxBlockBytes == 0 {
		cfg.MaxBlockBytes = DefaultMaxBlockBytes
	}
	if cfg.MaxUnposted == 0 {
		cfg.MaxUnposted = DefaultMaxUnposted
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = max(DefaultRetryMax, cfg.RetryMin)
	}
	return &Sequencer{cfg: cfg, log: nopLogger(cfg.Logger), wake: make(chan struct{}, 1), loops: runner{name: "sequencer"}}, nil
}

// Start resumes from the store (replaying into the executor what it
// lacks, finishing a block cut short) and starts making and posting
// blocks until Stop. It fails if the sequencer was started before, even
// if that start failed: make a new Sequencer to try again.
func (s *Sequencer) Start(ctx context.Context) error {
	if err := s.loops.claim(); err != nil {
		return err
	}
	t, err := resume(ctx, s.cfg.Genesis, s.cfg.Executor, s.cfg.Store, s.log)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.tip = t
	s.status.Height, s.status.StateRoot = t.height, t.root
	s.mu.Unlock()
	if p, err := s.cfg.Store.GetPending(); err != nil {
		return err
	} else if p != nil {
		s.log.Info("rollup: finishing the block cut short by a restart", "height", p.Height)
		if _, err := s.finish(ctx, p); err != nil {
			return err
		}
	}
	unposted, err := s.cfg.Store.Unposted()
	if err != nil {
		return err
	}
	forcedDA, err := s.cfg.Store.ForcedDAHeight()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.status.Unposted = len(unposted)
	s.status.ForcedDA = max(forcedDA, s.cfg.Genesis.DAStartHeight-1)
	s.mu.Unlock()
	loops := []func(context.Context){s.produceLoop, s.submitLoop}
	if s.cfg.Data != nil {
		loops = append(loops, s.forcedLoop)
	} else {
		s.log.Warn("rollup: sequencer without a forced-namespace source: forced transactions are not included and followers will halt")
	}
	s.loops.run(ctx, loops...)
	s.signal()
	return nil
}

// Stop stops the loops and returns when they have exited, or when ctx
// ends. A block being made is finished first; a submit in flight is
// abandoned, and posted again after a restart.
func (s *Sequencer) Stop(ctx context.Context) error { return s.loops.stop(ctx) }

// Status returns a snapshot; its slices are the caller's.
func (s *Sequencer) Status() SequencerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.StateRoot = bytes.Clone(st.StateRoot)
	return st
}

func (s *Sequencer) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Sequencer) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.status.LastError = ""
	} else {
		s.status.LastError = err.Error()
	}
}

func (s *Sequencer) produceLoop(ctx context.Context) {
	tick := time.NewTicker(s.cfg.BlockTime)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.mu.Lock()
		full := s.status.Unposted >= s.cfg.MaxUnposted
		s.mu.Unlock()
		if full {
			s.log.Warn("rollup: sequencer paused: too many blocks wait to be posted", "unposted", s.cfg.MaxUnposted)
			continue
		}
		blk, err := s.ProduceBlock(context.WithoutCancel(ctx))
		if err != nil {
			s.log.Error("rollup: make block", "err", err)
			s.setErr(err)
			continue
		}
		if blk != nil {
			s.signal()
		}
	}
}

// ProduceBlock makes one block now from the executor's waiting
// transactions, stores it for posting and returns it; it returns nil
// when no transaction waits. The block loop calls it every BlockTime.
func (s *Sequencer) ProduceBlock(ctx context.Context) (*Block, error) {
	s.produceMu.Lock()
	defer s.produceMu.Unlock()
	s.mu.Lock()
	t := s.tip
	s.mu.Unlock()
	if t == nil {
		return nil, errors.New("rollup: sequencer: not started")
	}
	var forced []ForcedTx
	if s.cfg.Data != nil {
		var err error
		// A block's forced transactions are at most 1 MiB in 16 KiB ones.
		if forced, err = s.cfg.Store.ForcedQueue(int(s.cfg.MaxBlockBytes/MaxForcedTxSize) + 1); err != nil {
			return nil, err
		}
	}
	mempool, err := s.cfg.Executor.GetTxs(ctx)
	if err != nil {
		return nil, fmt.Errorf("rollup: get txs: %w", err)
	}
	if len(mempool) == 0 && len(forced) == 0 {
		return nil, nil
	}
	txs := make([][]byte, 0, len(forced)+len(mempool))
	for _, f := range forced {
		txs = append(txs, f.Tx)
	}
	txs = append(txs, mempool...)
	info, err := s.cfg.Executor.GetExecutionInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("rollup: execution info: %w", err)
	}
	// The forced transactions go first, flagged, so that the executor
	// counts them against the block's bytes and gas before the mempool's.
	marks, err := s.cfg.Executor.FilterTxs(ctx, txs, s.cfg.MaxBlockBytes, info.MaxGas, len(forced) > 0)
	if err != nil {
		return nil, fmt.Errorf("rollup: filter txs: %w", err)
	}
	if len(marks) != len(txs) {
		return nil, fmt.Errorf("rollup: filter txs: %d marks for %d transactions", len(marks), len(txs))
	}
	var ok [][]byte
	var size uint64
	nForced := 0
	// Forced transactions: the first pending ones, in order, up to the
	// first the executor postpones (over the block's gas or bytes). One
	// it marks for removal (invalid) is included all the same: the rule
	// is that every forced transaction is included, and the executor
	// skips an invalid one (the execution package's determinism
	// contract), which every follower can check without the executor.
	for i := range forced {
		if marks[i] == coreexec.FilterPostpone || size+uint64(len(txs[i])) > s.cfg.MaxBlockBytes {
			break
		}
		if marks[i] == coreexec.FilterRemove {
			s.log.Info("rollup: including a forced transaction the executor finds invalid; it will be skipped", "da_height", forced[i].DAHeight, "blob", forced[i].Index)
		}
		size += uint64(len(txs[i]))
		ok = append(ok, txs[i])
		nForced++
	}
	for i := len(forced); i < len(txs); i++ {
		if marks[i] != coreexec.FilterOK {
			continue
		}
		if size += uint64(len(txs[i])); size > s.cfg.MaxBlockBytes || len(ok) == MaxTxs {
			break // the executor's filter is not trusted with the format's limits
		}
		ok = append(ok, txs[i])
	}
	if len(ok) == 0 {
		return nil, nil
	}
	now := time.Now().UTC().Round(0)
	if !now.After(t.time) {
		now = t.time.Add(time.Nanosecond)
	}
	p := &Pending{Height: t.next(s.cfg.Genesis), Time: now, Txs: ok, ForcedTxs: uint64(nForced)}
	if err := s.cfg.Store.SetPending(p); err != nil {
		return nil, err
	}
	return s.finish(ctx, p)
}

// finish executes the pending block p on the tip, signs and stores it.
// Executing the same inputs again after a crash is answered with the
// same root by the executor (the determinism contract).
func (s *Sequencer) finish(ctx context.Context, p *Pending) (*Block, error) {
	s.mu.Lock()
	t := s.tip
	s.mu.Unlock()
	if p.Height != t.next(s.cfg.Genesis) {
		return nil, fmt.Errorf("rollup: pending block %d does not follow the head %d", p.Height, t.height)
	}
	res, err := s.cfg.Executor.ExecuteTxs(ctx, p.Txs, p.Height, p.Time, t.root)
	if err != nil {
		return nil, fmt.Errorf("rollup: execute block %d: %w", p.Height, err)
	}
	blk := &Block{
		Header: Header{ChainID: s.cfg.Genesis.ChainID, Height: p.Height, Time: p.Time, ParentHash: t.hash,
			DataHash: DataHash(p.Txs), StateRoot: res.UpdatedStateRoot, ForcedTxs: p.ForcedTxs},
		Txs: p.Txs,
	}
	if err := blk.Header.Sign(s.cfg.Key); err != nil {
		return nil, err
	}
	raw, err := blk.Encode()
	if err != nil {
		return nil, err
	}
	hash, err := blk.Header.Hash()
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.CommitProduced(&StoredBlock{Block: blk, Raw: raw}); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.tip = &tip{height: p.Height, hash: hash, root: res.UpdatedStateRoot, time: p.Time}
	s.status.Height, s.status.StateRoot = p.Height, res.UpdatedStateRoot
	s.status.Unposted++
	s.status.LastError = ""
	s.mu.Unlock()
	s.log.Info("rollup: block made", "height", p.Height, "txs", len(p.Txs), "forced", p.ForcedTxs, "bytes", len(raw))
	return blk, nil
}

func (s *Sequencer) submitLoop(ctx context.Context) {
	var wait time.Duration
	for {
		if wait > 0 {
			if !sleep(ctx, wait) {
				return
			}
		} else {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			}
		}
		posted, err := s.submitOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			wait = backoff(wait, s.cfg.RetryMin, s.cfg.RetryMax)
			s.log.Warn("rollup: submit failed, retrying", "err", err, "in", wait)
			s.setErr(err)
		case posted:
			wait = 0
			s.signal() // more may wait
		default:
			wait = 0
		}
	}
}

// submitOnce posts the oldest unposted blocks and reports whether it
// posted any.
func (s *Sequencer) submitOnce(ctx context.Context) (bool, error) {
	unposted, err := s.cfg.Store.Unposted()
	if err != nil || len(unposted) == 0 {
		return false, err
	}
	var blobs [][]byte
	var heights []uint64
	size := 0
	for _, sb := range unposted {
		if len(blobs) > 0 && (len(blobs) == maxSubmitBlobs || size+len(sb.Raw) > maxSubmitBytes) {
			break
		}
		blobs = append(blobs, sb.Raw)
		heights = append(heights, sb.Block.Header.Height)
		size += len(sb.Raw)
	}
	daHeight, err := s.cfg.DA.Submit(ctx, s.cfg.Genesis.Namespace, blobs)
	if err != nil {
		return false, fmt.Errorf("rollup: submit blocks %d to %d: %w", heights[0], heights[len(heights)-1], err)
	}
	if err := s.cfg.Store.MarkPosted(heights, daHeight); err != nil {
		return false, err
	}
	last := heights[len(heights)-1]
	if err := s.cfg.Executor.SetFinal(ctx, last); err != nil {
		s.log.Warn("rollup: set final", "height", last, "err", err)
	}
	s.mu.Lock()
	s.status.Posted, s.status.PostedDA = last, daHeight
	s.status.Unposted = max(0, len(unposted)-len(heights))
	s.status.LastError = ""
	s.mu.Unlock()
	s.log.Info("rollup: blocks posted", "from", heights[0], "to", last, "da_height", daHeight, "bytes", size)
	return true, nil
}

// forcedLoop reads the forced namespace height by height, from the
// genesis's DA start height on, verified against the trusted headers,
// and queues the forced transactions found (Store.AddForced) for the
// next blocks.
func (s *Sequencer) forcedLoop(ctx context.Context) {
	var wait time.Duration
	for ctx.Err() == nil {
		s.mu.Lock()
		d := s.status.ForcedDA + 1
		s.mu.Unlock()
		n, err := s.readForced(ctx, d)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			wait = backoff(wait, s.cfg.RetryMin, s.cfg.RetryMax)
			s.log.Warn("rollup: reading the forced namespace failed, retrying", "da_height", d, "err", err, "in", wait)
			s.setErr(err)
			if !sleep(ctx, wait) {
				return
			}
			continue
		}
		wait = 0
		s.mu.Lock()
		s.status.ForcedDA = d
		s.mu.Unlock()
		if n > 0 {
			s.log.Info("rollup: forced transactions queued", "da_height", d, "txs", n)
		}
	}
}

func (s *Sequencer) readForced(ctx context.Context, d uint64) (int, error) {
	h, err := trustedHeader(ctx, s.cfg.Headers, d)
	if err != nil {
		return 0, err
	}
	found, err := readForced(ctx, s.cfg.Genesis, s.cfg.Data, h, d, s.log)
	if err != nil {
		return 0, err
	}
	return len(found), s.cfg.Store.AddForced(d, found)
}
