package fraud

import (
	"errors"
	"fmt"
	"sync"

	"github.com/datamesh/mesh-node/eds"
)

// ErrHalted is wrapped by every HaltError: the call was refused because a
// block at or below the height it concerns is proven badly encoded.
var ErrHalted = errors.New("fraud: halted by a bad-encoding proof")

// HaltError is the error of a call refused by the halting rule. It names
// the proof: the block's height and header hash, and the badly encoded
// row or column.
type HaltError struct {
	Height     uint64
	HeaderHash []byte
	Axis       eds.Axis
	Index      int
}

func (e *HaltError) Error() string {
	return fmt.Sprintf("fraud: halted: block %d (header %X) is proven badly encoded (%s %d)", e.Height, e.HeaderHash, e.Axis, e.Index)
}

// Is makes errors.Is(err, ErrHalted) hold for every HaltError.
func (e *HaltError) Is(target error) bool { return target == ErrHalted }

// Halt is the halting rule's state: the lowest block a node holds a valid
// bad-encoding proof for. Its zero value is a node that is not halted; it
// is safe for concurrent use. Whoever validated a proof calls Set; every
// service that a proof stops asks Err or Halted.
type Halt struct {
	mu     sync.Mutex
	proof  *eds.BadEncodingProof
	halted chan struct{} // closed at the first Set; made lazily
}

// Set records p, a proof validated against the header it names, unless a
// proof of a lower (or the same) block is already held. It reports whether
// p is now the proof the node halts on. p is shared from then on: the
// caller must not modify it.
func (h *Halt) Set(p *eds.BadEncodingProof) bool {
	if p == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proof != nil && h.proof.Height <= p.Height {
		return false
	}
	first := h.proof == nil
	h.proof = p
	if first {
		close(h.chanLocked())
	}
	return true
}

// Proof returns the proof the node halts on, nil when it is not halted.
// The proof is shared: the caller must not modify it.
func (h *Halt) Proof() *eds.BadEncodingProof {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.proof
}

// Halted returns a channel closed once the node is halted.
func (h *Halt) Halted() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.chanLocked()
}

func (h *Halt) chanLocked() chan struct{} {
	if h.halted == nil {
		h.halted = make(chan struct{})
	}
	return h.halted
}

// Err returns a *HaltError when the node is halted at or below height (a
// call about height must be refused), nil otherwise.
func (h *Halt) Err(height uint64) error {
	p := h.Proof()
	if p == nil || height < p.Height {
		return nil
	}
	return haltError(p)
}

// Any returns a *HaltError once the node is halted at all (calls that do
// not concern one height, such as submitting a transaction, are refused),
// nil otherwise.
func (h *Halt) Any() error {
	if p := h.Proof(); p != nil {
		return haltError(p)
	}
	return nil
}

func haltError(p *eds.BadEncodingProof) error {
	return &HaltError{Height: p.Height, HeaderHash: append([]byte(nil), p.HeaderHash...), Axis: p.Axis, Index: p.Index}
}
