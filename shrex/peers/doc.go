// Package peers is the share-exchange peer manager: it decides which peers
// a shrex client asks for a square's data.
//
// A Manager is synchronous state behind a mutex, with no goroutines, timers
// or network of its own (the clock and the random order are Options, so
// tests drive it deterministically). Three inputs feed it:
//
//   - Announced(height, dataRoot, peer): a peer announced on eds-sub
//     (package shrex/edssub) that it holds the square;
//   - Result(height, dataRoot, peer, outcome): what came of asking a peer;
//   - Prune(belowHeight): squares below a height no longer matter (they
//     left the sampling or availability window).
//
// and one output, Peers(height, dataRoot, n): up to n distinct peers, the
// square's announcers first, then the fallback full nodes
// (Options.FullNodes), each group by score then in random order among
// equals so that requests spread over peers. Blocked peers, peers cooling
// down (RateLimited, Timeout) and peers that answered NotFound for that
// square recently are never offered.
//
// Result takes the square as well as the peer, unlike a plain per-peer
// report: NotFound concerns one square only (a full node still fetching
// height h serves h-1 fine), so it cools the peer down for that square
// alone and forgets it as that square's announcer, which also corrects for
// eds-sub's From being the peer that relayed an announcement rather than
// its publisher.
//
// # Bounded memory
//
// At most MaxRoots squares (default DefaultMaxRoots) are tracked: a new
// square evicts the lowest height, and one below every tracked height when
// full is dropped. Each square remembers at most MaxPeersPerRoot announcers
// (default DefaultMaxPeersPerRoot), the oldest announcement making room.
// Prune drops squares below a height and ignores later announcements
// below it. The eds-sub Validator should ignore announcements for heights
// far beyond the node's head, so that spam cannot push real squares out.
// Per-peer state (score, cooldown) exists only for peers a Result was
// reported for, and the block list only for peers reported Invalid.
//
// # Wiring
//
// The Manager has no Start or Stop: nodebuilder owns the goroutine that
// feeds it eds-sub notifications, so the Manager does not depend on
// edssub and stays testable without a network:
//
//	m, err := peers.New(peers.Options{
//		Blocker:   node,
//		FullNodes: func() []peer.ID { return append(node.TrustedPeers(), node.DiscoveredPeers()...) },
//		Logger:    log,
//	})
//	sub, err := es.Subscribe() // es: a started *edssub.EdsSub
//	go func() {
//		defer sub.Cancel()
//		for {
//			n, err := sub.Next(ctx)
//			if err != nil {
//				return // ctx ended or es stopped
//			}
//			m.Announced(n.Height, n.DataRoot, n.From)
//		}
//	}()
//
// and the shrex client asks m.Peers before a request and reports
// m.Result after it.
package peers
