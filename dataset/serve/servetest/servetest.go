// Package servetest starts dataset/serve's servers for tests (serve's own
// and interop/kubo's), with their default settings, stopped when the test
// ends; a failure to start or stop fails the test. It is imported by tests
// only.
package servetest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ipfs/boxo/blockstore"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/datamesh/mesh-node/dataset/serve"
)

// Bitswap starts a bitswap server on h serving bs.
func Bitswap(t testing.TB, h host.Host, bs blockstore.Blockstore) *serve.Bitswap {
	t.Helper()
	b, err := serve.NewBitswap(h, bs, serve.DefaultBitswapSettings())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return b
}

// HTTP serves gateway and router (either may be nil) on a free loopback
// port and returns the server's URL (http://127.0.0.1:PORT).
func HTTP(t testing.TB, gateway, router http.Handler) string {
	t.Helper()
	s := serve.DefaultHTTPSettings()
	s.Addr = "127.0.0.1:0"
	h, err := serve.NewHTTP(s, gateway, router)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return h.URL()
}
