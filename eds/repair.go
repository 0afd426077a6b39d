package eds

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
	"github.com/klauspost/reedsolomon"
)

// ErrUnrepairable is returned by Repair when the shares given are too few to
// rebuild the square: a full pass over every row and column decoded nothing
// new.
var ErrUnrepairable = errors.New("eds: unrepairable data square")

// ErrByzantineData reports a row or column whose shares contradict the
// header: its NMT root differs from the header's root for that axis, its
// namespaces are out of order, or its second half is not the Reed–Solomon
// encoding of its first half. It is the evidence for a bad-encoding fraud
// proof.
type ErrByzantineData struct {
	// Axis and Index name the offending row or column.
	Axis  Axis
	Index int
	// Shares is the whole axis, Width() entries, as known when the
	// contradiction was found: nil where a share was unknown. For an axis
	// that failed after being decoded, the decoded shares are not included
	// (only those given or rebuilt earlier are); for an axis completed by
	// decoding the orthogonal axis through it, the share just decoded at the
	// crossing is nil. The slices are copies owned by the error.
	Shares [][]byte
	// Proofs has one entry per entry of Shares: Proofs[j] proves Shares[j]
	// against the root of the orthogonal axis through its cell (for a
	// byzantine row i, the root of column j, as leaf i of that column), and
	// is nil where Shares[j] is nil or could not be proven. A share can be
	// proven when its orthogonal axis was complete, or decodable from the
	// shares known (at least k of them), when the contradiction was found,
	// and those cells then hash to the header's root for that axis.
	//
	// Proofs are collected for the first k provable shares only: k proven
	// shares of the axis are what a BadEncodingProof needs (see
	// NewBadEncodingProof). Fewer than k are available when too few of the
	// orthogonal axes could be rebuilt from the shares Repair had, or when
	// the bad share itself breaks them. For example, with a bad share in
	// Q1 and only Q1 and part of Q2 given, its row is decoded from Q1 and
	// fails its root; each column through Q1 is known in its top half
	// only, and the column of the bad share decodes to another root, so
	// k-1 shares are proven. Repairing again with more shares (here, Q3)
	// gives evidence with k proofs.
	//
	// The proofs are owned by the error.
	Proofs []*nmt.Proof
}

// Error names the axis and its index.
func (e *ErrByzantineData) Error() string {
	known := 0
	for _, s := range e.Shares {
		if s != nil {
			known++
		}
	}
	proven := 0
	for _, p := range e.Proofs {
		if p != nil {
			proven++
		}
	}
	return fmt.Sprintf("eds: byzantine %s %d (%d/%d shares known, %d proven)", e.Axis, e.Index, known, len(e.Shares), proven)
}

// Repair rebuilds the extended data square committed to by dah from the
// shares known: shares holds the (2k)² cells of the square in row-major order,
// nil for a missing cell. Repair does not modify shares or the slices it
// holds, and does not retain them.
//
// It follows rsmt2d's algorithm (spec section 6). First, every complete row
// and column must have the header's root and a second half equal to the
// encoding of its first half. Then rows and columns are visited in the order
// row 0, column 0, row 1, column 1, …; an incomplete one holding at least k
// shares is decoded, its root is checked, and so is the root and encoding of
// every orthogonal axis the decoding completes. Passes repeat until the
// square is complete.
//
// Errors: ErrInvalidDAH, ErrInvalidSquareSize and ErrInvalidShareSize
// (wrapped) for malformed input; *ErrByzantineData when the shares contradict
// the header (the first contradiction in the order above); ErrUnrepairable
// (wrapped) when a full pass makes no progress.
func Repair(dah *DataAvailabilityHeader, shares [][]byte) (*ExtendedDataSquare, error) {
	w, err := dah.width()
	if err != nil {
		return nil, err
	}
	k := w / 2
	if len(shares) != w*w {
		return nil, fmt.Errorf("%w: %d shares for a %d×%d square", ErrInvalidSquareSize, len(shares), w, w)
	}
	for i, s := range shares {
		if s != nil && len(s) != share.ShareSize {
			return nil, fmt.Errorf("%w: share %d has %d bytes, want %d", ErrInvalidShareSize, i, len(s), share.ShareSize)
		}
	}
	enc, err := codecFor(k)
	if err != nil {
		return nil, err
	}
	r := &repairer{
		e:        newSquare(k),
		enc:      enc,
		dah:      dah,
		have:     make([]bool, w*w),
		rowCount: make([]int, w),
		colCount: make([]int, w),
	}
	for i, s := range shares {
		if s != nil {
			copy(r.e.cell(i/w, i%w), s)
			r.have[i] = true
			r.rowCount[i/w]++
			r.colCount[i%w]++
		}
	}
	if err := r.checkComplete(); err != nil {
		return nil, r.withProofs(err)
	}
	if err := r.solve(); err != nil {
		return nil, r.withProofs(err)
	}
	// Every axis has now been checked against the header.
	r.e.setRoots(dah.RowRoots, dah.ColumnRoots)
	return r.e, nil
}

// repairer is the state of one Repair: the square being filled in place and
// which of its cells are known.
type repairer struct {
	e                  *ExtendedDataSquare
	enc                reedsolomon.Encoder
	dah                *DataAvailabilityHeader
	have               []bool // row-major, cells known (given or checked)
	rowCount, colCount []int  // known cells per row and column

	// Used by the sequential solve only.
	ax *axisChecker
}

// cellIndex returns the row-major index of cell j of an axis.
func (r *repairer) cellIndex(axis Axis, idx, j int) int {
	if axis == Row {
		return idx*r.e.width + j
	}
	return j*r.e.width + idx
}

func (r *repairer) count(axis Axis, idx int) int {
	if axis == Row {
		return r.rowCount[idx]
	}
	return r.colCount[idx]
}

// byzantine returns the error for an axis, with copies of its known shares;
// the cell at position skip (if ≥ 0) is reported unknown.
func (r *repairer) byzantine(axis Axis, idx, skip int) *ErrByzantineData {
	w := r.e.width
	buf := make([]byte, 0, w*share.ShareSize)
	out := make([][]byte, w)
	for j := 0; j < w; j++ {
		i := r.cellIndex(axis, idx, j)
		if j == skip || !r.have[i] {
			continue
		}
		buf = append(buf, r.e.data[i*share.ShareSize:(i+1)*share.ShareSize]...)
		out[j] = buf[len(buf)-share.ShareSize : len(buf) : len(buf)]
	}
	return &ErrByzantineData{Axis: axis, Index: idx, Shares: out}
}

// axisChecker checks complete axes of a square; one per goroutine.
type axisChecker struct {
	e      *ExtendedDataSquare
	enc    reedsolomon.Encoder
	th     *treeHasher
	shards [][]byte // the cells of the axis being checked
	coded  [][]byte // its first half, then k scratch parity shares
	root   [nmt.NodeSize]byte
}

func newAxisChecker(e *ExtendedDataSquare, enc reedsolomon.Encoder) *axisChecker {
	k := e.k
	parity := make([]byte, k*share.ShareSize)
	coded := make([][]byte, 2*k)
	for j := 0; j < k; j++ {
		coded[k+j] = parity[j*share.ShareSize : (j+1)*share.ShareSize : (j+1)*share.ShareSize]
	}
	return &axisChecker{
		e:      e,
		enc:    enc,
		th:     newTreeHasher(e.width),
		shards: make([][]byte, e.width),
		coded:  coded,
	}
}

// shardsOf points c.shards at the cells of an axis.
func (c *axisChecker) shardsOf(axis Axis, idx int) [][]byte {
	if axis == Row {
		c.e.rowShards(c.shards, idx)
	} else {
		c.e.colShards(c.shards, idx)
	}
	return c.shards
}

// rootMatches reports whether the complete axis has the given root and
// ordered namespaces.
func (c *axisChecker) rootMatches(axis Axis, idx int, want []byte) bool {
	got, err := c.th.axisRoot(c.root[:0], c.e, axis, idx)
	return err == nil && bytes.Equal(got, want)
}

// encodingMatches reports whether the second half of the complete axis is the
// encoding of its first half.
func (c *axisChecker) encodingMatches(axis Axis, idx int) (bool, error) {
	k := c.e.k
	shards := c.shardsOf(axis, idx)
	copy(c.coded[:k], shards[:k])
	if err := c.enc.Encode(c.coded); err != nil {
		return false, fmt.Errorf("eds: encode: %w", err)
	}
	for j := 0; j < k; j++ {
		if !bytes.Equal(c.coded[k+j], shards[k+j]) {
			return false, nil
		}
	}
	return true, nil
}

// check reports whether the complete axis has the given root and is a
// codeword.
func (c *axisChecker) check(axis Axis, idx int, want []byte) (bool, error) {
	if !c.rootMatches(axis, idx, want) {
		return false, nil
	}
	return c.encodingMatches(axis, idx)
}

// checkComplete checks every complete row and column (in parallel) and
// returns the error of the first failing one in the order row 0, column 0,
// row 1, …
func (r *repairer) checkComplete() error {
	w := r.e.width
	return parallel(2*w, func() func(int) error {
		c := newAxisChecker(r.e, r.enc)
		return func(item int) error {
			axis, idx := Row, item/2
			if item%2 == 1 {
				axis = Col
			}
			if r.count(axis, idx) != w {
				return nil
			}
			ok, err := c.check(axis, idx, r.dah.root(axis, idx))
			if err != nil {
				return err
			}
			if !ok {
				return r.byzantine(axis, idx, -1)
			}
			return nil
		}
	})
}

// solve decodes incomplete axes until the square is complete.
func (r *repairer) solve() error {
	w := r.e.width
	r.ax = newAxisChecker(r.e, r.enc)
	for {
		solved, progress := true, false
		for i := 0; i < w; i++ {
			for _, axis := range [...]Axis{Row, Col} {
				done, progressed, err := r.solveAxis(axis, i)
				if err != nil {
					return err
				}
				solved = solved && done
				progress = progress || progressed
			}
		}
		if solved {
			return nil
		}
		if !progress {
			missing := 0
			for _, h := range r.have {
				if !h {
					missing++
				}
			}
			return fmt.Errorf("%w: %d of %d shares still missing", ErrUnrepairable, missing, w*w)
		}
	}
}

// solveAxis decodes one axis if it is incomplete and holds at least k shares,
// writing the decoded shares into the square. It reports whether the axis is
// complete and whether it was completed now.
func (r *repairer) solveAxis(axis Axis, idx int) (done, progressed bool, err error) {
	e, w := r.e, r.e.width
	n := r.count(axis, idx)
	if n == w {
		return true, false, nil
	}
	if n < e.k {
		return false, false, nil
	}
	shards := r.ax.shardsOf(axis, idx)
	for j := range shards {
		if !r.have[r.cellIndex(axis, idx, j)] {
			// Empty with room for a share: the codec decodes into it,
			// in place.
			shards[j] = shards[j][:0]
		}
	}
	if err := r.enc.Reconstruct(shards); err != nil {
		// Not decodable (yet): no progress, as in rsmt2d.
		return false, false, nil
	}
	// As in rsmt2d, the decoded axis is checked against its root only.
	if !r.ax.rootMatches(axis, idx, r.dah.root(axis, idx)) {
		return false, false, r.byzantine(axis, idx, -1)
	}
	// Check every orthogonal axis this decoding completes.
	orth := axis.orthogonal()
	for j := 0; j < w; j++ {
		if r.have[r.cellIndex(axis, idx, j)] || r.count(orth, j) != w-1 {
			continue
		}
		ok, err := r.ax.check(orth, j, r.dah.root(orth, j))
		if err != nil {
			return false, false, err
		}
		if !ok {
			return false, false, r.byzantine(orth, j, idx)
		}
	}
	for j := 0; j < w; j++ {
		i := r.cellIndex(axis, idx, j)
		if !r.have[i] {
			r.have[i] = true
			r.rowCount[i/w]++
			r.colCount[i%w]++
		}
	}
	return true, true, nil
}

// withProofs fills in the proofs of err if it is an *ErrByzantineData, and
// returns err.
func (r *repairer) withProofs(err error) error {
	var byz *ErrByzantineData
	if errors.As(err, &byz) {
		r.proveByzantine(byz)
	}
	return err
}

// proveByzantine sets b.Proofs: proofs of the first k known shares of the
// byzantine axis that can be proven against their orthogonal axes.
func (r *repairer) proveByzantine(b *ErrByzantineData) {
	orth := b.Axis.orthogonal()
	b.Proofs = make([]*nmt.Proof, len(b.Shares))
	proven := 0
	for j, s := range b.Shares {
		if s == nil {
			continue
		}
		if p, ok := r.proveKnownCell(orth, j, b.Index); ok {
			b.Proofs[j] = &p
			if proven++; proven == r.e.k {
				return
			}
		}
	}
}

// proveKnownCell returns the proof of cell pos of row or column idx against
// the header's root of that axis, built from the cells Repair knows (given,
// or decoded and checked): the axis must hold at least k of them, is decoded
// if incomplete, and its cells must then have the header's root. It reads
// the square and leaves it unchanged.
func (r *repairer) proveKnownCell(axis Axis, idx, pos int) (nmt.Proof, bool) {
	w, k := r.e.width, r.e.k
	if r.count(axis, idx) < k {
		return nmt.Proof{}, false
	}
	cells := make([][]byte, w)
	for j := range cells {
		if i := r.cellIndex(axis, idx, j); r.have[i] {
			cells[j] = r.e.data[i*share.ShareSize : (i+1)*share.ShareSize : (i+1)*share.ShareSize]
		}
	}
	// The codec fills in the nil cells with new slices; it only reads the
	// known ones.
	if err := r.enc.Reconstruct(cells); err != nil {
		return nmt.Proof{}, false
	}
	t, err := axisTree(k, idx, cells)
	if err != nil {
		return nmt.Proof{}, false
	}
	if root, _ := t.Root(); !bytes.Equal(root, r.dah.root(axis, idx)) {
		return nmt.Proof{}, false
	}
	p, err := t.ProveRange(pos, pos+1)
	return p, err == nil
}
