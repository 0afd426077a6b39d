package getter_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/shrex"
	"github.com/datamesh/mesh-node/shrex/getter"
	"github.com/datamesh/mesh-node/shrex/peers"
)

const rawProtocol = protocol.ID("/bench/raw")

// BenchmarkGetEDSvsRaw is a full node's retrieval of a whole square through
// the getter (Getter.GetEDS: the peer manager, the shrex eds protocol, the
// client's extension and data root check) from one server over loopback TCP,
// against the raw throughput of a libp2p stream between the same two hosts
// carrying as many bytes (k²·512, the ODS) into one buffer. Each iteration
// does one of each, timed separately; getter-MB/s and raw-MB/s count ODS
// bytes (MB = 10⁶ bytes) and ratio is getter ÷ raw, all over the whole run.
// The server's per-peer limits are lifted (a benchmark loop exceeds them).
// Each iteration also extends the ODS and computes all roots and the data
// root locally (eds.Extend, eds.NewDAH, Hash), timed separately: ext-ms, and
// getter÷ext is GetEDS's time over it (the target is at most 1.3 at
// k = 128).
func BenchmarkGetEDSvsRaw(b *testing.B) {
	for _, k := range []int{32, 128} {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			blk := square(b, uint64(k), k)
			n := k * k * share.ShareSize
			payload := make([]byte, n)

			srv := newHost(b)
			s, err := shrex.NewServer(srv, netID, storeOf(blk), shrex.WithServerLogger(quiet),
				shrex.WithPeerRateLimit(1e9, 1<<30))
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Stop(context.Background()) })
			p2ptest.Answer(srv, rawProtocol, 0, func([]byte) []byte { return payload })

			cl := newHost(b)
			ctx := testCtx(b)
			if err := cl.Connect(ctx, peer.AddrInfo{ID: srv.ID(), Addrs: srv.Addrs()}); err != nil {
				b.Fatal(err)
			}
			m, err := peers.New(peers.Options{
				Blocker:   &recorder{},
				FullNodes: func() []peer.ID { return []peer.ID{srv.ID()} },
				Rand:      rand.New(rand.NewPCG(1, 2)),
			})
			if err != nil {
				b.Fatal(err)
			}
			c, err := shrex.NewClient(cl, netID, shrex.WithLogger(quiet))
			if err != nil {
				b.Fatal(err)
			}
			g, err := getter.New(c, m, getter.Options{Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}

			// The square is checked once, outside the timings.
			e, err := g.GetEDS(ctx, blk.h)
			if err != nil {
				b.Fatal(err)
			}
			if !equalSquares(e, blk.eds) {
				b.Fatal("getter returned another square")
			}

			ods := blk.eds.FlattenedODS()
			var tGetter, tRaw, tExt time.Duration
			b.SetBytes(int64(2 * n))
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				if _, err := g.GetEDS(ctx, blk.h); err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				p2ptest.ReadBytes(b, ctx, cl, srv.ID(), rawProtocol, n)
				end := time.Now()
				_, dah := edstest.Extend(b, ods)
				_ = dah.Hash()
				tGetter += mid.Sub(start)
				tRaw += end.Sub(mid)
				tExt += time.Since(end)
			}
			bytes := float64(n) * float64(b.N)
			b.ReportMetric(bytes/tGetter.Seconds()/1e6, "getter-MB/s")
			b.ReportMetric(bytes/tRaw.Seconds()/1e6, "raw-MB/s")
			b.ReportMetric(tRaw.Seconds()/tGetter.Seconds(), "ratio")
			b.ReportMetric(tGetter.Seconds()*1e3/float64(b.N), "getter-ms")
			b.ReportMetric(tRaw.Seconds()*1e3/float64(b.N), "raw-ms")
			b.ReportMetric(tExt.Seconds()*1e3/float64(b.N), "ext-ms")
			b.ReportMetric(tGetter.Seconds()/tExt.Seconds(), "getter÷ext")
		})
	}
}
