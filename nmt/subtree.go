package nmt

import (
	"bytes"
	"fmt"
	"math/bits"
)

// LeafRange is the range of leaves [Start, End) under one subtree root.
type LeafRange struct {
	Start, End int
}

// LeafRanges splits [start, end) into the subtrees a blob commitment's
// subtree roots cover (celestiaorg/nmt's ToLeafRanges): from start, the
// largest power of two no larger than width or what is left, which must be
// an aligned subtree of the tree (start a multiple of its size). width
// must be a power of two. Errors wrap ErrInvalidRange.
func LeafRanges(start, end, width int) ([]LeafRange, error) {
	if start < 0 || end <= start || end > MaxProofIndex {
		return nil, fmt.Errorf("%w: [%d, %d)", ErrInvalidRange, start, end)
	}
	if width <= 0 || width&(width-1) != 0 {
		return nil, fmt.Errorf("%w: subtree width %d is not a power of two", ErrInvalidRange, width)
	}
	var out []LeafRange
	for start < end {
		size := 1 << (bits.Len(uint(min(end-start, width))) - 1)
		if start%size != 0 {
			return nil, fmt.Errorf("%w: leaves [%d, %d) are not a subtree", ErrInvalidRange, start, start+size)
		}
		out = append(out, LeafRange{start, start + size})
		start += size
	}
	return out, nil
}

// VerifySubtreeRoots checks that subtreeRoots are the roots of the
// subtrees LeafRanges(Start, End, width) of the tree with the given root,
// all of namespace ns (each root's minimum and maximum namespace is ns):
// how a blob's commitment is tied to a row root. It rejects absence and
// empty proofs. A nil error means the proof verifies; errors wrap
// ErrInvalidProof (and ErrRootMismatch when only the root differs), or
// ErrInvalidNamespace.
func (p Proof) VerifySubtreeRoots(ns []byte, subtreeRoots [][]byte, width int, root []byte) error {
	if err := p.checkArgs(ns, root); err != nil {
		return err
	}
	if p.IsOfAbsence() || p.Start == p.End {
		return fmt.Errorf("%w: an absence or empty proof proves no subtree roots", ErrInvalidProof)
	}
	ranges, err := LeafRanges(p.Start, p.End, width)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if len(ranges) != len(subtreeRoots) {
		return fmt.Errorf("%w: %d subtree roots for the %d subtrees of [%d, %d) at width %d",
			ErrInvalidProof, len(subtreeRoots), len(ranges), p.Start, p.End, width)
	}
	for i, r := range subtreeRoots {
		if err := ValidateNode(r); err != nil {
			return fmt.Errorf("%w: subtree root %d: %w", ErrInvalidProof, i, err)
		}
		if !bytes.Equal(MinNamespace(r), ns) || !bytes.Equal(MaxNamespaceOf(r), ns) {
			return fmt.Errorf("%w: subtree root %d is not of namespace %x", ErrInvalidProof, i, ns)
		}
	}
	return p.walkRoot(NewHasher(), subtreeRoots, ranges, root)
}
