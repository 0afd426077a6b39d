package nodebuilder

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/datamesh/mesh-node/dataset/serve"
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
