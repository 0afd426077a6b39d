package p2p

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// Mode is the kind of node a host belongs to. It decides the DHT mode,
// whether the node advertises itself for discovery, gossipsub peer exchange,
// and the default connection and resource limits. It is decided by
// nodebuilder; p2p's consumers never switch on it.
type Mode string

// The modes of a DataMesh node.
const (
	// ModeBridge follows a core node and serves every square: DHT server,
	// advertises RendezvousFull, the largest limits.
	ModeBridge Mode = "bridge"
	// ModeFull reconstructs and serves squares: DHT server, advertises and
	// looks for RendezvousFull.
	ModeFull Mode = "full"
	// ModeLight samples: DHT client, looks for RendezvousFull, small limits
	// because it runs on laptops.
	ModeLight Mode = "light"
)

// Validate returns nil for ModeBridge, ModeFull and ModeLight and an error
// wrapping ErrInvalidConfig otherwise (including the empty Mode).
func (m Mode) Validate() error {
	switch m {
	case ModeBridge, ModeFull, ModeLight:
		return nil
	}
	return fmt.Errorf("%w: unknown mode %q (want bridge, full or light)", ErrInvalidConfig, string(m))
}

// String returns the mode's name.
func (m Mode) String() string { return string(m) }

// Limits are a mode's default connection and resource limits.
type Limits struct {
	// ConnLow and ConnHigh are the connection manager's watermarks: above
	// ConnHigh connections it trims down to ConnLow, sparing protected
	// (trusted) peers and connections younger than ConnGrace.
	ConnLow, ConnHigh int
	ConnGrace         time.Duration
	// Memory and FDs size the resource manager: rcmgr.DefaultLimits (with
	// libp2p's service limits) scaled to this many bytes and file
	// descriptors. The system-wide connection limit that results must stay
	// above ConnHigh.
	Memory int64
	FDs    int
	// DiscoveryPeers is how many peers found through RendezvousFull a node
	// that looks for them (full, light) keeps connected; 0 for bridge,
	// which does not look.
	DiscoveryPeers int
}

// DefaultConnGrace is the connection manager's grace period in every mode: a
// new connection is not trimmed for a minute, long enough for identify and
// a first request.
const DefaultConnGrace = time.Minute

// Limits returns the mode's defaults; ok is false for an invalid mode.
//
//   - light: 25/50 connections, 128 MiB and 256 FDs. At 128 MiB rcmgr uses
//     its base limits unscaled: 128 system connections (64 inbound), 128 MiB
//     of stream buffers. A light node talks to a handful of full nodes and a
//     bridge; it must not grow on a laptop.
//   - full: 100/200 connections, 1 GiB and 2048 FDs: 256 system connections
//     (128 inbound). A full node serves light nodes and fetches from peers.
//   - bridge: 400/800 connections, 8 GiB and 8192 FDs: 1152 system
//     connections (576 inbound). A bridge is the first source of every
//     square for the whole network; its memory cap is an accounting ceiling,
//     not an allocation.
func (m Mode) Limits() (l Limits, ok bool) {
	switch m {
	case ModeLight:
		return Limits{ConnLow: 25, ConnHigh: 50, ConnGrace: DefaultConnGrace, Memory: 128 << 20, FDs: 256, DiscoveryPeers: 5}, true
	case ModeFull:
		return Limits{ConnLow: 100, ConnHigh: 200, ConnGrace: DefaultConnGrace, Memory: 1 << 30, FDs: 2048, DiscoveryPeers: 10}, true
	case ModeBridge:
		return Limits{ConnLow: 400, ConnHigh: 800, ConnGrace: DefaultConnGrace, Memory: 8 << 30, FDs: 8192}, true
	}
	return Limits{}, false
}

// ResourceLimits returns the resource manager limits of l:
// rcmgr.DefaultLimits plus libp2p's default service limits, scaled to
// l.Memory and l.FDs. The result is a fresh value.
func (l Limits) ResourceLimits() rcmgr.ConcreteLimitConfig {
	scaling := rcmgr.DefaultLimits // a copy; the maps below are fresh
	libp2p.SetDefaultServiceLimits(&scaling)
	return scaling.Scale(l.Memory, l.FDs)
}
