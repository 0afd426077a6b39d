package serve

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/ipns"
	drserver "github.com/ipfs/boxo/routing/http/server"
	"github.com/ipfs/boxo/routing/http/types"
	"github.com/ipfs/boxo/routing/http/types/iter"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/datamesh/mesh-node/dataset"
)

// TransportBitswap is the protocol name a provider record of the router
// carries: the provider serves the CID over bitswap (kubo keeps only
// records with this protocol, or none).
const TransportBitswap = "transport-bitswap"

// Self is the peer the router names as provider: its ID and the addresses
// other peers dial it at (a libp2p host.Host is one). Addrs is called for
// every answer, so it may change while the router runs.
type Self interface {
	ID() peer.ID
	Addrs() []ma.Multiaddr
}

// RouterSettings are the limits of the delegated routing endpoint.
type RouterSettings struct {
	// MaxBlockSize is the largest block the node is named provider of
	// (>= 1), as the bitswap server serves no larger. Default
	// dataset.MaxBlockSize.
	MaxBlockSize int
	// Timeout bounds answering one request (> 0). Default 30 s.
	Timeout time.Duration
	// Metrics is where the router registers its Prometheus metrics; nil
	// gives it a registry of its own, as for GatewaySettings.
	Metrics prometheus.Registerer
}

// DefaultRouterSettings returns the default settings.
func DefaultRouterSettings() RouterSettings {
	return RouterSettings{MaxBlockSize: dataset.MaxBlockSize, Timeout: drserver.DefaultRoutingTimeout}
}

// Validate reports a setting out of range.
func (s RouterSettings) Validate() error {
	switch {
	case s.MaxBlockSize < 1:
		return fmt.Errorf("serve: router max block size %d, want >= 1", s.MaxBlockSize)
	case s.Timeout <= 0:
		return fmt.Errorf("serve: router timeout %v, want > 0", s.Timeout)
	}
	return nil
}

// NewRouter returns the delegated routing endpoint (the Routing V1 HTTP
// API, IPIP-337) over bs (Has, Get and GetSize only):
//
//   - GET /routing/v1/providers/{cid}: for a CID bs holds, one record of
//     schema "peer" with self's ID and addresses and protocol
//     "transport-bitswap"; otherwise 200 with no providers
//     ({"Providers":[]} or an empty NDJSON stream).
//   - GET /routing/v1/peers/{peer-id}: self's record for self's ID, none
//     for any other peer.
//   - GET /routing/v1/dht/closest/peers/{key}: none.
//   - IPNS records: none found; writes (PUT) are refused.
//
// The handler expects the request's path unchanged (/routing/v1/...);
// mount it at "/routing/v1/" of a mux.
func NewRouter(bs blockstore.Blockstore, self Self, s RouterSettings) (http.Handler, error) {
	if self == nil {
		return nil, fmt.Errorf("serve: router: nil self")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	store, err := newReadOnly(bs, s.MaxBlockSize)
	if err != nil {
		return nil, err
	}
	reg := s.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	return drserver.Handler(&router{store: store, self: self},
		drserver.WithPrometheusRegistry(reg),
		drserver.WithRoutingTimeout(s.Timeout),
	), nil
}

// router answers the Routing V1 API for this node alone.
type router struct {
	store readOnly
	self  Self
}

var _ drserver.DelegatedRouter = (*router)(nil)

// record is self's peer record, with protocols protos.
func (r *router) record(protos []string) *types.PeerRecord {
	id := r.self.ID()
	addrs := r.self.Addrs()
	rec := &types.PeerRecord{Schema: types.SchemaPeer, ID: &id, Addrs: make([]types.Multiaddr, 0, len(addrs)), Protocols: protos}
	for _, a := range addrs {
		rec.Addrs = append(rec.Addrs, types.Multiaddr{Multiaddr: a})
	}
	return rec
}

func (r *router) FindProviders(ctx context.Context, c cid.Cid, _ int) (iter.ResultIter[types.Record], error) {
	has, err := r.store.Has(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("serve: router: looking up %s: %w", c, err)
	}
	if !has {
		return nil, routing.ErrNotFound
	}
	return iter.FromSlice([]iter.Result[types.Record]{{Val: r.record([]string{TransportBitswap})}}), nil
}

func (r *router) FindPeers(_ context.Context, p peer.ID, _ int) (iter.ResultIter[*types.PeerRecord], error) {
	if p != r.self.ID() {
		return nil, routing.ErrNotFound
	}
	return iter.FromSlice([]iter.Result[*types.PeerRecord]{{Val: r.record([]string{TransportBitswap})}}), nil
}

func (r *router) GetClosestPeers(context.Context, cid.Cid) (iter.ResultIter[*types.PeerRecord], error) {
	return nil, routing.ErrNotFound
}

func (r *router) GetIPNS(context.Context, ipns.Name) (*ipns.Record, error) {
	return nil, routing.ErrNotFound
}

func (r *router) PutIPNS(context.Context, ipns.Name, *ipns.Record) error {
	return routing.ErrNotSupported
}

//lint:ignore SA1019 DelegatedRouter still has the deprecated method.
func (r *router) ProvideBitswap(context.Context, *drserver.BitswapWriteProvideRequest) (time.Duration, error) {
	return 0, routing.ErrNotSupported
}
