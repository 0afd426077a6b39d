package p2p

import (
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// BlockedPeer is an entry of a node's block list.
type BlockedPeer struct {
	ID     peer.ID
	Reason string    // the reason given to BlockPeer, or "configured"
	Since  time.Time // when it was blocked
}

// gater is the host's connection gater: it refuses every connection to or
// from a blocked peer, at dial time and, for inbound connections, once the
// security handshake has revealed the remote peer ID. It is safe for
// concurrent use.
type gater struct {
	mu      sync.RWMutex
	blocked map[peer.ID]BlockedPeer
}

func newGater() *gater {
	return &gater{blocked: make(map[peer.ID]BlockedPeer)}
}

// block adds id, reporting whether it was newly blocked; an existing entry
// keeps its reason and time.
func (g *gater) block(b BlockedPeer) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.blocked[b.ID]; ok {
		return false
	}
	g.blocked[b.ID] = b
	return true
}

// unblock removes id, reporting whether it was blocked.
func (g *gater) unblock(id peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.blocked[id]
	delete(g.blocked, id)
	return ok
}

func (g *gater) isBlocked(id peer.ID) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	_, ok := g.blocked[id]
	return ok
}

// list returns the block list sorted by Since, then ID.
func (g *gater) list() []BlockedPeer {
	g.mu.RLock()
	out := make([]BlockedPeer, 0, len(g.blocked))
	for _, b := range g.blocked {
		out = append(out, b)
	}
	g.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Since.Equal(out[j].Since) {
			return out[i].Since.Before(out[j].Since)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// InterceptPeerDial refuses to dial a blocked peer.
func (g *gater) InterceptPeerDial(p peer.ID) bool { return !g.isBlocked(p) }

// InterceptAddrDial refuses to dial any address of a blocked peer.
func (g *gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !g.isBlocked(p) }

// InterceptAccept allows every inbound connection: its peer is not known
// before the security handshake.
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured refuses a connection, either direction, whose
// authenticated peer is blocked.
func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.isBlocked(p)
}

// InterceptUpgraded checks once more, for a peer blocked during the upgrade.
func (g *gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return !g.isBlocked(c.RemotePeer()), 0
}
