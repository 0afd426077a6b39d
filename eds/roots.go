package eds

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
)

// Axis names a direction of the square: a row or a column.
type Axis int

const (
	// Row is the horizontal axis.
	Row Axis = iota
	// Col is the vertical axis.
	Col
)

// String returns "row" or "col".
func (a Axis) String() string {
	switch a {
	case Row:
		return "row"
	case Col:
		return "col"
	default:
		return fmt.Sprintf("Axis(%d)", int(a))
	}
}

// RowRoots returns the 2k NMT roots of the rows, each nmt.NodeSize bytes.
// ColRoots returns those of the columns. Both are computed once, for all 4k
// trees in parallel, and cached; each call returns a new copy owned by the
// caller.
//
// Leaf j of row or column i is ns' || share, where ns' is the share's
// namespace when both i and j are below k (quadrant Q0) and
// share.ParitySharesNamespace otherwise. An error means the square violates
// the namespace order, which Extend and Repair rule out.
func (e *ExtendedDataSquare) RowRoots() ([][]byte, error) {
	return e.rootsCopy(0)
}

// ColRoots returns the 2k NMT roots of the columns; see RowRoots.
func (e *ExtendedDataSquare) ColRoots() ([][]byte, error) {
	return e.rootsCopy(e.width)
}

func (e *ExtendedDataSquare) rootsCopy(first int) ([][]byte, error) {
	e.rootsOnce.Do(e.computeRoots)
	if e.rootsErr != nil {
		return nil, e.rootsErr
	}
	buf := make([]byte, e.width*nmt.NodeSize)
	copy(buf, e.roots[first*nmt.NodeSize:])
	out := make([][]byte, e.width)
	for i := range out {
		out[i] = buf[i*nmt.NodeSize : (i+1)*nmt.NodeSize : (i+1)*nmt.NodeSize]
	}
	return out, nil
}

// rootColGroup is the number of adjacent column trees one goroutine builds
// together: a row of the group is one contiguous read of the buffer, where a
// single column tree reads a cell every Width() shares.
const rootColGroup = 8

// computeRoots fills e.roots with the row roots then the column roots.
func (e *ExtendedDataSquare) computeRoots() {
	roots := make([]byte, 2*e.width*nmt.NodeSize)
	leaves := getLeaves(e.width)
	e.rootsErr = e.fillRoots(roots, 0, *leaves)
	leafPool.Put(leaves)
	if e.rootsErr == nil {
		e.roots = roots
	}
}

// leafPool keeps leaf-hash matrices (getLeaves) between root computations:
// 23.6 MB at k = 256, which would otherwise be fresh memory for every
// square.
var leafPool sync.Pool // of *[]byte

// getLeaves returns a matrix of w×w leaf hashes (NodeSize bytes each, row
// by row), from leafPool if it holds one large enough. Its contents are
// undefined.
func getLeaves(w int) *[]byte {
	n := w * w * nmt.NodeSize
	if p, ok := leafPool.Get().(*[]byte); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n)
	return &b
}

// fillRoots writes into roots (2·Width() roots: rows, then columns) the
// roots of the rows from row from on and of every column; the square must
// be filled in, and leaves (getLeaves) must hold the leaf hashes of the
// rows before from (rowRoot). Each cell is hashed once, as a leaf of its
// row, and its column's tree is built from that leaf hash: the leaf is the
// same in both trees (leafNamespace depends on the quadrant only), and
// leaves are three quarters of the hashing. The rows are the work items
// of a first pass, the column trees in groups of rootColGroup those of a
// second.
func (e *ExtendedDataSquare) fillRoots(roots []byte, from int, leaves []byte) error {
	w := e.width
	err := parallel(w-from, func() func(int) error {
		t := newTreeHasher(w)
		return func(item int) error {
			r := from + item
			_, err := t.rowRoot(roots[r*nmt.NodeSize:r*nmt.NodeSize], e, r, leaves)
			return err
		}
	})
	if err != nil {
		return err
	}
	g := min(rootColGroup, w)
	return parallel(w/g, func() func(int) error {
		t := newTreeHasher(w)
		return func(item int) error {
			c := item * g
			return t.colRoots(roots[(w+c)*nmt.NodeSize:(w+c+g)*nmt.NodeSize], e.k, w, leaves, c, g)
		}
	})
}

// setRoots caches roots already known to be those of the square (Repair
// checks every axis against the header).
func (e *ExtendedDataSquare) setRoots(rows, cols [][]byte) {
	e.rootsOnce.Do(func() {
		roots := make([]byte, 0, 2*e.width*nmt.NodeSize)
		for _, r := range rows {
			roots = append(roots, r...)
		}
		for _, c := range cols {
			roots = append(roots, c...)
		}
		e.roots = roots
	})
}

// treeHasher computes axis roots without allocating; one per goroutine.
type treeHasher struct {
	hs    *nmt.Hasher
	stack *nmt.RootStack
	group []*nmt.RootStack // for colRoots, sharing stack's Hasher
	prev  [][]byte
	cells [][]byte // scratch for axisRoot
}

func newTreeHasher(width int) *treeHasher {
	hs := nmt.NewHasher()
	t := &treeHasher{hs: hs, stack: nmt.NewRootStack(hs, width), cells: make([][]byte, width)}
	for range min(rootColGroup, width) {
		t.group = append(t.group, nmt.NewRootStack(hs, width))
	}
	t.prev = make([][]byte, len(t.group))
	return t
}

var parityNs = share.ParitySharesNamespace

// leafNamespace returns ns', the namespace cell j of row or column idx is
// pushed under in a square of original width k: its own namespace in
// quadrant Q0 (idx < k and j < k), the parity namespace elsewhere. The cell
// must be at least share.NamespaceSize bytes; the result may alias it.
func leafNamespace(k, idx, j int, cell []byte) []byte {
	if idx < k && j < k {
		return cell[:share.NamespaceSize]
	}
	return parityNs[:]
}

// axisRoot appends to dst the root of row or column idx of e, whose cells
// must all be filled in. It returns nmt.ErrInvalidPushOrder (wrapped) if the
// namespaces of the axis decrease.
func (t *treeHasher) axisRoot(dst []byte, e *ExtendedDataSquare, axis Axis, idx int) ([]byte, error) {
	if axis == Row {
		e.rowShards(t.cells, idx)
	} else {
		e.colShards(t.cells, idx)
	}
	return t.rootOf(dst, e.k, axis, idx, t.cells, nil)
}

// rowRoot is axisRoot of row r that also writes the row's leaf hashes into
// its row of leaves, a getLeaves matrix of e's width.
func (t *treeHasher) rowRoot(dst []byte, e *ExtendedDataSquare, r int, leaves []byte) ([]byte, error) {
	e.rowShards(t.cells, r)
	n := e.width * nmt.NodeSize
	return t.rootOf(dst, e.k, Row, r, t.cells, leaves[r*n:(r+1)*n])
}

// rootOf appends to dst the root of row or column idx of a square of
// original width k, given its 2k cells of share.ShareSize bytes, and, with
// leaves not nil, writes leaf j's hash at leaves[j·NodeSize:]. It returns
// nmt.ErrInvalidPushOrder (wrapped) if the namespaces of the axis decrease.
func (t *treeHasher) rootOf(dst []byte, k int, axis Axis, idx int, cells [][]byte, leaves []byte) ([]byte, error) {
	t.stack.Reset(len(cells))
	var prev []byte
	for j, cell := range cells {
		ns := leafNamespace(k, idx, j, cell)
		// Parity leaves use the largest namespace, so only Q0 leaves can
		// break the order.
		if idx < k && j < k {
			if prev != nil && bytes.Compare(ns, prev) < 0 {
				return dst, fmt.Errorf("%w: %s %d at %d", nmt.ErrInvalidPushOrder, axis, idx, j)
			}
			prev = ns
		}
		if leaves == nil {
			t.stack.PushLeaf(ns, cell)
			continue
		}
		off := j * nmt.NodeSize
		t.stack.PushLeafHash(t.hs.HashLeafNs(leaves[off:off:off+nmt.NodeSize], ns, cell))
	}
	return t.stack.Root(dst), nil
}

// axisTree returns the NMT of row or column idx of a square of original
// width k, given its 2k cells: leaf j is ns' || cells[j], with ns' from
// leafNamespace. It is what proofs are made from; the tree does not retain
// the cells. Errors wrap nmt.ErrInvalidPushOrder when namespaces decrease.
func axisTree(k, idx int, cells [][]byte) (*nmt.Tree, error) {
	t := nmt.New()
	leaf := make([]byte, 0, share.NamespaceSize+share.ShareSize)
	for j, cell := range cells {
		leaf = append(append(leaf[:0], leafNamespace(k, idx, j, cell)...), cell...)
		if err := t.Push(leaf); err != nil {
			return nil, fmt.Errorf("eds: tree of axis %d: %w", idx, err)
		}
	}
	return t, nil
}

// orthogonal returns the other axis.
func (a Axis) orthogonal() Axis {
	if a == Row {
		return Col
	}
	return Row
}

// colRoots writes to dst the roots of the g ≤ rootColGroup columns from c
// of a square of original width k and width w, given the leaf hashes of
// all its cells (leaves, a getLeaves matrix), reading them row by row.
func (t *treeHasher) colRoots(dst []byte, k, w int, leaves []byte, c, g int) error {
	stacks := t.group[:g]
	for i, st := range stacks {
		st.Reset(w)
		t.prev[i] = nil
	}
	for j := 0; j < w; j++ {
		off := (j*w + c) * nmt.NodeSize
		run := leaves[off : off+g*nmt.NodeSize]
		for i, st := range stacks {
			leaf := run[i*nmt.NodeSize : (i+1)*nmt.NodeSize]
			if c+i < k && j < k {
				ns := leaf[:share.NamespaceSize] // the leaf's namespace (leafNamespace)
				if t.prev[i] != nil && bytes.Compare(ns, t.prev[i]) < 0 {
					return fmt.Errorf("%w: %s %d at %d", nmt.ErrInvalidPushOrder, Col, c+i, j)
				}
				t.prev[i] = ns
			}
			st.PushLeafHash(leaf)
		}
	}
	for i, st := range stacks {
		st.Root(dst[i*nmt.NodeSize : i*nmt.NodeSize])
	}
	return nil
}
