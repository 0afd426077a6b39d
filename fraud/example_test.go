package fraud_test

import (
	"fmt"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/fraud"
)

func ExampleTopicID() {
	fmt.Println(fraud.TopicID("mesh-1"))
	fmt.Println(fraud.ProtocolID("mesh-1"))
	// Output:
	// /datamesh/mesh-1/fraud-sub/badencodingv0.1/v0.0.1
	// /datamesh/mesh-1/fraud/v0.0.1
}

// A fraud-sync request asks for the proofs of one type; the server answers
// with the encoded proofs it holds.
func ExampleSyncRequest() {
	req, _ := fraud.SyncRequest{ProofTypes: []string{eds.BadEncodingProofType}}.MarshalBinary()
	fmt.Printf("%x\n", req)
	back, err := fraud.UnmarshalSyncRequest(req)
	fmt.Println(back.ProofTypes, err)
	// Output:
	// 0a0f626164656e636f64696e6776302e31
	// [badencodingv0.1] <nil>
}
