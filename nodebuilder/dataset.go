package nodebuilder

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/dataset/serve"
	dsstore "github.com/datamesh/mesh-node/dataset/store"
	"github.com/datamesh/mesh-node/share"
)

// addDatasetServing adds, on a bridge or full node (one with a dataset
// blockstore), what serves its datasets to IPFS, per the [dataset]
// section: the bitswap server on the node's libp2p host (dataset.bitswap),
// then the HTTP server of the trustless gateway and the delegated routing
// endpoint (dataset.gateway_address). They come after the blob index's
// catch-up in the start order and stop before it. A light node has no
// dataset blockstore and serves nothing.
func (n *Node) addDatasetServing() error {
	if n.datasetBlocks == nil {
		return nil
	}
	conf := n.conf.Dataset
	var reg prometheus.Registerer
	if n.metrics != nil {
		reg = n.metrics.reg
	}
	if conf.Bitswap {
		b, err := serve.NewBitswap(n.p2p.Host(), n.datasetBlocks, serve.DefaultBitswapSettings())
		if err != nil {
			return fmt.Errorf("nodebuilder: dataset bitswap: %w", err)
		}
		n.add("dataset bitswap", b.Start, b.Stop)
	}
	if conf.GatewayAddress == "" {
		return nil
	}
	gs := serve.DefaultGatewaySettings()
	gs.Metrics = reg
	gateway, err := serve.NewGateway(n.datasetBlocks, gs)
	if err != nil {
		return fmt.Errorf("nodebuilder: dataset gateway: %w", err)
	}
	rs := serve.DefaultRouterSettings()
	rs.Metrics = reg
	router, err := serve.NewRouter(n.datasetBlocks, n.p2p.Host(), rs)
	if err != nil {
		return fmt.Errorf("nodebuilder: dataset router: %w", err)
	}
	hs := serve.DefaultHTTPSettings()
	hs.Addr = conf.GatewayAddress
	hs.Log = n.logger.With("service", "dataset-http")
	if n.datasetHTTP, err = serve.NewHTTP(hs, gateway, router); err != nil {
		return fmt.Errorf("nodebuilder: dataset gateway: %w", err)
	}
	h := n.datasetHTTP
	n.add("dataset gateway", func(ctx context.Context) error {
		if err := h.Start(ctx); err != nil {
			return fmt.Errorf("dataset.gateway_address %s: %w", conf.GatewayAddress, err)
		}
		hs.Log.Info("serving datasets", "gateway", h.URL()+"/ipfs/", "routing", h.URL()+"/routing/v1/")
		return nil
	}, h.Stop)
	return nil
}

// DatasetGatewayURL returns the base URL (http://host:port) of the node's
// dataset gateway and delegated routing endpoint while it runs, with the
// port chosen for a port 0, or "" when it does not: a light node, an empty
// dataset.gateway_address, or a node not started.
func (n *Node) DatasetGatewayURL() string {
	if n.datasetHTTP == nil {
		return ""
	}
	return n.datasetHTTP.URL()
}

// localParts reads a bridge's or full node's blobs for its dataset
// blockstore (dsstore.PartSource) straight from its stored original
// squares: no extension, row roots, NMT proofs or commitments, which the
// blob service computes for every namespace read and which the blockstore
// does not need (it finds each block by the CAR framing the index recorded
// and checks its hash; the node verified each square before storing it).
// A square the node does not hold (pruned, or not fetched yet) is
// blob.ErrBlobNotFound at once: no network fetch.
type localParts struct {
	squares squareSource
}

var _ dsstore.PartSource = localParts{}

// NamespaceBlobs returns the data of the blobs of ns at height, in square
// order.
func (l localParts) NamespaceBlobs(ctx context.Context, height uint64, ns share.Namespace) ([][]byte, error) {
	ods, err := l.squares.SharedODS(ctx, height) // parsed only: the blobs are copies
	if isNotFound(err) {
		return nil, fmt.Errorf("dataset parts: no square at height %d: %w", height, blob.ErrBlobNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("dataset parts: square %d: %w", height, err)
	}
	placed, err := share.ParseBlobs(namespaceRun(ods, ns))
	if err != nil {
		return nil, fmt.Errorf("dataset parts: namespace %s at height %d: %w", ns, height, err)
	}
	out := make([][]byte, len(placed))
	for i, p := range placed {
		out[i] = p.Blob.Data()
	}
	return out, nil
}

// namespaceRun returns the shares of ns in an original square: one
// contiguous run, since a square's shares are in namespace order.
func namespaceRun(ods [][]byte, ns share.Namespace) [][]byte {
	key := ns[:]
	nsOf := func(s []byte) []byte { return s[:min(len(s), len(key))] }
	first := sort.Search(len(ods), func(i int) bool { return bytes.Compare(nsOf(ods[i]), key) >= 0 })
	end := first
	for end < len(ods) && bytes.Equal(nsOf(ods[end]), key) {
		end++
	}
	return ods[first:end]
}
