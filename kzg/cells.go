package kzg

import (
	"fmt"

	goethkzg "github.com/crate-crypto/go-eth-kzg"
)

const (
	// CellsPerBlob is the number of cells of a blob's extension
	// (EIP-7594 CELLS_PER_EXT_BLOB): the blob's polynomial evaluated at
	// twice its 4,096 points, cut into cells of 64 evaluations.
	CellsPerBlob = 128
	// CellSize is the size of a cell: 64 big-endian field elements of 32
	// bytes.
	CellSize = 2048
)

// Cell is one of the CellsPerBlob cells of a blob's extension (EIP-7594).
type Cell [CellSize]byte

// The compiler checks the constants against go-eth-kzg's: the pointer
// conversions below need CellSize to match, this needs CellsPerBlob to.
var _ [goethkzg.CellsPerExtBlob]struct{} = [CellsPerBlob]struct{}{}

// ComputeCells returns the CellsPerBlob cells of blob's extension and the
// proof of each against blob's commitment (compute_cells_and_kzg_proofs):
// proofs[i] opens cells[i]. Both slices have CellsPerBlob entries, newly
// allocated; the caller owns them. The error wraps ErrInvalidInput for a
// nil blob or one with a field element not below the modulus, or ErrSetup.
func ComputeCells(blob *Blob) (cells []*Cell, proofs []Proof, err error) {
	if blob == nil {
		return nil, nil, errNilBlob
	}
	ctx, err := setup()
	if err != nil {
		return nil, nil, err
	}
	cs, ps, err := ctx.ComputeCellsAndKZGProofs((*goethkzg.Blob)(blob), numGoroutines)
	if err != nil {
		return nil, nil, invalid(err)
	}
	cells, proofs = fromCells(&cs, &ps)
	return cells, proofs, nil
}

// RecoverCells returns all CellsPerBlob cells of a blob's extension, and
// their proofs as ComputeCells gives them, from at least half of the cells:
// cells[i] is the cell at index indices[i] (recover_cells_and_kzg_proofs).
// The indices must be strictly ascending and below CellsPerBlob. The
// returned slices are newly allocated and do not alias cells. The error
// wraps ErrInvalidInput for lists of different lengths, fewer than
// CellsPerBlob/2 cells, indices out of order, repeated or out of range, a
// nil cell or a cell with a field element not below the modulus, or
// ErrSetup. It does not check the cells against a commitment: cells of no
// blob recover some other polynomial's, which VerifyCellProofBatch then
// rejects against the expected commitment.
func RecoverCells(indices []uint64, cells []*Cell) (all []*Cell, proofs []Proof, err error) {
	if len(indices) != len(cells) {
		return nil, nil, fmt.Errorf("kzg: %w: %d cell indices, %d cells", ErrInvalidInput, len(indices), len(cells))
	}
	gcs, err := toCells(cells)
	if err != nil {
		return nil, nil, err
	}
	ctx, err := setup()
	if err != nil {
		return nil, nil, err
	}
	cs, ps, err := ctx.RecoverCellsAndComputeKZGProofs(indices, gcs, numGoroutines)
	if err != nil {
		return nil, nil, invalid(err)
	}
	all, proofs = fromCells(&cs, &ps)
	return all, proofs, nil
}

// VerifyCellProofBatch checks that proofs[i] shows cells[i] to be the cell
// at index indices[i] of the extension of the blob committed to by
// commitments[i], for every i (verify_cell_kzg_proof_batch). Cells of one
// blob repeat its commitment; cells and blobs may appear in any order, and
// a cell more than once. Empty lists verify. It returns nil if all hold;
// else the error wraps ErrInvalidInput for lists of different lengths, an
// index not below CellsPerBlob, a nil cell, a cell with a field element not
// below the modulus or a commitment or proof that is not a compressed point
// of the G1 subgroup; ErrVerify for well-formed inputs that do not verify
// (for the batch as a whole: it does not say which entry failed); or
// ErrSetup.
func VerifyCellProofBatch(commitments []Commitment, indices []uint64, cells []*Cell, proofs []Proof) error {
	n := len(cells)
	if len(commitments) != n || len(indices) != n || len(proofs) != n {
		return fmt.Errorf("kzg: %w: %d commitments, %d cell indices, %d cells, %d proofs",
			ErrInvalidInput, len(commitments), len(indices), n, len(proofs))
	}
	for i, idx := range indices {
		if idx >= CellsPerBlob {
			return fmt.Errorf("kzg: %w: entry %d: cell index %d, at most %d", ErrInvalidInput, i, idx, CellsPerBlob-1)
		}
	}
	gcs, err := toCells(cells)
	if err != nil {
		return err
	}
	cs := make([]goethkzg.KZGCommitment, n)
	ps := make([]goethkzg.KZGProof, n)
	for i := range n {
		cs[i], ps[i] = goethkzg.KZGCommitment(commitments[i]), goethkzg.KZGProof(proofs[i])
	}
	ctx, err := setup()
	if err != nil {
		return err
	}
	if err := ctx.VerifyCellKZGProofBatch(cs, indices, gcs, ps); err != nil {
		for i := range n {
			if bad := checkInputs(nil, cs[i], ps[i]); bad != nil {
				return fmt.Errorf("kzg: %w: entry %d: %v", ErrInvalidInput, i, bad)
			}
			if bad := checkCell(cells[i]); bad != nil {
				return fmt.Errorf("kzg: %w: entry %d: %v", ErrInvalidInput, i, bad)
			}
		}
		return fmt.Errorf("kzg: %w: %v", ErrVerify, err)
	}
	return nil
}

// toCells converts cells to go-eth-kzg's type, without copying; a nil
// cell wraps ErrInvalidInput.
func toCells(cells []*Cell) ([]*goethkzg.Cell, error) {
	gcs := make([]*goethkzg.Cell, len(cells))
	for i, c := range cells {
		if c == nil {
			return nil, fmt.Errorf("kzg: %w: nil cell %d", ErrInvalidInput, i)
		}
		gcs[i] = (*goethkzg.Cell)(c)
	}
	return gcs, nil
}

// fromCells converts go-eth-kzg's cells and proofs to this package's,
// taking over the cells go-eth-kzg allocated.
func fromCells(cs *[CellsPerBlob]*goethkzg.Cell, ps *[CellsPerBlob]goethkzg.KZGProof) ([]*Cell, []Proof) {
	cells := make([]*Cell, CellsPerBlob)
	proofs := make([]Proof, CellsPerBlob)
	for i := range CellsPerBlob {
		cells[i], proofs[i] = (*Cell)(cs[i]), Proof(ps[i])
	}
	return cells, proofs
}

// checkCell returns an error if a field element of c is not below the
// modulus.
func checkCell(c *Cell) error {
	for i := 0; i < CellSize; i += fieldElementSize {
		if _, err := goethkzg.DeserializeScalar(goethkzg.Scalar(c[i : i+fieldElementSize])); err != nil {
			return fmt.Errorf("cell element %d: %w", i/fieldElementSize, err)
		}
	}
	return nil
}
