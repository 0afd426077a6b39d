package nodebuilder_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/share"
)

// TestBlobstreamSharesProofThroughLight is issue 18's end-to-end check: a
// chain of 4 validators attesting every 5 blocks, a bridge and a light node
// with a core connection. A blob's SharesProof from the light node's
// JSON-RPC API verifies against the attestation the light node returns for
// its height, whose signatures recover to the validators' registered EVM
// addresses and reach the valset's threshold; the tuple's data root is the
// data root transaction's, not DataHash; and flipping a byte of a share, a
// side node, the tuple or a signature makes verification fail.
func TestBlobstreamSharesProofThroughLight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 4-validator CometBFT chain")
	}
	const chainID = "blobstream-e2e"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	g := coretest.Genesis(t, chainID, "alice")
	g.Params.DataCommitmentWindow = 5
	vals := coretest.NewValidators(t, 4)
	coretest.WriteGenesis(t, g, vals...)
	registered := map[blobstream.Address]bool{}
	for _, v := range vals {
		v.Start(nil)
		registered[blobstream.AddressOf(v.BlobstreamKey.PubKey())] = true
	}
	core := vals[0].Client()
	coretest.WaitHeight(ctx, t, core, 1)

	bconf := nodeConfig(nodebuilder.Bridge, chainID)
	bconf.Core.RPC = vals[0].RPCAddr
	bridge := startNode(ctx, t, "bridge", nodebuilder.Bridge, bconf)
	waitHeight(ctx, t, bridge, "bridge", 1)
	lconf := nodeConfig(nodebuilder.Light, chainID, addr(t, bridge))
	lconf.Header.TrustedHeight = 1
	lconf.RPC.SkipAuth = true
	lconf.Core.RPC = vals[1].RPCAddr // the light node reads attestations from another validator
	light := startAvailNode(ctx, t, "light", nodebuilder.Light, lconf)
	cl, err := client.New(ctx, "http://"+light.API().Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	// A blob of a few shares.
	ns, err := share.NewV0Namespace([]byte("bstream"))
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := coretest.Key(t, "alice")
	blobs := []coretest.Blob{{Namespace: ns, Data: bytes.Repeat([]byte("blobstream "), 200)}}
	height := uint64(coretest.Broadcast(ctx, t, core, coretest.PFBTx(t, chainID, alice, 0, g.Params, blobs)))
	com := blob.Commitment(blobs[0].Commitment)

	// Wait until an attested data commitment covers the height.
	var att *tx.Attestation
	coretest.WaitUntil(ctx, t, "an attestation covering the blob's height", func() bool {
		a, err := cl.Blobstream.GetAttestationByHeight(ctx, height)
		if err != nil || len(a.Signatures) == 0 {
			return false
		}
		att = a
		return true
	})
	if att.BeginBlock > height || att.EndBlock <= height || att.EndBlock-att.BeginBlock != 5 {
		t.Fatalf("attestation %d covers [%d, %d), want a window of 5 holding %d", att.Nonce, att.BeginBlock, att.EndBlock, height)
	}
	waitHeight(ctx, t, light, "light", att.EndBlock-1)

	proof, err := cl.Blobstream.GetSharesProof(ctx, height, ns, com, att.BeginBlock, att.EndBlock)
	if err != nil {
		t.Fatal(err)
	}
	root := [32]byte(att.TupleRoot)
	if err := blobstream.VerifySharesProof(proof, root); err != nil {
		t.Fatalf("the light node's proof: %v", err)
	}
	if proof.AttestationProof.TupleRootNonce != att.Nonce || proof.AttestationProof.Tuple.Height != height || proof.Namespace != blobstream.NamespaceFrom(ns) {
		t.Fatalf("proof of nonce %d, height %d, namespace %x; want %d, %d, %x", proof.AttestationProof.TupleRootNonce,
			proof.AttestationProof.Tuple.Height, proof.Namespace.Bytes(), att.Nonce, height, ns.Bytes())
	}

	// The tuple's data root is the data root transaction's, never DataHash.
	h := int64(height)
	blk, err := core.Block(ctx, &h)
	if err != nil {
		t.Fatal(err)
	}
	drt, err := header.UnmarshalDataRootTx(blk.Block.Txs[len(blk.Block.Txs)-1])
	if err != nil {
		t.Fatal(err)
	}
	if dr := proof.AttestationProof.Tuple.DataRoot; !bytes.Equal(dr[:], drt.DataRoot) || bytes.Equal(dr[:], blk.Block.DataHash) {
		t.Fatalf("tuple data root %x, data root tx %x, DataHash %x", dr, drt.DataRoot, blk.Block.DataHash)
	}

	// The signatures: the attested valset's threshold, each recovering to a
	// registered address.
	vs, err := cl.Blobstream.GetValset(ctx, att.SignerNonce)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.Validators) != 4 {
		t.Fatalf("valset %d has %d members, want 4", vs.Nonce, len(vs.Validators))
	}
	for _, m := range vs.Validators {
		if !registered[m.EVMAddress] {
			t.Fatalf("valset member %s is not a registered address", m.EVMAddress)
		}
	}
	digest := blobstream.DataCommitmentDigest(att.Nonce, root)
	if err := blobstream.VerifySignatures(vs.EVMValidators(), att.Signatures, digest, vs.PowerThreshold); err != nil {
		t.Fatalf("the attestation's signatures: %v", err)
	}
	signed := -1
	for i, s := range att.Signatures {
		if s.IsZero() {
			continue
		}
		if signed < 0 {
			signed = i // the first signer: the contract checks it (it stops at the threshold)
		}
		a, err := blobstream.Recover(digest, s)
		if err != nil || a != vs.Validators[i].EVMAddress || !registered[a] {
			t.Fatalf("signature %d recovers to %s (%v), the member is %s", i, a, err, vs.Validators[i].EVMAddress)
		}
	}

	// Flipping any byte fails verification.
	flips := map[string]func(p *blobstream.SharesProof){
		"share":                 func(p *blobstream.SharesProof) { p.Data[0][len(p.Data[0])-1] ^= 1 },
		"share proof side node": func(p *blobstream.SharesProof) { p.ShareProofs[0].SideNodes[0].Digest[0] ^= 1 },
		"row root":              func(p *blobstream.SharesProof) { p.RowRoots[0].Digest[3] ^= 1 },
		"row proof side node":   func(p *blobstream.SharesProof) { p.RowProofs[0].SideNodes[0][0] ^= 1 },
		"tuple height":          func(p *blobstream.SharesProof) { p.AttestationProof.Tuple.Height++ },
		"tuple data root":       func(p *blobstream.SharesProof) { p.AttestationProof.Tuple.DataRoot[31] ^= 1 },
		"tuple proof side node": func(p *blobstream.SharesProof) { p.AttestationProof.Proof.SideNodes[0][5] ^= 1 },
	}
	for name, flip := range flips {
		p := cloneProof(t, proof)
		flip(p)
		if err := blobstream.VerifySharesProof(p, root); err == nil {
			t.Errorf("a proof with a flipped %s verifies", name)
		}
	}
	for _, part := range []string{"r", "s", "v"} {
		sigs := append([]blobstream.Signature(nil), att.Signatures...)
		switch part {
		case "r":
			sigs[signed].R[7] ^= 1
		case "s":
			sigs[signed].S[7] ^= 1
		case "v":
			sigs[signed].V ^= 1
		}
		if err := blobstream.VerifySignatures(vs.EVMValidators(), sigs, digest, vs.PowerThreshold); err == nil {
			t.Errorf("signatures with a flipped %s verify", part)
		}
	}
	flipped := root
	flipped[0] ^= 1
	if err := blobstream.VerifySignatures(vs.EVMValidators(), att.Signatures, blobstream.DataCommitmentDigest(att.Nonce, flipped), vs.PowerThreshold); err == nil {
		t.Error("the signatures verify for another tuple root")
	}

	// A range no attestation covers is refused, naming the one that does.
	_, err = cl.Blobstream.GetSharesProof(ctx, height, ns, com, att.BeginBlock, att.EndBlock-1)
	if err == nil || !strings.Contains(err.Error(), "no attestation covers") {
		t.Fatalf("a range no attestation covers: %v", err)
	}
}

// cloneProof deep-copies p through its JSON.
func cloneProof(t *testing.T, p *blobstream.SharesProof) *blobstream.SharesProof {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var out blobstream.SharesProof
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}
