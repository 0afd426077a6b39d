package das

import (
	"fmt"

	"github.com/datamesh/mesh-node/eds"
)

// Halter is the node's halting rule as the DASer needs it: the proof, if
// any, that a block is badly encoded, learnt from any source (gossip,
// fraud sync, this node's own full DASer). *fraud.Halt implements it; das
// does not import fraud.
//
// Proof returns the proof of the lowest block proven badly encoded, nil
// while there is none; it is shared and must not be modified. Halted
// returns a channel closed once Proof is not nil. Both are called
// concurrently.
type Halter interface {
	Proof() *eds.BadEncodingProof
	Halted() <-chan struct{}
}

// haltProof returns the proof the DASer halts on: the lower of its own
// (a full DASer's, found or reloaded) and the one of Options.Halt; nil
// when there is none.
func (d *DASer) haltProof() *eds.BadEncodingProof {
	d.mu.Lock()
	own := d.befp
	d.mu.Unlock()
	return lowerProof(own, d.externalProof())
}

// externalProof returns Options.Halt's proof, nil without one.
func (d *DASer) externalProof() *eds.BadEncodingProof {
	if d.opts.Halt == nil {
		return nil
	}
	return d.opts.Halt.Proof()
}

// haltedChan returns Options.Halt's Halted channel, nil (never ready)
// without one.
func (d *DASer) haltedChan() <-chan struct{} {
	if d.opts.Halt == nil {
		return nil
	}
	return d.opts.Halt.Halted()
}

// lowerProof returns the proof of the lower block, a when both are of the
// same height; nil when both are.
func lowerProof(a, b *eds.BadEncodingProof) *eds.BadEncodingProof {
	switch {
	case a == nil:
		return b
	case b == nil || a.Height <= b.Height:
		return a
	}
	return b
}

// describeProof names the block p proves badly encoded: its height,
// header hash and the row or column.
func describeProof(p *eds.BadEncodingProof) string {
	return fmt.Sprintf("block %d (header %X) is proven badly encoded (%s %d)", p.Height, p.HeaderHash, p.Axis, p.Index)
}
