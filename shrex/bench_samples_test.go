package shrex_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/datamesh/mesh-node/shrex"
)

// BenchmarkServeCatchUp serves a light node's catch-up: for each of 64
// headers (k = 32 squares, as in nodebuilder's BenchmarkDASCatchUp), 16
// random cells, asked
//   - single: one sample stream per cell, all 16 at once, the server
//     building the row's tree per sample (cache off): the old path;
//   - single+cache: the same with the server's row-prover cache;
//   - batch: one samples request per header; batch2: two of 8 cells, as
//     the getter spreads them over two peers (here the same one).
//
// Both hosts are in the process, so samples/cpu-s counts the client's and
// the transport's CPU too (getrusage around the loop); it is the figure to
// compare between modes, not the server's alone. heads=1 asks every
// iteration's 16 cells of one square, as many light nodes sampling the
// same head would.
func BenchmarkServeCatchUp(b *testing.B) {
	const k, headers, cells = 32, 64, 16
	blocks := make([]block, headers)
	for i := range blocks {
		blocks[i] = square(b, uint64(1000+i), k)
	}
	for _, heads := range []int{headers, 1} {
		for _, mode := range []string{"single", "single+cache", "batch", "batch2"} {
			b.Run(fmt.Sprintf("heads=%d/mode=%s", heads, mode), func(b *testing.B) {
				opts := []shrex.ServerOption{unlimited}
				if mode == "single" {
					opts = append(opts, shrex.WithSampleCache(0, 0))
				}
				srv := serve(b, newStore(blocks[:heads]...), opts...)
				c := client(b, srv)
				ctx := testCtx(b)
				b.ReportAllocs()
				served, seed := 0, uint64(0)
				cpu0 := processCPU()
				for b.Loop() {
					for i := range headers {
						blk := blocks[i%heads]
						seed++
						cs := cellsOf(seed, 2*k, cells)
						switch mode {
						case "batch":
							if _, err := c.GetSamples(ctx, srv.ID(), blk.h, cs); err != nil {
								b.Fatal(err)
							}
						case "batch2":
							var wg sync.WaitGroup
							for _, part := range [][]shrex.Cell{cs[:cells/2], cs[cells/2:]} {
								wg.Go(func() {
									if _, err := c.GetSamples(ctx, srv.ID(), blk.h, part); err != nil {
										b.Error(err)
									}
								})
							}
							wg.Wait()
						default:
							var wg sync.WaitGroup
							for _, cell := range cs {
								wg.Go(func() {
									if _, err := c.GetSample(ctx, srv.ID(), blk.h, cell.Row, cell.Col); err != nil {
										b.Error(err)
									}
								})
							}
							wg.Wait()
						}
						served += cells
					}
				}
				cpu := processCPU() - cpu0
				b.ReportMetric(float64(served)/b.Elapsed().Seconds(), "samples/s")
				if cpu > 0 {
					b.ReportMetric(float64(served)/cpu.Seconds(), "samples/cpu-s")
				}
			})
		}
	}
}
