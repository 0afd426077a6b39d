package blob_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/share"
)

func TestGetKZGCells(t *testing.T) {
	f := kzgFixture(t)
	ctx := ctxT(t)
	com := commitmentOf(t, nsB, dataTwo)
	chunks, _ := kzg.Chunks(dataTwo)
	wantCommitment, _ := kzg.BlobToCommitment(chunks[1])
	wantCells, wantProofs, err := kzg.ComputeCells(chunks[1])
	if err != nil {
		t.Fatal(err)
	}

	check := func(got *blob.KZGCells, indices []uint64) {
		t.Helper()
		if kzg.Commitment(got.Commitment) != wantCommitment || len(got.Cells) != len(indices) {
			t.Fatalf("commitment %x, %d cells; want %x, %d", got.Commitment, len(got.Cells), wantCommitment, len(indices))
		}
		cs := make([]kzg.Commitment, len(indices))
		cells := make([]*kzg.Cell, len(indices))
		proofs := make([]kzg.Proof, len(indices))
		for i, c := range got.Cells {
			if c.Index != indices[i] {
				t.Fatalf("cell %d has index %d, want %d", i, c.Index, indices[i])
			}
			if kzg.Cell(c.Cell) != *wantCells[c.Index] || kzg.Proof(c.Proof) != wantProofs[c.Index] {
				t.Fatalf("cell %d differs from kzg.ComputeCells'", c.Index)
			}
			cell := kzg.Cell(c.Cell)
			cs[i], cells[i], proofs[i] = wantCommitment, &cell, kzg.Proof(c.Proof)
		}
		if err := kzg.VerifyCellProofBatch(cs, indices, cells, proofs); err != nil {
			t.Fatalf("cells do not verify: %v", err)
		}
	}
	indices := []uint64{127, 0, 5, 64}
	got, err := f.svc.GetKZGCells(ctx, customHeight, nsB, com, 1, indices)
	if err != nil {
		t.Fatal(err)
	}
	check(got, indices)
	// Again, from the cache, other cells of the same chunk.
	indices = []uint64{3, 4}
	if got, err = f.svc.GetKZGCells(ctx, customHeight, nsB, com, 1, indices); err != nil {
		t.Fatal(err)
	}
	check(got, indices)

	// Half of the cells recover the chunk's whole extension.
	var half []uint64
	for i := uint64(0); i < kzg.CellsPerBlob; i += 2 {
		half = append(half, i)
	}
	if got, err = f.svc.GetKZGCells(ctx, customHeight, nsB, com, 1, half); err != nil {
		t.Fatal(err)
	}
	check(got, half)
	cells := make([]*kzg.Cell, len(got.Cells))
	for i := range got.Cells {
		cells[i] = (*kzg.Cell)(&got.Cells[i].Cell)
	}
	all, _, err := kzg.RecoverCells(half, cells)
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		if *all[i] != *wantCells[i] {
			t.Fatalf("recovered cell %d differs", i)
		}
	}

	// The JSON shape.
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var shape struct {
		Commitment string
		Cells      []struct {
			Index       *uint64
			Cell, Proof string
		}
	}
	if err := json.Unmarshal(raw, &shape); err != nil {
		t.Fatal(err)
	}
	if len(shape.Commitment) != 64 || len(shape.Cells) != len(half) || shape.Cells[1].Index == nil || *shape.Cells[1].Index != 2 ||
		len(shape.Cells[1].Cell) != 2732 || len(shape.Cells[1].Proof) != 64 {
		t.Fatalf("JSON shape: commitment %q, %d cells, the second %+v", shape.Commitment, len(shape.Cells), shape.Cells[1])
	}
	var back blob.KZGCells
	if err := json.Unmarshal(raw, &back); err != nil || back.Commitment != got.Commitment || len(back.Cells) != len(got.Cells) || back.Cells[7] != got.Cells[7] {
		t.Fatalf("KZGCells does not round-trip: %v", err)
	}

	many := make([]uint64, kzg.CellsPerBlob+1)
	for i := range many {
		many[i] = uint64(i % kzg.CellsPerBlob)
	}
	for name, idx := range map[string][]uint64{
		"none": nil, "129": many, "out of range": {3, kzg.CellsPerBlob}, "twice": {3, 9, 3},
	} {
		if _, err := f.svc.GetKZGCells(ctx, customHeight, nsB, com, 1, idx); !errors.Is(err, blob.ErrInvalidKZGRequest) {
			t.Errorf("indices %s: %v, want ErrInvalidKZGRequest", name, err)
		}
	}
	for _, chunk := range []int{-1, 2} {
		if _, err := f.svc.GetKZGCells(ctx, customHeight, nsB, com, chunk, []uint64{0}); !errors.Is(err, blob.ErrInvalidKZGRequest) {
			t.Errorf("chunk %d of 2: %v, want ErrInvalidKZGRequest", chunk, err)
		}
	}
	if _, err := f.svc.GetKZGCells(ctx, customHeight, nsA, commitmentOf(t, nsA, dataNoKZG), 0, []uint64{0}); !errors.Is(err, blob.ErrNoKZG) {
		t.Errorf("cells without KZG: %v", err)
	}
	if _, err := f.svc.GetKZGCells(ctx, customHeight, nsC, commitmentOf(t, nsC, dataWrong), 0, []uint64{0}); !errors.Is(err, kzg.ErrVerify) {
		t.Errorf("cells of swapped proofs: %v", err)
	}
}

// Concurrent calls share the cache safely (run with -race).
func TestGetKZGCellsConcurrent(t *testing.T) {
	f := kzgFixture(t)
	ctx := ctxT(t)
	type req struct {
		ns    share.Namespace
		data  []byte
		chunk int
	}
	reqs := []req{{nsB, dataTwo, 0}, {nsB, dataTwo, 1}, {nsA, dataOne, 0}, {nsB, dataTwo, 1}}
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		com := commitmentOf(t, r.ns, r.data)
		wg.Go(func() {
			_, errs[i] = f.svc.GetKZGCells(ctx, customHeight, r.ns, com, r.chunk, []uint64{uint64(i), 100})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
}
