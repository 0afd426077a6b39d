package api

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/merkle"
	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
)

// GetRangeResult is the answer of share.GetRange: shares of the original
// square and the proof that they are in the square under a data root.
//
// Its JSON is celestia-node's GetRangeResult, which celestia-node encodes
// with CometBFT's libs/json: {"Shares": [base64], "Proof": ShareProof}
// (capitalised keys: the Go struct has no tags), the ShareProof being
// celestia-core's types.ShareProof:
//
//	{"data": [base64], "share_proofs": [{"start", "end", "nodes", "leaf_hash"}],
//	 "namespace_id": base64 (28 bytes), "row_proof": {"row_roots": [HEX],
//	 "proofs": [{"total": "N", "index": "N", "leaf_hash", "aunts"}],
//	 "start_row": N, "end_row": N}, "namespace_version": N}
//
// share_proofs are celestia-core's NMTProof (int32 fields, every key
// omitempty, no is_max_namespace_ignored); row roots are upper-case hex;
// total and index, 64-bit, are decimal strings as libs/json writes them.
type GetRangeResult struct {
	// Shares are the shares, the same as Proof.Data.
	Shares []Share
	// Proof proves Proof.Data.
	Proof *eds.ShareProof
}

// Verify checks that Shares are the proof's shares and that the proof
// verifies against dataRoot (eds.ShareProof.Verify).
func (r *GetRangeResult) Verify(dataRoot []byte) error {
	if r.Proof == nil {
		return fmt.Errorf("%w: no proof", eds.ErrInvalidShareProof)
	}
	if len(r.Shares) != len(r.Proof.Data) {
		return fmt.Errorf("%w: %d shares, the proof has %d", eds.ErrInvalidShareProof, len(r.Shares), len(r.Proof.Data))
	}
	for i, s := range r.Shares {
		if !bytes.Equal(s, r.Proof.Data[i]) {
			return fmt.Errorf("%w: share %d is not the proof's", eds.ErrInvalidShareProof, i)
		}
	}
	return r.Proof.Verify(dataRoot)
}

type jsonGetRangeResult struct {
	Shares []Share         `json:"Shares"`
	Proof  *jsonShareProof `json:"Proof"`
}

type jsonShareProof struct {
	Data             [][]byte        `json:"data"`
	ShareProofs      []*jsonNMTProof `json:"share_proofs"`
	NamespaceID      []byte          `json:"namespace_id"`
	RowProof         jsonRowProof    `json:"row_proof"`
	NamespaceVersion uint32          `json:"namespace_version"`
}

// jsonNMTProof is celestia-core's NMTProof (a protobuf message).
type jsonNMTProof struct {
	Start    int32    `json:"start,omitempty"`
	End      int32    `json:"end,omitempty"`
	Nodes    [][]byte `json:"nodes,omitempty"`
	LeafHash []byte   `json:"leaf_hash,omitempty"`
}

// jsonRowProof is celestia-core's types.RowProof.
type jsonRowProof struct {
	RowRoots []hexBytes        `json:"row_roots"`
	Proofs   []*libMerkleProof `json:"proofs"`
	StartRow uint32            `json:"start_row"`
	EndRow   uint32            `json:"end_row"`
}

// libMerkleProof is a merkle.Proof as CometBFT's libs/json writes it:
// total and index as decimal strings. It reads numbers too.
type libMerkleProof merkle.Proof

func (p libMerkleProof) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Total    int64    `json:"total,string"`
		Index    int64    `json:"index,string"`
		LeafHash []byte   `json:"leaf_hash"`
		Aunts    [][]byte `json:"aunts,omitempty"`
	}{p.Total, p.Index, p.LeafHash, p.Aunts})
}

func (p *libMerkleProof) UnmarshalJSON(b []byte) error {
	return (*merkle.Proof)(p).UnmarshalJSON(b)
}

// hexBytes is CometBFT's HexBytes in JSON: upper-case hex.
type hexBytes []byte

func (h hexBytes) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.ToUpper(hex.EncodeToString(h)))
}

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("%w: row root %q: %w", ErrInvalidShareJSON, s, err)
	}
	*h = raw
	return nil
}

// MarshalJSON encodes r in celestia-node's shape (see GetRangeResult).
func (r GetRangeResult) MarshalJSON() ([]byte, error) {
	j := jsonGetRangeResult{Shares: r.Shares}
	if p := r.Proof; p != nil {
		sp := &jsonShareProof{
			Data:             p.Data,
			ShareProofs:      make([]*jsonNMTProof, len(p.ShareProofs)),
			NamespaceID:      p.Namespace.ID(),
			NamespaceVersion: uint32(p.Namespace.Version()),
			RowProof: jsonRowProof{
				RowRoots: make([]hexBytes, len(p.RowProof.RowRoots)),
				Proofs:   make([]*libMerkleProof, len(p.RowProof.Proofs)),
				StartRow: uint32(p.RowProof.StartRow),
				EndRow:   uint32(p.RowProof.EndRow),
			},
		}
		for i, np := range p.ShareProofs {
			sp.ShareProofs[i] = &jsonNMTProof{Start: int32(np.Start), End: int32(np.End), Nodes: np.Nodes, LeafHash: np.LeafHash}
		}
		for i, rr := range p.RowProof.RowRoots {
			sp.RowProof.RowRoots[i] = rr
		}
		for i := range p.RowProof.Proofs {
			sp.RowProof.Proofs[i] = (*libMerkleProof)(&p.RowProof.Proofs[i])
		}
		j.Proof = sp
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes celestia-node's shape, checking share sizes and
// the namespace; it does not verify the proof (Verify does, shapes
// included). An NMT proof is read as one of an ignore-max tree, which
// celestia-core's verifier assumes.
func (r *GetRangeResult) UnmarshalJSON(b []byte) error {
	var j jsonGetRangeResult
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	out := GetRangeResult{Shares: j.Shares}
	if sp := j.Proof; sp != nil {
		if sp.NamespaceVersion > math.MaxUint8 {
			return fmt.Errorf("%w: namespace version %d", ErrInvalidShareJSON, sp.NamespaceVersion)
		}
		ns, err := share.NewNamespace(uint8(sp.NamespaceVersion), sp.NamespaceID)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidShareJSON, err)
		}
		p := &eds.ShareProof{
			Data:        sp.Data,
			Namespace:   ns,
			ShareProofs: make([]nmt.Proof, len(sp.ShareProofs)),
			RowProof: eds.RowProof{
				RowRoots: make([][]byte, len(sp.RowProof.RowRoots)),
				Proofs:   make([]merkle.Proof, len(sp.RowProof.Proofs)),
				StartRow: int(sp.RowProof.StartRow),
				EndRow:   int(sp.RowProof.EndRow),
			},
		}
		for i, d := range sp.Data {
			if len(d) != share.ShareSize {
				return fmt.Errorf("%w: share %d of %d bytes", ErrInvalidShareJSON, i, len(d))
			}
		}
		for i, np := range sp.ShareProofs {
			if np == nil {
				return fmt.Errorf("%w: share proof %d is null", ErrInvalidShareJSON, i)
			}
			p.ShareProofs[i] = nmt.Proof{Start: int(np.Start), End: int(np.End), Nodes: np.Nodes, LeafHash: np.LeafHash, IsMaxNamespaceIgnored: true}
		}
		for i, rr := range sp.RowProof.RowRoots {
			p.RowProof.RowRoots[i] = rr
		}
		for i, mp := range sp.RowProof.Proofs {
			if mp == nil {
				return fmt.Errorf("%w: row proof %d is null", ErrInvalidShareJSON, i)
			}
			p.RowProof.Proofs[i] = merkle.Proof(*mp)
		}
		out.Proof = p
	}
	*r = out
	return nil
}
