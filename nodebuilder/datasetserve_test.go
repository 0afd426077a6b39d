package nodebuilder_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	bsclient "github.com/ipfs/boxo/bitswap/client"
	bsnet "github.com/ipfs/boxo/bitswap/network/bsnet"
	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/dataset/serve"
	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// httpGet fetches url within ctx and returns the status and body (at
// most 16 MiB).
func httpGet(ctx context.Context, t *testing.T, url, accept string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode, body
}

// TestDatasetServing is issue 16's serving on a real chain: a small
// dataset's parts and manifest are paid for as blobs; a bridge and a full
// node index them and serve them from their own squares, each through its
// gateway (?format=car is the dataset's export, ?format=raw a block, an
// unknown CID 404; its address in use fails a node's start), its delegated routing endpoint (naming the node as
// provider over bitswap) and its bitswap server, from which a stock boxo
// bitswap client on another host fetches every block. The bridge's
// gateway and router metrics land in its Prometheus registry.
func TestDatasetServing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT chain, a bridge and a full node")
	}
	const chainID = "dataset-serve-test"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	v, _ := fastChain(ctx, t, chainID)
	bconf := nodeConfig(nodebuilder.Bridge, chainID)
	bconf.Core.RPC = v.RPCAddr
	bridge := startNodeWith(ctx, t, t.TempDir(), "bridge", nodebuilder.Bridge, bconf, nodebuilder.Options{MetricsAddr: "127.0.0.1:0"})
	waitHeight(ctx, t, bridge, "bridge", 1)
	fconf := nodeConfig(nodebuilder.Full, chainID, addr(t, bridge))
	fconf.Header.TrustedHeight = 1
	full := startAvailNode(ctx, t, "full", nodebuilder.Full, fconf)

	root, parts, sum, dag := testDataset(t, 3, 8, 4000)
	ns, err := dataset.DefaultNamespace(root)
	if err != nil {
		t.Fatal(err)
	}
	post := blobPoster(ctx, t, chainID, v)
	_, refs := postParts(post, ns, parts)
	manifest, _, err := dataset.ManifestFor(root, sum.Size, sum.Blocks, refs)
	if err != nil {
		t.Fatal(err)
	}
	post(ns, manifest)

	header, err := dataset.CARHeader(root)
	if err != nil {
		t.Fatal(err)
	}
	export := bytes.Clone(header)
	for _, p := range parts {
		export = append(export, p.Data[len(header):]...)
	}
	unknown, err := cid.V1Builder{Codec: cid.Raw, MhType: 0x12}.Sum([]byte("not in any dataset"))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		n    *nodebuilder.Node
	}{{"bridge", bridge}, {"full", full}} {
		coretest.WaitUntil(ctx, t, "the "+tc.name+" to index the manifest", func() bool {
			_, err := tc.n.DatasetIndex().Manifest(ctx, root)
			return err == nil
		})
		base := tc.n.DatasetGatewayURL()
		if !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, ":0") {
			t.Fatalf("%s: gateway URL %q", tc.name, base)
		}

		// The gateway.
		if status, body := httpGet(ctx, t, base+"/ipfs/"+root.String()+"?format=car", ""); status != http.StatusOK || !bytes.Equal(body, export) {
			t.Fatalf("%s: ?format=car of the root: status %d, %d bytes, want the %d-byte export", tc.name, status, len(body), len(export))
		}
		leaf := dag[len(dag)-1]
		if status, body := httpGet(ctx, t, base+"/ipfs/"+leaf.Cid().String()+"?format=raw", ""); status != http.StatusOK || !bytes.Equal(body, leaf.RawData()) {
			t.Fatalf("%s: ?format=raw of %s: status %d, %d bytes, want %d", tc.name, leaf.Cid(), status, len(body), len(leaf.RawData()))
		}
		if status, _ := httpGet(ctx, t, base+"/ipfs/"+unknown.String()+"?format=raw", ""); status != http.StatusNotFound {
			t.Fatalf("%s: unknown CID: status %d, want 404", tc.name, status)
		}

		// The delegated router names the node, over bitswap.
		id, _ := tc.n.Info()
		status, body := httpGet(ctx, t, base+"/routing/v1/providers/"+root.String(), "application/json")
		var provs struct {
			Providers []struct {
				Schema    string
				ID        string
				Addrs     []string
				Protocols []string
			}
		}
		if err := json.Unmarshal(body, &provs); status != http.StatusOK || err != nil || len(provs.Providers) != 1 {
			t.Fatalf("%s: providers of the root: status %d, %v: %s", tc.name, status, err, body)
		}
		if p := provs.Providers[0]; p.Schema != "peer" || p.ID != id || len(p.Addrs) == 0 || !slices.Contains(p.Protocols, serve.TransportBitswap) {
			t.Fatalf("%s: provider %+v, want %s over %s", tc.name, p, id, serve.TransportBitswap)
		}
		status, body = httpGet(ctx, t, base+"/routing/v1/providers/"+unknown.String(), "application/json")
		if err := json.Unmarshal(body, &provs); status != http.StatusOK || err != nil || len(provs.Providers) != 0 {
			t.Fatalf("%s: providers of an unknown CID: status %d, %v: %s", tc.name, status, err, body)
		}

		// Bitswap: a stock client on another host fetches every block.
		fetchOverBitswap(ctx, t, tc.name, tc.n, dag)
	}

	// A gateway address in use fails the start, naming the key.
	inUse := nodeConfig(nodebuilder.Full, chainID, addr(t, bridge))
	inUse.Header.TrustedHeight = 1
	inUse.Dataset.GatewayAddress = strings.TrimPrefix(bridge.DatasetGatewayURL(), "http://")
	n, err := nodebuilder.New(nodebuilder.Full, t.TempDir(), inUse, nodebuilder.Options{Logger: testLogger(t, "full2")})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err == nil || !strings.Contains(err.Error(), "start dataset gateway: dataset.gateway_address "+inUse.Dataset.GatewayAddress) {
		t.Fatalf("start with the gateway address in use: %v", err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// The gateway's and the router's metrics are the bridge's.
	status, body := httpGet(ctx, t, "http://"+bridge.MetricsAddr()+"/metrics", "")
	if status != http.StatusOK || !bytes.Contains(body, []byte("ipfs_http_gw_")) || !bytes.Contains(body, []byte("delegated_routing_server")) {
		t.Fatalf("bridge metrics: status %d, no gateway or router series:\n%s", status, body)
	}
}

// fetchOverBitswap has a boxo bitswap client on a new loopback host,
// connected to n alone, fetch every block of dag within 30 seconds, and
// checks their bytes.
func fetchOverBitswap(ctx context.Context, t *testing.T, name string, n *nodebuilder.Node, dag []blocks.Block) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h := p2ptest.Host(t)
	net := bsnet.NewFromIpfsHost(h)
	client := bsclient.New(ctx, net, nil, blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore())))
	net.Start(client)
	defer func() {
		if err := client.Close(); err != nil {
			t.Error(err)
		}
		net.Stop()
	}()
	p2ptest.Connect(t, ctx, h, n.P2P().Host())
	keys := make([]cid.Cid, len(dag))
	for i, b := range dag {
		keys[i] = b.Cid()
	}
	ch, err := client.GetBlocks(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	got := map[cid.Cid][]byte{}
	for b := range ch {
		got[b.Cid()] = b.RawData()
	}
	for _, b := range dag {
		if !bytes.Equal(got[b.Cid()], b.RawData()) {
			t.Fatalf("%s: bitswap block %s: got %d bytes, want %d (%d of %d blocks; %v)", name, b.Cid(), len(got[b.Cid()]), len(b.RawData()), len(got), len(dag), ctx.Err())
		}
	}
}
