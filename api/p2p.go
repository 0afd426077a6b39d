package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/p2p"
)

// ErrNoBlocker is returned by the p2p module's block-list methods when
// the module was made without a PeerBlocker.
var ErrNoBlocker = errors.New("api: p2p: peer blocking is not available")

// PeerBlocker is the block list of a *p2p.Node.
type PeerBlocker interface {
	// BlockPeer closes id's connections and refuses new ones.
	BlockPeer(id peer.ID, reason error)
	// UnblockPeer removes id from the block list.
	UnblockPeer(id peer.ID)
	// BlockedPeers returns the block list.
	BlockedPeers() []p2p.BlockedPeer
}

// errBlockedByAPI is the reason recorded for peers blocked over the API.
var errBlockedByAPI = errors.New("blocked over the RPC API")

// P2PModule is the "p2p" RPC module: a subset of celestia-node's p2p
// methods, all admin.
type P2PModule struct {
	host    host.Host
	blocker PeerBlocker
}

// NewP2PModule returns the p2p module over h; blocker (may be nil) serves
// BlockPeer, UnblockPeer and ListBlockedPeers.
func NewP2PModule(h host.Host, blocker PeerBlocker) *P2PModule {
	return &P2PModule{host: h, blocker: blocker}
}

// Info (p2p.Info, admin) returns the node's peer ID and listen addresses.
func (m *P2PModule) Info(ctx context.Context) (peer.AddrInfo, error) {
	if err := requirePerm(ctx, "Info", PermAdmin); err != nil {
		return peer.AddrInfo{}, err
	}
	return peer.AddrInfo{ID: m.host.ID(), Addrs: m.host.Addrs()}, nil
}

// Peers (p2p.Peers, admin) returns the connected peers.
func (m *P2PModule) Peers(ctx context.Context) ([]peer.ID, error) {
	if err := requirePerm(ctx, "Peers", PermAdmin); err != nil {
		return nil, err
	}
	return m.host.Network().Peers(), nil
}

// PeerInfo (p2p.PeerInfo, admin) returns the addresses known for id.
func (m *P2PModule) PeerInfo(ctx context.Context, id peer.ID) (peer.AddrInfo, error) {
	if err := requirePerm(ctx, "PeerInfo", PermAdmin); err != nil {
		return peer.AddrInfo{}, err
	}
	return m.host.Peerstore().PeerInfo(id), nil
}

// Connect (p2p.Connect, admin) connects to the peer at addrs.
func (m *P2PModule) Connect(ctx context.Context, addrs peer.AddrInfo) error {
	if err := requirePerm(ctx, "Connect", PermAdmin); err != nil {
		return err
	}
	if err := m.host.Connect(ctx, addrs); err != nil {
		return fmt.Errorf("api: p2p: connect to %s: %w", addrs.ID, err)
	}
	return nil
}

// ClosePeer (p2p.ClosePeer, admin) closes the connections to id.
func (m *P2PModule) ClosePeer(ctx context.Context, id peer.ID) error {
	if err := requirePerm(ctx, "ClosePeer", PermAdmin); err != nil {
		return err
	}
	return m.host.Network().ClosePeer(id)
}

// Connectedness (p2p.Connectedness, admin) returns the connection state
// to id (libp2p's enum: 0 not connected, 1 connected, ...).
func (m *P2PModule) Connectedness(ctx context.Context, id peer.ID) (network.Connectedness, error) {
	if err := requirePerm(ctx, "Connectedness", PermAdmin); err != nil {
		return 0, err
	}
	return m.host.Network().Connectedness(id), nil
}

// BlockPeer (p2p.BlockPeer, admin) closes id's connections and refuses
// new ones until UnblockPeer.
func (m *P2PModule) BlockPeer(ctx context.Context, id peer.ID) error {
	if err := requirePerm(ctx, "BlockPeer", PermAdmin); err != nil {
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
	if err := requirePerm(ctx, "UnblockPeer", PermAdmin); err != nil {
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
	if err := requirePerm(ctx, "ListBlockedPeers", PermAdmin); err != nil {
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
