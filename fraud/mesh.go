package fraud

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"
)

// grafted is Deps.Mesh's callback, on gossipsub's event loop: it notes p
// for pullMesh and never blocks.
func (s *Service) grafted(p peer.ID) {
	s.mu.Lock()
	s.meshNew[p] = struct{}{}
	s.mu.Unlock()
	select {
	case s.pullWake <- struct{}{}:
	default: // pullMesh is woken already
	}
}

// pullMesh asks each peer that joined the topic's mesh for the proofs it
// holds, one peer at a time, each within SyncTimeout, until Stop. A proof
// that peer forwarded before the mesh link existed went to its other mesh
// peers only, and gossipsub's IHAVE gossip, which would announce it at the
// peer's next heartbeat, skips mesh peers: without this request the node
// would never hear of it (see the package documentation, "Mesh peers").
func (s *Service) pullMesh() {
	defer close(s.pullDone)
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.pullWake:
		}
		s.mu.Lock()
		peers := make([]peer.ID, 0, len(s.meshNew))
		for p := range s.meshNew {
			if !s.judge.isLiar(p) {
				peers = append(peers, p)
			}
		}
		clear(s.meshNew)
		s.stats.MeshPulls += uint64(len(peers))
		s.mu.Unlock()
		for _, p := range peers {
			ctx, cancel := context.WithTimeout(s.ctx, s.opts.SyncTimeout)
			s.askPeer(ctx, p)
			cancel()
		}
	}
}
