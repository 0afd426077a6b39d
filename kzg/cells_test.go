package kzg_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/datamesh/mesh-node/kzg"
)

func TestCellsRoundTrip(t *testing.T) {
	blob, err := kzg.EncodeChunk(randomData(3, 100_000))
	if err != nil {
		t.Fatal(err)
	}
	c, err := kzg.BlobToCommitment(blob)
	if err != nil {
		t.Fatal(err)
	}
	cells, proofs, err := kzg.ComputeCells(blob)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != kzg.CellsPerBlob || len(proofs) != kzg.CellsPerBlob {
		t.Fatalf("%d cells, %d proofs, want %d", len(cells), len(proofs), kzg.CellsPerBlob)
	}
	// The extension is systematic: its first half is the blob.
	for i := range kzg.CellsPerBlob / 2 {
		if !bytes.Equal(cells[i][:], blob[i*kzg.CellSize:(i+1)*kzg.CellSize]) {
			t.Fatalf("cell %d is not the blob's bytes", i)
		}
	}

	all := make([]uint64, kzg.CellsPerBlob)
	commitments := make([]kzg.Commitment, kzg.CellsPerBlob)
	for i := range all {
		all[i], commitments[i] = uint64(i), c
	}
	if err := kzg.VerifyCellProofBatch(commitments, all, cells, proofs); err != nil {
		t.Fatalf("all cells: %v", err)
	}

	// Recover all from the odd-indexed half of the cells.
	var idx []uint64
	var half []*kzg.Cell
	for i := 1; i < kzg.CellsPerBlob; i += 2 {
		idx, half = append(idx, uint64(i)), append(half, cells[i])
	}
	got, gotProofs, err := kzg.RecoverCells(idx, half)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cells {
		if *got[i] != *cells[i] || gotProofs[i] != proofs[i] {
			t.Fatalf("recovered cell %d or its proof differs", i)
		}
	}
	if got[1] == cells[1] {
		t.Error("recovered cells alias the input")
	}

	// A cell changed, a cell under another index, a proof of another cell.
	other := *cells[5]
	other[100] ^= 1 // byte 4 of element 3: still below the modulus
	for name, tc := range map[string]struct {
		index uint64
		cell  *kzg.Cell
		proof kzg.Proof
	}{
		"other cell":  {5, &other, proofs[5]},
		"other index": {6, cells[5], proofs[5]},
		"other proof": {5, cells[5], proofs[6]},
	} {
		err := kzg.VerifyCellProofBatch([]kzg.Commitment{c, c}, []uint64{0, tc.index},
			[]*kzg.Cell{cells[0], tc.cell}, []kzg.Proof{proofs[0], tc.proof})
		if !errors.Is(err, kzg.ErrVerify) {
			t.Errorf("%s: got %v, want ErrVerify", name, err)
		}
	}
}

func TestCellInvalidInputs(t *testing.T) {
	var c kzg.Commitment
	var p kzg.Proof
	c[0], p[0] = 0xc0, 0xc0 // the point at infinity, a valid point
	var cell kzg.Cell       // zero: valid
	var bad kzg.Cell
	for i := range 32 {
		bad[32+i] = 0xff // element 1 over the modulus
	}
	var notPoint kzg.Proof
	notPoint[0] = 0x80 | 0x1f // compressed flag, x not on the curve
	for i := 1; i < len(notPoint); i++ {
		notPoint[i] = 0xff
	}
	var blob kzg.Blob
	for i := range 32 {
		blob[i] = 0xff
	}
	if _, _, err := kzg.ComputeCells(nil); !errors.Is(err, kzg.ErrInvalidInput) {
		t.Errorf("ComputeCells(nil): %v", err)
	}
	if _, _, err := kzg.ComputeCells(&blob); !errors.Is(err, kzg.ErrInvalidInput) {
		t.Errorf("ComputeCells(element over the modulus): %v", err)
	}

	// 64 zero cells: the zero blob's, so valid input for recovery.
	idx := make([]uint64, kzg.CellsPerBlob/2)
	cells := make([]*kzg.Cell, kzg.CellsPerBlob/2)
	for i := range idx {
		idx[i], cells[i] = uint64(2*i), &cell
	}
	if got, _, err := kzg.RecoverCells(idx, cells); err != nil || *got[1] != cell {
		t.Fatalf("recover the zero blob: %v", err)
	}
	withCell := func(i int, c *kzg.Cell) []*kzg.Cell {
		s := slices.Clone(cells)
		s[i] = c
		return s
	}
	swapped := slices.Clone(idx)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	repeated := slices.Clone(idx)
	repeated[1] = repeated[0]
	outOfRange := slices.Clone(idx)
	outOfRange[len(idx)-1] = kzg.CellsPerBlob
	for name, tc := range map[string]struct {
		idx   []uint64
		cells []*kzg.Cell
	}{
		"lengths":      {idx[1:], cells},
		"too few":      {idx[1:], cells[1:]},
		"none":         {nil, nil},
		"unordered":    {swapped, cells},
		"repeated":     {repeated, cells},
		"out of range": {outOfRange, cells},
		"nil cell":     {idx, withCell(3, nil)},
		"bad cell":     {idx, withCell(3, &bad)},
	} {
		if _, _, err := kzg.RecoverCells(tc.idx, tc.cells); !errors.Is(err, kzg.ErrInvalidInput) {
			t.Errorf("RecoverCells(%s): got %v, want ErrInvalidInput", name, err)
		}
	}

	one := func(c kzg.Commitment, i uint64, cell *kzg.Cell, p kzg.Proof) error {
		return kzg.VerifyCellProofBatch([]kzg.Commitment{c}, []uint64{i}, []*kzg.Cell{cell}, []kzg.Proof{p})
	}
	if err := one(c, 7, &cell, p); err != nil {
		t.Fatalf("zero cell of the zero blob: %v", err)
	}
	for name, err := range map[string]error{
		"lengths":          kzg.VerifyCellProofBatch([]kzg.Commitment{c}, []uint64{0, 1}, []*kzg.Cell{&cell}, []kzg.Proof{p}),
		"index":            one(c, kzg.CellsPerBlob, &cell, p),
		"nil cell":         one(c, 0, nil, p),
		"bad cell":         one(c, 0, &bad, p),
		"proof not point":  one(c, 0, &cell, notPoint),
		"commitment bytes": one(kzg.Commitment(notPoint), 0, &cell, p),
	} {
		if !errors.Is(err, kzg.ErrInvalidInput) {
			t.Errorf("VerifyCellProofBatch(%s): got %v, want ErrInvalidInput", name, err)
		}
	}
	if err := kzg.VerifyCellProofBatch(nil, nil, nil, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}
