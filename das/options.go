package das

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
)

// Defaults of Options.
const (
	// DefaultSamplesPerHeader is the light-node figure of
	// docs/availability.md: 16 samples give a confidence above 99% (1-(3/4)^16 ≈ 0.990) that a block is
	// available, see Confidence.
	DefaultSamplesPerHeader = 16
	// DefaultWorkers is the number of catch-up jobs sampled at once. Each
	// job samples its heights one after the other, each header's samples
	// in parallel, so up to DefaultWorkers*SamplesPerHeader requests are
	// in flight: enough to catch up quickly without flooding the few peers
	// a light node has.
	DefaultWorkers = 4
	// DefaultRangeSize is the number of heights in one catch-up job: small
	// enough that the in-progress ranges of a restart are short, large
	// enough that the scheduler is rarely consulted.
	DefaultRangeSize = 64
	// DefaultSampleTimeout bounds the sampling of one header, all its
	// samples and their retries. Each sample is a round trip of about a
	// kilobyte; 30 s leaves room for the getter to try several peers (its
	// own per-peer timeouts are seconds) and for a node that has just
	// started to find peers, yet a withholding producer is found
	// unavailable within half a minute. A shorter timeout turns slow links
	// into false unavailability; a failed height is retried anyway.
	DefaultSampleTimeout = 30 * time.Second
	// DefaultFullTimeout bounds the fetching of one whole square by a full
	// DASer (NewFull), its retries across peers and any reconstruction
	// included. A 128-wide square is 8 MiB of original shares, 32 MiB
	// extended; two minutes leave room to fetch it over a slow link or to
	// rebuild it from rows and samples of several peers.
	DefaultFullTimeout = 2 * time.Minute
	// DefaultSamplingWindow is the availability window (7 days,
	// docs/availability.md):
	// full nodes keep squares that long, so older headers cannot be
	// sampled and are skipped.
	DefaultSamplingWindow = 7 * 24 * time.Hour
	// DefaultRetryBackoff is the pause before a failed height is sampled
	// again; it doubles with each failed attempt up to
	// DefaultMaxRetryBackoff.
	DefaultRetryBackoff    = time.Minute
	DefaultMaxRetryBackoff = time.Hour
	// DefaultPollInterval is how often the DASer asks Headers for the head
	// when OnHead is quiet (the fast path brings each new head at once;
	// polling only covers a node that does not call OnHead).
	DefaultPollInterval = 10 * time.Second
	// DefaultPruneInterval is how often per-height results that left the
	// sampling window are deleted.
	DefaultPruneInterval = time.Hour
)

// Options configure New. The zero value means the defaults.
type Options struct {
	// SamplesPerHeader: see DefaultSamplesPerHeader. A square with fewer
	// cells has all of them sampled.
	SamplesPerHeader int
	// Workers: see DefaultWorkers. The fast path (OnHead) runs besides
	// them, one job per new head.
	Workers int
	// RangeSize: see DefaultRangeSize.
	RangeSize uint64
	// SampleTimeout: see DefaultSampleTimeout. Light DASers (New) only.
	SampleTimeout time.Duration
	// FullTimeout: see DefaultFullTimeout. Full DASers (NewFull) only.
	FullTimeout time.Duration
	// OnStored, when set, is called by a full DASer (NewFull) after it
	// has stored a square it fetched, once per height it stored (not for
	// squares the SquareStore already had); the node announces the height
	// on eds-sub. It is called from the DASer's workers, concurrently, and
	// must not block for long.
	OnStored func(h *header.ExtendedHeader)
	// Halt, when set, is the node's halting rule (*fraud.Halt): once it
	// holds a proof that a block is badly encoded, whoever found it, the
	// DASer halts as on a proof of its own (see DASer.BadEncoding). It
	// checks and fetches nothing more and cancels the checks in flight;
	// Result and SharesAvailable report every height at or above the
	// block unavailable; WaitCatchUp returns ErrBadEncoding; Stats names
	// the proof. Nil: only a full DASer's own proofs halt it.
	Halt Halter
	// OnBadEncoding, when set, is called by a full DASer with each
	// bad-encoding proof it finds itself, validated against its header
	// and persisted, that is lower than any it held; and, once its loop
	// runs, with the proof it reloaded at Start. The node publishes the
	// proof (fraud gossip) and halts on it. It is called from the
	// DASer's loop, must not block for long, and must accept a proof it
	// was handed before.
	OnBadEncoding func(p *eds.BadEncodingProof)
	// SamplingWindow: see DefaultSamplingWindow. A header whose time is
	// before Now() minus the window is skipped, not sampled.
	SamplingWindow time.Duration
	// SampleFrom is the first height to sample on a first start (a
	// checkpoint, once written, takes precedence). Zero means the lowest
	// height that both the store holds and lies inside the sampling
	// window, found by binary search at Start: a light node started from a
	// recent trusted header does not walk down to height 1, and one that
	// was off for weeks does not visit headers it would skip.
	SampleFrom uint64
	// RetryBackoff and MaxRetryBackoff: see DefaultRetryBackoff.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// PollInterval: see DefaultPollInterval.
	PollInterval time.Duration
	// PruneInterval: see DefaultPruneInterval.
	PruneInterval time.Duration
	// Rand, when set, chooses the coordinates to sample (tests use a
	// seeded source). Nil means crypto/rand: a producer must not predict
	// which cells a light node will ask for.
	Rand rand.Source
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// DB keeps the checkpoint and per-height results under the key prefix
	// "das/". Nil keeps them in memory only: a restart samples again.
	DB *badger.DB
	// Logger receives progress and errors; nil discards.
	Logger *slog.Logger
	// Metrics, when set, receives the time each header's check took (see
	// Metrics). Nil records nothing.
	Metrics Metrics
}

// Metrics is what a DASer reports to (the node's Prometheus registry
// implements it). Its methods are called from the DASer's workers,
// concurrently, and must not block.
type Metrics interface {
	// ObserveHeader records the check of one header found available: d is
	// the time from the start of its check to its outcome, all its samples
	// fetched and verified (New), or its whole square fetched, verified and
	// stored (NewFull). Unavailable, skipped and abandoned heights are not
	// observed.
	ObserveHeader(d time.Duration)
}

func (o Options) withDefaults() (Options, error) {
	if o.SamplesPerHeader == 0 {
		o.SamplesPerHeader = DefaultSamplesPerHeader
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.RangeSize == 0 {
		o.RangeSize = DefaultRangeSize
	}
	if o.SampleTimeout == 0 {
		o.SampleTimeout = DefaultSampleTimeout
	}
	if o.FullTimeout == 0 {
		o.FullTimeout = DefaultFullTimeout
	}
	if o.SamplingWindow == 0 {
		o.SamplingWindow = DefaultSamplingWindow
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = DefaultRetryBackoff
	}
	if o.MaxRetryBackoff == 0 {
		o.MaxRetryBackoff = max(DefaultMaxRetryBackoff, o.RetryBackoff)
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.PruneInterval == 0 {
		o.PruneInterval = DefaultPruneInterval
	}
	if o.Rand == nil {
		o.Rand = cryptoSource{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.Halt != nil && reflect.ValueOf(o.Halt).Kind() == reflect.Pointer && reflect.ValueOf(o.Halt).IsNil():
		return o, fmt.Errorf("%w: nil Halt", ErrInvalidOptions)
	case o.SamplesPerHeader < 0 || o.Workers < 0:
		return o, fmt.Errorf("%w: negative samples per header or workers", ErrInvalidOptions)
	case o.SampleTimeout < 0 || o.FullTimeout < 0 || o.SamplingWindow < 0 || o.RetryBackoff < 0 || o.MaxRetryBackoff < o.RetryBackoff ||
		o.PollInterval < 0 || o.PruneInterval < 0:
		return o, fmt.Errorf("%w: negative or inverted durations", ErrInvalidOptions)
	}
	return o, nil
}
