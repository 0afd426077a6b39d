package exchange

import (
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// tracker keeps the peers that speak header-ex and ranks them. It is a
// plain data structure: the Client feeds it events and outcomes. Safe for
// concurrent use.
type tracker struct {
	mu      sync.Mutex
	peers   map[peer.ID]*peerStat
	blocked map[peer.ID]bool
}

// peerStat is what the tracker knows of a peer: an exponentially weighted
// mean of its latency per request, and its failures since its last success.
type peerStat struct {
	latency time.Duration
	fails   int
}

// Tracker tuning.
const (
	// initialLatency is a new peer's assumed latency: in the middle, so a
	// new peer is tried before a failing one but after proven fast ones.
	initialLatency = 200 * time.Millisecond
	// latencyWeight is the weight of the newest sample in the mean.
	latencyWeight = 0.3
)

func newTracker() *tracker {
	return &tracker{peers: map[peer.ID]*peerStat{}, blocked: map[peer.ID]bool{}}
}

// add starts tracking p, unless it is blocked or already tracked.
func (t *tracker) add(p peer.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.blocked[p] || t.peers[p] != nil {
		return
	}
	t.peers[p] = &peerStat{latency: initialLatency}
}

// remove stops tracking p (it disconnected or dropped the protocol).
func (t *tracker) remove(p peer.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.peers, p)
}

// block removes p for good: add ignores it from now on. It reports
// whether p was not blocked before.
func (t *tracker) block(p peer.ID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.peers, p)
	was := t.blocked[p]
	t.blocked[p] = true
	return !was
}

func (t *tracker) isBlocked(p peer.ID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.blocked[p]
}

// success records a request of p answered in d.
func (t *tracker) success(p peer.ID, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.peers[p]; s != nil {
		s.latency = time.Duration(latencyWeight*float64(d) + (1-latencyWeight)*float64(s.latency))
		s.fails = 0
	}
}

// failure records a request of p that failed without p being at fault
// (a timeout, a refusal, a missing header).
func (t *tracker) failure(p peer.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.peers[p]; s != nil {
		s.fails++
	}
}

// cost ranks a peer: lower is better. Each failure since the last success
// doubles it.
func (s *peerStat) cost() float64 {
	return float64(s.latency) * float64(uint64(1)<<min(s.fails, 20))
}

// ranked returns the tracked peers, best first, followed by those of extra
// that are neither tracked nor blocked (in their order). Ties keep peer ID
// order, so the result is deterministic.
func (t *tracker) ranked(extra ...peer.ID) []peer.ID {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]peer.ID, 0, len(t.peers)+len(extra))
	for p := range t.peers {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b peer.ID) int {
		ca, cb := t.peers[a].cost(), t.peers[b].cost()
		switch {
		case ca < cb:
			return -1
		case ca > cb:
			return 1
		}
		return compareIDs(a, b)
	})
	for _, p := range extra {
		if !t.blocked[p] && t.peers[p] == nil && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func compareIDs(a, b peer.ID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
