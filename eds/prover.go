package eds

import (
	"bytes"
	"fmt"

	"github.com/datamesh/mesh-node/nmt"
)

// AxisProver holds every node of the NMT of one row or column of a square
// (2w − 1 nodes of nmt.NodeSize bytes for a square of width w), so that it
// proves any cell of that axis without hashing: where Sample builds the
// axis's tree for each cell it proves, a server proving many cells of one
// axis builds an AxisProver once and asks it for each.
//
// An AxisProver is immutable after construction and safe for concurrent
// use. It does not reference the square it was built from.
type AxisProver struct {
	axis  Axis
	idx   int
	width int
	// nodes holds the levels of the tree bottom up: the width leaf hashes,
	// then width/2 inner nodes, ..., then the root.
	nodes []byte
}

// AxisProverSize returns the bytes an AxisProver holds for a square of
// width w (2k): (2w − 1) nodes of nmt.NodeSize bytes, 45,990 at w = 256.
func AxisProverSize(w int) int { return (2*w - 1) * nmt.NodeSize }

// AxisProver builds the prover of row (axis Row) or column (axis Col) idx
// of e: 2w leaf and inner hashes, once. Errors wrap ErrOutOfRange for an
// index outside the square or an invalid axis, and nmt.ErrInvalidPushOrder
// when the namespaces of the axis decrease (as Sample's would).
func (e *ExtendedDataSquare) AxisProver(axis Axis, idx int) (*AxisProver, error) {
	if err := checkAxis(axis); err != nil {
		return nil, err
	}
	if idx < 0 || idx >= e.width {
		return nil, fmt.Errorf("%w: %s %d of a square of width %d", ErrOutOfRange, axis, idx, e.width)
	}
	var cells [][]byte
	if axis == Row {
		cells = e.Row(idx)
	} else {
		cells = e.Col(idx)
	}
	w := e.width
	hs := nmt.NewHasher()
	nodes := make([]byte, 0, AxisProverSize(w))
	for j, cell := range cells {
		ns := leafNamespace(e.k, idx, j, cell)
		if j > 0 {
			if prev := nodes[(j-1)*nmt.NodeSize:][:nmt.NamespaceSize]; bytes.Compare(ns, prev) < 0 {
				return nil, fmt.Errorf("eds: tree of axis %d: %w: leaf %d has namespace %x after %x", idx, nmt.ErrInvalidPushOrder, j, ns, prev)
			}
		}
		nodes = hs.HashLeafNs(nodes, ns, cell)
	}
	// Each level is built from the one below it, which starts at lo and
	// has n nodes.
	for lo, n := 0, w; n > 1; lo, n = lo+n*nmt.NodeSize, n/2 {
		for i := 0; i < n; i += 2 {
			l := nodes[lo+i*nmt.NodeSize:][:nmt.NodeSize]
			r := nodes[lo+(i+1)*nmt.NodeSize:][:nmt.NodeSize]
			var err error
			if nodes, err = hs.HashNode(nodes, l, r); err != nil {
				return nil, fmt.Errorf("eds: tree of axis %d: %w", idx, err)
			}
		}
	}
	return &AxisProver{axis: axis, idx: idx, width: w, nodes: nodes}, nil
}

// Axis returns the axis and index the prover proves cells of.
func (p *AxisProver) Axis() (Axis, int) { return p.axis, p.idx }

// Root returns the root of the axis's tree, aliasing the prover (it must
// not be modified).
func (p *AxisProver) Root() []byte { return p.nodes[len(p.nodes)-nmt.NodeSize:] }

// node returns node i of level l (level 0 holds the leaves).
func (p *AxisProver) node(l, i int) []byte {
	off := 0
	for n, j := p.width, 0; j < l; n, j = n/2, j+1 {
		off += n * nmt.NodeSize
	}
	return p.nodes[off+i*nmt.NodeSize:][:nmt.NodeSize]
}

// Prove returns the inclusion proof of leaf pos, the proof an nmt.Tree of
// the axis's leaves returns for ProveRange(pos, pos+1), in one new
// allocation. Errors wrap ErrOutOfRange.
func (p *AxisProver) Prove(pos int) (nmt.Proof, error) {
	if pos < 0 || pos >= p.width {
		return nmt.Proof{}, fmt.Errorf("%w: leaf %d of an axis of %d", ErrOutOfRange, pos, p.width)
	}
	levels := 0
	for n := p.width; n > 1; n /= 2 {
		levels++
	}
	proof := nmt.Proof{Start: pos, End: pos + 1, IsMaxNamespaceIgnored: true}
	if levels == 0 {
		return proof, nil
	}
	// The proof lists the sibling subtrees in leaf order: the left
	// siblings from the top level down, then the right ones from the
	// bottom up.
	buf := make([]byte, 0, levels*nmt.NodeSize)
	for l := levels - 1; l >= 0; l-- {
		if i := pos >> l; i&1 == 1 {
			buf = append(buf, p.node(l, i-1)...)
		}
	}
	for l := 0; l < levels; l++ {
		if i := pos >> l; i&1 == 0 {
			buf = append(buf, p.node(l, i+1)...)
		}
	}
	proof.Nodes = make([][]byte, levels)
	for i := range proof.Nodes {
		proof.Nodes[i] = buf[i*nmt.NodeSize : (i+1)*nmt.NodeSize : (i+1)*nmt.NodeSize]
	}
	return proof, nil
}

// Sample returns the sample at (row, col) of e with its proof from p: what
// e.Sample(row, col, axis) returns, byte for byte, without hashing. p must
// have been built from e (or a square equal to it); the cell must lie on
// p's axis. The Share is a copy. Errors wrap ErrOutOfRange for a cell
// outside e or off p's axis, or a square of another width.
func (p *AxisProver) Sample(e *ExtendedDataSquare, row, col int) (*Sample, error) {
	if err := e.checkCell(row, col); err != nil {
		return nil, err
	}
	if e.width != p.width {
		return nil, fmt.Errorf("%w: prover of width %d for a square of width %d", ErrOutOfRange, p.width, e.width)
	}
	idx, pos := axisPos(p.axis, row, col)
	if idx != p.idx {
		return nil, fmt.Errorf("%w: cell (%d, %d) is not on %s %d", ErrOutOfRange, row, col, p.axis, p.idx)
	}
	proof, err := p.Prove(pos)
	if err != nil {
		return nil, err
	}
	return &Sample{Share: bytes.Clone(e.cell(row, col)), Proof: proof, Axis: p.axis}, nil
}
