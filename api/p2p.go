package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/datamesh/mesh-node/p2p"
)

// ErrNoBlocker is returned by the p2p module's block-list methods when
// the module was made without a PeerBlocker.
var ErrNoBlocker = errors.New("api: p2p: peer blocking is not available")

// ErrP2PUnavailable is wrapped by the p2p methods whose source the module
// was made without (see P2PDeps).
var ErrP2PUnavailable = errors.New("api: p2p: not available on this node")

// PeerBlocker is the block list of a *p2p.Node.
type PeerBlocker interface {
	// BlockPeer closes id's connections and refuses new ones.
	BlockPeer(id peer.ID, reason error)
	// UnblockPeer removes id from the block list.
	UnblockPeer(id peer.ID)
	// BlockedPeers returns the block list.
	BlockedPeers() []p2p.BlockedPeer
}

// ReachabilityReporter is what p2p.NATStatus reports: a *p2p.Node.
type ReachabilityReporter interface {
	// Reachability returns the host's reachability as AutoNAT found it.
	Reachability() network.Reachability
}

// BandwidthMeter is the bandwidth counter of a *p2p.Node's host.
type BandwidthMeter interface {
	// BandwidthTotals returns the bytes and rates of every stream.
	BandwidthTotals() metrics.Stats
	// BandwidthForPeer returns those of the streams with id.
	BandwidthForPeer(id peer.ID) metrics.Stats
	// BandwidthForProtocol returns those of the streams of proto.
	BandwidthForProtocol(proto protocol.ID) metrics.Stats
}

// ResourceReporter reports the usage of a *p2p.Node's resource manager.
type ResourceReporter interface {
	ResourceState() (p2p.ResourceStat, error)
}

// PubSubViewer is the gossipsub state of a *p2p.Node.
type PubSubViewer interface {
	// PubSubTopics returns the topics the node is subscribed to.
	PubSubTopics() []string
	// PubSubPeers returns the peers known to be subscribed to topic.
	PubSubPeers(topic string) []peer.ID
}

// Pinger pings a peer: a *p2p.Node.
type Pinger interface {
	// Ping returns the round-trip time of one ping to id.
	Ping(ctx context.Context, id peer.ID) (time.Duration, error)
}

// P2PDeps are what the p2p module serves from. Host is required. Every
// other field may be zero: the methods it serves then fail, with
// ErrNoBlocker for Blocker and an error wrapping ErrP2PUnavailable for the
// others. A *p2p.Node is every one of the interfaces.
type P2PDeps struct {
	// Host serves Info, Peers, PeerInfo, Connect, ClosePeer,
	// Connectedness, ConnectionState and, through its connection manager,
	// Protect, Unprotect and IsProtected.
	Host host.Host
	// Network is the network ID Network returns.
	Network string
	// Blocker serves BlockPeer, UnblockPeer and ListBlockedPeers.
	Blocker PeerBlocker
	// NAT serves NATStatus.
	NAT ReachabilityReporter
	// Bandwidth serves BandwidthStats, BandwidthForPeer and
	// BandwidthForProtocol.
	Bandwidth BandwidthMeter
	// Resources serves ResourceState.
	Resources ResourceReporter
	// PubSub serves PubSubTopics and PubSubPeers.
	PubSub PubSubViewer
	// Pinger serves Ping.
	Pinger Pinger
}

// errBlockedByAPI is the reason recorded for peers blocked over the API.
var errBlockedByAPI = errors.New("blocked over the RPC API")

// P2PModule is the "p2p" RPC module: celestia-node's p2p methods, all
// admin.
type P2PModule struct {
	host      host.Host
	blocker   PeerBlocker
	network   string
	nat       ReachabilityReporter
	bandwidth BandwidthMeter
	resources ResourceReporter
	pubsub    PubSubViewer
	pinger    Pinger
}

// p2pMethods is the p2p module's table (see rpcTable).
var p2pMethods = rpcTable{namespace: "p2p", methods: map[string]rpcMethod{
	"Info":                 {perm: PermAdmin},
	"Peers":                {perm: PermAdmin},
	"PeerInfo":             {perm: PermAdmin},
	"Connect":              {perm: PermAdmin},
	"ClosePeer":            {perm: PermAdmin},
	"Connectedness":        {perm: PermAdmin},
	"BlockPeer":            {perm: PermAdmin},
	"UnblockPeer":          {perm: PermAdmin},
	"ListBlockedPeers":     {perm: PermAdmin},
	"Network":              {perm: PermAdmin},
	"NATStatus":            {perm: PermAdmin},
	"Protect":              {perm: PermAdmin},
	"Unprotect":            {perm: PermAdmin},
	"IsProtected":          {perm: PermAdmin},
	"BandwidthStats":       {perm: PermAdmin},
	"BandwidthForPeer":     {perm: PermAdmin},
	"BandwidthForProtocol": {perm: PermAdmin},
	"ResourceState":        {perm: PermAdmin},
	"PubSubPeers":          {perm: PermAdmin},
	"PubSubTopics":         {perm: PermAdmin},
	"Ping":                 {perm: PermAdmin},
	"ConnectionState":      {perm: PermAdmin},
}}

func (*P2PModule) rpcTable() *rpcTable { return &p2pMethods }

// NewP2PModule returns the p2p module over d; it fails without d.Host.
func NewP2PModule(d P2PDeps) (*P2PModule, error) {
	if d.Host == nil {
		return nil, errors.New("api: p2p module: nil Host")
	}
	return &P2PModule{host: d.Host, blocker: d.Blocker, network: d.Network, nat: d.NAT,
		bandwidth: d.Bandwidth, resources: d.Resources, pubsub: d.PubSub, pinger: d.Pinger}, nil
}

// Network is p2p.Network's answer: the network (chain) ID, a JSON string
// (celestia-node's p2p.Network).
type Network string

// ConnectionState describes one connection to a peer, in celestia-node's
// shape (p2p.ConnectionState; JSON field names as the Go names).
type ConnectionState struct {
	// Info is the connection's transport ("tcp", "quic-v1"), security
	// protocol and stream multiplexer.
	Info network.ConnectionState
	// NumStreams is the number of streams open on the connection.
	NumStreams int
	// Direction is who dialled: 1 inbound (the peer), 2 outbound (this
	// node); libp2p's network.Direction.
	Direction network.Direction
	// Opened is when the connection was opened.
	Opened time.Time
	// Limited reports a connection limited in time or bytes (a relayed
	// one; mesh-node does not use relays).
	Limited bool
}

// Info (p2p.Info, admin) returns the node's peer ID and listen addresses.
func (m *P2PModule) Info(ctx context.Context) (peer.AddrInfo, error) {
	if err := requirePerm(ctx, m); err != nil {
		return peer.AddrInfo{}, err
	}
	return peer.AddrInfo{ID: m.host.ID(), Addrs: m.host.Addrs()}, nil
}

// Peers (p2p.Peers, admin) returns the connected peers.
func (m *P2PModule) Peers(ctx context.Context) ([]peer.ID, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	return m.host.Network().Peers(), nil
}

// PeerInfo (p2p.PeerInfo, admin) returns the addresses known for id.
func (m *P2PModule) PeerInfo(ctx context.Context, id peer.ID) (peer.AddrInfo, error) {
	if err := requirePerm(ctx, m); err != nil {
		return peer.AddrInfo{}, err
	}
	return m.host.Peerstore().PeerInfo(id), nil
}

// Connect (p2p.Connect, admin) connects to the peer at addrs.
func (m *P2PModule) Connect(ctx context.Context, addrs peer.AddrInfo) error {
	if err := requirePerm(ctx, m); err != nil {
		return err
	}
	if err := m.host.Connect(ctx, addrs); err != nil {
		return fmt.Errorf("api: p2p: connect to %s: %w", addrs.ID, err)
	}
	return nil
}

// ClosePeer (p2p.ClosePeer, admin) closes the connections to id.
func (m *P2PModule) ClosePeer(ctx context.Context, id peer.ID) error {
	if err := requirePerm(ctx, m); err != nil {
		return err
	}
	return m.host.Network().ClosePeer(id)
}

// Connectedness (p2p.Connectedness, admin) returns the connection state
// to id (libp2p's enum: 0 not connected, 1 connected, ...).
func (m *P2PModule) Connectedness(ctx context.Context, id peer.ID) (network.Connectedness, error) {
	if err := requirePerm(ctx, m); err != nil {
		return 0, err
	}
	return m.host.Network().Connectedness(id), nil
}

// BlockPeer (p2p.BlockPeer, admin) closes id's connections and refuses
// new ones until UnblockPeer.
func (m *P2PModule) BlockPeer(ctx context.Context, id peer.ID) error {
	if err := requirePerm(ctx, m); err != nil {
		return err
	}
	if m.blocker == nil {
		return ErrNoBlocker
	}
	m.blocker.BlockPeer(id, errBlockedByAPI)
	return nil
}

// UnblockPeer (p2p.UnblockPeer, admin) removes id from the block list.
func (m *P2PModule) UnblockPeer(ctx context.Context, id peer.ID) error {
	if err := requirePerm(ctx, m); err != nil {
		return err
	}
	if m.blocker == nil {
		return ErrNoBlocker
	}
	m.blocker.UnblockPeer(id)
	return nil
}

// ListBlockedPeers (p2p.ListBlockedPeers, admin) returns the blocked
// peers, oldest first.
func (m *P2PModule) ListBlockedPeers(ctx context.Context) ([]peer.ID, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	if m.blocker == nil {
		return nil, ErrNoBlocker
	}
	bl := m.blocker.BlockedPeers()
	ids := make([]peer.ID, len(bl))
	for i, b := range bl {
		ids[i] = b.ID
	}
	return ids, nil
}

// Network (p2p.Network, admin) returns the network ID the node runs on.
func (m *P2PModule) Network(ctx context.Context) (Network, error) {
	if err := requirePerm(ctx, m); err != nil {
		return "", err
	}
	if m.network == "" {
		return "", fmt.Errorf("%w: network ID", ErrP2PUnavailable)
	}
	return Network(m.network), nil
}

// NATStatus (p2p.NATStatus, admin) returns the node's reachability as
// AutoNAT found it: libp2p's network.Reachability, 0 unknown, 1 public,
// 2 private.
func (m *P2PModule) NATStatus(ctx context.Context) (network.Reachability, error) {
	if err := requirePerm(ctx, m); err != nil {
		return 0, err
	}
	if m.nat == nil {
		return 0, fmt.Errorf("%w: NAT status", ErrP2PUnavailable)
	}
	return m.nat.Reachability(), nil
}

// Protect (p2p.Protect, admin) protects id under tag from the connection
// manager's trimming until Unprotect with the same tag.
func (m *P2PModule) Protect(ctx context.Context, id peer.ID, tag string) error {
	if err := requirePerm(ctx, m); err != nil {
		return err
	}
	m.host.ConnManager().Protect(id, tag)
	return nil
}

// Unprotect (p2p.Unprotect, admin) removes tag's protection of id and
// reports whether id is still protected (by other tags).
func (m *P2PModule) Unprotect(ctx context.Context, id peer.ID, tag string) (bool, error) {
	if err := requirePerm(ctx, m); err != nil {
		return false, err
	}
	return m.host.ConnManager().Unprotect(id, tag), nil
}

// IsProtected (p2p.IsProtected, admin) reports whether id is protected
// under tag; an empty tag asks whether it is protected under any tag.
func (m *P2PModule) IsProtected(ctx context.Context, id peer.ID, tag string) (bool, error) {
	if err := requirePerm(ctx, m); err != nil {
		return false, err
	}
	return m.host.ConnManager().IsProtected(id, tag), nil
}

// BandwidthStats (p2p.BandwidthStats, admin) returns the bytes sent and
// received over every stream and the current rates (bytes a second),
// libp2p's metrics.Stats.
func (m *P2PModule) BandwidthStats(ctx context.Context) (metrics.Stats, error) {
	if err := requirePerm(ctx, m); err != nil {
		return metrics.Stats{}, err
	}
	if m.bandwidth == nil {
		return metrics.Stats{}, fmt.Errorf("%w: bandwidth metering", ErrP2PUnavailable)
	}
	return m.bandwidth.BandwidthTotals(), nil
}

// BandwidthForPeer (p2p.BandwidthForPeer, admin) is BandwidthStats for the
// streams with id.
func (m *P2PModule) BandwidthForPeer(ctx context.Context, id peer.ID) (metrics.Stats, error) {
	if err := requirePerm(ctx, m); err != nil {
		return metrics.Stats{}, err
	}
	if m.bandwidth == nil {
		return metrics.Stats{}, fmt.Errorf("%w: bandwidth metering", ErrP2PUnavailable)
	}
	return m.bandwidth.BandwidthForPeer(id), nil
}

// BandwidthForProtocol (p2p.BandwidthForProtocol, admin) is
// BandwidthStats for the streams of proto.
func (m *P2PModule) BandwidthForProtocol(ctx context.Context, proto protocol.ID) (metrics.Stats, error) {
	if err := requirePerm(ctx, m); err != nil {
		return metrics.Stats{}, err
	}
	if m.bandwidth == nil {
		return metrics.Stats{}, fmt.Errorf("%w: bandwidth metering", ErrP2PUnavailable)
	}
	return m.bandwidth.BandwidthForProtocol(proto), nil
}

// ResourceState (p2p.ResourceState, admin) returns the resource manager's
// usage per scope (libp2p's rcmgr.ResourceManagerStat).
func (m *P2PModule) ResourceState(ctx context.Context) (p2p.ResourceStat, error) {
	if err := requirePerm(ctx, m); err != nil {
		return p2p.ResourceStat{}, err
	}
	if m.resources == nil {
		return p2p.ResourceStat{}, fmt.Errorf("%w: resource manager state", ErrP2PUnavailable)
	}
	return m.resources.ResourceState()
}

// PubSubPeers (p2p.PubSubPeers, admin) returns the peers known to be
// subscribed to topic (null for none).
func (m *P2PModule) PubSubPeers(ctx context.Context, topic string) ([]peer.ID, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	if m.pubsub == nil {
		return nil, fmt.Errorf("%w: pubsub", ErrP2PUnavailable)
	}
	return m.pubsub.PubSubPeers(topic), nil
}

// PubSubTopics (p2p.PubSubTopics, admin) returns the pubsub topics the
// node is subscribed to.
func (m *P2PModule) PubSubTopics(ctx context.Context) ([]string, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	if m.pubsub == nil {
		return nil, fmt.Errorf("%w: pubsub", ErrP2PUnavailable)
	}
	return m.pubsub.PubSubTopics(), nil
}

// Ping (p2p.Ping, admin) pings id once, dialling it if need be, and returns
// the round-trip time (nanoseconds in JSON, Go's time.Duration).
func (m *P2PModule) Ping(ctx context.Context, id peer.ID) (time.Duration, error) {
	if err := requirePerm(ctx, m); err != nil {
		return 0, err
	}
	if m.pinger == nil {
		return 0, fmt.Errorf("%w: ping", ErrP2PUnavailable)
	}
	return m.pinger.Ping(ctx, id)
}

// ConnectionState (p2p.ConnectionState, admin) returns the node's open
// connections to id, usually one; it fails when there is none.
func (m *P2PModule) ConnectionState(ctx context.Context, id peer.ID) ([]ConnectionState, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	conns := m.host.Network().ConnsToPeer(id)
	if len(conns) == 0 {
		return nil, fmt.Errorf("api: p2p: no connections to peer %s", id)
	}
	out := make([]ConnectionState, len(conns))
	for i, c := range conns {
		st := c.Stat()
		out[i] = ConnectionState{
			Info:       c.ConnState(),
			NumStreams: st.NumStreams,
			Direction:  st.Direction,
			Opened:     st.Opened,
			Limited:    st.Limited,
		}
	}
	return out, nil
}
