package p2p

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
)

// This file is what an operator asks of the node over the API's p2p
// module: reachability, bandwidth, resource use, pubsub state and ping.

// PingTimeout bounds a Ping whose context has no earlier deadline.
const PingTimeout = 10 * time.Second

// ResourceStat is the resource manager's usage per scope: each scope's
// streams, connections, file descriptors and memory. It has the fields of
// libp2p's rcmgr.ResourceManagerStat (celestia-node's p2p.ResourceState).
type ResourceStat struct {
	System    network.ScopeStat
	Transient network.ScopeStat
	Services  map[string]network.ScopeStat
	Protocols map[protocol.ID]network.ScopeStat
	Peers     map[peer.ID]network.ScopeStat
}

// MarshalJSON encodes s with its fields' names, and Peers keyed by the
// peers' IDs in text (12D3KooW...). encoding/json would write a peer.ID
// key as its raw bytes, which are not UTF-8 and come out mangled (so does
// celestia-node's); the text form decodes back into a map[peer.ID], as
// peer.ID is an encoding.TextUnmarshaler.
func (s ResourceStat) MarshalJSON() ([]byte, error) {
	type wire struct {
		System    network.ScopeStat
		Transient network.ScopeStat
		Services  map[string]network.ScopeStat
		Protocols map[protocol.ID]network.ScopeStat
		Peers     map[string]network.ScopeStat
	}
	w := wire{System: s.System, Transient: s.Transient, Services: s.Services, Protocols: s.Protocols}
	if s.Peers != nil {
		w.Peers = make(map[string]network.ScopeStat, len(s.Peers))
		for id, st := range s.Peers {
			w.Peers[id.String()] = st
		}
	}
	return json.Marshal(w)
}

// errNoResourceState is returned by ResourceState if the resource manager
// does not report its usage; New builds one that does.
var errNoResourceState = errors.New("p2p: the resource manager does not report its state")

// Reachability returns the host's reachability as AutoNAT last found it:
// ReachabilityUnknown until AutoNAT has an answer (and always for a host
// listening only on private addresses, such as loopback, which AutoNAT
// does not probe), then Public or Private.
func (n *Node) Reachability() network.Reachability {
	r, ok := n.host.(interface{ Reachability() network.Reachability })
	if !ok {
		return network.ReachabilityUnknown
	}
	return r.Reachability()
}

// BandwidthTotals returns the bytes sent and received over every stream of
// the host since New, and the current rates. Totals and rates are updated
// once a second (libp2p's meters are swept by one global loop), so traffic
// shows up to a second late.
func (n *Node) BandwidthTotals() metrics.Stats { return n.bw.GetBandwidthTotals() }

// BandwidthForPeer is BandwidthTotals for the streams with id.
func (n *Node) BandwidthForPeer(id peer.ID) metrics.Stats { return n.bw.GetBandwidthForPeer(id) }

// BandwidthForProtocol is BandwidthTotals for the streams of proto.
func (n *Node) BandwidthForProtocol(proto protocol.ID) metrics.Stats {
	return n.bw.GetBandwidthForProtocol(proto)
}

// ResourceState returns the resource manager's current usage: the system
// and transient scopes and each service, protocol and peer scope in use.
// The caller owns the maps.
func (n *Node) ResourceState() (ResourceStat, error) {
	s, ok := n.host.Network().ResourceManager().(rcmgr.ResourceManagerState)
	if !ok {
		return ResourceStat{}, errNoResourceState
	}
	st := s.Stat()
	return ResourceStat{System: st.System, Transient: st.Transient, Services: st.Services,
		Protocols: st.Protocols, Peers: st.Peers}, nil
}

// PubSubTopics returns the gossipsub topics the node is subscribed to (a
// topic joined only to publish is not among them), nil before Start. The
// caller owns the slice.
func (n *Node) PubSubTopics() []string {
	ps := n.PubSub()
	if ps == nil {
		return nil
	}
	return ps.GetTopics()
}

// PubSubPeers returns the peers gossipsub knows to be subscribed to topic,
// nil before Start or for a topic no peer is known in. The caller owns the
// slice.
func (n *Node) PubSubPeers(topic string) []peer.ID {
	ps := n.PubSub()
	if ps == nil {
		return nil
	}
	return ps.ListPeers(topic)
}

// Ping sends one libp2p ping (/ipfs/ping/1.0.0) to id, dialling it if need
// be, and returns the round-trip time. It gives up when ctx ends or after
// PingTimeout, whichever is first. Pinging the node itself fails.
func (n *Node) Ping(ctx context.Context, id peer.ID) (time.Duration, error) {
	if id == n.host.ID() {
		return 0, fmt.Errorf("p2p: ping %s: that is this node", id)
	}
	ctx, cancel := context.WithTimeout(ctx, PingTimeout)
	// Cancelling stops ping.Ping's loop, which would otherwise ping again
	// every time its result is read, and resets its stream.
	defer cancel()
	res, ok := <-ping.Ping(ctx, n.host, id)
	switch {
	case !ok: // the channel closes without a result when ctx ends
		return 0, fmt.Errorf("p2p: ping %s: %w", id, ctx.Err())
	case res.Error != nil:
		return 0, fmt.Errorf("p2p: ping %s: %w", id, res.Error)
	}
	return res.RTT, nil
}
