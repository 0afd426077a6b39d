package nmt

import (
	"encoding/json"
	"fmt"
)

// jsonProof is celestiaorg/nmt's JSON shape of a proof, which
// celestia-node's API returns (blob.GetProof, share.GetNamespaceData).
type jsonProof struct {
	Start                 int      `json:"start"`
	End                   int      `json:"end"`
	Nodes                 [][]byte `json:"nodes"`
	LeafHash              []byte   `json:"leaf_hash"`
	IsMaxNamespaceIgnored bool     `json:"is_max_namespace_id_ignored"`
}

// MarshalJSON encodes p as celestiaorg/nmt does: start, end, nodes and
// leaf_hash (base64), is_max_namespace_id_ignored.
func (p Proof) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonProof(p))
}

// UnmarshalJSON decodes what MarshalJSON encodes. It checks the shape
// (indices, node sizes) but not the proof, which Verify* do.
func (p *Proof) UnmarshalJSON(b []byte) error {
	var j jsonProof
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	q := Proof(j)
	if err := q.checkShape(); err != nil {
		return err
	}
	*p = q
	return nil
}
