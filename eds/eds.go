package eds

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"sync"

	"github.com/datamesh/mesh-node/share"
)

// MaxSquareSize is the largest original data square width Extend and Repair
// accept (share.SquareSizeUpperBound).
const MaxSquareSize = share.SquareSizeUpperBound

var (
	// ErrEmptySquare is returned by Extend for an empty original data square.
	ErrEmptySquare = errors.New("eds: empty data square")
	// ErrInvalidSquareSize is returned when the number of shares is not the
	// square of a power of two (or, for Repair, not the square of twice a
	// power of two).
	ErrInvalidSquareSize = errors.New("eds: invalid square size")
	// ErrSquareTooLarge is returned when the original square is wider than
	// MaxSquareSize.
	ErrSquareTooLarge = errors.New("eds: square too large")
	// ErrInvalidShareSize is returned for a share that is not
	// share.ShareSize bytes (a nil share included, where shares are
	// required).
	ErrInvalidShareSize = errors.New("eds: invalid share size")
	// ErrUnorderedNamespaces is returned by Extend when the namespaces of a
	// row or a column of the original data square decrease.
	ErrUnorderedNamespaces = errors.New("eds: namespaces out of order")
)

// ExtendedDataSquare is a 2k×2k extended data square: the k×k original data
// square (ODS, quadrant Q0) and three quadrants of Reed–Solomon parity (Q1 to
// the right, Q2 below, Q3 diagonally). All (2k)² shares live in one
// contiguous row-major buffer.
//
// An ExtendedDataSquare is immutable after construction (by Extend or
// Repair): its methods are safe for concurrent use, and the share slices they
// return alias the internal buffer and must not be modified.
type ExtendedDataSquare struct {
	k     int
	width int
	data  []byte // width*width*share.ShareSize bytes, row-major

	rootsOnce sync.Once
	roots     []byte // 2*width roots of nmt.NodeSize bytes: rows, then columns
	rootsErr  error
}

// Extend builds the extended data square of an original data square given as
// k*k shares of share.ShareSize bytes in row-major order, where k is a power
// of two no larger than MaxSquareSize. The namespaces (the first
// share.NamespaceSize bytes) of every row and every column of the original
// square must be non-decreasing. Extend copies the shares; ods is not
// retained.
func Extend(ods [][]byte) (*ExtendedDataSquare, error) {
	k, err := odsWidth(len(ods))
	if err != nil {
		return nil, err
	}
	for i, s := range ods {
		if len(s) != share.ShareSize {
			return nil, fmt.Errorf("%w: share %d has %d bytes, want %d", ErrInvalidShareSize, i, len(s), share.ShareSize)
		}
	}
	if err := checkODSOrder(ods, k); err != nil {
		return nil, err
	}
	e := newSquare(k)
	if err := e.extend(ods); err != nil {
		return nil, err
	}
	return e, nil
}

// odsWidth returns k for an original square of n shares.
func odsWidth(n int) (int, error) {
	if n == 0 {
		return 0, ErrEmptySquare
	}
	k := isqrt(n)
	if k*k != n || k&(k-1) != 0 {
		return 0, fmt.Errorf("%w: %d shares is not the square of a power of two", ErrInvalidSquareSize, n)
	}
	if k > MaxSquareSize {
		return 0, fmt.Errorf("%w: width %d exceeds %d", ErrSquareTooLarge, k, MaxSquareSize)
	}
	return k, nil
}

// isqrt returns the integer square root of n ≥ 0.
func isqrt(n int) int {
	if n < 2 {
		return n
	}
	// Start above the root (a power of two) and descend (Newton).
	x := 1 << ((bits.Len(uint(n)) + 1) / 2)
	for {
		y := (x + n/x) / 2
		if y >= x {
			return x
		}
		x = y
	}
}

// checkODSOrder checks that namespaces are non-decreasing along every row and
// every column of the original square.
func checkODSOrder(ods [][]byte, k int) error {
	const ns = share.NamespaceSize
	for r := 0; r < k; r++ {
		for c := 1; c < k; c++ {
			if bytes.Compare(ods[r*k+c][:ns], ods[r*k+c-1][:ns]) < 0 {
				return fmt.Errorf("%w: row %d at column %d", ErrUnorderedNamespaces, r, c)
			}
		}
	}
	for c := 0; c < k; c++ {
		for r := 1; r < k; r++ {
			if bytes.Compare(ods[r*k+c][:ns], ods[(r-1)*k+c][:ns]) < 0 {
				return fmt.Errorf("%w: column %d at row %d", ErrUnorderedNamespaces, c, r)
			}
		}
	}
	return nil
}

// newSquare returns a zeroed square for an original width k.
func newSquare(k int) *ExtendedDataSquare {
	w := 2 * k
	return &ExtendedDataSquare{k: k, width: w, data: make([]byte, w*w*share.ShareSize)}
}

// cell returns the share at (r, c) with its capacity clipped to the share.
func (e *ExtendedDataSquare) cell(r, c int) []byte {
	off := (r*e.width + c) * share.ShareSize
	return e.data[off : off+share.ShareSize : off+share.ShareSize]
}

// Width returns the width 2k of the extended square.
func (e *ExtendedDataSquare) Width() int { return e.width }

// K returns the width k of the original data square.
func (e *ExtendedDataSquare) K() int { return e.k }

// Share returns the share at row r, column c (0 ≤ r, c < Width()). The slice
// aliases the square's buffer: it must not be modified. It panics if r or c
// is out of range, like a slice index.
func (e *ExtendedDataSquare) Share(r, c int) []byte {
	if r < 0 || r >= e.width || c < 0 || c >= e.width {
		panic(fmt.Sprintf("eds: share (%d, %d) out of range for width %d", r, c, e.width))
	}
	return e.cell(r, c)
}

// Row returns the Width() shares of row i. The outer slice is new; the shares
// alias the square's buffer and must not be modified.
func (e *ExtendedDataSquare) Row(i int) [][]byte {
	e.checkAxis(i)
	out := make([][]byte, e.width)
	for c := range out {
		out[c] = e.cell(i, c)
	}
	return out
}

// Col returns the Width() shares of column i. The outer slice is new; the
// shares alias the square's buffer and must not be modified.
func (e *ExtendedDataSquare) Col(i int) [][]byte {
	e.checkAxis(i)
	out := make([][]byte, e.width)
	for r := range out {
		out[r] = e.cell(r, i)
	}
	return out
}

func (e *ExtendedDataSquare) checkAxis(i int) {
	if i < 0 || i >= e.width {
		panic(fmt.Sprintf("eds: axis index %d out of range for width %d", i, e.width))
	}
}

// ODS returns the k*k shares of the original data square in row-major order.
// The outer slice is new; the shares alias the square's buffer and must not
// be modified. Use FlattenedODS for copies.
func (e *ExtendedDataSquare) ODS() [][]byte {
	out := make([][]byte, 0, e.k*e.k)
	for r := 0; r < e.k; r++ {
		for c := 0; c < e.k; c++ {
			out = append(out, e.cell(r, c))
		}
	}
	return out
}

// AppendODS appends the k*k shares of the original data square to dst, in
// row-major order (k²·share.ShareSize bytes), and returns the extended
// slice: one copy of each original row.
func (e *ExtendedDataSquare) AppendODS(dst []byte) []byte {
	for r := 0; r < e.k; r++ {
		off := r * e.width * share.ShareSize
		dst = append(dst, e.data[off:off+e.k*share.ShareSize]...)
	}
	return dst
}

// ODSRows returns the k rows of the original data square, each
// k·share.ShareSize bytes aliasing the square's buffer (a row of the
// original square is contiguous; the square is not): they must not be
// modified.
func (e *ExtendedDataSquare) ODSRows() [][]byte {
	out := make([][]byte, e.k)
	n := e.k * share.ShareSize
	for r := range out {
		off := r * e.width * share.ShareSize
		out[r] = e.data[off : off+n : off+n]
	}
	return out
}

// FlattenedODS returns a copy of the k*k shares of the original data square
// in row-major order, the input Extend would take to rebuild this square. The
// copies are owned by the caller (they share one new backing array).
func (e *ExtendedDataSquare) FlattenedODS() [][]byte {
	buf := make([]byte, e.k*e.k*share.ShareSize)
	out := make([][]byte, e.k*e.k)
	for r := 0; r < e.k; r++ {
		row := buf[r*e.k*share.ShareSize : (r+1)*e.k*share.ShareSize]
		copy(row, e.data[r*e.width*share.ShareSize:])
		for c := 0; c < e.k; c++ {
			out[r*e.k+c] = row[c*share.ShareSize : (c+1)*share.ShareSize : (c+1)*share.ShareSize]
		}
	}
	return out
}

// ODSBuffer is a square whose original quadrant is written in place before
// it is extended, for a producer that lays out the original square itself
// (share.ConstructInto): no copy of the original square, and no buffer
// besides the extended square's. Extend then gives the same square as the
// package-level Extend of the same shares.
//
// An ODSBuffer is not safe for concurrent use.
type ODSBuffer struct {
	e    *ExtendedDataSquare
	ods  [][]byte
	done bool
}

// NewODSBuffer returns a buffer for an original square of width k, a power
// of two no larger than MaxSquareSize.
func NewODSBuffer(k int) (*ODSBuffer, error) {
	if k <= 0 || k&(k-1) != 0 {
		return nil, fmt.Errorf("%w: width %d is not a power of two", ErrInvalidSquareSize, k)
	}
	if k > MaxSquareSize {
		return nil, fmt.Errorf("%w: width %d exceeds %d", ErrSquareTooLarge, k, MaxSquareSize)
	}
	e := newSquare(k)
	return &ODSBuffer{e: e, ods: e.ODS()}, nil
}

// Shares returns the k*k cells of the original square in row-major order,
// each share.ShareSize bytes, aliasing the square's buffer: the producer
// writes the shares into them. They must not be written after Extend.
func (o *ODSBuffer) Shares() [][]byte { return o.ods }

// Rows returns the k rows of the original square as ODSRows does, each
// aliasing the k cells of Shares in that row. Extension writes only the
// other three quadrants, so the rows may be read (for example written to a
// file) while Extend runs, once the producer has written every share.
func (o *ODSBuffer) Rows() [][]byte { return o.e.ODSRows() }

// Extend checks the namespace order of the original square as Extend
// does, and extends it in place. It may be called once; later calls return
// ErrBuilderDone.
func (o *ODSBuffer) Extend() (*ExtendedDataSquare, error) {
	if o.done {
		return nil, ErrBuilderDone
	}
	o.done = true
	if err := checkODSOrder(o.ods, o.e.k); err != nil {
		return nil, err
	}
	if err := o.e.extend(nil); err != nil {
		return nil, err
	}
	return o.e, nil
}
