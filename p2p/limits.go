package p2p

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// Limits are a node's connection and resource limits (Config.Limits).
// nodebuilder chooses them per mode.
type Limits struct {
	// ConnLow and ConnHigh are the connection manager's watermarks: above
	// ConnHigh connections it trims down to ConnLow, sparing protected
	// (trusted) peers and connections younger than ConnGrace. ConnHigh
	// must be positive and at least ConnLow.
	ConnLow, ConnHigh int
	// ConnGrace is the connection manager's grace period; zero means
	// DefaultConnGrace.
	ConnGrace time.Duration
	// Memory and FDs size the resource manager: rcmgr.DefaultLimits (with
	// libp2p's service limits) scaled to this many bytes and file
	// descriptors. Both must be positive. The system-wide connection limit
	// that results must stay above ConnHigh.
	Memory int64
	FDs    int
	// DiscoveryPeers is how many peers found through Config.Discover the
	// node keeps connected; it must be positive when Discover is set.
	DiscoveryPeers int
}

// DefaultConnGrace is the connection manager's grace period when
// Limits.ConnGrace is zero: a new connection is not trimmed for a minute,
// long enough for identify and a first request.
const DefaultConnGrace = time.Minute

// validate checks l and fills in its defaults.
func (l *Limits) validate() error {
	switch {
	case l.ConnLow < 0 || l.ConnHigh < 0 || l.ConnGrace < 0 || l.Memory < 0 || l.FDs < 0 || l.DiscoveryPeers < 0:
		return fmt.Errorf("%w: negative limit, count or duration", ErrInvalidConfig)
	case l.ConnHigh == 0 || l.Memory == 0 || l.FDs == 0:
		return fmt.Errorf("%w: Limits.ConnHigh %d, Memory %d and FDs %d must all be positive", ErrInvalidConfig, l.ConnHigh, l.Memory, l.FDs)
	case l.ConnLow > l.ConnHigh:
		return fmt.Errorf("%w: ConnLow %d above ConnHigh %d", ErrInvalidConfig, l.ConnLow, l.ConnHigh)
	}
	if l.ConnGrace == 0 {
		l.ConnGrace = DefaultConnGrace
	}
	return nil
}

// ResourceLimits returns the resource manager limits of l:
// rcmgr.DefaultLimits plus libp2p's default service limits, scaled to
// l.Memory and l.FDs. The result is a fresh value.
func (l Limits) ResourceLimits() rcmgr.ConcreteLimitConfig {
	scaling := rcmgr.DefaultLimits // a copy; the maps below are fresh
	libp2p.SetDefaultServiceLimits(&scaling)
	return scaling.Scale(l.Memory, l.FDs)
}
