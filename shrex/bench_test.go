package shrex_test

import (
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/shrex"
)

const rawProtocol = protocol.ID("/bench/raw")

// BenchmarkGetEDS fetches and verifies a whole square over loopback; the
// throughput counts the ODS bytes (k²·512), to compare with
// BenchmarkStreamRaw, which moves as many bytes between the same two hosts
// without decoding or verifying anything.
func BenchmarkGetEDS(b *testing.B) {
	for _, k := range []int{32, 128} {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			blk := square(b, uint64(k), k)
			srv := serve(b, newStore(blk), unlimited)
			c := client(b, srv)
			ctx := testCtx(b)
			b.SetBytes(int64(k * k * share.ShareSize))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.GetEDS(ctx, srv.ID(), blk.h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStreamRaw is the reference for BenchmarkGetEDS: one stream per
// iteration that carries k²·512 bytes from the server host to the client
// host, read into one buffer.
func BenchmarkStreamRaw(b *testing.B) {
	for _, k := range []int{32, 128} {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			n := k * k * share.ShareSize
			payload := make([]byte, n)
			srv := serve(b, newStore())
			p2ptest.Answer(srv, rawProtocol, 0, func([]byte) []byte { return payload })
			cl := newHost(b)
			connect(b, cl, srv)
			ctx := testCtx(b)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				p2ptest.ReadBytes(b, ctx, cl, srv.ID(), rawProtocol, n)
			}
		})
	}
}

// BenchmarkGetSample is the latency of one verified sample of a 32-wide
// square over loopback, a stream per request.
func BenchmarkGetSample(b *testing.B) {
	const k = 32
	blk := square(b, k, k)
	srv := serve(b, newStore(blk), unlimited)
	c := client(b, srv)
	ctx := testCtx(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := c.GetSample(ctx, srv.ID(), blk.h, i%(2*k), (i*7)%(2*k)); err != nil {
			b.Fatal(err)
		}
	}
}

// unlimited lifts the per-peer rate limit, which a benchmark loop exceeds.
var unlimited = shrex.WithPeerRateLimit(1e9, 1<<30)
