package p2p

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Defaults of Config's discovery and dialling knobs.
const (
	// DefaultDiscoveryInterval is how often a node looks for
	// RendezvousFull peers while it has fewer than it wants, redials
	// disconnected trusted peers, and retries a failed advertisement.
	DefaultDiscoveryInterval = 30 * time.Second
	// DefaultDialTimeout bounds one connection attempt to one peer.
	DefaultDialTimeout = 10 * time.Second
)

// Config configures a Node. The zero value of every optional field means
// the default stated beside it.
type Config struct {
	// Network is the network ID (the chain ID). Required; it prefixes every
	// protocol ID, the DHT protocols and every topic (see ProtocolID), so
	// nodes of different networks never speak to each other's DHT. See
	// ValidateNetwork.
	Network string
	// Mode is the node's mode. Required.
	Mode Mode
	// ListenAddrs are the multiaddrs the node listens on; nil means
	// DefaultListenAddrs(). Ports may be 0.
	ListenAddrs []string
	// AnnounceAddrs, if set, are the only addresses the node advertises to
	// peers (identify, DHT), instead of its listen and observed addresses.
	// They carry no /p2p component.
	AnnounceAddrs []string
	// BootstrapPeers are full multiaddrs ending in /p2p/<peer ID>: the
	// node's trusted peers. Start dials them, the DHT bootstraps from them,
	// the connection manager never trims them, and the node redials them
	// when disconnected. Several addresses of one peer may be given. The
	// node's own ID is ignored, so nodes can share one list. Their IP
	// addresses are allowlisted in the resource manager.
	BootstrapPeers []string
	// BlockedPeers are peer IDs the node never connects to, in either
	// direction. BlockPeer adds to the list at run time.
	BlockedPeers []string
	// ConnLow, ConnHigh and ConnGrace override the mode's connection
	// manager watermarks and grace period (see Mode.Limits).
	ConnLow, ConnHigh int
	ConnGrace         time.Duration
	// DiscoveryPeers overrides how many RendezvousFull peers full and light
	// nodes keep connected (see Mode.Limits).
	DiscoveryPeers int
	// DisableDiscovery turns rendezvous advertising and lookups off; the
	// DHT and trusted peers still work. For tests and private setups.
	DisableDiscovery bool
	// DiscoveryInterval overrides DefaultDiscoveryInterval.
	DiscoveryInterval time.Duration
	// DialTimeout overrides DefaultDialTimeout.
	DialTimeout time.Duration
	// NATPortMap asks the router for a port mapping (UPnP, NAT-PMP). Off by
	// default: it probes the local network, which tests and servers with
	// public addresses do not want.
	NATPortMap bool
}

// Validate checks every field of c and returns the first problem, wrapping
// ErrInvalidConfig: a bad network ID or mode, an unparsable multiaddr, a
// bootstrap address without /p2p/<id>, an announce address with one, a bad
// blocked peer ID, negative limits or ConnLow above ConnHigh.
func (c Config) Validate() error {
	_, err := c.parse()
	return err
}

// parsed is a validated Config with its strings decoded and its defaults
// filled in.
type parsed struct {
	Config
	listen    []ma.Multiaddr
	announce  []ma.Multiaddr
	bootstrap []peer.AddrInfo
	blocked   []peer.ID
	limits    Limits
}

func (c Config) parse() (*parsed, error) {
	if err := ValidateNetwork(c.Network); err != nil {
		return nil, err
	}
	if err := c.Mode.Validate(); err != nil {
		return nil, err
	}
	p := &parsed{Config: c}
	p.limits, _ = c.Mode.Limits()

	listen := c.ListenAddrs
	if listen == nil {
		listen = DefaultListenAddrs()
	}
	if len(listen) == 0 {
		return nil, fmt.Errorf("%w: no listen addresses", ErrInvalidConfig)
	}
	var err error
	if p.listen, err = parseAddrs("listen", listen); err != nil {
		return nil, err
	}
	if p.announce, err = parseAddrs("announce", c.AnnounceAddrs); err != nil {
		return nil, err
	}

	addrs := make([]ma.Multiaddr, 0, len(c.BootstrapPeers))
	for _, s := range c.BootstrapPeers {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: bootstrap peer %q: %v", ErrInvalidConfig, s, err)
		}
		if _, err := peer.AddrInfoFromP2pAddr(a); err != nil {
			return nil, fmt.Errorf("%w: bootstrap peer %q must end in /p2p/<peer ID>: %v", ErrInvalidConfig, s, err)
		}
		addrs = append(addrs, a)
	}
	if p.bootstrap, err = peer.AddrInfosFromP2pAddrs(addrs...); err != nil {
		return nil, fmt.Errorf("%w: bootstrap peers: %v", ErrInvalidConfig, err)
	}

	for _, s := range c.BlockedPeers {
		id, err := peer.Decode(s)
		if err != nil {
			return nil, fmt.Errorf("%w: blocked peer %q: %v", ErrInvalidConfig, s, err)
		}
		p.blocked = append(p.blocked, id)
	}

	if c.ConnLow < 0 || c.ConnHigh < 0 || c.ConnGrace < 0 || c.DiscoveryPeers < 0 ||
		c.DiscoveryInterval < 0 || c.DialTimeout < 0 {
		return nil, fmt.Errorf("%w: negative limit, count or duration", ErrInvalidConfig)
	}
	if c.ConnLow > 0 {
		p.limits.ConnLow = c.ConnLow
	}
	if c.ConnHigh > 0 {
		p.limits.ConnHigh = c.ConnHigh
	}
	if c.ConnGrace > 0 {
		p.limits.ConnGrace = c.ConnGrace
	}
	if c.DiscoveryPeers > 0 {
		p.limits.DiscoveryPeers = c.DiscoveryPeers
	}
	if p.limits.ConnLow > p.limits.ConnHigh {
		return nil, fmt.Errorf("%w: ConnLow %d above ConnHigh %d", ErrInvalidConfig, p.limits.ConnLow, p.limits.ConnHigh)
	}
	if p.DiscoveryInterval == 0 {
		p.DiscoveryInterval = DefaultDiscoveryInterval
	}
	if p.DialTimeout == 0 {
		p.DialTimeout = DefaultDialTimeout
	}
	return p, nil
}

// parseAddrs parses plain (no /p2p) multiaddrs.
func parseAddrs(what string, ss []string) ([]ma.Multiaddr, error) {
	out := make([]ma.Multiaddr, 0, len(ss))
	for _, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %s address %q: %v", ErrInvalidConfig, what, s, err)
		}
		if _, err := a.ValueForProtocol(ma.P_P2P); err == nil {
			return nil, fmt.Errorf("%w: %s address %q must not contain /p2p", ErrInvalidConfig, what, s)
		}
		out = append(out, a)
	}
	return out, nil
}
