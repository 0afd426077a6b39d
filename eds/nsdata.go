package eds

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
	"google.golang.org/protobuf/encoding/protowire"
)

// ErrInvalidNamespaceData is wrapped by every error from
// RowNamespaceData.Verify, NamespaceData.Verify and the RowNamespaceData
// encoding.
var ErrInvalidNamespaceData = errors.New("eds: invalid namespace data")

// RowsWithNamespace returns, in increasing order, the rows of the square
// committed to by dah that may hold shares of ns: the rows of the first half
// (rows k and above are parity) whose root's namespace range [min, max]
// contains ns. It returns nil for a header that fails ValidateBasic.
func RowsWithNamespace(dah *DataAvailabilityHeader, ns share.Namespace) []int {
	if dah.ValidateBasic() != nil {
		return nil
	}
	return rowsWithNamespace(dah.RowRoots, ns)
}

// rowsWithNamespace is RowsWithNamespace over 2k valid row roots.
func rowsWithNamespace(rowRoots [][]byte, ns share.Namespace) []int {
	var rows []int
	for i, root := range rowRoots[:len(rowRoots)/2] {
		if bytes.Compare(nmt.MinNamespace(root), ns[:]) <= 0 && bytes.Compare(ns[:], nmt.MaxNamespaceOf(root)) <= 0 {
			rows = append(rows, i)
		}
	}
	return rows
}

// RowNamespaceData is the data of one namespace in one row (spec section 8,
// celestia-node shwap's RowNamespaceData), in one of three forms:
//   - inclusion: Shares are the row's shares of the namespace (contiguous,
//     in quadrant Q0) and Proof an inclusion proof of their range;
//   - absence: no Shares, and Proof an absence proof showing the namespace
//     lies inside the root's range but has no leaf;
//   - empty: no Shares and the empty proof, for a row whose root's range
//     does not contain the namespace.
type RowNamespaceData struct {
	// Shares are share.ShareSize bytes each.
	Shares [][]byte
	// Proof proves the leaves ns || share of the row's tree.
	Proof nmt.Proof
}

// NamespaceData is all the data of one namespace in a square: one entry per
// row that RowsWithNamespace returns, in increasing row order.
type NamespaceData []NamespaceRow

// NamespaceRow is the data of a namespace in one row and the row's index.
type NamespaceRow struct {
	Row  int
	Data RowNamespaceData
}

// RowNamespaceData returns the data of ns in row row of e: its shares with an
// inclusion proof, or an absence proof, or for a row whose root's range does
// not contain ns, the empty proof. It builds the row's tree, 2k leaf hashes.
// The result is owned by the caller: the shares are copies. Errors wrap
// ErrOutOfRange for a row outside the square and share.ErrInvalidNamespace
// for the parity namespace, whose completeness no proof can show.
func (e *ExtendedDataSquare) RowNamespaceData(ns share.Namespace, row int) (*RowNamespaceData, error) {
	if err := checkDataNamespace(ns); err != nil {
		return nil, err
	}
	if row < 0 || row >= e.width {
		return nil, fmt.Errorf("%w: row %d of a square of width %d", ErrOutOfRange, row, e.width)
	}
	t, err := axisTree(e.k, row, e.Row(row))
	if err != nil {
		return nil, err
	}
	p, err := t.ProveNamespace(ns[:])
	if err != nil {
		return nil, err
	}
	d := &RowNamespaceData{Proof: p}
	if !p.IsOfAbsence() && p.End > p.Start {
		d.Shares = cloneCells(e.Row(row)[p.Start:p.End])
	}
	return d, nil
}

// NamespaceData returns the data of ns in e: for every row RowsWithNamespace
// returns for e's header, the row's shares of ns with an inclusion proof, or
// an absence proof. It returns an empty NamespaceData when no row may hold
// ns. The result is owned by the caller. Errors as for RowNamespaceData.
func (e *ExtendedDataSquare) NamespaceData(ns share.Namespace) (NamespaceData, error) {
	if err := checkDataNamespace(ns); err != nil {
		return nil, err
	}
	roots, err := e.RowRoots()
	if err != nil {
		return nil, err
	}
	rows := rowsWithNamespace(roots, ns)
	out := make(NamespaceData, 0, len(rows))
	for _, row := range rows {
		d, err := e.RowNamespaceData(ns, row)
		if err != nil {
			return nil, err
		}
		out = append(out, NamespaceRow{Row: row, Data: *d})
	}
	return out, nil
}

// Verify checks that d is all the data of ns in row row of the square
// committed to by dah: every share is share.ShareSize bytes and of namespace
// ns, and the proof verifies with nmt's VerifyNamespace, leaves ns || share,
// against the row's root, which shows completeness: no share of ns in the
// row is left out. For a row whose root's range does not contain ns, the
// empty proof with no shares verifies.
//
// A nil error means d verifies. Errors wrap ErrInvalidNamespaceData, with
// ErrInvalidDAH, ErrInvalidSquareSize, ErrOutOfRange, ErrInvalidShareSize,
// share.ErrInvalidNamespace or nmt.ErrInvalidProof when one of those is the
// reason. Verify never panics on malformed data or a malformed header.
func (d *RowNamespaceData) Verify(dah *DataAvailabilityHeader, ns share.Namespace, row int) error {
	if d == nil {
		return fmt.Errorf("%w: nil row data", ErrInvalidNamespaceData)
	}
	w, err := dah.width()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidNamespaceData, err)
	}
	return d.verify(dah, w, ns, row)
}

// verify is Verify for a header of width w already validated.
func (d *RowNamespaceData) verify(dah *DataAvailabilityHeader, w int, ns share.Namespace, row int) error {
	if err := checkDataNamespace(ns); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidNamespaceData, err)
	}
	if row < 0 || row >= w {
		return fmt.Errorf("%w: %w: row %d of a square of width %d", ErrInvalidNamespaceData, ErrOutOfRange, row, w)
	}
	const leafSize = share.NamespaceSize + share.ShareSize
	buf := make([]byte, 0, len(d.Shares)*leafSize)
	leaves := make([][]byte, len(d.Shares))
	for i, s := range d.Shares {
		if len(s) != share.ShareSize {
			return fmt.Errorf("%w: %w: row %d share %d has %d bytes, want %d",
				ErrInvalidNamespaceData, ErrInvalidShareSize, row, i, len(s), share.ShareSize)
		}
		if !bytes.Equal(s[:share.NamespaceSize], ns[:]) {
			return fmt.Errorf("%w: row %d share %d has namespace %x, want %s", ErrInvalidNamespaceData, row, i, s[:share.NamespaceSize], ns)
		}
		buf = append(append(buf, ns[:]...), s...)
		leaves[i] = buf[len(buf)-leafSize:]
	}
	if err := d.Proof.VerifyNamespace(ns[:], leaves, dah.RowRoots[row]); err != nil {
		return fmt.Errorf("%w: row %d: %w", ErrInvalidNamespaceData, row, err)
	}
	return nil
}

// Verify checks that nd is all the data of ns in the square committed to by
// dah: it has exactly the rows RowsWithNamespace returns, in that order, and
// each row's data verifies (RowNamespaceData.Verify), which together show
// that no share of ns in the square is left out. An empty nd verifies when
// no row may hold ns. Errors as for RowNamespaceData.Verify.
func (nd NamespaceData) Verify(dah *DataAvailabilityHeader, ns share.Namespace) error {
	w, err := dah.width()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidNamespaceData, err)
	}
	if err := checkDataNamespace(ns); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidNamespaceData, err)
	}
	want := rowsWithNamespace(dah.RowRoots, ns)
	if len(nd) != len(want) {
		return fmt.Errorf("%w: %d rows, want %d (rows %v)", ErrInvalidNamespaceData, len(nd), len(want), want)
	}
	for i, r := range nd {
		if r.Row != want[i] {
			return fmt.Errorf("%w: entry %d is row %d, want row %d", ErrInvalidNamespaceData, i, r.Row, want[i])
		}
		if err := r.Data.verify(dah, w, ns, r.Row); err != nil {
			return err
		}
	}
	return nil
}

// Flatten returns the shares of all rows in order. The outer slice is new;
// the shares alias nd's.
func (nd NamespaceData) Flatten() [][]byte {
	n := 0
	for _, r := range nd {
		n += len(r.Data.Shares)
	}
	out := make([][]byte, 0, n)
	for _, r := range nd {
		out = append(out, r.Data.Shares...)
	}
	return out
}

// checkDataNamespace rejects the parity namespace: the ignore-max rule keeps
// its leaves out of node ranges, so no proof can show its completeness.
func checkDataNamespace(ns share.Namespace) error {
	if ns.IsParity() {
		return fmt.Errorf("%w: the parity namespace has no namespace data", share.ErrInvalidNamespace)
	}
	return nil
}

// cloneCells copies shares into one new backing array.
func cloneCells(cells [][]byte) [][]byte {
	buf := make([]byte, 0, len(cells)*share.ShareSize)
	out := make([][]byte, len(cells))
	for i, c := range cells {
		buf = append(buf, c...)
		out[i] = buf[len(buf)-len(c) : len(buf) : len(buf)]
	}
	return out
}

// Protobuf field numbers of shwap's
//
//	message RowNamespaceData {
//	  repeated Share shares = 1;  // message Share { bytes data = 1; }
//	  proof.pb.Proof proof = 2;
//	}
const (
	fieldRowNsShares protowire.Number = 1
	fieldRowNsProof  protowire.Number = 2
)

// MaxRowNamespaceDataSize bounds the encoding of a RowNamespaceData that
// UnmarshalRowNamespaceData accepts: MaxSquareSize shares (a namespace's
// shares lie in the k ≤ MaxSquareSize cells of Q0 of a row) and the largest
// proof, each behind its tag and length. Longer input is rejected unread.
const MaxRowNamespaceDataSize = MaxSquareSize*(1+2+shareMsgSize) + (1 + 2 + maxProofEncodedSize)

// MarshalBinary returns the protobuf encoding of d (the message above). It
// fails, wrapping ErrInvalidNamespaceData, for more than MaxSquareSize
// shares, a share that is not share.ShareSize bytes or a proof
// nmt.UnmarshalProof would reject.
func (d *RowNamespaceData) MarshalBinary() ([]byte, error) {
	if len(d.Shares) > MaxSquareSize {
		return nil, fmt.Errorf("%w: %d shares, at most %d", ErrInvalidNamespaceData, len(d.Shares), MaxSquareSize)
	}
	b := make([]byte, 0, len(d.Shares)*(1+2+shareMsgSize)+1+2+maxProofEncodedSize)
	for i, s := range d.Shares {
		if len(s) != share.ShareSize {
			return nil, fmt.Errorf("%w: %w: share %d has %d bytes, want %d", ErrInvalidNamespaceData, ErrInvalidShareSize, i, len(s), share.ShareSize)
		}
		b = appendShareMsg(b, fieldRowNsShares, s)
	}
	b, err := appendProof(b, fieldRowNsProof, d.Proof)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidNamespaceData, err)
	}
	return b, nil
}

// UnmarshalRowNamespaceData decodes the protobuf encoding of a
// RowNamespaceData, treating data as untrusted: at most
// MaxRowNamespaceDataSize bytes, at most MaxSquareSize shares of exactly
// share.ShareSize bytes, a proof within nmt.UnmarshalProof's limits, which
// must be present once. It does not verify the proof. The result does not
// alias data. Errors wrap ErrInvalidNamespaceData.
func UnmarshalRowNamespaceData(data []byte) (*RowNamespaceData, error) {
	if len(data) > MaxRowNamespaceDataSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidNamespaceData, len(data), MaxRowNamespaceDataSize)
	}
	var (
		d         RowNamespaceData
		shares    [][]byte // aliasing data until copied
		haveProof bool
	)
	err := walkMessage(data, func(f field) error {
		switch f.num {
		case fieldRowNsShares:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			if len(shares) == MaxSquareSize {
				return fmt.Errorf("more than %d shares", MaxSquareSize)
			}
			s, err := decodeShareMsg(f.bytes)
			if err != nil {
				return fmt.Errorf("share %d: %w", len(shares), err)
			}
			shares = append(shares, s)
		case fieldRowNsProof:
			return f.singleProof(&haveProof, &d.Proof)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidNamespaceData, err)
	}
	if !haveProof {
		return nil, fmt.Errorf("%w: proof missing", ErrInvalidNamespaceData)
	}
	if len(shares) > 0 {
		d.Shares = cloneCells(shares)
	}
	return &d, nil
}
