package eds

import (
	"fmt"

	"github.com/datamesh/mesh-node/share"
)

// ExtendAxis returns the whole row or column of an extended data square
// whose first half is half: the k given shares followed by their k
// Reed–Solomon parity shares, as Extend computes them. This is how a row
// (or column) is checked from its first half alone: extend it, then compare
// AxisRoot with the header's root. It holds for every axis of the square,
// parity ones included (rows k..2k-1 of the square are the encodings of
// their first halves in quadrant Q2).
//
// k = len(half) must be a power of two no larger than MaxSquareSize, and
// every share share.ShareSize bytes. The result is new: one buffer whose
// first k shares are copies of half.
func ExtendAxis(half [][]byte) ([][]byte, error) {
	k := len(half)
	if k == 0 || k&(k-1) != 0 {
		return nil, fmt.Errorf("%w: axis half of %d shares is not a power of two", ErrInvalidSquareSize, k)
	}
	if k > MaxSquareSize {
		return nil, fmt.Errorf("%w: axis half of %d shares exceeds %d", ErrSquareTooLarge, k, MaxSquareSize)
	}
	for i, s := range half {
		if len(s) != share.ShareSize {
			return nil, fmt.Errorf("%w: share %d has %d bytes", ErrInvalidShareSize, i, len(s))
		}
	}
	enc, err := codecFor(k)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 2*k*share.ShareSize)
	out := make([][]byte, 2*k)
	for i := range out {
		out[i] = buf[i*share.ShareSize : (i+1)*share.ShareSize : (i+1)*share.ShareSize]
		if i < k {
			copy(out[i], half[i])
		}
	}
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("eds: encode: %w", err)
	}
	return out, nil
}

// AxisRoot returns the NMT root of row (or column) idx of an extended data
// square, given all its 2k cells: leaf j is ns' || cells[j], where ns' is
// the cell's own namespace when idx and j are both below k (quadrant Q0) and
// the parity namespace otherwise, the rule RowRoots and ColRoots follow.
// The rule is the same for rows and columns, so the root is compared with
// dah.RowRoots[idx] or dah.ColumnRoots[idx] as the case may be.
//
// len(cells) must be 2k for k a power of two no larger than MaxSquareSize,
// idx in [0, 2k), and every cell share.ShareSize bytes. Errors wrap
// ErrInvalidSquareSize, ErrSquareTooLarge, ErrOutOfRange,
// ErrInvalidShareSize, or ErrUnorderedNamespaces when the namespaces of the
// Q0 cells decrease (no square has such an axis). The result is new.
func AxisRoot(cells [][]byte, idx int) ([]byte, error) {
	w := len(cells)
	if w < 2 || w&(w-1) != 0 {
		return nil, fmt.Errorf("%w: axis of %d cells is not twice a power of two", ErrInvalidSquareSize, w)
	}
	if w > 2*MaxSquareSize {
		return nil, fmt.Errorf("%w: axis of %d cells exceeds %d", ErrSquareTooLarge, w, 2*MaxSquareSize)
	}
	if idx < 0 || idx >= w {
		return nil, fmt.Errorf("%w: axis %d of a square of width %d", ErrOutOfRange, idx, w)
	}
	for i, s := range cells {
		if len(s) != share.ShareSize {
			return nil, fmt.Errorf("%w: cell %d has %d bytes", ErrInvalidShareSize, i, len(s))
		}
	}
	root, err := newTreeHasher(w).rootOf(nil, w/2, Row, idx, cells, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnorderedNamespaces, err)
	}
	return root, nil
}
