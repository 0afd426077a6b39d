package blob

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/merkle"
	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
)

// CommitmentProof proves a blob's share commitment to a block's data root
// (celestia-node's CommitmentProof, used for Blobstream): the commitment is
// the Merkle root of SubtreeRoots; SubtreeRootProofs[i] proves, in row
// RowProof.StartRow+i, that the subtree roots covering the blob's shares
// in that row are under the row's root; RowProof proves the row roots to
// the data root.
type CommitmentProof struct {
	// SubtreeRoots are the NMT roots of the blob's commitment subtrees
	// (share.Blob.SubtreeRoots), in order.
	SubtreeRoots [][]byte
	// SubtreeRootProofs are NMT inclusion proofs of the blob's share range
	// in each row it spans, whose leaves are covered by subtree roots.
	SubtreeRootProofs []nmt.Proof
	// Namespace is the blob's namespace.
	Namespace share.Namespace
	// RowProof proves the rows' roots.
	RowProof eds.RowProof
}

// GetCommitmentProof returns the proof of the share commitment c of the
// blob of namespace ns at height to the header's data root. It fetches the
// blob and each row it spans (verified against the header), proves the
// blob's shares in each row, reuses the blob's commitment subtree roots
// (share.Blob.SubtreeRoots) and proves the row roots from the header's
// roots. The proof is checked with Verify before it is returned.
// ErrBlobNotFound if there is no such blob.
func (s *Service) GetCommitmentProof(ctx context.Context, height uint64, ns share.Namespace, c Commitment) (*CommitmentProof, error) {
	h, b, sb, err := s.locate(ctx, height, ns, c)
	if err != nil {
		return nil, err
	}
	roots, err := sb.SubtreeRoots()
	if err != nil {
		return nil, err
	}
	proofs, sps, err := s.proveSpans(ctx, h, b.Index, sb.SharesNeeded())
	if err != nil {
		return nil, err
	}
	rp, err := h.DAH.ProveRowRoots(sps[0].row, sps[len(sps)-1].row+1)
	if err != nil {
		return nil, fmt.Errorf("blob: proving rows at height %d: %w", height, err)
	}
	p := &CommitmentProof{SubtreeRoots: roots, Namespace: ns, RowProof: *rp, SubtreeRootProofs: make([]nmt.Proof, len(proofs))}
	for i, np := range proofs {
		p.SubtreeRootProofs[i] = *np
	}
	if err := p.Verify(h.DAH.Hash(), c); err != nil {
		// The blob is not where the commitment rules place blobs.
		return nil, fmt.Errorf("blob: commitment proof at height %d: %w", height, err)
	}
	return p, nil
}

// Verify checks that commitment is the share commitment of a blob of
// Namespace in the square under dataRoot: the commitment is the Merkle
// root of SubtreeRoots, RowProof proves its rows to dataRoot, and each
// SubtreeRootProofs[i] shows that the next subtree roots (as many as
// nmt.LeafRanges gives for its range, at the width share.SubTreeWidth of
// the total number of shares proven) are, all of Namespace, under row i's
// root. Beyond celestia-node's verifier it checks that the subtree roots
// are of Namespace and that the rows' ranges are contiguous (every row but
// the first starts at column 0, every row but the last ends at column k).
// Errors wrap ErrInvalidProof; it never panics.
func (p *CommitmentProof) Verify(dataRoot, commitment []byte) error {
	switch {
	case p == nil:
		return fmt.Errorf("%w: no commitment proof", ErrInvalidProof)
	case len(dataRoot) == 0:
		return fmt.Errorf("%w: empty data root", ErrInvalidProof)
	case len(commitment) == 0:
		return fmt.Errorf("%w: empty commitment", ErrInvalidProof)
	case len(p.SubtreeRootProofs) != len(p.RowProof.RowRoots):
		return fmt.Errorf("%w: %d subtree root proofs for %d rows", ErrInvalidProof, len(p.SubtreeRootProofs), len(p.RowProof.RowRoots))
	}
	if got := merkle.HashFromByteSlices(p.SubtreeRoots); !bytes.Equal(got, commitment) {
		return fmt.Errorf("%w: subtree roots commit to %X, not %X", ErrInvalidProof, got, commitment)
	}
	if err := p.RowProof.Verify(dataRoot); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	// The row proofs' Total is the 4k roots of the header.
	k := p.RowProof.Proofs[0].Total / 4
	if k < 1 || k > eds.MaxSquareSize {
		return fmt.Errorf("%w: row proofs of %d roots", ErrInvalidProof, p.RowProof.Proofs[0].Total)
	}
	last := len(p.SubtreeRootProofs) - 1
	shares := 0
	for i, sp := range p.SubtreeRootProofs {
		switch {
		case sp.Start < 0 || sp.End <= sp.Start || sp.End > int(k):
			return fmt.Errorf("%w: row %d: range [%d, %d) not within the %d original columns", ErrInvalidProof, i, sp.Start, sp.End, k)
		case i > 0 && sp.Start != 0, i < last && sp.End != int(k):
			return fmt.Errorf("%w: row %d: range [%d, %d) leaves a gap in the blob", ErrInvalidProof, i, sp.Start, sp.End)
		}
		shares += sp.End - sp.Start
	}
	width := share.SubTreeWidth(shares)
	rest := p.SubtreeRoots
	for i, sp := range p.SubtreeRootProofs {
		ranges, err := nmt.LeafRanges(sp.Start, sp.End, width)
		if err != nil {
			return fmt.Errorf("%w: row %d: %w", ErrInvalidProof, i, err)
		}
		if len(ranges) > len(rest) {
			return fmt.Errorf("%w: %d subtree roots, the proofs need more", ErrInvalidProof, len(p.SubtreeRoots))
		}
		if err := sp.VerifySubtreeRoots(p.Namespace[:], rest[:len(ranges)], width, p.RowProof.RowRoots[i]); err != nil {
			return fmt.Errorf("%w: row %d: %w", ErrInvalidProof, p.RowProof.StartRow+i, err)
		}
		rest = rest[len(ranges):]
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %d subtree roots, the proofs cover %d", ErrInvalidProof, len(p.SubtreeRoots), len(p.SubtreeRoots)-len(rest))
	}
	return nil
}

// jsonCommitmentProof is celestia-node's CommitmentProof as it writes it,
// with CometBFT's libs/json: the row proof is celestia-app's protobuf
// RowProof, whose keys are omitempty and whose 64-bit integers are
// strings.
type jsonCommitmentProof struct {
	SubtreeRoots      [][]byte     `json:"subtree_roots"`
	SubtreeRootProofs []*nmt.Proof `json:"subtree_root_proofs"`
	NamespaceID       []byte       `json:"namespace_id"`
	RowProof          jsonRowProof `json:"row_proof"`
	NamespaceVersion  uint8        `json:"namespace_version"`
}

type jsonRowProof struct {
	RowRoots [][]byte           `json:"row_roots,omitempty"`
	Proofs   []*jsonMerkleProof `json:"proofs,omitempty"`
	StartRow uint32             `json:"start_row,omitempty"`
	EndRow   uint32             `json:"end_row,omitempty"`
}

// jsonMerkleProof is celestia-app's protobuf Proof in libs/json: total
// and index as strings, left out when 0. It reads numbers too.
type jsonMerkleProof merkle.Proof

func (p jsonMerkleProof) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Total    int64    `json:"total,string,omitempty"`
		Index    int64    `json:"index,string,omitempty"`
		LeafHash []byte   `json:"leaf_hash,omitempty"`
		Aunts    [][]byte `json:"aunts,omitempty"`
	}{p.Total, p.Index, p.LeafHash, p.Aunts})
}

func (p *jsonMerkleProof) UnmarshalJSON(b []byte) error {
	return (*merkle.Proof)(p).UnmarshalJSON(b)
}

// MarshalJSON encodes p as celestia-node does:
//
//	{"subtree_roots": [BASE64], "subtree_root_proofs": [NMT proof],
//	 "namespace_id": BASE64 (28 bytes), "row_proof": {"row_roots": [BASE64],
//	 "proofs": [{"total": "N", "index": "N", "leaf_hash", "aunts"}],
//	 "start_row": N, "end_row": N}, "namespace_version": N}
//
// with the row proof's keys left out when zero (index 0, start_row 0).
func (p *CommitmentProof) MarshalJSON() ([]byte, error) {
	j := jsonCommitmentProof{
		SubtreeRoots:      p.SubtreeRoots,
		SubtreeRootProofs: make([]*nmt.Proof, len(p.SubtreeRootProofs)),
		NamespaceID:       p.Namespace.ID(),
		NamespaceVersion:  p.Namespace.Version(),
		RowProof: jsonRowProof{
			RowRoots: p.RowProof.RowRoots,
			Proofs:   make([]*jsonMerkleProof, len(p.RowProof.Proofs)),
			StartRow: uint32(p.RowProof.StartRow),
			EndRow:   uint32(p.RowProof.EndRow),
		},
	}
	for i := range p.SubtreeRootProofs {
		j.SubtreeRootProofs[i] = &p.SubtreeRootProofs[i]
	}
	for i := range p.RowProof.Proofs {
		j.RowProof.Proofs[i] = (*jsonMerkleProof)(&p.RowProof.Proofs[i])
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes celestia-node's shape, checking the namespace and
// the NMT proofs' shapes; it does not verify the proof (Verify does).
// Errors wrap ErrInvalidProof.
func (p *CommitmentProof) UnmarshalJSON(b []byte) error {
	var j jsonCommitmentProof
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	ns, err := share.NewNamespace(j.NamespaceVersion, j.NamespaceID)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	out := CommitmentProof{
		SubtreeRoots:      j.SubtreeRoots,
		SubtreeRootProofs: make([]nmt.Proof, len(j.SubtreeRootProofs)),
		Namespace:         ns,
		RowProof: eds.RowProof{
			RowRoots: j.RowProof.RowRoots,
			Proofs:   make([]merkle.Proof, len(j.RowProof.Proofs)),
			StartRow: int(j.RowProof.StartRow),
			EndRow:   int(j.RowProof.EndRow),
		},
	}
	for i, sp := range j.SubtreeRootProofs {
		if sp == nil {
			return fmt.Errorf("%w: subtree root proof %d is null", ErrInvalidProof, i)
		}
		out.SubtreeRootProofs[i] = *sp
	}
	for i, mp := range j.RowProof.Proofs {
		if mp == nil {
			return fmt.Errorf("%w: row proof %d is null", ErrInvalidProof, i)
		}
		out.RowProof.Proofs[i] = merkle.Proof(*mp)
	}
	*p = out
	return nil
}
