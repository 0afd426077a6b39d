package blobstream

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/merkle"
	"github.com/datamesh/mesh-node/nmt"
)

// ErrBuild is wrapped by every error of NewSharesProof and of the
// conversions it uses.
var ErrBuild = errors.New("blobstream: cannot build shares proof")

// BinaryProofFromMerkle converts a CometBFT-style merkle.Proof (aunts from
// the leaf up, index, total) to a BinaryMerkleProof: SideNodes are the
// aunts in the same order, Key the index, NumLeaves the total. It checks
// the sizes only; errors wrap ErrBuild.
func BinaryProofFromMerkle(p merkle.Proof) (BinaryMerkleProof, error) {
	out := BinaryMerkleProof{SideNodes: make([][32]byte, len(p.Aunts))}
	if p.Index < 0 || p.Total < 1 || p.Total > MaxProofKey || len(p.Aunts) > merkle.MaxAunts {
		return out, fmt.Errorf("%w: merkle proof of item %d of %d with %d aunts", ErrBuild, p.Index, p.Total, len(p.Aunts))
	}
	out.Key, out.NumLeaves = uint64(p.Index), uint64(p.Total)
	for i, a := range p.Aunts {
		if len(a) != len(out.SideNodes[i]) {
			return out, fmt.Errorf("%w: aunt %d of %d bytes", ErrBuild, i, len(a))
		}
		copy(out.SideNodes[i][:], a)
	}
	return out, nil
}

// MultiproofFromNMT converts an NMT inclusion proof of the leaves
// [Start, End) of a row to a NamespaceMerkleMultiproof: BeginKey and EndKey
// are Start and End, SideNodes the proof's nodes in order. Absence and
// empty proofs, which prove no shares, are refused; errors wrap ErrBuild.
func MultiproofFromNMT(p nmt.Proof) (NamespaceMerkleMultiproof, error) {
	var out NamespaceMerkleMultiproof
	if p.IsOfAbsence() || p.Start < 0 || p.End <= p.Start || p.End > MaxProofKey || len(p.Nodes) > nmt.MaxProofNodes {
		return out, fmt.Errorf("%w: nmt proof of [%d, %d) with %d nodes is not an inclusion proof", ErrBuild, p.Start, p.End, len(p.Nodes))
	}
	out.BeginKey, out.EndKey = uint64(p.Start), uint64(p.End)
	out.SideNodes = make([]NamespaceNode, len(p.Nodes))
	for i, n := range p.Nodes {
		var err error
		if out.SideNodes[i], err = NamespaceNodeFromBytes(n); err != nil {
			return out, fmt.Errorf("%w: node %d: %w", ErrBuild, i, err)
		}
	}
	return out, nil
}

// NewSharesProof builds the SharesProof of the shares sp proves, whose
// block's data root tuple, at the given height, is in the tuple root of
// nonce nonce by tupleProof (TupleProof's proof). sp is what a DataMesh
// node has for a range of shares of one namespace, such as a blob's: the
// shares, their NMT proofs per row and the rows' roots with their proofs
// to the data root (eds.ProveShares; celestia-node's share.GetRange).
//
// It converts the proofs (BinaryProofFromMerkle, MultiproofFromNMT),
// checks that sp proves its shares to dataRoot (sp.Verify) and that the
// result verifies with VerifySharesProof against the root tupleProof
// leads to, so a proof it returns verifies. The proof shares no memory
// with its arguments. Errors wrap ErrBuild.
func NewSharesProof(sp *eds.ShareProof, height uint64, dataRoot [32]byte, tupleProof *merkle.Proof, nonce uint64) (*SharesProof, error) {
	if sp == nil || tupleProof == nil {
		return nil, fmt.Errorf("%w: no share proof or tuple proof", ErrBuild)
	}
	if err := sp.Verify(dataRoot[:]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBuild, err)
	}
	tuple := DataRootTuple{Height: height, DataRoot: dataRoot}
	if !bytes.Equal(tupleProof.LeafHash, merkle.LeafHash(tuple.Encode())) {
		return nil, fmt.Errorf("%w: the tuple proof is not of the tuple of height %d and data root %x", ErrBuild, height, dataRoot)
	}
	root, err := tupleProof.ComputeRoot()
	if err != nil {
		return nil, fmt.Errorf("%w: tuple proof: %w", ErrBuild, err)
	}
	ap, err := BinaryProofFromMerkle(*tupleProof)
	if err != nil {
		return nil, err
	}
	out := &SharesProof{
		Data:             make([][]byte, len(sp.Data)),
		ShareProofs:      make([]NamespaceMerkleMultiproof, len(sp.ShareProofs)),
		Namespace:        NamespaceFrom(sp.Namespace),
		RowRoots:         make([]NamespaceNode, len(sp.RowProof.RowRoots)),
		RowProofs:        make([]BinaryMerkleProof, len(sp.RowProof.Proofs)),
		AttestationProof: AttestationProof{TupleRootNonce: nonce, Tuple: tuple, Proof: ap},
	}
	for i, d := range sp.Data {
		out.Data[i] = bytes.Clone(d)
	}
	for i, p := range sp.ShareProofs {
		if out.ShareProofs[i], err = MultiproofFromNMT(p); err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
	}
	for i, r := range sp.RowProof.RowRoots {
		if out.RowRoots[i], err = NamespaceNodeFromBytes(r); err != nil {
			return nil, fmt.Errorf("%w: row root %d: %w", ErrBuild, i, err)
		}
	}
	for i, p := range sp.RowProof.Proofs {
		if out.RowProofs[i], err = BinaryProofFromMerkle(p); err != nil {
			return nil, fmt.Errorf("row proof %d: %w", i, err)
		}
	}
	if err := VerifySharesProof(out, [32]byte(root)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBuild, err)
	}
	return out, nil
}
