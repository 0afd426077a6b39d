package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/core/meshrpc"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
)

// errVerify is wrapped when a header does not verify against the stored one
// below it.
var errVerify = errors.New("core: header does not verify against the stored chain")

// Client is what the follower needs of a core node's RPC. CometBFT's
// rpc/client/http.HTTP implements it.
type Client interface {
	Status(ctx context.Context) (*coretypes.ResultStatus, error)
	Block(ctx context.Context, height *int64) (*coretypes.ResultBlock, error)
	Commit(ctx context.Context, height *int64) (*coretypes.ResultCommit, error)
	Validators(ctx context.Context, height *int64, page, perPage *int) (*coretypes.ResultValidators, error)
}

// Subscriber is implemented by a Client that can push new blocks over a
// websocket (rpc/client/http.HTTP does). The follower starts it, subscribes
// to new block headers as a wake-up signal, and stops it on disconnect;
// without it, or when subscribing fails, the follower polls.
type Subscriber interface {
	Start() error
	Stop() error
	Subscribe(ctx context.Context, subscriber, query string, outCapacity ...int) (<-chan coretypes.ResultEvent, error)
}

// Defaults of Options.
const (
	DefaultPollInterval   = time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultMinBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultStallTimeout   = time.Minute
	// FollowerTrustingPeriod is the follower's trusting period when
	// Options.Verify leaves it zero: 100 years.
	FollowerTrustingPeriod = 100 * 365 * 24 * time.Hour
	// MaxValidators bounds the validator set the follower fetches for one
	// height (CometBFT pages them, 100 at a time).
	MaxValidators = 10_000
)

// blockTimeoutFactor is how many RequestTimeouts fetching one height may
// take.
const blockTimeoutFactor = 3

// Options configure a Follower.
type Options struct {
	// RPC is the core node's RPC address, such as "http://127.0.0.1:26657".
	// Required unless Dial is set.
	RPC string
	// ChainID is the chain the follower expects; a core node serving
	// another is refused with ErrChainIDMismatch. Required.
	ChainID string
	// Store receives every header and square. Required.
	Store *Store
	// MaxSquareSize is the chain's MaxSquareSize parameter; 0 means
	// share.DefaultMaxSquareSize.
	MaxSquareSize int
	// Logger receives connection events, errors and progress; nil
	// discards them.
	Logger *slog.Logger
	// OnHeader, if set, is called with every header once it and its square
	// are stored, in height order, from the follower's goroutine: it should
	// hand the header on (to gossip, say) rather than block.
	OnHeader func(*header.ExtendedHeader)
	// Verify parameterises the verification of each header against the one
	// before. A zero TrustingPeriod means FollowerTrustingPeriod, not
	// header's light-client default: the follower's trust comes from the
	// core node it runs beside and the unbroken chain of adjacent headers,
	// so a bridge that was down for weeks still resumes. A shorter period
	// bounds how far behind the core node's head it may resume from.
	Verify header.VerifyOptions
	// PollInterval is how often the follower asks for the core node's
	// height when no websocket event arrives; 0 means DefaultPollInterval.
	PollInterval time.Duration
	// RequestTimeout bounds each RPC call; 0 means DefaultRequestTimeout.
	// Fetching a height (its block, commit and validators) may take
	// three times as long: a block of a 256 square is about 41 MiB, and
	// its JSON (when the core node serves no binary route) took over 10 s
	// to encode and decode on a loaded 2-core machine.
	RequestTimeout time.Duration
	// MinBackoff and MaxBackoff bound the exponential wait between
	// reconnection attempts; 0 means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// StallTimeout is how long the core node's height may stay the same
	// before the follower drops the connection and reconnects (a hung node,
	// or a connection kept alive to a node that was replaced); 0 means
	// DefaultStallTimeout.
	StallTimeout time.Duration
	// MaxResponseBytes bounds each RPC response read from the core node
	// (ErrResponseTooLarge beyond it); 0 means DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// Dial, if set, replaces the CometBFT HTTP client (tests use it to
	// inject faults). It must do no network I/O.
	Dial func(rpc string) (Client, error)
	// Metrics, if set, observes every height stored.
	Metrics Metrics
	// Squares, if set, may hand over the extended square of a block
	// already built in this process (the application of a validator in
	// the same process, as in the devnet): the follower asks it for every
	// block's square by the data root its data root transaction commits
	// to, checks what it is given (BuildHeaderFrom) and builds the square
	// itself when given nothing, or a square that is not the block's
	// (logged). Nil: the follower builds every square.
	Squares Squares
}

// Squares hands over extended data squares built elsewhere in the
// process; *app.App (WithSquareHandOff) implements it. TakeSquare returns
// the square whose DAH hashes to dataRoot and that DAH, or ok false; the
// follower owns, stores and serves what it is given, which the source must
// never modify or reuse. It is called from the follower's goroutine.
type Squares interface {
	TakeSquare(dataRoot []byte) (ext *eds.ExtendedDataSquare, dah *eds.DataAvailabilityHeader, ok bool)
}

// Metrics observes a Follower's ingestion; the consumer of the numbers
// (nodebuilder's Prometheus collectors) implements it. It is called from
// the follower's goroutine and must not block.
type Metrics interface {
	// ObserveIngest is called once for each height stored, in height
	// order, after its header and square are stored and before
	// Options.OnHeader: squareSize is the original square's width k, d
	// the time taken to fetch, build, verify and store it.
	ObserveIngest(height uint64, squareSize int, d time.Duration)
}

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.ChainID == "":
		return o, errors.New("core: Options.ChainID is required")
	case o.Store == nil:
		return o, errors.New("core: Options.Store is required")
	case o.RPC == "" && o.Dial == nil:
		return o, errors.New("core: Options.RPC is required")
	case o.PollInterval < 0 || o.RequestTimeout < 0 || o.MinBackoff < 0 || o.MaxBackoff < 0 || o.StallTimeout < 0 || o.MaxResponseBytes < 0:
		return o, errors.New("core: negative duration in Options")
	}
	if o.MaxSquareSize == 0 {
		o.MaxSquareSize = share.DefaultMaxSquareSize
	}
	if !share.IsPowerOfTwo(o.MaxSquareSize) || o.MaxSquareSize > share.SquareSizeUpperBound {
		return o, fmt.Errorf("core: max square size %d is not a power of two up to %d", o.MaxSquareSize, share.SquareSizeUpperBound)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.Verify.TrustingPeriod == 0 {
		o.Verify.TrustingPeriod = FollowerTrustingPeriod
	}
	if o.MaxResponseBytes == 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.Dial == nil {
		max := o.MaxResponseBytes
		o.Dial = func(rpc string) (Client, error) { return dialHTTP(rpc, max) }
	}
	return o, nil
}

// Follower follows a core node: for every height above its store's head it
// fetches the block, its commit and validator set, builds the extended
// header and square (BuildHeader), verifies the header against the one
// before (header.VerifyAdjacent), stores both (Store.Put) and reports the
// header (Options.OnHeader). It is woken by a websocket subscription to new
// blocks and polls as a fallback; on any RPC error it drops the connection
// and reconnects with exponential backoff, resuming from its store's head,
// so a restarted core node or follower leaves no gap and no duplicate.
type Follower struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns a follower; it does no I/O.
func New(opts Options) (*Follower, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Follower{opts: opts, log: opts.Logger.With("component", "core.follower", "chain", opts.ChainID)}, nil
}

// Start connects to the core node, checks its chain ID and starts following
// it. ctx bounds the first connection only. It fails, and starts nothing,
// when the core node cannot be reached within ctx and the request timeout
// (the error names the address) or serves another chain
// (ErrChainIDMismatch), and when the store's head has no square
// (ErrInconsistentStore). Once started, connection losses are retried in the
// background. Calling Start on a started follower does nothing.
func (f *Follower) Start(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started {
		return nil
	}
	if err := f.opts.Store.CheckHead(ctx); err != nil {
		return err
	}
	c, err := f.connect(ctx)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done, f.started = cancel, make(chan struct{}), true
	go f.run(runCtx, c)
	return nil
}

// Stop stops following and returns once the follower's goroutine (and the
// client it owns) has stopped, or with ctx's error if ctx ends first (the
// goroutine is then still stopping). Calling Stop on a stopped or never
// started follower does nothing; a stopped follower may be started again.
func (f *Follower) Stop(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started {
		return nil
	}
	f.cancel()
	select {
	case <-f.done:
	case <-ctx.Done():
		return fmt.Errorf("core: stopping the follower: %w", ctx.Err())
	}
	f.started = false
	return nil
}

// connect dials the core node and checks its chain ID.
func (f *Follower) connect(ctx context.Context) (Client, error) {
	c, err := f.opts.Dial(f.opts.RPC)
	if err != nil {
		return nil, fmt.Errorf("core: client for %s: %w", f.opts.RPC, err)
	}
	rctx, cancel := context.WithTimeout(ctx, f.opts.RequestTimeout)
	defer cancel()
	st, err := c.Status(rctx)
	if err != nil {
		release(c)
		return nil, fmt.Errorf("core: core node %s unreachable: %w", f.opts.RPC, err)
	}
	if st.NodeInfo.Network != f.opts.ChainID {
		release(c)
		return nil, fmt.Errorf("%w: core node %s serves %q, want %q", ErrChainIDMismatch, f.opts.RPC, st.NodeInfo.Network, f.opts.ChainID)
	}
	return c, nil
}

// run is the follower's goroutine: follow with c until an error, then
// reconnect with backoff, until ctx ends.
func (f *Follower) run(ctx context.Context, c Client) {
	defer close(f.done)
	backoff := f.opts.MinBackoff
	for {
		progressed, err := f.follow(ctx, c)
		release(c)
		if ctx.Err() != nil {
			return
		}
		if progressed {
			backoff = f.opts.MinBackoff
		}
		if errors.Is(err, ErrDiskFull) {
			f.log.Error("cannot store the next height; retrying", "height", f.opts.Store.Height()+1, "err", err, "backoff", backoff)
		} else if errors.Is(err, ErrMalformedBlock) || errors.Is(err, ErrChainIDMismatch) || errors.Is(err, errVerify) {
			// Retrying may help only if the core node is replaced or fixed.
			f.log.Error("cannot follow the core node; retrying", "rpc", f.opts.RPC, "height", f.opts.Store.Height()+1, "err", err, "backoff", backoff)
		} else {
			f.log.Warn("lost the core node; reconnecting", "rpc", f.opts.RPC, "height", f.opts.Store.Height(), "err", err, "backoff", backoff)
		}
		for {
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, f.opts.MaxBackoff)
			if c, err = f.connect(ctx); err == nil {
				f.log.Info("reconnected to the core node", "rpc", f.opts.RPC)
				break
			}
			if ctx.Err() != nil {
				return
			}
			f.log.Warn("core node unavailable", "rpc", f.opts.RPC, "err", err, "backoff", backoff)
		}
	}
}

// sleep waits d or until ctx ends, reporting whether it waited d.
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

// follow catches up with c's head and keeps following it until an error or
// ctx ends. It reports whether it stored a header.
func (f *Follower) follow(ctx context.Context, c Client) (progressed bool, err error) {
	var events <-chan coretypes.ResultEvent
	if s, ok := c.(Subscriber); ok {
		if err := s.Start(); err != nil {
			f.log.Warn("no websocket; polling", "err", err)
		} else {
			defer func() {
				if err := s.Stop(); err != nil {
					f.log.Debug("stopping the websocket client", "err", err)
				}
			}()
			sctx, cancel := context.WithTimeout(ctx, f.opts.RequestTimeout)
			events, err = s.Subscribe(sctx, "mesh-bridge", cmttypes.EventQueryNewBlockHeader.String(), 16)
			cancel()
			if err != nil {
				f.log.Warn("websocket subscription failed; polling", "err", err)
				events = nil
			}
		}
	}
	tick := time.NewTicker(f.opts.PollInterval)
	defer tick.Stop()
	var seen int64
	seenAt := time.Now()
	for {
		latest, n, err := f.catchUp(ctx, c)
		progressed = progressed || n > 0
		if err != nil {
			return progressed, err
		}
		if latest > seen {
			seen, seenAt = latest, time.Now()
		} else if time.Since(seenAt) > f.opts.StallTimeout {
			return progressed, fmt.Errorf("core: core node %s has stayed at height %d for %v", f.opts.RPC, seen, f.opts.StallTimeout)
		}
		select {
		case <-ctx.Done():
			return progressed, ctx.Err()
		case <-events:
		case <-tick.C:
		}
	}
}

// catchUp stores every height from the store's head+1 to c's latest height
// and returns that height and how many it stored.
func (f *Follower) catchUp(ctx context.Context, c Client) (latest int64, n int, err error) {
	rctx, cancel := context.WithTimeout(ctx, f.opts.RequestTimeout)
	st, err := c.Status(rctx)
	cancel()
	if err != nil {
		return 0, 0, fmt.Errorf("core: status of %s: %w", f.opts.RPC, err)
	}
	if st.NodeInfo.Network != f.opts.ChainID {
		return 0, 0, fmt.Errorf("%w: core node %s serves %q, want %q", ErrChainIDMismatch, f.opts.RPC, st.NodeInfo.Network, f.opts.ChainID)
	}
	latest = st.SyncInfo.LatestBlockHeight
	for {
		if err := ctx.Err(); err != nil {
			return latest, n, err
		}
		next := f.opts.Store.Height() + 1
		if latest < 1 || next > uint64(latest) {
			return latest, n, nil
		}
		if err := f.ingest(ctx, c, next); err != nil {
			return latest, n, err
		}
		n++
	}
}

// ingest fetches, builds, verifies and stores one height.
func (f *Follower) ingest(ctx context.Context, c Client, height uint64) error {
	start := time.Now()
	b, commit, vals, err := f.fetch(ctx, c, int64(height))
	if err != nil {
		return err
	}
	check := func(h *header.ExtendedHeader) error { return f.verify(ctx, h) }
	h, ext, err := f.handedOver(b, commit, vals)
	switch {
	case err != nil:
		return err
	case h != nil:
		if err := check(h); err != nil {
			return err
		}
		if err := f.opts.Store.Put(ctx, h, ext); err != nil {
			return err
		}
	default:
		// Built here: Ingest writes the square while it extends it.
		if h, ext, err = f.opts.Store.Ingest(ctx, b, commit, vals, f.opts.MaxSquareSize, check); err != nil {
			return err
		}
	}
	if f.opts.Metrics != nil {
		f.opts.Metrics.ObserveIngest(height, ext.K(), time.Since(start))
	}
	f.log.Debug("stored header", "height", height, "square", ext.K(), "hash", fmt.Sprintf("%X", h.Hash()))
	if f.opts.OnHeader != nil {
		f.opts.OnHeader(h)
	}
	return nil
}

// verify checks h against the stored header below it, if any.
func (f *Follower) verify(ctx context.Context, h *header.ExtendedHeader) error {
	height := h.Height()
	if height <= 1 {
		return nil
	}
	prev, err := f.opts.Store.GetByHeight(ctx, height-1)
	switch {
	case err == nil:
		if err := header.VerifyAdjacent(prev, h, f.opts.Verify); err != nil {
			return fmt.Errorf("%w: height %d against %d: %w", errVerify, height, height-1, err)
		}
	case !errors.Is(err, header.ErrNotFound):
		return fmt.Errorf("core: reading height %d: %w", height-1, err)
	}
	return nil
}

// handedOver returns the block's header and square made from the square
// Options.Squares hands over when it has the block's (BuildHeaderFrom),
// and nil ones when the square is to be built (Store.Ingest).
func (f *Follower) handedOver(b *cmttypes.Block, commit *cmttypes.Commit, vals *cmttypes.ValidatorSet) (*header.ExtendedHeader, *eds.ExtendedDataSquare, error) {
	if f.opts.Squares != nil && len(b.Txs) > 0 {
		if drt, err := header.UnmarshalDataRootTx(b.Txs[len(b.Txs)-1]); err == nil {
			if ext, dah, ok := f.opts.Squares.TakeSquare(drt.DataRoot); ok {
				h, ext, err := BuildHeaderFrom(b, commit, vals, f.opts.MaxSquareSize, ext, dah)
				if !errors.Is(err, ErrSquareMismatch) {
					return h, ext, err
				}
				f.log.Warn("square handed over is not the block's; building it", "height", b.Height, "err", err)
			}
		}
	}
	return nil, nil, nil
}

// blockFetcher is a Client that can fetch a height's block, commit and
// validators in one request of the core node's binary block route
// (package meshrpc); dialHTTP's client is one.
type blockFetcher interface {
	fetchBlock(ctx context.Context, height int64) (*meshrpc.Block, error)
}

// fetch returns the block, commit and validator set of height: from the
// binary block route when c has it and the core node serves it, else from
// CometBFT's /block, /commit and /validators. Either way it checks that
// the block and commit are of height and that the set holds 1 to
// MaxValidators validators (ErrMalformedBlock).
func (f *Follower) fetch(ctx context.Context, c Client, height int64) (*cmttypes.Block, *cmttypes.Commit, *cmttypes.ValidatorSet, error) {
	ctx, cancel := context.WithTimeout(ctx, blockTimeoutFactor*f.opts.RequestTimeout)
	defer cancel()
	if bf, ok := c.(blockFetcher); ok {
		mb, err := bf.fetchBlock(ctx, height)
		switch {
		case err == nil:
			return checkFetched(height, mb.Block, mb.Commit, mb.Validators)
		case errors.Is(err, meshrpc.ErrNotServed):
			f.log.Info("the core node serves no binary block route; fetching blocks as JSON", "rpc", f.opts.RPC)
		case errors.Is(err, meshrpc.ErrMalformed):
			return nil, nil, nil, fmt.Errorf("%w: height %d: %w", ErrMalformedBlock, height, err)
		case !errors.Is(err, errNoMesh):
			return nil, nil, nil, fmt.Errorf("core: block %d: %w", height, err)
		}
	}
	rb, err := c.Block(ctx, &height)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("core: block %d: %w", height, err)
	}
	if rb == nil || rb.Block == nil || rb.Block.Height != height {
		return nil, nil, nil, fmt.Errorf("%w: height %d: the core node returned no block or another height", ErrMalformedBlock, height)
	}
	rc, err := c.Commit(ctx, &height)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("core: commit %d: %w", height, err)
	}
	if rc == nil || rc.Commit == nil {
		return nil, nil, nil, fmt.Errorf("%w: height %d: the core node returned no commit", ErrMalformedBlock, height)
	}
	var vals []*cmttypes.Validator
	perPage := 100
	for page := 1; ; page++ {
		p := page
		rv, err := c.Validators(ctx, &height, &p, &perPage)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("core: validators %d page %d: %w", height, page, err)
		}
		if rv == nil || rv.Total < 1 || rv.Total > MaxValidators || len(rv.Validators) == 0 {
			return nil, nil, nil, fmt.Errorf("%w: height %d: validator page %d is empty or the set is not 1 to %d validators", ErrMalformedBlock, height, page, MaxValidators)
		}
		vals = append(vals, rv.Validators...)
		if len(vals) >= rv.Total {
			if len(vals) > rv.Total {
				return nil, nil, nil, fmt.Errorf("%w: height %d: %d validators of %d", ErrMalformedBlock, height, len(vals), rv.Total)
			}
			break
		}
	}
	return checkFetched(height, rb.Block, rc.Commit, vals)
}

// checkFetched checks what fetch got for height and makes the validator
// set.
func checkFetched(height int64, b *cmttypes.Block, commit *cmttypes.Commit, vals []*cmttypes.Validator) (*cmttypes.Block, *cmttypes.Commit, *cmttypes.ValidatorSet, error) {
	if b == nil || b.Height != height {
		return nil, nil, nil, fmt.Errorf("%w: height %d: the core node returned no block or another height", ErrMalformedBlock, height)
	}
	if commit == nil || commit.Height != height {
		return nil, nil, nil, fmt.Errorf("%w: height %d: the core node returned no commit or one of another height", ErrMalformedBlock, height)
	}
	if len(vals) < 1 || len(vals) > MaxValidators {
		return nil, nil, nil, fmt.Errorf("%w: height %d: %d validators, want 1 to %d", ErrMalformedBlock, height, len(vals), MaxValidators)
	}
	set, err := cmttypes.ValidatorSetFromExistingValidators(vals)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: height %d: validator set: %w", ErrMalformedBlock, height, err)
	}
	return b, commit, set, nil
}
