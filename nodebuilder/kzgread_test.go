package nodebuilder_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/share"
)

// TestLightNodeKZG: blobs of 1 B, 130,044 B (one full chunk) and 130,045 B
// (two chunks) are paid for with KZG commitments on a real chain, and a
// light node, which holds no square, answers blob.GetKZG, blob.OpenKZG and
// blob.GetKZGCells for them over its JSON-RPC API, from shares it fetches
// with proofs: the commitments are go-eth-kzg's for the codec's output, the
// openings and cells verify, and the answers equal the bridge's, which
// reads its own squares. A blob paid for without KZG is refused.
func TestLightNodeKZG(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT chain, a bridge and a light node")
	}
	const chainID = "kzg-read-test"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	v, bridge, light := bridgeAndLight(ctx, t, chainID)

	ns, err := share.NewV0Namespace([]byte("kzg-read"))
	if err != nil {
		t.Fatal(err)
	}
	datas := [][]byte{{0x42}, randomData(1, kzg.MaxChunkSize), randomData(2, kzg.MaxChunkSize+1)}
	plain := randomData(3, 1000)
	g := coretest.Genesis(t, chainID, "alice")
	key, _ := coretest.Key(t, "alice")
	blobs := make([]*share.Blob, len(datas))
	for i, d := range datas {
		if blobs[i], err = share.NewBlob(ns, d, share.ShareVersionZero, nil); err != nil {
			t.Fatal(err)
		}
	}
	c := v.Client()
	kzgTx, _ := txtest.KZGBlobTx(t, chainID, key, 0, g.Params.MinGasPrice, g.Params, blobs...)
	height := uint64(coretest.Broadcast(ctx, t, c, kzgTx))
	plainTx := coretest.PFBTx(t, chainID, key, 1, g.Params, []coretest.Blob{{Namespace: ns, Data: plain}})
	plainHeight := uint64(coretest.Broadcast(ctx, t, c, plainTx))

	waitHeight(ctx, t, light, "light", plainHeight)
	waitAvailable(ctx, t, light, "light", plainHeight)

	rng := rand.New(rand.NewPCG(7, 8))
	for i, d := range datas {
		com, err := blobs[i].Commitment()
		if err != nil {
			t.Fatal(err)
		}
		var info blob.KZGInfo
		raw := mustAPI(ctx, t, light, &info, "blob.GetKZG", height, ns, com)
		if fromBridge := mustAPI(ctx, t, bridge, nil, "blob.GetKZG", height, ns, com); !bytes.Equal(raw, fromBridge) {
			t.Fatalf("%d bytes: the light node's GetKZG differs from the bridge's:\n%s\n%s", len(d), raw, fromBridge)
		}
		want, err := kzg.Commit(d)
		if err != nil {
			t.Fatal(err)
		}
		chunks, _ := kzg.Chunks(d)
		if info.Codec != blob.KZGCodec || len(info.Chunks) != len(want) {
			t.Fatalf("%d bytes: %s", len(d), raw)
		}
		for j, w := range want {
			got := info.Chunks[j]
			if kzg.Commitment(got.Commitment) != w.Commitment || got.VersionedHash != w.VersionedHash {
				t.Fatalf("%d bytes, chunk %d: %x %x, want %x %x", len(d), j, got.Commitment, got.VersionedHash, w.Commitment, w.VersionedHash)
			}
			if err := kzg.VerifyBlobProof(chunks[j], w.Commitment, kzg.Proof(got.Proof)); err != nil {
				t.Fatalf("%d bytes, chunk %d: %v", len(d), j, err)
			}

			var z [32]byte
			for k := range z {
				z[k] = byte(rng.Uint32())
			}
			z[0] &= 0x3f
			var o blob.KZGOpening
			mustAPI(ctx, t, light, &o, "blob.OpenKZG", height, ns, com, j, blob.Hex32(z))
			if o.Z != z || kzg.Commitment(o.Commitment) != w.Commitment {
				t.Fatalf("%d bytes, chunk %d: opening %+v", len(d), j, o)
			}
			if err := kzg.VerifyProof(w.Commitment, z, o.Y, kzg.Proof(o.Proof)); err != nil {
				t.Fatalf("%d bytes, chunk %d: opening: %v", len(d), j, err)
			}
			in := o.PrecompileInput
			if !bytes.Equal(in[:32], w.VersionedHash[:]) || !bytes.Equal(in[32:64], z[:]) || !bytes.Equal(in[64:96], o.Y[:]) ||
				!bytes.Equal(in[96:144], w.Commitment[:]) || !bytes.Equal(in[144:], o.Proof[:]) {
				t.Fatalf("%d bytes, chunk %d: precompile input %x", len(d), j, in)
			}
		}
	}

	// Cells of the second chunk of the two-chunk blob.
	com, _ := blobs[2].Commitment()
	indices := []uint64{0, 77, 127}
	var cells blob.KZGCells
	mustAPI(ctx, t, light, &cells, "blob.GetKZGCells", height, ns, com, 1, indices)
	want, _ := kzg.Commit(datas[2])
	if len(cells.Cells) != len(indices) || kzg.Commitment(cells.Commitment) != want[1].Commitment {
		t.Fatalf("cells: commitment %x, %d cells", cells.Commitment, len(cells.Cells))
	}
	cs := make([]kzg.Commitment, len(indices))
	cellPtrs := make([]*kzg.Cell, len(indices))
	proofs := make([]kzg.Proof, len(indices))
	for i, cell := range cells.Cells {
		cs[i], cellPtrs[i], proofs[i] = want[1].Commitment, (*kzg.Cell)(&cells.Cells[i].Cell), kzg.Proof(cell.Proof)
		if cell.Index != indices[i] {
			t.Fatalf("cell %d has index %d", i, cell.Index)
		}
	}
	if err := kzg.VerifyCellProofBatch(cs, indices, cellPtrs, proofs); err != nil {
		t.Fatalf("cells: %v", err)
	}

	plainCom, err := blob.New(ns, plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, msg := apiCall(ctx, t, light, "blob.GetKZG", plainHeight, ns, plainCom.Commitment); !strings.Contains(msg, "without KZG commitments") {
		t.Fatalf("GetKZG of a blob without KZG: %q", msg)
	}
	if _, msg := apiCall(ctx, t, light, "blob.OpenKZG", height, ns, com, 2, blob.Hex32{}); !strings.Contains(msg, "invalid KZG request") {
		t.Fatalf("OpenKZG of chunk 2 of 2: %q", msg)
	}

	// A second light node whose only share peer serves the blob's
	// namespace honestly and then the PayForBlobs namespace from a square
	// with one byte of a KZG proof flipped: it answers no commitment and
	// blocks the peer. It syncs the chain's real headers from that peer,
	// and does not sample (its sampling window is a nanosecond), so the
	// only share requests are GetKZG's, in its order: the blob, then the
	// PayForBlobs.
	com0, _ := blobs[0].Commitment()
	honest, err := bridge.Store().EDS(ctx, height)
	if err != nil {
		t.Fatal(err)
	}
	liar := startSquareBridge(ctx, t, chainID, bridge.Headers(), &lateLiar{honest: honest,
		lie: flippedProofSquare(ctx, t, bridge, height, info0(ctx, t, light, height, ns, com0))})
	bridgeID, _ := bridge.Info()
	l2conf := nodeConfig(nodebuilder.Light, chainID, liar.addr(t))
	l2conf.Header.TrustedHeight = 1
	l2conf.RPC.SkipAuth = true
	l2conf.P2P.BlockedPeers = []string{bridgeID}
	light2 := startNodeWith(ctx, t, t.TempDir(), "light2", nodebuilder.Light, l2conf, nodebuilder.Options{
		DAS: func(o *das.Options) { o.SamplingWindow = time.Nanosecond },
	})
	waitHeight(ctx, t, light2, "light2", height)
	res, msg := apiCall(ctx, t, light2, "blob.GetKZG", height, ns, com0)
	if msg == "" {
		t.Fatalf("light2 answered GetKZG from a lying peer: %s", res)
	}
	if !strings.Contains(msg, "PayForBlobs at height") || !strings.Contains(msg, "invalid namespace data") {
		t.Fatalf("light2 with only a lying peer: %s", msg)
	}
	if !light2.P2P().IsBlocked(liar.id()) {
		t.Fatalf("the lying peer is not blocked; blocked: %v", light2.P2P().BlockedPeers())
	}
}

// lateLiar is a shrex store that serves honest for the first request and
// lie for every later one.
type lateLiar struct {
	mu          sync.Mutex
	calls       int
	honest, lie *eds.ExtendedDataSquare
}

func (l *lateLiar) EDS(context.Context, uint64) (*eds.ExtendedDataSquare, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.calls == 1 {
		return l.honest, nil
	}
	return l.lie, nil
}

// info0 returns the blob proof of chunk 0 of the blob, as n answers it.
func info0(ctx context.Context, t *testing.T, n *nodebuilder.Node, height uint64, ns share.Namespace, com []byte) kzg.Proof {
	t.Helper()
	var info blob.KZGInfo
	mustAPI(ctx, t, n, &info, "blob.GetKZG", height, ns, com)
	return kzg.Proof(info.Chunks[0].Proof)
}

// flippedProofSquare returns the bridge's square at height with one byte
// of proof flipped where the PayForBlobs namespace holds it.
func flippedProofSquare(ctx context.Context, t *testing.T, bridge *nodebuilder.Node, height uint64, proof kzg.Proof) *eds.ExtendedDataSquare {
	t.Helper()
	ods, err := bridge.Store().ODS(ctx, height)
	if err != nil {
		t.Fatal(err)
	}
	// The proof may straddle two shares: look for any 16 of its bytes.
	flipped := false
	for i, s := range ods {
		if !bytes.Equal(s[:share.NamespaceSize], share.PayForBlobNamespace[:]) {
			continue
		}
		for off := 0; off+16 <= len(proof) && !flipped; off += 16 {
			if at := bytes.Index(s, proof[off:off+16]); at >= 0 {
				ods[i] = bytes.Clone(s)
				ods[i][at+8] ^= 1
				flipped = true
			}
		}
		if flipped {
			break
		}
	}
	if !flipped {
		t.Fatal("no PayForBlobs share holds 16 bytes of the proof")
	}
	e, err := eds.Extend(ods)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// bridgeAndLight starts a fast one-validator chain, a bridge following
// it and a light node bootstrapping from the bridge, both APIs without
// auth; all stop at the end of the test.
func bridgeAndLight(ctx context.Context, t *testing.T, chainID string) (*coretest.Validator, *nodebuilder.Node, *nodebuilder.Node) {
	t.Helper()
	v, bridge := chainAndBridge(ctx, t, chainID)
	lconf := nodeConfig(nodebuilder.Light, chainID, addr(t, bridge))
	lconf.Header.TrustedHeight = 1
	lconf.RPC.SkipAuth = true
	return v, bridge, startAvailNode(ctx, t, "light", nodebuilder.Light, lconf)
}

// chainAndBridge starts a fast one-validator chain and a bridge following
// it, its API without auth, once the bridge holds height 1.
func chainAndBridge(ctx context.Context, t *testing.T, chainID string) (*coretest.Validator, *nodebuilder.Node) {
	t.Helper()
	v, _ := fastChain(ctx, t, chainID)
	bconf := nodeConfig(nodebuilder.Bridge, chainID)
	bconf.Core.RPC = v.RPCAddr
	bconf.RPC.SkipAuth = true
	bridge := startNode(ctx, t, "bridge", nodebuilder.Bridge, bconf)
	waitHeight(ctx, t, bridge, "bridge", 1)
	return v, bridge
}

// mustAPI calls method on n's API, fails t on an error, decodes the result
// into out (if not nil) and returns it.
func mustAPI(ctx context.Context, t *testing.T, n *nodebuilder.Node, out any, method string, params ...any) json.RawMessage {
	t.Helper()
	res, msg := apiCall(ctx, t, n, method, params...)
	if msg != "" {
		t.Fatalf("%s: %s", method, msg)
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			t.Fatalf("%s: %s: %v", method, res, err)
		}
	}
	return res
}

// randomData returns n bytes of a seeded generator.
func randomData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
