package nodebuilder_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/share"
)

// postedDataset is a dataset paid for on a test chain.
type postedDataset struct {
	root, manifest cid.Cid
	parts          []dataset.Part
	partsHeight    uint64
	manifestHeight uint64
	export         []byte // the parts' sections after the CAR header: the root's export
	dag            []cid.Cid
}

func postDataset(t *testing.T, post func(share.Namespace, ...[]byte) (uint64, [][]byte), seed uint64, files int) postedDataset {
	t.Helper()
	root, parts, sum, dag := testDataset(t, seed, files, 4000)
	ns, err := dataset.DefaultNamespace(root)
	if err != nil {
		t.Fatal(err)
	}
	d := postedDataset{root: root, parts: parts}
	var refs []dataset.PartRef
	d.partsHeight, refs = postParts(post, ns, parts)
	m, mc, err := dataset.ManifestFor(root, sum.Size, sum.Blocks, refs)
	if err != nil {
		t.Fatal(err)
	}
	d.manifest = mc
	d.manifestHeight, _ = post(ns, m)
	header, err := dataset.CARHeader(root)
	if err != nil {
		t.Fatal(err)
	}
	d.export = bytes.Clone(header)
	for _, p := range parts {
		d.export = append(d.export, p.Data[len(header):]...)
	}
	for _, b := range dag {
		d.dag = append(d.dag, b.Cid())
	}
	return d
}

// countPinKeys counts the keys of n's pinned datasets.
func countPinKeys(t *testing.T, n *nodebuilder.Node) int {
	t.Helper()
	count := 0
	err := n.DB().View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("dataset/pin/"), PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			count++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return count
}

// TestDatasetPinSurvivesPruning is issue 16's "after pruning, an unpinned
// dataset is gone (clear error) and a pinned one is still served" on a
// real chain: datasets A and B are paid for; a full node with
// dataset.pin = [A] indexes both, then its pruner's clock moves 8 days
// ahead and it prunes every height below its head. Over its JSON-RPC API
// (the Go client) A is still held, located (pinned), its manifest
// answered and listed, and its gateway ?format=car is the CAR it served
// before pruning; B's manifest and blocks are not found, the errors
// naming the height pruned below, and its gateway answers 404 at once.
// Restarted with dataset.pin = [], the node drops A's pinned blocks at
// its next prune.
func TestDatasetPinSurvivesPruning(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT chain, a bridge and a full node")
	}
	const chainID = "dataset-prune-test"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	v, _ := fastChain(ctx, t, chainID)
	bconf := nodeConfig(nodebuilder.Bridge, chainID)
	bconf.Core.RPC = v.RPCAddr
	bridge := startNodeWith(ctx, t, t.TempDir(), "bridge", nodebuilder.Bridge, bconf, nodebuilder.Options{})
	waitHeight(ctx, t, bridge, "bridge", 1)

	post := blobPoster(ctx, t, chainID, v)
	a := postDataset(t, post, 11, 8)
	b := postDataset(t, post, 12, 6)

	prune := make(chan struct{}) // closed: the pruner's clock is 8 days ahead
	home := t.TempDir()
	fconf := nodeConfig(nodebuilder.Full, chainID, addr(t, bridge))
	fconf.Header.TrustedHeight = 1
	fconf.Dataset.Pin = []string{a.root.String()}
	fconf.RPC.SkipAuth = true
	full := startNodeWith(ctx, t, home, "full", nodebuilder.Full, fconf, nodebuilder.Options{DAS: fastDAS, Pruner: prunerAhead(prune)})
	for _, d := range []postedDataset{a, b} {
		coretest.WaitUntil(ctx, t, "the full node to index a manifest", func() bool {
			_, err := full.DatasetIndex().Manifest(ctx, d.root)
			return err == nil
		})
	}
	gateway := full.DatasetGatewayURL()
	status, carA := httpGet(ctx, t, gateway+"/ipfs/"+a.root.String()+"?format=car", "")
	if status != http.StatusOK || !bytes.Equal(carA, a.export) {
		t.Fatalf("A's ?format=car before pruning: status %d, %d bytes, want the %d-byte export", status, len(carA), len(a.export))
	}
	if status, body := httpGet(ctx, t, gateway+"/ipfs/"+b.root.String()+"?format=car", ""); status != http.StatusOK || !bytes.Equal(body, b.export) {
		t.Fatalf("B's ?format=car before pruning: status %d", status)
	}

	close(prune)
	coretest.WaitUntil(ctx, t, "the full node to prune both datasets' heights", func() bool {
		below, err := full.DatasetIndex().PrunedBelow(ctx)
		return err == nil && below > max(a.manifestHeight, b.manifestHeight)
	})
	below, err := full.DatasetIndex().PrunedBelow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []uint64{a.partsHeight, b.partsHeight} {
		if has, err := full.Squares().Has(ctx, h); has || err != nil {
			t.Fatalf("the square of height %d is still held: %v %v", h, has, err)
		}
	}

	cl, err := client.New(ctx, "http://"+full.API().Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	// A: pinned, still served.
	for _, c := range append([]cid.Cid{a.manifest}, a.dag...) {
		if has, err := cl.Dataset.Has(ctx, c.String()); !has || err != nil {
			t.Fatalf("Has(%s) of pinned A after pruning = %v, %v", c, has, err)
		}
		locs, err := cl.Dataset.Locate(ctx, c.String())
		want := a.partsHeight
		if c.Equals(a.manifest) {
			want = a.manifestHeight
		}
		if err != nil || len(locs) != 1 || !locs[0].Pinned || locs[0].Height != want {
			t.Fatalf("Locate(%s) of pinned A after pruning = %+v, %v; want pinned at %d", c, locs, err, want)
		}
		if data, err := cl.Dataset.GetBlock(ctx, c.String()); err != nil || len(data) == 0 {
			t.Fatalf("GetBlock(%s) of pinned A after pruning: %v", c, err)
		} else if again, _ := c.Prefix().Sum(data); !again.Equals(c) {
			t.Fatalf("GetBlock(%s): the data does not hash to it", c)
		}
	}
	for _, q := range []cid.Cid{a.root, a.manifest} {
		m, err := cl.Dataset.GetManifest(ctx, q.String())
		if err != nil || m.CID != a.manifest.String() || m.Root != a.root.String() || len(m.Parts) != len(a.parts) ||
			!m.Location.Pinned || m.Location.Height != a.manifestHeight {
			t.Fatalf("GetManifest(%s) of pinned A after pruning = %+v, %v", q, m, err)
		}
	}
	list, err := cl.Dataset.List(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	listed := 0
	for _, m := range list {
		if m.CID == b.manifest.String() {
			t.Fatalf("List after pruning names unpinned B: %+v", m)
		}
		if m.CID == a.manifest.String() {
			listed++
			if !m.Location.Pinned || m.Location.Height != a.manifestHeight {
				t.Fatalf("List: A's manifest %+v", m)
			}
		}
	}
	if listed != 1 {
		t.Fatalf("List after pruning names A's manifest %d times, want once", listed)
	}
	if status, body := httpGet(ctx, t, gateway+"/ipfs/"+a.root.String()+"?format=car", ""); status != http.StatusOK || !bytes.Equal(body, carA) {
		t.Fatalf("A's ?format=car after pruning: status %d, %d bytes, want the %d bytes served before", status, len(body), len(carA))
	}

	// B: not pinned, gone, and the errors say why.
	for _, q := range []cid.Cid{b.root, b.manifest} {
		_, err := cl.Dataset.GetManifest(ctx, q.String())
		if err == nil || !strings.Contains(err.Error(), "manifest not found") || !strings.Contains(err.Error(), "pruned heights below") {
			t.Fatalf("GetManifest(%s) of unpinned B after pruning: %v", q, err)
		}
	}
	for _, c := range b.dag {
		_, err := cl.Dataset.GetBlock(ctx, c.String())
		if err == nil || !strings.Contains(err.Error(), "could not find") || !strings.Contains(err.Error(), "pruned heights below") {
			t.Fatalf("GetBlock(%s) of unpinned B after pruning: %v", c, err)
		}
		if has, err := cl.Dataset.Has(ctx, c.String()); has || err != nil {
			t.Fatalf("Has(%s) of unpinned B after pruning = %v, %v", c, has, err)
		}
	}
	// A 404 with no search of the network: well within a few seconds.
	quick, cancelQuick := context.WithTimeout(ctx, 5*time.Second)
	defer cancelQuick()
	if status, _ := httpGet(quick, t, gateway+"/ipfs/"+b.root.String()+"?format=car", ""); status != http.StatusNotFound {
		t.Fatalf("B's ?format=car after pruning: status %d, want 404", status)
	}
	t.Logf("pruned below %d; A's parts at %d, B's at %d", below, a.partsHeight, b.partsHeight)

	// Restarted with nothing pinned: A goes at the next prune.
	if err := full.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	fconf.Dataset.Pin = nil
	full = startNodeWith(ctx, t, home, "full-unpinned", nodebuilder.Full, fconf, nodebuilder.Options{DAS: fastDAS, Pruner: prunerAhead(prune)})
	coretest.WaitUntil(ctx, t, "the restarted node to drop A's pin", func() bool {
		return countPinKeys(t, full) == 0
	})
	cl2, err := client.New(ctx, "http://"+full.API().Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	for _, c := range append([]cid.Cid{a.manifest}, a.dag...) {
		if has, err := cl2.Dataset.Has(ctx, c.String()); has || err != nil {
			t.Fatalf("Has(%s) of unpinned A = %v, %v", c, has, err)
		}
	}
	if _, err := cl2.Dataset.GetManifest(ctx, a.root.String()); err == nil || !strings.Contains(err.Error(), "pruned heights below") {
		t.Fatalf("GetManifest of unpinned A: %v", err)
	}
	quick, cancelQuick = context.WithTimeout(ctx, 5*time.Second)
	defer cancelQuick()
	if status, _ := httpGet(quick, t, full.DatasetGatewayURL()+"/ipfs/"+a.root.String()+"?format=car", ""); status != http.StatusNotFound {
		t.Fatalf("A's ?format=car once unpinned: status %d, want 404", status)
	}
}
