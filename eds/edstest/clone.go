package edstest

import (
	"bytes"
	"slices"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/nmt"
)

// Deep copies of proofs, for tests that tamper with a copy and check that
// it no longer verifies while the original still does.

// CloneCells returns a copy of cells whose cells are copies too.
func CloneCells(cells [][]byte) [][]byte {
	out := make([][]byte, len(cells))
	for i, c := range cells {
		out[i] = bytes.Clone(c)
	}
	return out
}

// CloneNMTProofs returns a copy of ps with copies of their nodes.
func CloneNMTProofs(ps []nmt.Proof) []nmt.Proof {
	out := slices.Clone(ps)
	for i := range out {
		out[i].Nodes = CloneCells(out[i].Nodes)
	}
	return out
}

// CloneRowProof returns a copy of p with copies of its row roots and of
// its Merkle proofs' aunts.
func CloneRowProof(p eds.RowProof) eds.RowProof {
	q := p
	q.RowRoots = CloneCells(p.RowRoots)
	q.Proofs = slices.Clone(p.Proofs)
	for i := range q.Proofs {
		q.Proofs[i].Aunts = CloneCells(q.Proofs[i].Aunts)
	}
	return q
}
