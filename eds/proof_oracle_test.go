package eds_test

// Oracle helpers for proofs: conversion between our nmt.Proof and
// celestiaorg/nmt's, and reference trees of an axis built through the
// ErasuredNamespacedMerkleTree oracle of oracle_test.go. Test-only.

import (
	"crypto/sha256"
	"testing"

	refnmt "github.com/celestiaorg/nmt"
	"github.com/celestiaorg/rsmt2d"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/nmt"
)

// toRef converts our proof to the reference's.
func toRef(p nmt.Proof) refnmt.Proof {
	switch {
	case p.IsOfAbsence():
		return refnmt.NewAbsenceProof(p.Start, p.End, p.Nodes, p.LeafHash, p.IsMaxNamespaceIgnored)
	case p.IsEmpty():
		return refnmt.NewEmptyRangeProof(p.IsMaxNamespaceIgnored)
	default:
		return refnmt.NewInclusionProof(p.Start, p.End, p.Nodes, p.IsMaxNamespaceIgnored)
	}
}

// fromRef converts the reference's proof to ours.
func fromRef(p refnmt.Proof) nmt.Proof {
	out := nmt.Proof{
		Start:                 p.Start(),
		End:                   p.End(),
		LeafHash:              p.LeafHash(),
		IsMaxNamespaceIgnored: p.IsMaxNamespaceIDIgnored(),
	}
	if len(p.Nodes()) > 0 {
		out.Nodes = p.Nodes()
	}
	return out
}

// leafNs is ns' of spec section 5 for cell (row, col) of a square of
// original width k.
func leafNs(k, row, col int, s []byte) []byte {
	if row < k && col < k {
		return s[:nsSize]
	}
	return parityNs
}

// refAxisTree returns the reference tree of row or column idx of ref.
func refAxisTree(tb testing.TB, ref *rsmt2d.ExtendedDataSquare, axis eds.Axis, idx int) *refnmt.NamespacedMerkleTree {
	tb.Helper()
	k := ref.Width() / 2
	refAxis, cells := rsmt2d.Row, ref.Row(uint(idx))
	if axis == eds.Col {
		refAxis, cells = rsmt2d.Col, ref.Col(uint(idx))
	}
	t := oracleTreeFn(k)(refAxis, uint(idx)).(*oracleTree)
	for _, c := range cells {
		if err := t.Push(c); err != nil {
			tb.Fatal(err)
		}
	}
	return t.tree
}

// refVerifySample reports whether the reference verifier accepts s as the
// share at (row, col) of the square committed to by dah.
func refVerifySample(dah *eds.DataAvailabilityHeader, s *eds.Sample, row, col int) bool {
	k := dah.SquareSize()
	root := dah.RowRoots[row]
	if s.Axis == eds.Col {
		root = dah.ColumnRoots[col]
	}
	return toRef(s.Proof).VerifyInclusion(sha256.New(), leafNs(k, row, col, s.Share), [][]byte{s.Share}, root)
}

// checkEvidenceProofs checks the proofs of Repair's evidence: one entry per
// share, set only for known shares, want of them, each proving its share
// against the orthogonal root, by our verifier and the reference's.
func checkEvidenceProofs(t *testing.T, dah *eds.DataAvailabilityHeader, byz *eds.ErrByzantineData, want int) {
	t.Helper()
	orth := eds.Col
	if byz.Axis == eds.Col {
		orth = eds.Row
	}
	proven := 0
	for j, p := range byz.Proofs {
		if p == nil {
			continue
		}
		if byz.Shares[j] == nil {
			t.Fatalf("proof %d for an unknown share", j)
		}
		proven++
		row, col := byz.Index, j
		if byz.Axis == eds.Col {
			row, col = j, byz.Index
		}
		s := &eds.Sample{Share: byz.Shares[j], Proof: *p, Axis: orth}
		if err := s.Verify(dah, row, col); err != nil {
			t.Fatalf("proof %d: %v", j, err)
		}
		if !refVerifySample(dah, s, row, col) {
			t.Fatalf("proof %d rejected by the reference", j)
		}
	}
	if proven != want {
		t.Fatalf("%d proofs, want %d", proven, want)
	}
}
