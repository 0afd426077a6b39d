package nodebuilder

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/internal/badgerdb"
)

// BenchmarkLightBadgerHeaderWrites writes 1,500 headers of a k = 256
// square (92 KiB each, one per transaction, as the header store does)
// into a light node's Badger and reports the Go heap's peak above where
// it started (peak-heap-MB, sampled every 5 ms) and the total allocated
// per header. "tables" is the light settings with values up to 512 KiB
// kept in Badger's tables (before), "light" the settings light nodes use.
func BenchmarkLightBadgerHeaderWrites(b *testing.B) {
	for _, c := range []struct {
		name string
		opts func(dir string) badger.Options
	}{
		{"tables", func(dir string) badger.Options {
			return lightBadger(badgerdb.Options(dir)).WithValueThreshold(512 << 10)
		}},
		{"light", func(dir string) badger.Options { return lightBadger(badgerdb.Options(dir)) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			const headers, size = 1500, 92 << 10
			val := make([]byte, size)
			rng := rand.New(rand.NewPCG(1, 2))
			var peak uint64
			for b.Loop() {
				b.StopTimer()
				db, err := badgerdb.Open(c.opts(b.TempDir()))
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				base := ms.HeapInuse
				var top atomic.Uint64
				stop, done := make(chan struct{}), make(chan struct{})
				go func() {
					defer close(done)
					var m runtime.MemStats
					tick := time.NewTicker(5 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
						}
						runtime.ReadMemStats(&m)
						if m.HeapInuse > base && m.HeapInuse-base > top.Load() {
							top.Store(m.HeapInuse - base)
						}
					}
				}()
				b.StartTimer()
				for i := range headers {
					for j := 0; j < size; j += 8 {
						v := rng.Uint64()
						for k := range 8 {
							val[j+k] = byte(v >> (8 * k))
						}
					}
					if err := db.Update(func(txn *badger.Txn) error {
						return txn.Set(fmt.Appendf(nil, "h/%016d", i), val)
					}); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				close(stop)
				<-done
				peak = max(peak, top.Load())
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
		})
	}
}
