package nodebuilder_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/share"
)

// testDataset imports a directory of small files and packs it into parts
// of at most maxPart bytes; it returns the root, the parts and the DAG's
// blocks in export order.
func testDataset(t *testing.T, seed uint64, files, maxPart int) (cid.Cid, []dataset.Part, dataset.Summary, []blocks.Block) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%02d", i)), randomData(seed*100+uint64(i), 200+150*i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bs := blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	root, err := dataset.Import(ctx, bs, dir)
	if err != nil {
		t.Fatal(err)
	}
	var parts []dataset.Part
	sum, err := dataset.Pack(ctx, bs, root, maxPart, func(p dataset.Part) error {
		parts = append(parts, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var all []blocks.Block
	if err := dataset.Walk(ctx, bs, root, func(b blocks.Block) error {
		all = append(all, b)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return root, parts, sum, all
}

// blobPoster returns a function that pays for blobs of one namespace in
// one transaction from alice's account on v's chain, and returns the
// height they landed at and their commitments.
func blobPoster(ctx context.Context, t *testing.T, chainID string, v *coretest.Validator) func(share.Namespace, ...[]byte) (uint64, [][]byte) {
	g := coretest.Genesis(t, chainID, "alice")
	key, _ := coretest.Key(t, "alice")
	c := v.Client()
	nonce := uint64(0)
	return func(ns share.Namespace, datas ...[]byte) (uint64, [][]byte) {
		t.Helper()
		var bs []coretest.Blob
		var coms [][]byte
		for _, d := range datas {
			b, err := share.NewBlob(ns, d, share.ShareVersionZero, nil)
			if err != nil {
				t.Fatal(err)
			}
			com, err := b.Commitment()
			if err != nil {
				t.Fatal(err)
			}
			bs = append(bs, coretest.Blob{Namespace: ns, Data: d})
			coms = append(coms, com)
		}
		h := uint64(coretest.Broadcast(ctx, t, c, coretest.PFBTx(t, chainID, key, nonce, g.Params, bs)))
		nonce++
		return h, coms
	}
}

// postParts pays for parts in ns in one transaction and returns the
// height and the parts' references for a manifest.
func postParts(post func(share.Namespace, ...[]byte) (uint64, [][]byte), ns share.Namespace, parts []dataset.Part) (uint64, []dataset.PartRef) {
	var datas [][]byte
	for _, p := range parts {
		datas = append(datas, p.Data)
	}
	height, coms := post(ns, datas...)
	refs := make([]dataset.PartRef, len(parts))
	for i := range parts {
		refs[i] = dataset.PartRef{Height: height, Commitment: coms[i]}
	}
	return height, refs
}

// TestDatasetIndexAndAPI is issue 16's index and JSON-RPC on a real
// chain: a small dataset's parts, a tampered part (valid CAR framing, one
// block byte flipped) and the manifest are paid for as blobs; the bridge
// indexes them as it stores the squares and serves every block
// (hash-checked), the manifest, locations and the list over its JSON-RPC
// API and the Go client, indexes nothing of the tampered part and keeps
// indexing after it; a light node answers that it keeps no dataset index.
func TestDatasetIndexAndAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT chain, a bridge and a light node")
	}
	const chainID = "dataset-index-test"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	v, bridge, light := bridgeAndLight(ctx, t, chainID)

	const maxPart = 4000
	root, parts, sum, dag := testDataset(t, 1, 10, maxPart)
	rootB, partsB, _, _ := testDataset(t, 2, 4, maxPart)
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	ns, err := dataset.DefaultNamespace(root)
	if err != nil {
		t.Fatal(err)
	}
	post := blobPoster(ctx, t, chainID, v)

	partsHeight, refs := postParts(post, ns, parts)
	bad := bytes.Clone(partsB[0].Data)
	bad[len(bad)-1] ^= 0x01
	nsB, _ := dataset.DefaultNamespace(rootB)
	badHeight, _ := post(nsB, bad)
	manifest, mc, err := dataset.ManifestFor(root, sum.Size, sum.Blocks, refs)
	if err != nil {
		t.Fatal(err)
	}
	manifestHeight, _ := post(ns, manifest)

	coretest.WaitUntil(ctx, t, "the bridge to index the manifest", func() bool {
		_, err := bridge.DatasetIndex().Manifest(ctx, root)
		return err == nil
	})
	if ok, err := bridge.BlobIndex().Indexed(ctx, badHeight); !ok || err != nil {
		t.Fatalf("the tampered part's height is not indexed: %v %v", ok, err)
	}

	// The manifest, by the dataset's root and by its own CID.
	for _, q := range []cid.Cid{root, mc} {
		var m api.DatasetManifest
		mustAPI(ctx, t, bridge, &m, "dataset.GetManifest", q.String())
		if m.CID != mc.String() || m.Root != root.String() || m.Size != sum.Size || m.Blocks != sum.Blocks || len(m.Parts) != len(parts) ||
			m.Location.Height != manifestHeight || m.Location.Namespace != ns {
			t.Fatalf("GetManifest(%s) = %+v", q, m)
		}
		for i, p := range m.Parts {
			if p.Height != partsHeight || !bytes.Equal(p.Commitment, refs[i].Commitment) {
				t.Fatalf("part %d: %+v", i, p)
			}
		}
	}
	// Every block: located in its part, served over the API, the Go client
	// and the blockstore, hash-checked.
	cl, err := client.New(ctx, "http://"+bridge.API().Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, b := range dag {
		var locs []api.DatasetLocation
		mustAPI(ctx, t, bridge, &locs, "dataset.Locate", b.Cid().String())
		if len(locs) != 1 || locs[0].Height != partsHeight || locs[0].Namespace != ns || locs[0].Length != len(b.RawData()) {
			t.Fatalf("Locate(%s) = %+v", b.Cid(), locs)
		}
		var has bool
		mustAPI(ctx, t, bridge, &has, "dataset.Has", b.Cid().String())
		var data []byte
		mustAPI(ctx, t, bridge, &data, "dataset.GetBlock", b.Cid().String())
		if !has || !bytes.Equal(data, b.RawData()) {
			t.Fatalf("block %s: Has %v, GetBlock %d bytes, want %d", b.Cid(), has, len(data), len(b.RawData()))
		}
		if again, _ := b.Cid().Prefix().Sum(data); !again.Equals(b.Cid()) {
			t.Fatalf("block %s: served data does not hash to it", b.Cid())
		}
		viaClient, err := cl.Dataset.GetBlock(ctx, b.Cid().String())
		if err != nil || !bytes.Equal(viaClient, b.RawData()) {
			t.Fatalf("client GetBlock(%s): %d bytes, %v", b.Cid(), len(viaClient), err)
		}
		fromStore, err := bridge.DatasetBlocks().Get(ctx, b.Cid())
		if err != nil || !bytes.Equal(fromStore.RawData(), b.RawData()) {
			t.Fatalf("blockstore Get(%s): %v", b.Cid(), err)
		}
	}
	// The manifest block is a block too.
	var mblock []byte
	mustAPI(ctx, t, bridge, &mblock, "dataset.GetBlock", mc.String())
	if !bytes.HasSuffix(manifest, mblock) || len(mblock) == 0 {
		t.Fatal("the manifest block served is not the manifest's")
	}
	// The list, over the API and the client.
	var list []api.DatasetManifest
	mustAPI(ctx, t, bridge, &list, "dataset.List", 0, 10)
	if len(list) != 1 || list[0].CID != mc.String() {
		t.Fatalf("List = %+v", list)
	}
	if got, err := cl.Dataset.List(ctx, manifestHeight+1, 10); err != nil || len(got) != 0 {
		t.Fatalf("client List after the manifest = %v, %v", got, err)
	}
	if m, err := cl.Dataset.GetManifest(ctx, root.String()); err != nil || m.CID != mc.String() {
		t.Fatalf("client GetManifest = %+v, %v", m, err)
	}

	// Nothing of the tampered part; unknown and malformed CIDs.
	for _, b := range mustDecode(t, partsB[0].Data, rootB) {
		var has bool
		mustAPI(ctx, t, bridge, &has, "dataset.Has", b.String())
		if has {
			t.Fatalf("a block of the tampered part is indexed: %s", b)
		}
	}
	if _, msg := apiCall(ctx, t, bridge, "dataset.GetBlock", rootB.String()); !strings.Contains(msg, "not find") {
		t.Fatalf("GetBlock of an unknown CID: %q", msg)
	}
	if _, msg := apiCall(ctx, t, bridge, "dataset.GetManifest", rootB.String()); !strings.Contains(msg, "manifest not found") {
		t.Fatalf("GetManifest of an unknown dataset: %q", msg)
	}
	if _, msg := apiCall(ctx, t, bridge, "dataset.Locate", "not-a-cid"); !strings.Contains(msg, "invalid CID") {
		t.Fatalf("Locate of a malformed CID: %q", msg)
	}
	if _, msg := apiCall(ctx, t, bridge, "dataset.List", 0, 5000); !strings.Contains(msg, "invalid limit") {
		t.Fatalf("List over the limit: %q", msg)
	}

	// A light node keeps no index, and says so.
	for _, call := range []struct {
		method string
		params []any
	}{
		{"dataset.GetManifest", []any{root.String()}}, {"dataset.Locate", []any{root.String()}},
		{"dataset.Has", []any{root.String()}}, {"dataset.GetBlock", []any{root.String()}}, {"dataset.List", []any{0, 10}},
	} {
		if _, msg := apiCall(ctx, t, light, call.method, call.params...); !strings.Contains(msg, "keeps no dataset index") {
			t.Fatalf("light %s: %q", call.method, msg)
		}
	}
}

func mustDecode(t *testing.T, part []byte, root cid.Cid) []cid.Cid {
	t.Helper()
	bs, err := dataset.DecodePart(part, root, len(part))
	if err != nil {
		t.Fatal(err)
	}
	var out []cid.Cid
	for _, b := range bs {
		out = append(out, b.Cid)
	}
	return out
}
