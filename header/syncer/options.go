package syncer

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/datamesh/mesh-node/header"
)

// Defaults of Options.
const (
	// DefaultBatchSize is header.MaxRangeSize: the most one
	// GetVerifiedRange call may return, so a sync makes as few round
	// trips (and store transactions) as the exchange allows.
	DefaultBatchSize = header.MaxRangeSize
	// DefaultHeadPollInterval is how long header gossip may stay quiet
	// before the syncer asks the exchange for the network head: several
	// block times of any network (1 s on devnet, about 6 to 12 s on
	// Celestia-like chains), so a healthy gossip mesh makes it rare, while a
	// node whose mesh broke falls behind by at most this long.
	DefaultHeadPollInterval = 30 * time.Second
	// DefaultProgressInterval spaces the progress lines of a long sync.
	DefaultProgressInterval = 10 * time.Second
	// DefaultRetryBackoff is the first pause after a transient error; it
	// doubles on each failure in a row up to DefaultMaxRetryBackoff.
	DefaultRetryBackoff    = time.Second
	DefaultMaxRetryBackoff = time.Minute
)

// Options configure Init and New. The zero value means the defaults.
type Options struct {
	// VerifyOptions parameterise header verification (trusting period,
	// clock drift, trust level). Leave Now zero outside tests.
	VerifyOptions header.VerifyOptions
	// ChainID, when set, is the chain Init requires of the trusted header.
	ChainID string
	// BatchSize is the number of headers requested at once, in
	// [1, header.MaxRangeSize]. Zero means DefaultBatchSize.
	BatchSize uint64
	// HeadPollInterval: see DefaultHeadPollInterval.
	HeadPollInterval time.Duration
	// ProgressInterval: see DefaultProgressInterval.
	ProgressInterval time.Duration
	// RetryBackoff and MaxRetryBackoff: see DefaultRetryBackoff.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// OnHead, if set, is called with the new head after every append (by
	// the range sync, with the last header of the range; by gossip, with
	// the header), in height order: it runs under the syncer's append lock,
	// so it must hand the header on (to the DASer, say), not block.
	OnHead func(*header.ExtendedHeader)
	// Logger receives progress and errors; nil discards.
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.HeadPollInterval == 0 {
		o.HeadPollInterval = DefaultHeadPollInterval
	}
	if o.ProgressInterval == 0 {
		o.ProgressInterval = DefaultProgressInterval
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = DefaultRetryBackoff
	}
	if o.MaxRetryBackoff == 0 {
		o.MaxRetryBackoff = max(DefaultMaxRetryBackoff, o.RetryBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.BatchSize > header.MaxRangeSize:
		return o, fmt.Errorf("%w: batch size %d above %d", ErrInvalidOptions, o.BatchSize, header.MaxRangeSize)
	case o.HeadPollInterval < 0 || o.ProgressInterval < 0 || o.RetryBackoff < 0 || o.MaxRetryBackoff < o.RetryBackoff:
		return o, fmt.Errorf("%w: negative or inverted durations", ErrInvalidOptions)
	case o.VerifyOptions.TrustingPeriod < 0:
		return o, fmt.Errorf("%w: negative trusting period", ErrInvalidOptions)
	}
	return o, nil
}

func (o Options) trustingPeriod() time.Duration {
	if o.VerifyOptions.TrustingPeriod == 0 {
		return header.DefaultTrustingPeriod
	}
	return o.VerifyOptions.TrustingPeriod
}

func (o Options) now() time.Time {
	if o.VerifyOptions.Now.IsZero() {
		return time.Now()
	}
	return o.VerifyOptions.Now
}

// expired reports whether h is too old to verify anything from.
func (o Options) expired(h *header.ExtendedHeader) bool {
	return !h.Time().Add(o.trustingPeriod()).After(o.now())
}
