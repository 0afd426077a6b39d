package api

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/datamesh/mesh-node/eds"
)

// FraudService is what the fraud module serves: the node's fraud service
// (package fraud), which validates, stores and gossips bad-encoding
// proofs.
type FraudService interface {
	// Get returns the proofs the node holds, each validated against its
	// header, lowest height first; none is an empty slice. The proofs are
	// shared: the caller must not modify them.
	Get(ctx context.Context) ([]*eds.BadEncodingProof, error)
	// Subscribe sends each valid proof the node receives or finds from
	// now on, until ctx ends; then it closes the channel.
	Subscribe(ctx context.Context) (<-chan *eds.BadEncodingProof, error)
}

// FraudProof is a fraud proof as celestia-node's fraud module writes it:
// {"proof_type": "badencodingv0.1", "data": BASE64}, data being the
// proof's protobuf encoding (eds.BadEncodingProof.MarshalBinary,
// celestia-node's BadEncoding message). Bad-encoding proofs are the only
// type.
type FraudProof struct {
	Proof *eds.BadEncodingProof
}

// fraudProofJSON is FraudProof's JSON shape.
type fraudProofJSON struct {
	ProofType string `json:"proof_type"`
	Data      []byte `json:"data"`
}

// MarshalJSON writes the proof's type and encoding; a proof that does not
// encode (see eds.BadEncodingProof.MarshalBinary) is an error.
func (p FraudProof) MarshalJSON() ([]byte, error) {
	if p.Proof == nil {
		return nil, fmt.Errorf("api: fraud: no proof to encode")
	}
	b, err := p.Proof.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("api: fraud: %w", err)
	}
	return json.Marshal(fraudProofJSON{ProofType: eds.BadEncodingProofType, Data: b})
}

// UnmarshalJSON reads a proof of type "badencodingv0.1", its data
// decoded as untrusted input (eds.UnmarshalBadEncodingProof). It does not
// validate the proof against a header.
func (p *FraudProof) UnmarshalJSON(b []byte) error {
	var j fraudProofJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("api: fraud proof: %w", err)
	}
	if err := checkProofType(j.ProofType); err != nil {
		return err
	}
	befp, err := eds.UnmarshalBadEncodingProof(j.Data)
	if err != nil {
		return fmt.Errorf("api: fraud proof: %w", err)
	}
	p.Proof = befp
	return nil
}

// checkProofType returns an error unless t is the one proof type served.
func checkProofType(t string) error {
	if t != eds.BadEncodingProofType {
		return fmt.Errorf("api: fraud: unknown proof type %q (the one type is %q)", t, eds.BadEncodingProofType)
	}
	return nil
}

// FraudModule is the "fraud" RPC module: celestia-node's fraud.Get and
// fraud.Subscribe, both read. They keep answering on a halted node: the
// proof is why it halted.
type FraudModule struct {
	svc FraudService
}

// fraudMethods is the fraud module's table (see rpcTable).
var fraudMethods = rpcTable{namespace: "fraud", methods: map[string]rpcMethod{
	"Get":       {perm: PermRead},
	"Subscribe": {perm: PermRead},
}}

func (*FraudModule) rpcTable() *rpcTable { return &fraudMethods }

// NewFraudModule returns the fraud module over svc.
func NewFraudModule(svc FraudService) *FraudModule { return &FraudModule{svc: svc} }

// Get (fraud.Get, read) returns the proofs of proofType the node holds,
// lowest height first: [] when it holds none (celestia-node answers
// "datastore: key not found"). proofType must be "badencodingv0.1".
func (m *FraudModule) Get(ctx context.Context, proofType string) ([]FraudProof, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	if err := checkProofType(proofType); err != nil {
		return nil, err
	}
	ps, err := m.svc.Get(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]FraudProof, 0, len(ps))
	for _, p := range ps {
		if p != nil {
			out = append(out, FraudProof{Proof: p})
		}
	}
	return out, nil
}

// Subscribe (fraud.Subscribe, read; WebSocket only) streams each valid
// proof of proofType the node receives or finds from now on, until the
// caller cancels or the connection closes. proofType must be
// "badencodingv0.1".
func (m *FraudModule) Subscribe(ctx context.Context, proofType string) (<-chan *FraudProof, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	if err := checkProofType(proofType); err != nil {
		return nil, err
	}
	in, err := m.svc.Subscribe(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan *FraudProof)
	go func() {
		defer close(out)
		for {
			select {
			case p, ok := <-in:
				if !ok {
					return
				}
				if p == nil {
					continue
				}
				select {
				case out <- &FraudProof{Proof: p}:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
