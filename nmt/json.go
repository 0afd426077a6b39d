package nmt

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// jsonProof is celestiaorg/nmt's JSON shape of a proof, which
// celestia-node's API returns (blob.GetProof, share.GetNamespaceData):
// celestiaorg/nmt marshals its Proof through the protobuf message (nmt/pb),
// so the keys are the message's JSON tags, every one omitempty.
type jsonProof struct {
	Start    int      `json:"start,omitempty"`
	End      int      `json:"end,omitempty"`
	Nodes    [][]byte `json:"nodes,omitempty"`
	LeafHash []byte   `json:"leaf_hash,omitempty"`
	// IsMaxNamespaceIgnored is a pointer so that UnmarshalJSON tells an
	// absent flag from an explicit false.
	IsMaxNamespaceIgnored *bool `json:"is_max_namespace_ignored,omitempty"`
}

// MarshalJSON encodes p as celestiaorg/nmt does: the keys start, end,
// nodes and leaf_hash (base64), is_max_namespace_ignored, each left out
// when zero or empty (so a proof from Start 0 has no "start", and the flag
// appears only when true).
func (p Proof) MarshalJSON() ([]byte, error) {
	j := jsonProof{Start: p.Start, End: p.End, Nodes: p.Nodes, LeafHash: p.LeafHash}
	if p.IsMaxNamespaceIgnored {
		t := true
		j.IsMaxNamespaceIgnored = &t
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON encodes, absent keys meaning zero.
// It checks the shape (indices, node sizes) but not the proof, which
// Verify* do.
//
// DataMesh trees always ignore the max namespace, and a proof's JSON
// carries the flag only when true, so a proof without
// is_max_namespace_ignored (from a client that dropped the flag) decodes as
// a proof of such a tree, IsMaxNamespaceIgnored true. An explicit false
// claims another tree and is refused with ErrInvalidProof.
func (p *Proof) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil // encoding/json's convention: null leaves p as it is
	}
	var j jsonProof
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if j.IsMaxNamespaceIgnored != nil && !*j.IsMaxNamespaceIgnored {
		return fmt.Errorf("%w: is_max_namespace_ignored is false; DataMesh trees ignore the max namespace", ErrInvalidProof)
	}
	q := Proof{Start: j.Start, End: j.End, Nodes: j.Nodes, LeafHash: j.LeafHash, IsMaxNamespaceIgnored: true}
	if err := q.checkShape(); err != nil {
		return err
	}
	*p = q
	return nil
}
