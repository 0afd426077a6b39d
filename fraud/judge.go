package fraud

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// This file holds the decisions about incoming proofs that need no I/O:
// which are duplicates, which are too far ahead, which wait for their
// header, which may be validated now, which senders are already known to
// lie and which messages are already known to be invalid. It has no
// goroutines, clock or network (the Service passes the time and the store's
// head in and does the reading and validating), so tests drive it step by
// step.

// step is what the judge decides to do with a proof message.
type step int

const (
	// stepDuplicate: a valid proof of a block at or below this height is
	// already held, so this one cannot change the halt; dropped without
	// blame.
	stepDuplicate step = iota
	// stepTooFar: more than maxAhead above the store's head; dropped
	// without blame.
	stepTooFar
	// stepHeld: above the head; kept until the store reaches its height
	// (release), or until it expires.
	stepHeld
	// stepNoRoom: above the head, but its sender holds as many as it may
	// and no hold could be freed for it; dropped without blame.
	stepNoRoom
	// stepBusy: a proof of the same height is being validated; ask again
	// once it is done.
	stepBusy
	// stepCheck: the caller must check it against the stored header and
	// call done.
	stepCheck
)

func (s step) String() string {
	switch s {
	case stepDuplicate:
		return "duplicate"
	case stepTooFar:
		return "too far ahead"
	case stepHeld:
		return "held"
	case stepNoRoom:
		return "no room to hold"
	case stepBusy:
		return "busy"
	case stepCheck:
		return "check"
	}
	return "unknown"
}

// candidate is a proof message, its block and where it came from. The
// proof is decoded in full only when it is about to be validated.
type candidate struct {
	from       peer.ID
	data       []byte // the proof's encoding, as received
	height     uint64
	headerHash []byte
	// synced says it came by fraud sync, from a peer the node chose to
	// ask: it is held whatever its height (within the holds' bounds), so
	// that a node that starts far behind checks it when its syncer
	// reaches the block, before its DASer samples that block.
	synced bool
}

// hold is a candidate waiting for the store to reach its height.
type hold struct {
	candidate
	since time.Time
}

// judgeLimits are the bounds of the judge's memory.
type judgeLimits struct {
	maxAhead    uint64        // heights above the head a proof may be held for
	holdPerPeer int           // holds one sender may have
	holdTotal   int           // holds in all
	holdTTL     time.Duration // how long a hold is kept
	invalid     int           // message hashes remembered as invalid
	liars       int           // senders remembered as blocked
}

// judge is the state of the decisions. It is not safe for concurrent use;
// the Service serialises calls.
type judge struct {
	lim judgeLimits

	lowest   uint64          // height of the lowest valid proof; 0: none
	checking map[uint64]bool // heights with a validation in flight

	holds  []*hold // in arrival order
	holdBy map[peer.ID]int

	invalid *fifoSet[[32]byte] // hashes of messages that failed Validate
	liars   *fifoSet[peer.ID]  // senders we blocked
}

func newJudge(lim judgeLimits) *judge {
	return &judge{
		lim:      lim,
		checking: map[uint64]bool{},
		holdBy:   map[peer.ID]int{},
		invalid:  newFIFOSet[[32]byte](lim.invalid),
		liars:    newFIFOSet[peer.ID](lim.liars),
	}
}

// screen decides what to do with c given the store's head: the checks that
// need neither the header nor the proof's shares. A stepCheck marks c's
// height as being checked until done is called; a stepHeld keeps c until
// release or expiry (holds of other senders may be dropped to make room,
// see makeRoom).
func (j *judge) screen(c candidate, head uint64, now time.Time) step {
	h := c.height
	switch {
	case j.lowest != 0 && h >= j.lowest:
		return stepDuplicate
	case h > head && h-head > j.lim.maxAhead && !c.synced:
		return stepTooFar
	case h > head:
		if !j.makeRoom(c.from) {
			return stepNoRoom
		}
		j.holds = append(j.holds, &hold{candidate: c, since: now})
		j.holdBy[c.from]++
		return stepHeld
	case j.checking[h]:
		return stepBusy
	}
	j.checking[h] = true
	return stepCheck
}

// makeRoom reports whether from may hold one more proof, dropping a hold
// of another sender if that is what it takes. A sender holds at most
// holdPerPeer. When all holdTotal are taken, the oldest hold of the sender
// holding the most is dropped, provided that sender holds at least two
// more than from: so senders that fill the holds cannot keep a newcomer
// out, and a sender cannot push out others to hold more than they do.
func (j *judge) makeRoom(from peer.ID) bool {
	mine := j.holdBy[from]
	if mine >= j.lim.holdPerPeer {
		return false
	}
	if len(j.holds) < j.lim.holdTotal {
		return true
	}
	var most peer.ID
	for p, n := range j.holdBy {
		if n > j.holdBy[most] || n == j.holdBy[most] && p < most {
			most = p
		}
	}
	if j.holdBy[most] < mine+2 {
		return false
	}
	for i, hd := range j.holds {
		if hd.from == most {
			j.dropHold(i)
			return true
		}
	}
	return false // not reached: most holds some
}

func (j *judge) dropHold(i int) {
	from := j.holds[i].from
	j.holds = append(j.holds[:i], j.holds[i+1:]...)
	if j.holdBy[from]--; j.holdBy[from] <= 0 {
		delete(j.holdBy, from)
	}
}

// release removes and returns, oldest first, the holds whose height the
// store's head has reached, and drops the holds older than holdTTL, which
// it counts in expired.
func (j *judge) release(head uint64, now time.Time) (ready []candidate, expired int) {
	for i := 0; i < len(j.holds); {
		hd := j.holds[i]
		switch {
		case hd.height <= head:
			ready = append(ready, hd.candidate)
		case now.Sub(hd.since) >= j.lim.holdTTL:
			expired++
		default:
			i++
			continue
		}
		j.dropHold(i)
	}
	return ready, expired
}

// held returns how many proofs are held.
func (j *judge) held() int { return len(j.holds) }

// done ends the check of height that screen started; valid says the proof
// was valid. A valid proof makes every proof at or above its height a
// duplicate, held ones included.
func (j *judge) done(height uint64, valid bool) {
	delete(j.checking, height)
	if valid {
		j.accepted(height)
	}
}

// accepted records a valid proof of height, which the node holds from now
// on (stored, loaded or its own).
func (j *judge) accepted(height uint64) {
	if j.lowest != 0 && j.lowest <= height {
		return
	}
	j.lowest = height
	for i := 0; i < len(j.holds); {
		if j.holds[i].height >= height {
			j.dropHold(i)
			continue
		}
		i++
	}
}

// knownInvalid reports whether a message with this hash already failed
// Validate.
func (j *judge) knownInvalid(hash [32]byte) bool { return j.invalid.has(hash) }

// invalidMessage remembers that the message with this hash failed
// Validate.
func (j *judge) invalidMessage(hash [32]byte) { j.invalid.add(hash) }

// liar records that from sent an invalid proof (the caller blocks it):
// its later messages are refused unread and its holds dropped.
func (j *judge) liar(from peer.ID) {
	j.liars.add(from)
	for i := 0; i < len(j.holds); {
		if j.holds[i].from == from {
			j.dropHold(i)
			continue
		}
		i++
	}
}

// isLiar reports whether from was recorded by liar (and not forgotten
// since: the set is bounded).
func (j *judge) isLiar(from peer.ID) bool { return j.liars.has(from) }

// fifoSet is a set that forgets its oldest member beyond a size.
type fifoSet[T comparable] struct {
	max   int
	order []T
	in    map[T]struct{}
}

func newFIFOSet[T comparable](max int) *fifoSet[T] {
	return &fifoSet[T]{max: max, in: map[T]struct{}{}}
}

func (s *fifoSet[T]) has(v T) bool {
	_, ok := s.in[v]
	return ok
}

func (s *fifoSet[T]) add(v T) {
	if s.max <= 0 || s.has(v) {
		return
	}
	if len(s.order) == s.max {
		delete(s.in, s.order[0])
		s.order = s.order[1:]
	}
	s.order = append(s.order, v)
	s.in[v] = struct{}{}
}
