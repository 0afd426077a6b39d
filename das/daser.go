package das

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
)

// DASer samples every header from its sampling start to the network head
// and records which are available. Its methods are safe for concurrent use.
type DASer struct {
	headers Headers
	opts    Options
	check   checker
	sampler *sampler // the light check; nil for a full DASer
	store   *store

	// published is held by apply from a height's report to the save of
	// its result, and read-held by Stats: what Stats reports about a
	// height (Failed) is never ahead of what Result reads.
	published sync.RWMutex

	mu      sync.Mutex
	sched   *scheduler    // under mu; only the loop changes it after Start
	saved   uint64        // the sampled chain head of the last checkpoint saved
	state   int           // stateNew, stateStarted, stateStopped
	changed chan struct{} // closed and replaced when the scheduler moves
	pending []*header.ExtendedHeader
	recheck []uint64 // heights Invalidate gave, for the loop
	counts  counts
	befp    *eds.BadEncodingProof // the lowest block this DASer proved badly encoded
	cancel  context.CancelFunc
	done    chan struct{} // closed when the loop has exited
	wake    chan struct{} // cap 1: OnHead brought a head
}

type counts struct {
	sampled, unavailable, skipped uint64
}

const (
	stateNew = iota
	stateStarted
	stateStopped
)

// maxPendingHeads bounds the new heads OnHead keeps for the loop; beyond
// it the oldest go to catch-up instead of the fast path.
const maxPendingHeads = 64

// New returns a light DASer of the headers, sampling through getter. It
// does no I/O; Start begins.
func New(headers Headers, getter Getter, opts Options) (*DASer, error) {
	if headers == nil || getter == nil {
		return nil, fmt.Errorf("%w: nil headers or getter", ErrInvalidOptions)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &sampler{getter: getter, samples: opts.SamplesPerHeader, timeout: opts.SampleTimeout, rng: rand.New(opts.Rand)}
	return newDASer(headers, s, s, opts), nil
}

// NewFull returns a full node's DASer of the headers: for each height it
// makes sure squares holds the whole square, fetching it through getter
// (within Options.FullTimeout) and storing it if need be, then calls
// Options.OnStored. A block whose square getter proves badly encoded stops
// it (see BadEncoding) and goes to Options.OnBadEncoding. Scheduling, checkpoint, window and retries are a
// light DASer's; SamplesPerHeader, SampleTimeout and Rand are unused. It
// does no I/O; Start begins.
func NewFull(headers Headers, getter EDSGetter, squares SquareStore, opts Options) (*DASer, error) {
	if headers == nil || getter == nil || squares == nil {
		return nil, fmt.Errorf("%w: nil headers, getter or square store", ErrInvalidOptions)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	f := &fetcher{getter: getter, squares: squares, onStored: opts.OnStored, timeout: opts.FullTimeout}
	return newDASer(headers, f, nil, opts), nil
}

func newDASer(headers Headers, c checker, s *sampler, opts Options) *DASer {
	return &DASer{
		headers: headers,
		opts:    opts,
		check:   c,
		sampler: s,
		store:   newStore(opts.DB),
		sched:   newScheduler(opts),
		changed: make(chan struct{}),
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
	}
}

// Start loads the checkpoint (or, on a first start, finds the sampling
// start: see Options.SampleFrom), reads the head's height and starts the
// coordinator loop. Its reads of the store and of Badger are all its I/O.
// Calling Start again is a no-op; after Stop it returns ErrStopped.
func (d *DASer) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch d.state {
	case stateStarted:
		return nil
	case stateStopped:
		return ErrStopped
	}
	network := d.headers.Height()
	cp, found, err := d.store.loadCheckpoint()
	if err != nil {
		return err
	}
	if d.befp, err = d.store.loadBadEncoding(); err != nil {
		return err
	}
	if d.befp != nil {
		d.opts.Logger.Error("das: the chain is badly encoded: checking no height", "height", d.befp.Height,
			"header_hash", fmt.Sprintf("%X", d.befp.HeaderHash), "axis", d.befp.Axis, "index", d.befp.Index)
	}
	if found {
		d.sched.restore(cp, network, d.opts.Now())
		d.opts.Logger.Info("das: resuming from checkpoint", "sampled_chain_head", cp.SampledChainHead, "failed", len(cp.Failed), "network_head", network)
	} else {
		from := d.opts.SampleFrom
		if from == 0 {
			if from, err = d.firstInWindow(ctx, network); err != nil {
				return err
			}
		}
		d.sched.init(from, network)
		d.opts.Logger.Info("das: starting", "sample_from", from, "network_head", network)
	}
	d.saved = d.sched.sampled
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	d.state = stateStarted
	d.notifyLocked()
	go d.run(lctx)
	return nil
}

// firstInWindow returns the lowest height the store holds whose header is
// inside the sampling window, or head+1 if there is none (the store is
// empty or its head is too old).
func (d *DASer) firstInWindow(ctx context.Context, head uint64) (uint64, error) {
	h, err := firstAtOrAfter(ctx, d.headers, head, d.opts.Now().Add(-d.opts.SamplingWindow))
	if err != nil {
		return 0, fmt.Errorf("das: finding the sampling start: %w", err)
	}
	return h, nil
}

// Stop ends the loop, waits for every goroutine the DASer started, and
// writes the checkpoint (heights being sampled when it was called are
// sampled again after a restart). It is idempotent, and a no-op before
// Start (after which Start returns ErrStopped). It returns ctx's error if
// ctx ends first; the loop still exits on its own.
func (d *DASer) Stop(ctx context.Context) error {
	d.mu.Lock()
	st := d.state
	d.state = stateStopped
	d.notifyLocked()
	d.mu.Unlock()
	if st != stateStarted {
		return nil
	}
	d.cancel()
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("das: stop: %w", ctx.Err())
	}
}

// OnHead tells the DASer about a new head (the node calls it when the
// syncer appends a header): the head is sampled at once on the fast path,
// beside the catch-up workers. It never blocks. Heads given before Start
// are kept for it, up to a bound past which the oldest are left to
// catch-up; without OnHead the DASer still learns the head by polling
// Headers every PollInterval.
func (d *DASer) OnHead(h *header.ExtendedHeader) {
	if h == nil {
		return
	}
	d.mu.Lock()
	if len(d.pending) >= maxPendingHeads {
		d.pending = d.pending[1:]
	}
	d.pending = append(d.pending, h)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Invalidate withdraws what sampling found for height: its result is
// deleted (Result reports ErrNotSampled, and SharesAvailable checks the
// block anew), and the height is checked again at once, like a failed
// height due for retry, also after a restart. The node calls it when it
// finds a square it had stored and reported available to be corrupt, after
// dropping the square: a full DASer then fetches and stores it again. A
// check of height already running when Invalidate is called may still
// record its result. It never blocks on the loop.
func (d *DASer) Invalidate(height uint64) error {
	if err := d.store.invalidate(height); err != nil {
		return err
	}
	d.mu.Lock()
	d.recheck = append(d.recheck, height)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return nil
}

// notifyLocked wakes WaitCatchUp callers; d.mu must be held.
func (d *DASer) notifyLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// WaitCatchUp returns nil once the sampled chain head has reached the
// network head known when it was called: every height up to it sampled
// (available or not; see Stats.Failed) or skipped, and the results
// recorded (Result reads them). It returns ErrStopped
// if the DASer stops first, an error wrapping ErrBadEncoding and naming
// the proof once a block is proven badly encoded (see BadEncoding: nothing
// more is checked), and ctx's error if ctx ends first. Before Start it
// waits for Start.
func (d *DASer) WaitCatchUp(ctx context.Context) error {
	var target uint64
	first := true
	for {
		d.mu.Lock()
		st, ch := d.state, d.changed
		if st == stateStarted && first {
			target, first = max(d.sched.network, d.headers.Height()), false
		}
		reached := !first && d.saved >= target
		d.mu.Unlock()
		befp := d.haltProof()
		switch {
		case reached:
			return nil
		case befp != nil:
			return fmt.Errorf("%w: %s", ErrBadEncoding, describeProof(befp))
		case st == stateStopped:
			return ErrStopped
		}
		select {
		case <-ch:
		case <-d.haltedChan():
		case <-ctx.Done():
			return fmt.Errorf("das: wait catch-up: %w", ctx.Err())
		}
	}
}

// Result returns what sampling height found: whether it is available and
// with what confidence. It returns an error wrapping ErrNotSampled for a
// height not sampled yet, skipped, or pruned (outside the window). Once a
// block is proven badly encoded (BadEncoding), every height at or above it
// is reported unavailable, with Result.BadEncoding naming the block,
// whether or not it was checked; heights below it are reported as before.
func (d *DASer) Result(_ context.Context, height uint64) (Result, error) {
	r, err := d.store.result(height)
	befp := d.haltProof()
	if befp == nil || height < befp.Height {
		return r, err
	}
	if err != nil {
		r = Result{Height: height}
	}
	r.Available, r.Confidence, r.BadEncoding = false, 0, befp.Height
	return r, nil
}

// SharesAvailable reports whether the block of h is available: from
// Result when its height was sampled (or checked), else by checking it now
// as the DASer would (a light DASer samples it, a full one fetches and
// stores its square), without recording the outcome. It returns nil when
// the block is available and otherwise an error wrapping ErrUnavailable,
// or ctx's error. A height at or above a block proven badly encoded
// (BadEncoding) is unavailable at once, the error naming the proof (height,
// header hash, row or column): nothing is fetched.
func (d *DASer) SharesAvailable(ctx context.Context, h *header.ExtendedHeader) error {
	if p := d.haltProof(); p != nil && h.Height() >= p.Height {
		return fmt.Errorf("das: height %d: %w: %s", h.Height(), ErrUnavailable, describeProof(p))
	}
	if r, err := d.Result(ctx, h.Height()); err == nil {
		switch {
		case r.Available:
			return nil
		case r.BadEncoding != 0:
			return fmt.Errorf("das: height %d: %w: block %d is proven badly encoded", h.Height(), ErrUnavailable, r.BadEncoding)
		default:
			return fmt.Errorf("das: height %d: %w: sampling found it unavailable", h.Height(), ErrUnavailable)
		}
	}
	_, err := d.check.check(ctx, h)
	return err
}

// BadEncoding returns the bad-encoding proof the DASer halts on, nil if
// none: the proof, validated against the header's DAH, that the block at
// its Height is badly encoded (Axis and Index name the row or column). It
// is the lower of the one a full DASer found itself and the one of
// Options.Halt (a light DASer has only the latter). From then on the
// DASer treats the chain as unavailable: it checks no more heights,
// reports every height at or above the proof's unavailable (Result), and
// after a restart stays stopped (a full DASer reloads its own proof;
// Options.Halt keeps the others). The proof is shared: the caller must not
// modify it.
func (d *DASer) BadEncoding() *eds.BadEncodingProof {
	return d.haltProof()
}

// BadEncodingStats names the block proven badly encoded.
type BadEncodingStats struct {
	Height uint64 `json:"height"`
	// Axis is "row" or "col"; Index its index in the extended square.
	Axis  string `json:"axis"`
	Index int    `json:"index"`
	// HeaderHash is the hash of the block's header, upper-case hex.
	HeaderHash string `json:"header_hash"`
}

// WorkerStats describes one running job.
type WorkerStats struct {
	Kind JobKind `json:"job_type"`
	// Current is the height being sampled, in [From, To].
	Current uint64 `json:"current"`
	From    uint64 `json:"from"`
	To      uint64 `json:"to"`
}

// Stats is a snapshot of the DASer's progress, with the fields of
// celestia-node's das.SamplingStats and counters besides.
type Stats struct {
	// SampleFrom is the first height sampled.
	SampleFrom uint64 `json:"sample_from"`
	// SampledChainHead is the highest height h such that every height from
	// SampleFrom to h is done: sampled (available, or unavailable and in
	// Failed) or skipped.
	SampledChainHead uint64 `json:"head_of_sampled_chain"`
	// CatchUpHead is the highest height handed to catch-up.
	CatchUpHead uint64 `json:"head_of_catchup"`
	// NetworkHead is the highest head known (OnHead or Headers).
	NetworkHead uint64 `json:"network_head_height"`
	// Failed maps the heights found unavailable, still being retried, to
	// the number of attempts so far.
	Failed map[uint64]int `json:"failed,omitempty"`
	// Workers are the running jobs, by From; Concurrency is their number.
	Workers     []WorkerStats `json:"workers,omitempty"`
	Concurrency int           `json:"concurrency"`
	// CatchUpDone is true when SampledChainHead has reached NetworkHead.
	CatchUpDone bool `json:"catch_up_done"`
	IsRunning   bool `json:"is_running"`
	// Counters since Start: heights found available, unavailable (first
	// attempts and retries), skipped, and samples rejected as invalid.
	Sampled        uint64 `json:"sampled"`
	Unavailable    uint64 `json:"unavailable"`
	Skipped        uint64 `json:"skipped"`
	InvalidSamples uint64 `json:"invalid_samples"`
	// BadEncoding, when set, names the block proven badly encoded, by
	// this full DASer or by the proof of Options.Halt: the DASer has
	// halted (see DASer.BadEncoding).
	BadEncoding *BadEncodingStats `json:"bad_encoding,omitempty"`
}

// Stats returns the DASer's progress. The maps and slices are the
// caller's.
func (d *DASer) Stats() Stats {
	d.published.RLock()
	defer d.published.RUnlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.sched
	st := Stats{
		SampleFrom:       s.from,
		SampledChainHead: s.sampled,
		CatchUpHead:      max(s.next, 1) - 1,
		NetworkHead:      s.network,
		Concurrency:      len(s.active),
		CatchUpDone:      s.sampled >= s.network,
		IsRunning:        d.state == stateStarted,
		Sampled:          d.counts.sampled,
		Unavailable:      d.counts.unavailable,
		Skipped:          d.counts.skipped,
	}
	if d.sampler != nil {
		st.InvalidSamples = d.sampler.invalid.Load()
	}
	if p := lowerProof(d.befp, d.externalProof()); p != nil {
		st.BadEncoding = &BadEncodingStats{Height: p.Height, Axis: p.Axis.String(), Index: p.Index, HeaderHash: fmt.Sprintf("%X", p.HeaderHash)}
	}
	if len(s.failed) > 0 {
		st.Failed = make(map[uint64]int, len(s.failed))
		for h, f := range s.failed {
			st.Failed[h] = f.attempts
		}
	}
	for _, a := range s.active {
		st.Workers = append(st.Workers, WorkerStats{Kind: a.kind, Current: a.cur, From: a.from, To: a.to})
	}
	sort.Slice(st.Workers, func(i, j int) bool { return st.Workers[i].From < st.Workers[j].From })
	return st
}

// inWindow reports whether t is inside the sampling window.
func (d *DASer) inWindow(t time.Time) bool {
	return !t.Before(d.opts.Now().Add(-d.opts.SamplingWindow))
}
