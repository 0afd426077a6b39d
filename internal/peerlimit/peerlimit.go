// Package peerlimit bounds what one peer may ask of a server: how many of
// its streams are served at once, and how fast it may send requests (a
// token bucket), in a Limiter; and how much of a protocol's capacity it
// may hold, in a Pool, so that one peer cannot take it all. Peers that are
// idle with a full bucket are forgotten, so memory is bounded by the peers
// that are active or were recently.
package peerlimit

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// sweepInterval is how often, at most, Admit forgets idle peers.
const sweepInterval = time.Minute

// Limiter holds every peer's open streams and token bucket. Its methods are
// safe for concurrent use.
type Limiter struct {
	maxStreams int
	rate       float64
	burst      int
	now        func() time.Time

	mu        sync.Mutex
	peers     map[peer.ID]*limit
	lastSweep time.Time
}

// limit is one peer's open streams and token bucket.
type limit struct {
	active int
	tokens float64
	at     time.Time // of tokens
}

// New returns a Limiter that serves at most maxStreams streams of a peer
// at once, and refills each peer's bucket of burst tokens at rate tokens a
// second, reading the time from now (time.Now if nil). The caller checks
// the values: maxStreams >= 1, rate > 0, burst >= 1.
func New(maxStreams int, rate float64, burst int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{maxStreams: maxStreams, rate: rate, burst: burst, now: now, peers: map[peer.ID]*limit{}}
}

// Admit takes a stream slot of p, and a token if p is within its stream
// limit. It reports whether p is within both limits; release must be
// called either way, once.
func (l *Limiter) Admit(p peer.ID) (ok bool, release func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) > sweepInterval {
		l.sweep(now)
	}
	pl := l.peers[p]
	if pl == nil {
		pl = &limit{tokens: float64(l.burst), at: now}
		l.peers[p] = pl
	}
	pl.refill(now, l.rate, l.burst)
	pl.active++
	release = func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		pl.active--
	}
	if pl.active > l.maxStreams || pl.tokens < 1 {
		return false, release
	}
	pl.tokens--
	return true, release
}

func (pl *limit) refill(now time.Time, rate float64, burst int) {
	if d := now.Sub(pl.at); d > 0 {
		pl.tokens = min(float64(burst), pl.tokens+d.Seconds()*rate)
		pl.at = now
	}
}

// sweep forgets peers with no stream and a full bucket.
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for p, pl := range l.peers {
		pl.refill(now, l.rate, l.burst)
		if pl.active == 0 && pl.tokens >= float64(l.burst) {
			delete(l.peers, p)
		}
	}
}

// Len returns how many peers the Limiter remembers.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.peers)
}
