package peerlimit

import (
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Pool is a number of slots (requests of one protocol served at once)
// shared by all peers, so that no one peer can take them all. Take hands
// out a free slot to a peer by two rules:
//
//   - a peer that holds no slot of the pool may take any free slot;
//   - a peer that holds some may take another only if Reserved slots stay
//     free after it, and it holds fewer than its fair share, Size / N,
//     where N is the number of peers holding slots.
//
// So slots taken by peers that already hold one never use the last
// Reserved: those go one each to peers that hold none. The pool is full
// only when at least Reserved+1 peers hold slots of it (used - (N-1) never
// exceeds Size - Reserved). One peer, or up to Reserved peers together,
// cannot keep another peer from a slot, however many requests they make
// and however long they hold them; a peer alone may still use
// Size - Reserved slots. The fair share makes slots drift from a peer
// holding many to newcomers as its requests end.
//
// Reserved is a quarter of Size, at least 1 and at most Size-1: with a
// single slot there is nothing to keep back and the guarantee does not
// hold.
//
// A Pool's methods are safe for concurrent use.
type Pool struct {
	size, reserved int

	mu   sync.Mutex
	used int
	held map[peer.ID]int // peers holding slots; absent when none
}

// NewPool returns a pool of size slots; the caller checks size >= 1.
func NewPool(size int) *Pool {
	return &Pool{size: size, reserved: Reserve(size), held: map[peer.ID]int{}}
}

// Reserve returns how many slots of a pool of size slots are kept for
// peers that hold none: a quarter, at least 1 and at most size-1.
func Reserve(size int) int {
	return max(0, min(size-1, max(1, size/4)))
}

// Take takes a slot for p. It reports whether one was given; if so,
// release must be called once, when the work ends.
func (l *Pool) Take(p peer.ID) (ok bool, release func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.used >= l.size {
		return false, nil
	}
	if h := l.held[p]; h > 0 {
		if l.size-(l.used+1) < l.reserved || h+1 > l.size/len(l.held) {
			return false, nil
		}
	}
	l.used++
	l.held[p]++
	var once sync.Once
	return true, func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.used--
			if l.held[p]--; l.held[p] == 0 {
				delete(l.held, p)
			}
		})
	}
}

// Used returns how many slots are taken.
func (l *Pool) Used() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.used
}
