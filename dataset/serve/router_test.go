package serve_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/multiformats/go-multihash"

	"github.com/datamesh/mesh-node/dataset/serve"
	"github.com/datamesh/mesh-node/dataset/serve/servetest"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

// providers is the IPIP-337 JSON of a providers or peers answer.
type providers struct {
	Providers []record
	Peers     []record
}

type record struct {
	Schema    string
	ID        string
	Addrs     []string
	Protocols []string
}

func getJSON(t *testing.T, url string) providers {
	t.Helper()
	r := get(t, url)
	if r.status != http.StatusOK || r.contentType != "application/json" {
		t.Fatalf("%s: status %d, content type %q: %s", url, r.status, r.contentType, r.body)
	}
	var p providers
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("%s: %v: %s", url, err, r.body)
	}
	return p
}

func addrStrings(h host.Host) []string {
	var out []string
	for _, a := range h.Addrs() {
		out = append(out, a.String())
	}
	return out
}

// TestRouter: /routing/v1/providers of a CID the blockstore holds names the
// node (ID, addresses, transport-bitswap); of any other CID, no provider.
// It shares the listener with the gateway.
func TestRouter(t *testing.T) {
	ds := newDataset(t, mib+1, 9)
	h := p2ptest.Host(t)
	router, err := serve.NewRouter(ds.store, h, serve.DefaultRouterSettings())
	if err != nil {
		t.Fatal(err)
	}
	url := servetest.HTTP(t, newGateway(t, ds, serve.DefaultGatewaySettings()), router)
	self := record{Schema: "peer", ID: h.ID().String(), Addrs: addrStrings(h), Protocols: []string{"transport-bitswap"}}
	if len(self.Addrs) == 0 {
		t.Fatal("host has no address")
	}

	for _, b := range ds.blocks {
		p := getJSON(t, url+"/routing/v1/providers/"+b.Cid().String())
		if len(p.Providers) != 1 || !equalRecords(p.Providers[0], self) {
			t.Fatalf("providers of %s: %+v, want %+v", b.Cid(), p.Providers, self)
		}
	}
	mh, err := multihash.Sum([]byte("unknown"), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	unknown := cid.NewCidV1(cid.Raw, mh)
	start := time.Now()
	if p := getJSON(t, url+"/routing/v1/providers/"+unknown.String()); p.Providers == nil || len(p.Providers) != 0 {
		t.Fatalf("providers of an unknown CID: %+v, want []", p.Providers)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("unknown CID answered after %v", d)
	}
	if p := getJSON(t, url+"/routing/v1/peers/"+h.ID().String()); len(p.Peers) != 1 || !equalRecords(p.Peers[0], self) {
		t.Fatalf("peers of self: %+v, want %+v", p.Peers, self)
	}
	other := p2ptest.Host(t)
	if p := getJSON(t, url+"/routing/v1/peers/"+other.ID().String()); len(p.Peers) != 0 {
		t.Fatalf("peers of another peer: %+v, want none", p.Peers)
	}
	if r := get(t, url+"/routing/v1/providers/not-a-cid"); r.status != http.StatusBadRequest {
		t.Fatalf("malformed CID: status %d, want 400", r.status)
	}
	// The gateway still answers on the same listener.
	if r := get(t, url+"/ipfs/"+ds.root.String()+"?format=raw"); r.status != http.StatusOK {
		t.Fatalf("gateway beside the router: status %d", r.status)
	}
}

func equalRecords(a, b record) bool {
	return a.Schema == b.Schema && a.ID == b.ID && slices.Equal(a.Addrs, b.Addrs) && slices.Equal(a.Protocols, b.Protocols)
}

func TestRouterSettingsRejected(t *testing.T) {
	ds := newDataset(t, 10, 10)
	h := p2ptest.Host(t)
	for name, mutate := range map[string]func(*serve.RouterSettings){
		"block size": func(s *serve.RouterSettings) { s.MaxBlockSize = 0 },
		"timeout":    func(s *serve.RouterSettings) { s.Timeout = 0 },
	} {
		s := serve.DefaultRouterSettings()
		mutate(&s)
		if _, err := serve.NewRouter(ds.store, h, s); err == nil {
			t.Errorf("%s: accepted %+v", name, s)
		}
	}
	if _, err := serve.NewRouter(ds.store, nil, serve.DefaultRouterSettings()); err == nil {
		t.Error("accepted a nil self")
	}
	if _, err := serve.NewRouter(nil, h, serve.DefaultRouterSettings()); err == nil {
		t.Error("accepted a nil blockstore")
	}
}

func TestHTTPSettingsRejected(t *testing.T) {
	ds := newDataset(t, 10, 11)
	g := newGateway(t, ds, serve.DefaultGatewaySettings())
	if serve.DefaultHTTPSettings().Addr != serve.DefaultHTTPAddr || serve.DefaultHTTPAddr != "127.0.0.1:26661" {
		t.Fatalf("default address %q", serve.DefaultHTTPSettings().Addr)
	}
	for name, mutate := range map[string]func(*serve.HTTPSettings){
		"empty addr":   func(s *serve.HTTPSettings) { s.Addr = "" },
		"no port":      func(s *serve.HTTPSettings) { s.Addr = "127.0.0.1" },
		"read header":  func(s *serve.HTTPSettings) { s.ReadHeaderTimeout = 0 },
		"idle":         func(s *serve.HTTPSettings) { s.IdleTimeout = 0 },
		"header bytes": func(s *serve.HTTPSettings) { s.MaxHeaderBytes = 0 },
	} {
		s := serve.DefaultHTTPSettings()
		mutate(&s)
		if _, err := serve.NewHTTP(s, g, nil); err == nil {
			t.Errorf("%s: accepted %+v", name, s)
		}
	}
	if _, err := serve.NewHTTP(serve.DefaultHTTPSettings(), nil, nil); err == nil {
		t.Error("accepted neither gateway nor router")
	}
}

// TestHTTPLifecycle: Start reports an address in use; Start and Stop are
// idempotent; a stopped server does not start again and its listener is
// closed.
func TestHTTPLifecycle(t *testing.T) {
	ds := newDataset(t, 10, 12)
	g := newGateway(t, ds, serve.DefaultGatewaySettings())
	s := serve.DefaultHTTPSettings()
	s.Addr = "127.0.0.1:0"
	h, err := serve.NewHTTP(s, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 {
		if err := h.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	url := h.URL()
	s.Addr = h.Addr().String()
	busy, err := serve.NewHTTP(s, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := busy.Start(ctx); err == nil {
		t.Fatal("a second server started on an address in use")
	}
	if r := get(t, url+"/ipfs/"+ds.root.String()+"?format=raw"); r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	for range 2 {
		if err := h.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Start(ctx); err == nil {
		t.Fatal("a stopped server started again")
	}
	if _, err := http.Get(url + "/ipfs/" + ds.root.String() + "?format=raw"); err == nil {
		t.Fatal("a stopped server still answers")
	}
}
