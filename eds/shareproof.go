package eds

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/merkle"
	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
)

// ErrInvalidShareProof is wrapped by every error of RowProof.Verify,
// ShareProof.Verify and ProveShares for a range or rows that do not fit.
var ErrInvalidShareProof = errors.New("eds: invalid share proof")

// ProveRowRoots returns the proofs of the row roots [start, end) to the
// data root (Hash): each is the Merkle proof of its root among the row
// roots followed by the column roots, the items Hash is computed over.
// Errors wrap ErrInvalidShareProof for rows outside the header.
func (d *DataAvailabilityHeader) ProveRowRoots(start, end int) (*RowProof, error) {
	if d == nil || start < 0 || end <= start || end > len(d.RowRoots) {
		return nil, fmt.Errorf("%w: rows [%d, %d) of a square of width %d", ErrInvalidShareProof, start, end, len(d.RowRoots))
	}
	_, all := merkle.ProofsFromByteSlices(d.roots())
	rp := &RowProof{StartRow: start, EndRow: end - 1, RowRoots: make([][]byte, 0, end-start), Proofs: make([]merkle.Proof, 0, end-start)}
	for i := start; i < end; i++ {
		rp.RowRoots = append(rp.RowRoots, bytes.Clone(d.RowRoots[i]))
		rp.Proofs = append(rp.Proofs, *all[i])
	}
	return rp, nil
}

// RowProof proves the roots of the rows StartRow..EndRow (inclusive, as
// Celestia's RowProof) to a data root: Proofs[i] proves RowRoots[i].
type RowProof struct {
	RowRoots [][]byte
	Proofs   []merkle.Proof
	StartRow int
	EndRow   int
}

// Verify checks that the rows' roots are rows StartRow..EndRow under
// dataRoot: one root and one proof per row, each proof of index
// StartRow+i among the row roots (the first half of its Total items).
// Celestia's verifier does not check the indices; this one does, so that
// StartRow means what it says. Errors wrap ErrInvalidShareProof; it never
// panics.
func (p RowProof) Verify(dataRoot []byte) error {
	if len(dataRoot) == 0 {
		return fmt.Errorf("%w: empty data root", ErrInvalidShareProof)
	}
	n := len(p.RowRoots)
	switch {
	case n == 0:
		return fmt.Errorf("%w: no row roots", ErrInvalidShareProof)
	case p.StartRow < 0 || p.EndRow < p.StartRow || p.EndRow-p.StartRow+1 != n:
		return fmt.Errorf("%w: rows %d..%d for %d row roots", ErrInvalidShareProof, p.StartRow, p.EndRow, n)
	case len(p.Proofs) != n:
		return fmt.Errorf("%w: %d proofs for %d row roots", ErrInvalidShareProof, len(p.Proofs), n)
	}
	for i, mp := range p.Proofs {
		if mp.Index != int64(p.StartRow+i) || mp.Index >= mp.Total/2 {
			return fmt.Errorf("%w: proof %d is of item %d of %d, want row %d", ErrInvalidShareProof, i, mp.Index, mp.Total, p.StartRow+i)
		}
		if err := mp.Verify(dataRoot, p.RowRoots[i]); err != nil {
			return fmt.Errorf("%w: row %d: %w", ErrInvalidShareProof, p.StartRow+i, err)
		}
	}
	return nil
}

// ShareProof proves a range of shares of the original data square, all of
// one namespace, to a data root (Celestia's ShareProof, which
// celestia-node's share.GetRange returns): ShareProofs[i] proves the
// range's shares in row RowProof.StartRow+i against that row's root, and
// RowProof proves the row roots.
type ShareProof struct {
	// Data are the shares, in row-major order.
	Data [][]byte
	// ShareProofs are NMT inclusion proofs, one per row.
	ShareProofs []nmt.Proof
	// Namespace is the namespace of every share.
	Namespace share.Namespace
	RowProof  RowProof
}

// ProveShares returns the proof of the shares [from, to) of the original
// data square of d (indices row-major over the k×k ODS, to exclusive).
// rows are the extended rows the range spans, in order, each of 2k shares
// (the first of them row from/k): a caller gets them from its square or
// fetches them verified. Each row is checked against its root in d. The
// shares must all be of one namespace (Celestia's verifier proves all of
// them under one). Errors wrap ErrInvalidShareProof, or ErrOutOfRange for
// a range not within the ODS. The proof owns its slices.
func ProveShares(d *DataAvailabilityHeader, from, to int, rows [][][]byte) (*ShareProof, error) {
	w, err := d.width()
	if err != nil {
		return nil, err
	}
	k := w / 2
	if from < 0 || to <= from || to > k*k {
		return nil, fmt.Errorf("%w: shares [%d, %d) of an original square of %d shares", ErrOutOfRange, from, to, k*k)
	}
	first, last := from/k, (to-1)/k
	if len(rows) != last-first+1 {
		return nil, fmt.Errorf("%w: %d rows given for rows %d..%d", ErrInvalidShareProof, len(rows), first, last)
	}
	rp, err := d.ProveRowRoots(first, last+1)
	if err != nil {
		return nil, err
	}
	sp := &ShareProof{RowProof: *rp, ShareProofs: make([]nmt.Proof, 0, len(rows)), Data: make([][]byte, 0, to-from)}
	for i, cells := range rows {
		row := first + i
		if len(cells) != w {
			return nil, fmt.Errorf("%w: row %d has %d shares, want %d", ErrInvalidShareProof, row, len(cells), w)
		}
		for j, c := range cells {
			if len(c) != share.ShareSize {
				return nil, fmt.Errorf("%w: share (%d, %d) has %d bytes", ErrInvalidShareProof, row, j, len(c))
			}
		}
		t, err := axisTree(k, row, cells)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidShareProof, err)
		}
		if root, _ := t.Root(); !bytes.Equal(root, d.RowRoots[row]) {
			return nil, fmt.Errorf("%w: row %d does not match its root", ErrInvalidShareProof, row)
		}
		lo, hi := max(from, row*k)-row*k, min(to, (row+1)*k)-row*k
		p, err := t.ProveRange(lo, hi)
		if err != nil {
			return nil, fmt.Errorf("%w: row %d: %w", ErrInvalidShareProof, row, err)
		}
		sp.ShareProofs = append(sp.ShareProofs, p)
		for _, c := range cells[lo:hi] {
			sp.Data = append(sp.Data, bytes.Clone(c))
		}
	}
	ns, err := share.NamespaceFromBytes(sp.Data[0][:share.NamespaceSize])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidShareProof, err)
	}
	for i, s := range sp.Data {
		if !bytes.Equal(s[:share.NamespaceSize], ns[:]) {
			return nil, fmt.Errorf("%w: shares [%d, %d) are of more than one namespace (%s at %d, %x at %d); a share proof proves one",
				ErrInvalidShareProof, from, to, ns, from, s[:share.NamespaceSize], from+i)
		}
	}
	sp.Namespace = ns
	return sp, nil
}

// Verify checks that Data are shares of rows RowProof.StartRow..EndRow of
// the square under dataRoot: RowProof verifies, and ShareProofs[i] proves
// the next End-Start shares, all of Namespace, in row i against its root.
// It also checks what Celestia's verifier leaves out: the proofs cover one
// contiguous range (every row but the first starts at column 0, every row
// but the last ends at column k). Errors wrap ErrInvalidShareProof; it
// never panics.
func (p ShareProof) Verify(dataRoot []byte) error {
	if err := p.RowProof.Verify(dataRoot); err != nil {
		return err
	}
	if len(p.ShareProofs) != len(p.RowProof.RowRoots) {
		return fmt.Errorf("%w: %d share proofs for %d rows", ErrInvalidShareProof, len(p.ShareProofs), len(p.RowProof.RowRoots))
	}
	// The row proofs' Total is the 4k roots of the header.
	k := int(p.RowProof.Proofs[0].Total / 4)
	rest := p.Data
	for i, sp := range p.ShareProofs {
		n := sp.End - sp.Start
		switch {
		case sp.Start < 0 || n <= 0 || sp.End > k:
			return fmt.Errorf("%w: row %d: range [%d, %d) not within the %d original columns", ErrInvalidShareProof, i, sp.Start, sp.End, k)
		case i > 0 && sp.Start != 0, i < len(p.ShareProofs)-1 && sp.End != k:
			return fmt.Errorf("%w: row %d: range [%d, %d) leaves a gap in the shares", ErrInvalidShareProof, i, sp.Start, sp.End)
		case n > len(rest):
			return fmt.Errorf("%w: %d shares, the proofs cover more", ErrInvalidShareProof, len(p.Data))
		}
		if err := sp.VerifyInclusion(p.Namespace[:], rest[:n], p.RowProof.RowRoots[i]); err != nil {
			return fmt.Errorf("%w: row %d: %w", ErrInvalidShareProof, p.RowProof.StartRow+i, err)
		}
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %d shares, the proofs cover %d", ErrInvalidShareProof, len(p.Data), len(p.Data)-len(rest))
	}
	return nil
}
