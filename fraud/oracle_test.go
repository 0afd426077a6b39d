package fraud_test

import (
	"bytes"
	"slices"
	"testing"

	fraudpb "github.com/celestiaorg/go-fraud/fraudserv/pb"
	"github.com/celestiaorg/go-libp2p-messenger/serde"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

// Our fraud-sync messages decode with go-fraud v0.2.3's protobufs and
// theirs with our decoders.
func TestSyncMessagesMatchGoFraud(t *testing.T) {
	types := [][]string{nil, {eds.BadEncodingProofType}, {"", "a", eds.BadEncodingProofType, "über"}}
	for _, tt := range types {
		ours, err := fraud.SyncRequest{ProofTypes: tt}.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var theirs fraudpb.FraudMessageRequest
		if err := theirs.Unmarshal(ours); err != nil {
			t.Fatalf("go-fraud does not decode our request %v: %v", tt, err)
		}
		if !slices.Equal(theirs.RequestedProofType, tt) {
			t.Fatalf("go-fraud reads %q, we wrote %q", theirs.RequestedProofType, tt)
		}
		b, err := (&fraudpb.FraudMessageRequest{RequestedProofType: tt}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, ours) {
			t.Fatalf("request %q: go-fraud writes %x, we write %x", tt, b, ours)
		}
		back, err := fraud.UnmarshalSyncRequest(b)
		if err != nil || !slices.Equal(back.ProofTypes, tt) {
			t.Fatalf("we read go-fraud's request as %q (%v), want %q", back.ProofTypes, err, tt)
		}
	}

	responses := []fraud.SyncResponse{
		{},
		{Proofs: []fraud.ProofsOfType{{Type: eds.BadEncodingProofType, Values: [][]byte{{1, 2, 3}, {}, bytes.Repeat([]byte{7}, 300)}}}},
		{Proofs: []fraud.ProofsOfType{{Type: "a"}, {Type: eds.BadEncodingProofType, Values: [][]byte{{9}}}}},
	}
	for i, r := range responses {
		ours, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var theirs fraudpb.FraudMessageResponse
		if err := theirs.Unmarshal(ours); err != nil {
			t.Fatalf("response %d: go-fraud does not decode ours: %v", i, err)
		}
		b, err := theirs.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, ours) {
			t.Fatalf("response %d: go-fraud writes %x, we write %x", i, b, ours)
		}
		back, err := fraud.UnmarshalSyncResponse(b, fraud.DefaultMaxMessageSize)
		if err != nil || !equalResponses(back, r) {
			t.Fatalf("response %d: we read go-fraud's as %+v (%v), want %+v", i, back, err, r)
		}
	}
}

func equalResponses(a, b fraud.SyncResponse) bool {
	return slices.EqualFunc(a.Proofs, b.Proofs, func(x, y fraud.ProofsOfType) bool {
		return x.Type == y.Type && slices.EqualFunc(x.Values, y.Values, func(v, w []byte) bool { return bytes.Equal(v, w) })
	})
}

// Over a stream, go-fraud's framing (go-libp2p-messenger's serde) and ours
// agree both ways: a go-fraud client reads our server's answer, and our
// Sync reads a server that answers as go-fraud does.
func TestSyncStreamsMatchGoFraud(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	a := f.holder(t, ctx)

	// A go-fraud client against our server, as its requestProofs does.
	client := p2ptest.NewNode(t, ctx)
	p2ptest.Connect(t, ctx, client.Host, a.p2p.Host)
	s, err := client.Host.NewStream(ctx, a.id(), fraud.ProtocolID(chainID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := serde.Write(s, &fraudpb.FraudMessageRequest{RequestedProofType: []string{eds.BadEncodingProofType}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	var resp fraudpb.FraudMessageResponse
	if _, err := serde.Read(s, &resp); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(resp.Proofs) != 1 || resp.Proofs[0].Type != eds.BadEncodingProofType || len(resp.Proofs[0].Value) != 1 || !bytes.Equal(resp.Proofs[0].Value[0], f.data) {
		t.Fatalf("go-fraud's client read %+v", resp.Proofs)
	}

	// Our Sync against a server answering as go-fraud's
	// handleFraudMessageRequest does.
	server := p2ptest.NewNode(t, ctx)
	server.Host.SetStreamHandler(fraud.ProtocolID(chainID), func(s network.Stream) {
		var req fraudpb.FraudMessageRequest
		if _, err := serde.Read(s, &req); err != nil {
			_ = s.Reset()
			return
		}
		out := &fraudpb.FraudMessageResponse{}
		for _, tp := range req.RequestedProofType {
			if tp == eds.BadEncodingProofType {
				out.Proofs = append(out.Proofs, &fraudpb.ProofResponse{Type: tp, Value: [][]byte{f.data}})
			}
		}
		if _, err := serde.Write(s, out); err != nil {
			_ = s.Reset()
			return
		}
		_ = s.Close()
	})
	o := testOptions()
	o.SyncPeers = []peer.ID{server.Host.ID()}
	d := f.newNode(t, ctx, 20, &o)
	p2ptest.Connect(t, ctx, d.p2p.Host, server.Host)
	if err := d.svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	d.waitHalted(t, ctx, f)
}
