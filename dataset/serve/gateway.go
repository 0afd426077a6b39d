package serve

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/exchange/offline"
	"github.com/ipfs/boxo/gateway"
	"github.com/ipfs/go-cid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/datamesh/mesh-node/dataset"
)

// GatewaySettings are the limits of the trustless gateway.
type GatewaySettings struct {
	// MaxBlockSize is the largest block served, in bytes (>= 1); a larger
	// block is answered as not held. Default dataset.MaxBlockSize.
	MaxBlockSize int
	// RetrievalTimeout bounds the time to the first byte of a response
	// and between two writes of it (> 0). Default 30 s.
	RetrievalTimeout time.Duration
	// MaxRequestDuration bounds a whole request (> 0). Default 1 h.
	MaxRequestDuration time.Duration
	// MaxConcurrentRequests is how many requests are served at once
	// (>= 1); past it the gateway answers 429. Default 1,024.
	MaxConcurrentRequests int
	// Metrics is where the gateway registers its Prometheus metrics; nil
	// gives it a registry of its own (never the process-wide default), so
	// its metrics are not exported.
	Metrics prometheus.Registerer
}

// DefaultGatewaySettings returns the default settings.
func DefaultGatewaySettings() GatewaySettings {
	return GatewaySettings{
		MaxBlockSize:          dataset.MaxBlockSize,
		RetrievalTimeout:      gateway.DefaultRetrievalTimeout,
		MaxRequestDuration:    gateway.DefaultMaxRequestDuration,
		MaxConcurrentRequests: 1024,
	}
}

// Validate reports a setting out of range.
func (s GatewaySettings) Validate() error {
	switch {
	case s.MaxBlockSize < 1:
		return fmt.Errorf("serve: gateway max block size %d, want >= 1", s.MaxBlockSize)
	case s.RetrievalTimeout <= 0:
		return fmt.Errorf("serve: gateway retrieval timeout %v, want > 0", s.RetrievalTimeout)
	case s.MaxRequestDuration <= 0:
		return fmt.Errorf("serve: gateway max request duration %v, want > 0", s.MaxRequestDuration)
	case s.MaxConcurrentRequests < 1:
		return fmt.Errorf("serve: gateway max concurrent requests %d, want >= 1", s.MaxConcurrentRequests)
	}
	return nil
}

// NewGateway returns the IPFS trustless gateway over bs (Has, Get and
// GetSize only): GET and HEAD of /ipfs/<cid>[/path] answered as a block
// (?format=raw or Accept: application/vnd.ipld.raw) or a CARv1
// (?format=car or application/vnd.ipld.car, with dag-scope,
// entity-bytes, order=dfs and dups=n as the trustless gateway
// specification says). It serves no deserialised responses (a request
// for one is answered 406) and nothing under /ipns/ (404): no name
// resolution, so no DNS. Blocks come from bs alone through an offline
// exchange: a CID bs does not hold is answered 404 at once, with no
// network search; the root CID of the path is looked up before boxo's
// handler runs, so even a CAR request for an unknown root is a plain 404.
//
// The handler expects the request's path unchanged (/ipfs/...); mount it
// at "/ipfs/" of a mux.
func NewGateway(bs blockstore.Blockstore, s GatewaySettings) (http.Handler, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	store, err := newReadOnly(bs, s.MaxBlockSize)
	if err != nil {
		return nil, err
	}
	backend, err := gateway.NewBlocksBackend(blockservice.New(store, offline.Exchange(store)))
	if err != nil {
		return nil, fmt.Errorf("serve: gateway backend: %w", err)
	}
	reg := s.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	h := gateway.NewHandler(gateway.Config{
		DeserializedResponses: false,
		NoDNSLink:             true,
		DisableHTMLErrors:     true,
		RetrievalTimeout:      s.RetrievalTimeout,
		MaxRequestDuration:    s.MaxRequestDuration,
		MaxConcurrentRequests: s.MaxConcurrentRequests,
		MetricsRegistry:       reg,
	}, backend)
	return &gatewayHandler{store: store, next: h}, nil
}

// gatewayHandler answers 404 for a root CID the store does not hold and
// hands every other /ipfs/ request to boxo's gateway.
type gatewayHandler struct {
	store readOnly
	next  http.Handler
}

func (g *gatewayHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/ipfs/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	first, _, _ := strings.Cut(rest, "/")
	c, err := cid.Decode(first)
	if err != nil {
		// Not a CID: boxo answers 400 with its reason.
		g.next.ServeHTTP(w, r)
		return
	}
	has, err := g.store.Has(r.Context(), c)
	switch {
	case errors.Is(err, r.Context().Err()) && err != nil:
		return // the client left
	case err != nil:
		http.Error(w, fmt.Sprintf("serve: looking up %s: %v", c, err), http.StatusInternalServerError)
		return
	case !has:
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, fmt.Sprintf("serve: %s is not held by this node", c), http.StatusNotFound)
		return
	}
	g.next.ServeHTTP(w, r)
}
