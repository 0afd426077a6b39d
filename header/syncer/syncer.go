package syncer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/gossip"
)

// Syncer keeps a header.Store following the network's chain: it fetches
// verified ranges from an Exchange up to the highest verified head it knows
// (the target), and takes new headers from gossip through Incoming. Its
// methods are safe for concurrent use.
type Syncer struct {
	store header.Store
	ex    Exchange
	opts  Options

	// appendMu serialises verifying-then-appending, by the loop and by
	// Incoming, so each sees the head it appends above.
	appendMu sync.Mutex

	mu      sync.Mutex
	plan    plan // head, target; under mu
	rate    float64
	round   Round         // the current or last range sync
	err     error         // why the loop stopped, if it failed
	changed chan struct{} // closed and replaced when head, target or err change
	state   int           // stateNew, stateStarted, stateStopped
	cancel  context.CancelFunc
	done    chan struct{} // closed when the loop exits
	wake    chan struct{} // cap 1: a new target, or gossip activity
	// hint asks the loop to poll the network head when it wakes; lastHint
	// (unix nanoseconds) spaces such polls by hintInterval.
	hint     atomic.Bool
	lastHint atomic.Int64
	// lastFollowLog is when Incoming last logged the head; appendMu.
	lastFollowLog time.Time
}

const (
	stateNew = iota
	stateStarted
	stateStopped
)

// New returns a syncer of store over ex. It does no I/O; Start begins.
func New(store header.Store, ex Exchange, opts Options) (*Syncer, error) {
	if store == nil || ex == nil {
		return nil, fmt.Errorf("%w: nil store or exchange", ErrInvalidOptions)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Syncer{
		store:   store,
		ex:      ex,
		opts:    opts,
		plan:    plan{batch: opts.BatchSize},
		changed: make(chan struct{}),
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
	}, nil
}

// Start reads the store's head and starts the sync loop. It returns
// ErrNotInitialised if the store is empty (run Init), and a
// *TrustExpiredError (ErrTrustExpired) if the head is older than the
// trusting period. It does no network I/O itself: the loop asks the
// exchange for the network head, syncs to it, then follows gossip
// (Incoming) and polls the exchange when gossip is quiet. Calling Start
// again is a no-op; after Stop it returns ErrStopped.
//
// If the loop meets an error it cannot retry past (the head expired while
// the node was behind, or a fork), it stops: Done is closed and Err says
// why. The node must then stop too.
func (s *Syncer) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateStarted:
		return nil
	case stateStopped:
		return ErrStopped
	}
	head, err := s.store.Head(ctx)
	switch {
	case errors.Is(err, header.ErrNotFound):
		return ErrNotInitialised
	case err != nil:
		return fmt.Errorf("syncer: reading the store head: %w", err)
	}
	if s.opts.expired(head) {
		return s.expiredHead(head, nil)
	}
	s.plan.head = head
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.state = stateStarted
	s.notifyLocked()
	go s.run(lctx)
	return nil
}

func (s *Syncer) expiredHead(head *header.ExtendedHeader, cause error) error {
	return &TrustExpiredError{What: "stored head", Height: head.Height(), Time: head.Time(), TrustingPeriod: s.opts.trustingPeriod(), Err: cause}
}

// Stop ends the loop and waits for it. It is idempotent, and a no-op
// before Start (after which Start returns ErrStopped). It returns ctx's
// error if ctx ends first. It does not return the loop's failure: see Err.
func (s *Syncer) Stop(ctx context.Context) error {
	s.mu.Lock()
	st := s.state
	s.state = stateStopped
	s.mu.Unlock()
	if st != stateStarted {
		return nil
	}
	s.cancel()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("syncer: stop: %w", ctx.Err())
	}
}

// Done is closed when the loop has exited: after Stop, or on a failure
// (Err is then non-nil).
func (s *Syncer) Done() <-chan struct{} { return s.done }

// Err returns why the loop stopped on its own (ErrTrustExpired, ErrFork),
// nil while it runs or after a clean Stop.
func (s *Syncer) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// State is a snapshot of the syncer's progress.
type State struct {
	// Height is the store's head; Target the highest verified network head
	// known (0 before the first is known, never below Height after).
	Height, Target uint64
	// Syncing is true while Height is below Target: the loop is fetching
	// ranges towards it.
	Syncing bool
	// HeadersPerSecond is the rate of the current range sync, or of the
	// last one once it finished.
	HeadersPerSecond float64
	// Round is the current range sync, or the last one once it finished;
	// its ID is 0 before the first.
	Round Round
}

// Round is one range sync: from the moment the store's head fell behind
// the target until it caught up.
type Round struct {
	// ID numbers the rounds since Start, from 1.
	ID uint64
	// From is the store's head when the round began: it fetched the
	// heights above it.
	From uint64
	// Start is when it began; End when it caught up (zero while it runs).
	Start, End time.Time
}

// State returns the syncer's progress.
func (s *Syncer) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{HeadersPerSecond: s.rate, Round: s.round}
	if s.plan.head != nil {
		st.Height = s.plan.head.Height()
	}
	if s.plan.target != nil {
		st.Target = s.plan.target.Height()
	}
	st.Syncing = st.Height < st.Target
	return st
}

// SyncWait returns nil once a target is known and the store's head has
// reached it (at the time of the check: the target may rise again). It
// returns the loop's error once it failed, ErrStopped if it was stopped, and
// ctx's error if ctx ends first. Before Start it waits for Start.
func (s *Syncer) SyncWait(ctx context.Context) error {
	for {
		s.mu.Lock()
		synced := s.plan.head != nil && s.plan.synced()
		err, ch, st := s.err, s.changed, s.state
		s.mu.Unlock()
		switch {
		case err != nil:
			return err
		case synced:
			return nil
		case st == stateStopped:
			return ErrStopped
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("syncer: sync wait: %w", ctx.Err())
		}
	}
}

// hintInterval is the least time between two head polls prompted by
// gossiped headers the head's validators cannot vouch for: each poll asks
// several peers, and anyone can gossip such a header.
const hintInterval = time.Second

// hintHead asks the loop to poll the network head, at most once per
// hintInterval.
func (s *Syncer) hintHead() {
	now := time.Now().UnixNano()
	last := s.lastHint.Load()
	if now-last < int64(hintInterval) || !s.lastHint.CompareAndSwap(last, now) {
		return
	}
	s.hint.Store(true)
	s.wakeLoop()
}

// notifyLocked wakes SyncWait callers; s.mu must be held.
func (s *Syncer) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Syncer) wakeLoop() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Incoming is the gossip.Verifier of header-sub: wire it with
// gossip.New(ps, network, s.Incoming, ...). Given a header that passed
// Validate, it returns:
//
//   - at or below the head: an error wrapping gossip.ErrIgnore (known; one
//     that conflicts with the stored header is logged as an error);
//   - head+1: nil once verified adjacently and appended; ErrIgnore if a
//     concurrent append moved the head first;
//   - above head+1: nil once verified against the head (the target rises
//     and the loop fetches the gap); ErrIgnore if the head's validators
//     cannot vouch for it (header.ErrNotEnoughTrust: the loop asks the
//     peers for the network head, at most once per HintInterval, and gets
//     there adjacently), or it is from the future;
//   - any other verification failure: that error (the sender is
//     penalised).
//
// Before Start, and after the loop failed, it ignores everything.
func (s *Syncer) Incoming(ctx context.Context, h *header.ExtendedHeader) error {
	s.mu.Lock()
	head, err := s.plan.head, s.err
	s.mu.Unlock()
	if head == nil || err != nil {
		return fmt.Errorf("syncer: not following: %w", gossip.ErrIgnore)
	}
	switch placeOf(head.Height(), h.Height()) {
	case placeKnown:
		return s.known(ctx, h)
	case placeAdjacent:
		return s.incomingAdjacent(ctx, h)
	}
	err = header.Verify(head, h, s.opts.VerifyOptions)
	switch judge(err) {
	case verdictIgnore:
		if errors.Is(err, header.ErrNotEnoughTrust) {
			s.hintHead()
		}
		return fmt.Errorf("syncer: height %d from head %d: %w: %w", h.Height(), head.Height(), gossip.ErrIgnore, err)
	case verdictReject:
		return fmt.Errorf("syncer: height %d: %w", h.Height(), err)
	}
	s.mu.Lock()
	raised, err := s.plan.raise(h, true)
	if raised {
		s.notifyLocked()
	}
	s.mu.Unlock()
	if err != nil {
		s.opts.Logger.Error("syncer: gossip brought a verified header conflicting with the target", "height", h.Height(), "err", err)
		return fmt.Errorf("%w: %w", gossip.ErrIgnore, err)
	}
	s.wakeLoop()
	return nil
}

// known handles a header at or below the head.
func (s *Syncer) known(ctx context.Context, h *header.ExtendedHeader) error {
	stored, err := s.store.GetByHeight(ctx, h.Height())
	if err == nil && string(stored.Hash()) != string(h.Hash()) {
		s.opts.Logger.Error("syncer: gossip brought a header conflicting with the stored chain",
			"height", h.Height(), "stored", fmt.Sprintf("%X", stored.Hash()), "gossiped", fmt.Sprintf("%X", h.Hash()))
	}
	return fmt.Errorf("syncer: height %d is known: %w", h.Height(), gossip.ErrIgnore)
}

func (s *Syncer) incomingAdjacent(ctx context.Context, h *header.ExtendedHeader) error {
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	s.mu.Lock()
	head := s.plan.head
	s.mu.Unlock()
	if h.Height() != head.Height()+1 {
		// The loop appended meanwhile.
		return fmt.Errorf("syncer: height %d, head moved to %d: %w", h.Height(), head.Height(), gossip.ErrIgnore)
	}
	err := header.VerifyAdjacent(head, h, s.opts.VerifyOptions)
	switch judge(err) {
	case verdictIgnore:
		return fmt.Errorf("syncer: height %d: %w: %w", h.Height(), gossip.ErrIgnore, err)
	case verdictReject:
		return fmt.Errorf("syncer: height %d: %w", h.Height(), err)
	}
	if err := s.store.Append(ctx, h); err != nil {
		// Our failure, not the sender's.
		s.opts.Logger.Warn("syncer: appending gossiped header", "height", h.Height(), "err", err)
		return fmt.Errorf("syncer: appending height %d: %w: %w", h.Height(), gossip.ErrIgnore, err)
	}
	s.mu.Lock()
	err = s.plan.appended([]*header.ExtendedHeader{h})
	s.notifyLocked()
	s.mu.Unlock()
	if s.opts.OnHead != nil {
		s.opts.OnHead(h)
	}
	// While following, say where the head is now and then.
	if now := time.Now(); now.Sub(s.lastFollowLog) >= s.opts.ProgressInterval {
		s.lastFollowLog = now
		s.opts.Logger.Info("syncer: following", "height", h.Height(), "time", h.Time())
	}
	switch {
	case errors.Is(err, ErrFork):
		// The stored chain passed a verified target with another hash.
		s.fail(err)
	case err != nil:
		s.opts.Logger.Error("syncer: dropping target", "err", err)
	}
	s.wakeLoop()
	return nil
}

// fail records a fatal error and stops the loop.
func (s *Syncer) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
		s.opts.Logger.Error("syncer: stopped", "err", err)
		s.notifyLocked()
	}
	if s.cancel != nil {
		s.cancel()
	}
}
