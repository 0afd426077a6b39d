package exchange_test

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"

	"github.com/datamesh/mesh-node/header/exchange"
	"github.com/datamesh/mesh-node/header/headertest"
)

// BenchmarkGetVerifiedRange syncs 512 headers of 32-wide squares from one
// server over loopback TCP, verification included, and reports headers/s.
// The server runs with its default limits.
func BenchmarkGetVerifiedRange(b *testing.B) {
	g := headertest.NewGenerator(headertest.Options{Seed: 4, Blobs: 16, MaxBlobSize: 20000})
	c := g.Chain(b, 513)
	widths := map[int]int{}
	for _, h := range c {
		widths[h.DAH.SquareSize()]++
	}
	b.Logf("square widths (k: headers): %v", widths)
	srv := serve(b, memStore(b, c))
	cl := newClient(b, newHost(b), []host.Host{srv}, exchange.WithTrustedPeers(srv.ID()))
	ctx := context.Background() // no deadline: -benchtime decides how long
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		hs, err := cl.GetVerifiedRange(ctx, c[0], 513)
		if err != nil {
			b.Fatal(err)
		}
		n += len(hs)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "headers/s")
}
