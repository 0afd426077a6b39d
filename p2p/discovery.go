package p2p

import (
	"context"
	"sync"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/discovery"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
)

// discoveryTagValue is the connection manager weight of a peer found
// through Config.Discover: kept over anonymous inbound peers when trimming.
const discoveryTagValue = 10

// startLoops starts, under n.startMu, the goroutines that run until Stop.
func (n *Node) startLoops(kad *dht.IpfsDHT) {
	rd := drouting.NewRoutingDiscovery(kad)
	if !n.cfg.DisableDiscovery && n.cfg.Advertise != "" {
		n.wg.Go(func() { n.advertiseLoop(rd) })
	}
	n.wg.Go(func() { n.maintainLoop(rd) })
}

// advertiseLoop advertises Config.Advertise through the DHT until Stop:
// again after 7/8 of the advertisement's TTL, or after DiscoveryInterval
// when it failed (typically: the routing table is still empty).
func (n *Node) advertiseLoop(rd *drouting.RoutingDiscovery) {
	for {
		ctx, cancel := context.WithTimeout(n.ctx, 4*n.cfg.DialTimeout)
		ttl, err := rd.Advertise(ctx, n.cfg.Advertise)
		cancel()
		wait := 7 * ttl / 8
		if err != nil {
			if n.ctx.Err() != nil {
				return
			}
			n.logger.Debug("advertising rendezvous failed; retrying", "rendezvous", n.cfg.Advertise, "err", err, "retry_in", n.cfg.DiscoveryInterval)
			wait = n.cfg.DiscoveryInterval
		} else {
			n.logger.Debug("advertised rendezvous", "rendezvous", n.cfg.Advertise, "ttl", ttl)
		}
		if !n.sleep(wait) {
			return
		}
	}
}

// maintainLoop, every DiscoveryInterval until Stop (and once at once),
// redials disconnected trusted peers and, with Config.Discover set, tops up
// the peers found under it.
func (n *Node) maintainLoop(rd *drouting.RoutingDiscovery) {
	lookup := !n.cfg.DisableDiscovery && n.cfg.Discover != "" && n.cfg.Limits.DiscoveryPeers > 0
	for {
		n.connectTrusted(n.ctx, false)
		if lookup {
			n.findRendezvous(rd)
		}
		if !n.sleep(n.cfg.DiscoveryInterval) {
			return
		}
	}
}

// sleep waits d or until Stop, reporting false on Stop.
func (n *Node) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-n.ctx.Done():
		return false
	}
}

// connectTrusted dials, in parallel, every trusted peer that is neither
// connected nor blocked, and waits for the dials. atStart selects Start's
// logging: a warning per failure and an error if none was reachable;
// later rounds log failures at debug level.
func (n *Node) connectTrusted(ctx context.Context, atStart bool) {
	var todo []peer.AddrInfo
	for _, ai := range n.cfg.bootstrap {
		if n.gater.isBlocked(ai.ID) || n.host.Network().Connectedness(ai.ID) == network.Connected {
			continue
		}
		todo = append(todo, ai)
	}
	if len(todo) == 0 {
		return
	}
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	for _, ai := range todo {
		wg.Go(func() {
			err := n.dial(ctx, ai)
			switch {
			case err == nil:
				mu.Lock()
				ok++
				mu.Unlock()
				n.logger.Info("connected to trusted peer", "peer", ai.ID.String())
			case atStart:
				n.logger.Warn("cannot reach trusted peer", "peer", ai.ID.String(), "addrs", ai.Addrs, "err", err)
			default:
				n.logger.Debug("cannot reach trusted peer", "peer", ai.ID.String(), "err", err)
			}
		})
	}
	wg.Wait()
	if atStart && ok == 0 && ctx.Err() == nil {
		n.logger.Error("no trusted peer reachable; retrying", "peers", len(todo), "every", n.cfg.DiscoveryInterval)
	}
}

// dial connects to ai within DialTimeout.
func (n *Node) dial(ctx context.Context, ai peer.AddrInfo) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	return n.host.Connect(ctx, ai)
}

// findRendezvous looks up Config.Discover peers when fewer than
// Limits.DiscoveryPeers are connected and dials the missing number, in
// parallel batches.
func (n *Node) findRendezvous(rd *drouting.RoutingDiscovery) {
	need := n.cfg.Limits.DiscoveryPeers - n.countFound()
	if need <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, 4*n.cfg.DialTimeout)
	defer cancel()
	ch, err := rd.FindPeers(ctx, n.cfg.Discover, discovery.Limit(4*n.cfg.Limits.DiscoveryPeers))
	if err != nil {
		n.logger.Debug("rendezvous lookup failed", "rendezvous", n.cfg.Discover, "err", err)
		return
	}
	var candidates []peer.AddrInfo
	for ai := range ch {
		if ai.ID == n.host.ID() || ai.ID == "" || n.gater.isBlocked(ai.ID) {
			continue
		}
		if n.host.Network().Connectedness(ai.ID) == network.Connected {
			if n.markFound(ai.ID) {
				need--
			}
			continue
		}
		if len(ai.Addrs) == 0 {
			continue
		}
		candidates = append(candidates, ai)
	}
	for len(candidates) > 0 && need > 0 && ctx.Err() == nil {
		batch := candidates[:min(need, len(candidates))]
		candidates = candidates[len(batch):]
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, ai := range batch {
			wg.Go(func() {
				if err := n.dial(ctx, ai); err != nil {
					n.logger.Debug("cannot reach rendezvous peer", "peer", ai.ID.String(), "err", err)
					return
				}
				if n.markFound(ai.ID) {
					mu.Lock()
					need--
					mu.Unlock()
					n.logger.Info("connected to discovered peer", "peer", ai.ID.String(), "rendezvous", n.cfg.Discover)
				}
			})
		}
		wg.Wait()
	}
}

// markFound records id as a connected Config.Discover peer and tags it in
// the connection manager; it reports whether id is new.
func (n *Node) markFound(id peer.ID) bool {
	n.connMgr.TagPeer(id, tagDiscovery, discoveryTagValue)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.found[id] {
		return false
	}
	n.found[id] = true
	return true
}

// countFound forgets disconnected Config.Discover peers and counts the rest.
func (n *Node) countFound() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	for id := range n.found {
		if n.host.Network().Connectedness(id) != network.Connected {
			delete(n.found, id)
		}
	}
	return len(n.found)
}

// DiscoveredPeers returns the peers found through Config.Discover that are
// connected now, in no particular order; always empty without Discover and
// with discovery disabled. The caller owns the slice.
func (n *Node) DiscoveredPeers() []peer.ID {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]peer.ID, 0, len(n.found))
	for id := range n.found {
		if n.host.Network().Connectedness(id) == network.Connected {
			out = append(out, id)
		}
	}
	return out
}
