package streamserver

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/datamesh/mesh-node/internal/peerlimit"
)

// Settings are what header-ex and shrex servers share besides the
// lifecycle: the limits of what one peer may ask at once and how fast, how
// long a server waits on a stream, and where it logs. Each protocol sets
// its own defaults and exposes the Options as its server options, adding
// its component prefix to their errors.
type Settings struct {
	// MaxStreamsPerPeer is how many streams of one peer are served at once
	// (>= 1).
	MaxStreamsPerPeer int
	// PeerRate and PeerBurst are each peer's token bucket: requests a
	// second (> 0) and bursts (>= 1).
	PeerRate  float64
	PeerBurst int
	// ReadTimeout bounds reading a request, WriteTimeout writing a response
	// (both > 0; a protocol may add to the latter for large responses).
	ReadTimeout, WriteTimeout time.Duration
	// Log is the server's logger.
	Log *slog.Logger
}

// Limiter returns the per-peer limiter of s, reading the time from now
// (time.Now if nil).
func (s Settings) Limiter(now func() time.Time) *peerlimit.Limiter {
	return peerlimit.New(s.MaxStreamsPerPeer, s.PeerRate, s.PeerBurst, now)
}

// Option sets some of Settings. It rejects a value out of range with an
// error the caller prefixes with its component ("shrex: ").
type Option func(*Settings) error

// MaxStreamsPerPeer sets Settings.MaxStreamsPerPeer (n >= 1).
func MaxStreamsPerPeer(n int) Option {
	return func(s *Settings) error {
		if n < 1 {
			return fmt.Errorf("max streams per peer %d, want >= 1", n)
		}
		s.MaxStreamsPerPeer = n
		return nil
	}
}

// PeerRateLimit sets each peer's token bucket: perSecond requests a second
// (> 0) with bursts of burst (>= 1).
func PeerRateLimit(perSecond float64, burst int) Option {
	return func(s *Settings) error {
		if !(perSecond > 0) || burst < 1 {
			return fmt.Errorf("rate limit %v/s burst %d, want a positive rate and burst >= 1", perSecond, burst)
		}
		s.PeerRate, s.PeerBurst = perSecond, burst
		return nil
	}
}

// Timeouts sets the read and write timeouts, both > 0.
func Timeouts(read, write time.Duration) Option {
	return func(s *Settings) error {
		if read <= 0 || write <= 0 {
			return fmt.Errorf("server timeouts %v, %v: want > 0", read, write)
		}
		s.ReadTimeout, s.WriteTimeout = read, write
		return nil
	}
}

// Logger sets the logger (not nil).
func Logger(log *slog.Logger) Option {
	return func(s *Settings) error {
		if log == nil {
			return errors.New("nil logger")
		}
		s.Log = log
		return nil
	}
}

// Apply applies o to s and prefixes its error with name: a protocol's
// server option is func(c *config) error { return o.Apply("shrex",
// &c.Settings) }.
func (o Option) Apply(name string, s *Settings) error {
	if err := o(s); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
