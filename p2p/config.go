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
	// Config.Discover peers while it has fewer than it wants, redials
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
	// What the node is to the network. nodebuilder chooses these per mode;
	// this package has none.

	// UserAgent is the agent version identify announces to peers
	// ("mesh-node/light", say); empty means libp2p's default.
	UserAgent string
	// DHTServer makes the node a Kademlia DHT server: it answers other
	// nodes' queries and holds their records, such as rendezvous
	// advertisements. Otherwise it is a DHT client, which only asks.
	DHTServer bool
	// PeerExchange turns on gossipsub's peer exchange: a peer pruned from a
	// topic's mesh is told of other peers in the topic.
	PeerExchange bool
	// Advertise, if set, is the rendezvous namespace the node advertises
	// itself under in the DHT (RendezvousFull: it serves whole squares),
	// from Start until Stop.
	Advertise string
	// Discover, if set, is the rendezvous namespace the node looks up,
	// keeping Limits.DiscoveryPeers of the peers advertised there
	// connected.
	Discover string
	// Limits are the connection and resource limits. Required: see Limits
	// for which fields must be set.
	Limits Limits

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
// ErrInvalidConfig: a bad network ID, an unparsable multiaddr, a bootstrap
// address without /p2p/<id>, an announce address with one, a bad blocked
// peer ID, negative or missing limits, ConnLow above ConnHigh, or Discover
// without Limits.DiscoveryPeers.
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
}

func (c Config) parse() (*parsed, error) {
	if err := ValidateNetwork(c.Network); err != nil {
		return nil, err
	}
	p := &parsed{Config: c}

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

	if c.DiscoveryInterval < 0 || c.DialTimeout < 0 {
		return nil, fmt.Errorf("%w: negative DiscoveryInterval or DialTimeout", ErrInvalidConfig)
	}
	if err := p.Limits.validate(); err != nil {
		return nil, err
	}
	if c.Discover != "" && p.Limits.DiscoveryPeers == 0 {
		return nil, fmt.Errorf("%w: Discover %q with Limits.DiscoveryPeers 0", ErrInvalidConfig, c.Discover)
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
