package das

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/datamesh/mesh-node/header"
)

// DefaultAvailabilityWindow is how long bridge and full nodes keep a
// block's square (docs/availability.md, "Pruning": 7 days plus 1 hour): the sampling window of
// light nodes plus an hour, so a light node sampling a header at the edge
// of its window still finds the square.
const DefaultAvailabilityWindow = DefaultSamplingWindow + time.Hour

// DefaultPrunerInterval is the longest a Pruner waits between looks for
// squares that left the availability window: a node keeps at most about
// an hour of blocks beyond the window. A Pruner without an Interval looks
// every tenth of its window (prunerInterval), so a short window is kept
// about as short.
const DefaultPrunerInterval = time.Hour

// prunerInterval is the Interval of a Pruner given none: a tenth of
// window, at most DefaultPrunerInterval (the default 7-day window's) and at
// least a second.
func prunerInterval(window time.Duration) time.Duration {
	return min(max(window/10, time.Second), DefaultPrunerInterval)
}

// SquarePruner deletes the stored squares of the heights below a height
// and returns how many it deleted (the node adapts eds/store.Store.Prune or
// core.Store.PruneSquares to it, see PruneFunc). It must return when ctx
// ends, keeping what it deleted.
type SquarePruner interface {
	PruneBelow(ctx context.Context, below uint64) (int, error)
}

// PruneFunc is a SquarePruner as a function, such as eds/store.Store.Prune.
type PruneFunc func(ctx context.Context, below uint64) (int, error)

// PruneBelow calls f.
func (f PruneFunc) PruneBelow(ctx context.Context, below uint64) (int, error) { return f(ctx, below) }

// PrunerOptions configure NewPruner. The zero value means the defaults.
type PrunerOptions struct {
	// Window: see DefaultAvailabilityWindow. Squares of headers older
	// than Now() minus Window are pruned.
	Window time.Duration
	// Interval: how often to look; 0 means a tenth of Window, see
	// DefaultPrunerInterval.
	Interval time.Duration
	// Archival keeps every square: Start starts nothing and Prune deletes
	// nothing (the --archival flag).
	Archival bool
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Logger receives what was pruned and errors; nil discards.
	Logger *slog.Logger
}

// Pruner deletes, in the background, the squares of bridge and full
// nodes that left the availability window. Prune is its synchronous core;
// Start runs it at once and then every Interval. Its methods are safe for
// concurrent use.
type Pruner struct {
	headers Headers
	squares SquarePruner
	opts    PrunerOptions

	mu     sync.Mutex
	state  int // stateNew, stateStarted, stateStopped
	cancel context.CancelFunc
	done   chan struct{}
}

// NewPruner returns a pruner of squares over the node's headers. It does
// no I/O; Start begins.
func NewPruner(headers Headers, squares SquarePruner, opts PrunerOptions) (*Pruner, error) {
	if headers == nil || squares == nil {
		return nil, fmt.Errorf("%w: nil headers or square pruner", ErrInvalidOptions)
	}
	if opts.Window == 0 {
		opts.Window = DefaultAvailabilityWindow
	}
	if opts.Interval == 0 {
		opts.Interval = prunerInterval(opts.Window)
	}
	if opts.Window < 0 || opts.Interval < 0 {
		return nil, fmt.Errorf("%w: negative pruner window or interval", ErrInvalidOptions)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pruner{headers: headers, squares: squares, opts: opts, done: make(chan struct{})}, nil
}

// Cutoff returns the height below which squares are outside the
// availability window: the lowest height whose header time is not before
// Now() minus Window, found by binary search over Headers (header times
// grow with height; heights below the store's base count as old). It is
// at most the head's height: the head's square is kept even when it is
// old (a node that was off for longer than the window), as the bridge's
// store requires. It returns 0 for an empty store.
func (p *Pruner) Cutoff(ctx context.Context) (uint64, error) {
	head := p.headers.Height()
	if head == 0 {
		return 0, nil
	}
	first, err := firstAtOrAfter(ctx, p.headers, head, p.opts.Now().Add(-p.opts.Window))
	if err != nil {
		return 0, fmt.Errorf("das: pruner: %w", err)
	}
	return min(first, head), nil
}

// Prune deletes the squares below Cutoff now, and returns that height and
// how many squares were deleted. It does nothing for an archival node.
func (p *Pruner) Prune(ctx context.Context) (below uint64, n int, err error) {
	if p.opts.Archival {
		return 0, 0, nil
	}
	below, err = p.Cutoff(ctx)
	if err != nil || below <= 1 {
		return below, 0, err
	}
	n, err = p.squares.PruneBelow(ctx, below)
	if err != nil {
		return below, n, fmt.Errorf("das: pruning squares below %d: %w", below, err)
	}
	return below, n, nil
}

// Start starts the background loop: Prune at once, then every Interval.
// For an archival node it starts nothing. Calling Start again is a no-op;
// after Stop it returns ErrStopped.
func (p *Pruner) Start(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state {
	case stateStarted:
		return nil
	case stateStopped:
		return ErrStopped
	}
	p.state = stateStarted
	if p.opts.Archival {
		close(p.done)
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.run(ctx)
	return nil
}

func (p *Pruner) run(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(p.opts.Interval)
	defer t.Stop()
	for {
		below, n, err := p.Prune(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			p.opts.Logger.Warn("das: pruning squares", "err", err)
		case n > 0:
			p.opts.Logger.Info("das: pruned squares outside the availability window", "below", below, "squares", n)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// Stop ends the loop and waits for it: a prune in progress stops between
// batches. It is idempotent, and a no-op before Start (after which Start
// returns ErrStopped, as a DASer's). It returns ctx's
// error if ctx ends first; the loop still exits on its own.
func (p *Pruner) Stop(ctx context.Context) error {
	p.mu.Lock()
	st := p.state
	p.state = stateStopped
	p.mu.Unlock()
	if st != stateStarted {
		return nil
	}
	if p.cancel != nil {
		p.cancel()
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("das: pruner stop: %w", ctx.Err())
	}
}

// firstAtOrAfter returns the lowest height in [1, head] whose header time
// is not before cutoff, or head+1 if there is none, by binary search: the
// store holds a contiguous run below head, whose heights below its base
// GetByHeight reports as header.ErrNotFound, and header times grow with
// height.
func firstAtOrAfter(ctx context.Context, headers Headers, head uint64, cutoff time.Time) (uint64, error) {
	lo, hi := uint64(1), head+1 // the answer is in [lo, hi]
	for lo < hi {
		mid := lo + (hi-lo)/2
		h, err := headers.GetByHeight(ctx, mid)
		switch {
		case errors.Is(err, header.ErrNotFound):
			lo = mid + 1 // below the store's base
		case err != nil:
			return 0, fmt.Errorf("header %d: %w", mid, err)
		case h.Time().Before(cutoff):
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return lo, nil
}
