package app

import (
	"bytes"
	"slices"
	"sync"

	"github.com/datamesh/mesh-node/eds"
)

// The square hand-off: a bridge that follows this application in the same
// process (the devnet) takes the extended square the application built for
// a committed block instead of laying it out, extending it and hashing it
// again. Nothing here changes an outcome: a square not kept is rebuilt by
// whoever wants it.

// MaxKeptSquares bounds the squares an application made WithSquareHandOff
// keeps at once (128 MiB each at k = 256).
const MaxKeptSquares = 3

// keptHeights is how many committed heights a square not taken is kept
// for: the one just committed and the one before, for a bridge that is a
// block behind.
const keptHeights = 2

// WithSquareHandOff makes the application keep, for TakeSquare, the
// extended square and DAH of every proposal it built (PrepareProposal) or
// accepted (ProcessProposal), at most MaxKeptSquares of the last
// keptHeights heights. Without it TakeSquare finds nothing and no square
// outlives the call that built it.
func WithSquareHandOff() Option {
	return func(a *App) error {
		a.squares = &keptSquares{}
		return nil
	}
}

// keptSquare is the square of a proposal at height whose data root
// transaction commits to dataRoot.
type keptSquare struct {
	height   int64
	dataRoot []byte
	ext      *eds.ExtendedDataSquare
	dah      *eds.DataAvailabilityHeader
}

// keptSquares holds the squares of the last proposals, oldest first. The
// nil *keptSquares keeps nothing. Its methods are safe for concurrent use:
// TakeSquare is called from the bridge's goroutine, outside App.mu.
type keptSquares struct {
	mu  sync.Mutex
	all []keptSquare
}

// add keeps ext and dah, of a proposal at height, dropping the oldest
// beyond MaxKeptSquares. A square of the same data root kept already (the
// same proposal in a later round, or an identical square at another
// height, such as every empty block's) is kept instead, as of height.
func (k *keptSquares) add(height int64, ext *eds.ExtendedDataSquare, dah *eds.DataAvailabilityHeader) {
	if k == nil || ext == nil || dah == nil {
		return
	}
	root := dah.Hash()
	k.mu.Lock()
	defer k.mu.Unlock()
	for i, s := range k.all {
		if bytes.Equal(s.dataRoot, root) {
			k.all[i].height = max(s.height, height)
			return
		}
	}
	k.all = append(k.all, keptSquare{height: height, dataRoot: root, ext: ext, dah: dah})
	if n := len(k.all) - MaxKeptSquares; n > 0 {
		clear(k.all[:n])
		k.all = k.all[n:]
	}
}

// commit drops, once height is committed with data root dataRoot, the
// squares of the other proposals at height and those of the heights
// keptHeights or more below it.
func (k *keptSquares) commit(height int64, dataRoot []byte) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	kept := k.all[:0]
	for _, s := range k.all {
		if s.height <= height-keptHeights || (s.height == height && !bytes.Equal(s.dataRoot, dataRoot)) {
			continue
		}
		kept = append(kept, s)
	}
	clear(k.all[len(kept):])
	k.all = kept
}

// take removes and returns the square of dataRoot.
func (k *keptSquares) take(dataRoot []byte) (keptSquare, bool) {
	if k == nil {
		return keptSquare{}, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for i, s := range k.all {
		if bytes.Equal(s.dataRoot, dataRoot) {
			k.all = slices.Delete(k.all, i, i+1) // zeroes the freed element
			return s, true
		}
	}
	return keptSquare{}, false
}

// reset drops every square.
func (k *keptSquares) reset() {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.all)
	k.all = k.all[:0]
}

// len is the number of squares kept.
func (k *keptSquares) len() int {
	if k == nil {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.all)
}

// TakeSquare hands over the extended data square and DAH the application
// built for the proposal whose data root transaction commits to dataRoot
// (the DAH's hash), if it kept it (WithSquareHandOff): ok is false for a
// square it never built (a block it did not see proposed, such as one
// replayed or fetched by block sync), dropped (over MaxKeptSquares, or
// older than the heights it keeps) or taken already. The caller owns what
// it is given: the application forgets both and never reads, modifies or
// reuses their memory again. Both are what eds.Extend and eds.NewDAH
// return (the square's roots computed); the caller should still check the
// DAH against the block it has, which is what core.BuildHeaderFrom does.
// Safe for concurrent use with every other method.
func (a *App) TakeSquare(dataRoot []byte) (ext *eds.ExtendedDataSquare, dah *eds.DataAvailabilityHeader, ok bool) {
	s, ok := a.squares.take(dataRoot)
	return s.ext, s.dah, ok
}

// KeptSquares is the number of squares the application keeps for
// TakeSquare, at most MaxKeptSquares.
func (a *App) KeptSquares() int { return a.squares.len() }
