package eds

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/datamesh/mesh-node/merkle"
	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
)

const (
	// MinDAHRoots and MaxDAHRoots bound the number of roots per axis of a
	// DataAvailabilityHeader: 2 for the 1×1 minimum square, 1024 for a
	// 512×512 original square.
	MinDAHRoots = 2
	MaxDAHRoots = 2 * MaxSquareSize
)

// ErrInvalidDAH is wrapped by every DataAvailabilityHeader validation and
// decoding error.
var ErrInvalidDAH = errors.New("eds: invalid data availability header")

// DataAvailabilityHeader commits to an extended data square: the NMT roots of
// its 2k rows and 2k columns. Its Hash is the block's data root.
//
// A header is a value to be read, not modified: the hash is cached by
// NewDAH, UnmarshalDAH and MinDAH, so changing the roots of such a header
// afterwards leaves Hash stale.
type DataAvailabilityHeader struct {
	RowRoots    [][]byte
	ColumnRoots [][]byte

	hash []byte // cached by the constructors; nil for a literal
}

// NewDAH returns the header of e. The roots are copies owned by the header.
func NewDAH(e *ExtendedDataSquare) (*DataAvailabilityHeader, error) {
	if e == nil {
		return nil, fmt.Errorf("%w: nil square", ErrInvalidDAH)
	}
	rows, err := e.RowRoots()
	if err != nil {
		return nil, err
	}
	cols, err := e.ColRoots()
	if err != nil {
		return nil, err
	}
	return newDAH(rows, cols), nil
}

func newDAH(rows, cols [][]byte) *DataAvailabilityHeader {
	d := &DataAvailabilityHeader{RowRoots: rows, ColumnRoots: cols}
	d.hash = d.computeHash()
	return d
}

// Hash returns the data root: the RFC 6962 Merkle root
// (merkle.HashFromByteSlices) of the row roots followed by the column roots.
// The returned slice is a new copy.
func (d *DataAvailabilityHeader) Hash() []byte {
	if d.hash != nil {
		return bytes.Clone(d.hash)
	}
	return d.computeHash()
}

func (d *DataAvailabilityHeader) computeHash() []byte {
	return merkle.HashFromByteSlices(d.roots())
}

// roots returns the items the data root is the Merkle root of: the row
// roots, then the column roots. The outer slice is new.
func (d *DataAvailabilityHeader) roots() [][]byte {
	all := make([][]byte, 0, len(d.RowRoots)+len(d.ColumnRoots))
	all = append(all, d.RowRoots...)
	return append(all, d.ColumnRoots...)
}

// SquareSize returns the width k of the original data square the header
// commits to: half the number of row roots.
func (d *DataAvailabilityHeader) SquareSize() int { return len(d.RowRoots) / 2 }

// ValidateBasic checks the shape of the header: between MinDAHRoots and
// MaxDAHRoots roots per axis, as many column roots as row roots, and every
// root nmt.NodeSize bytes. It does not check that the roots commit to
// anything.
func (d *DataAvailabilityHeader) ValidateBasic() error {
	if d == nil {
		return fmt.Errorf("%w: nil header", ErrInvalidDAH)
	}
	if err := checkRootCount("row", len(d.RowRoots)); err != nil {
		return err
	}
	if err := checkRootCount("column", len(d.ColumnRoots)); err != nil {
		return err
	}
	if len(d.RowRoots) != len(d.ColumnRoots) {
		return fmt.Errorf("%w: %d row roots but %d column roots", ErrInvalidDAH, len(d.RowRoots), len(d.ColumnRoots))
	}
	for i, r := range d.RowRoots {
		if len(r) != nmt.NodeSize {
			return fmt.Errorf("%w: row root %d has %d bytes, want %d", ErrInvalidDAH, i, len(r), nmt.NodeSize)
		}
	}
	for i, c := range d.ColumnRoots {
		if len(c) != nmt.NodeSize {
			return fmt.Errorf("%w: column root %d has %d bytes, want %d", ErrInvalidDAH, i, len(c), nmt.NodeSize)
		}
	}
	return nil
}

// width validates d (ValidateBasic) and returns the width 2k of the square
// it commits to. Errors wrap ErrInvalidDAH, or ErrInvalidSquareSize when the
// number of roots per axis is not twice a power of two.
func (d *DataAvailabilityHeader) width() (int, error) {
	if err := d.ValidateBasic(); err != nil {
		return 0, err
	}
	w := len(d.RowRoots)
	if k := w / 2; w%2 != 0 || k&(k-1) != 0 {
		return 0, fmt.Errorf("%w: header has %d roots per axis, want twice a power of two", ErrInvalidSquareSize, w)
	}
	return w, nil
}

// root returns the header's root of row or column idx, which must be in
// range.
func (d *DataAvailabilityHeader) root(axis Axis, idx int) []byte {
	if axis == Row {
		return d.RowRoots[idx]
	}
	return d.ColumnRoots[idx]
}

func checkRootCount(axis string, n int) error {
	if n < MinDAHRoots || n > MaxDAHRoots {
		return fmt.Errorf("%w: %d %s roots, want %d to %d", ErrInvalidDAH, n, axis, MinDAHRoots, MaxDAHRoots)
	}
	return nil
}

// Equals reports whether d and o have the same roots. Two nil headers are
// equal.
func (d *DataAvailabilityHeader) Equals(o *DataAvailabilityHeader) bool {
	if d == nil || o == nil {
		return d == o
	}
	return slices.EqualFunc(d.RowRoots, o.RowRoots, bytes.Equal) && slices.EqualFunc(d.ColumnRoots, o.ColumnRoots, bytes.Equal)
}

// MinDAH returns the header of the smallest square, the 1×1 square holding
// one tail-padding share: the header of a block with no transactions.
func MinDAH() *DataAvailabilityHeader {
	e, err := Extend([][]byte{tailPaddingShare()})
	if err == nil {
		var d *DataAvailabilityHeader
		if d, err = NewDAH(e); err == nil {
			return d
		}
	}
	// A 1×1 square of one well-formed share always extends.
	panic("eds: MinDAH: " + err.Error())
}

// tailPaddingShare returns a tail padding share: TailPaddingNamespace, info
// byte 0x01 (share version 0, sequence start), a zero sequence length and
// zeros.
func tailPaddingShare() []byte {
	s := make([]byte, share.ShareSize)
	copy(s, share.TailPaddingNamespace[:])
	s[share.NamespaceSize] = share.ShareVersionZero<<1 | 1
	return s
}
