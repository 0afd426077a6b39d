package kv_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/execution/kv"
)

// preload returns an executor whose state holds n keys, key%07d, after
// blocks of at most 20,000 transactions, with the next height and root.
func preload(b *testing.B, n int) (*kv.Executor, uint64, []byte) {
	e, root := initChain(b)
	h := uint64(1)
	for i := 0; i < n; h++ {
		var txs [][]byte
		for ; i < n && len(txs) < 20_000; i++ {
			txs = append(txs, tx(b, kv.TypeSet, fmt.Sprintf("key%07d", i), "value"))
		}
		root = execute(b, e, h, root, txs...)
	}
	return e, h, root
}

// BenchmarkExecuteTxs executes blocks of 1,000 set transactions (half
// of them new keys, half updates) over states of growing size, and
// reports transactions per second. The new keys sort after the state's,
// so a block re-hashes little of the state's tree.
func BenchmarkExecuteTxs(b *testing.B) {
	const block = 1000
	for _, n := range []int{0, 10_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			e, h, root := preload(b, n)
			b.ReportAllocs()
			executed := 0
			start := time.Now()
			for b.Loop() {
				txs := make([][]byte, block)
				for i := range txs {
					key := fmt.Sprintf("key%07d", i*2) // updates, where the state has them
					if i%2 == 1 {
						key = fmt.Sprintf("new%07d-%d", i, h)
					}
					txs[i] = tx(b, kv.TypeSet, key, fmt.Sprint(h))
				}
				res, err := e.ExecuteTxs(context.Background(), txs, h, genesisTime, root)
				if err != nil {
					b.Fatal(err)
				}
				root, h = res.UpdatedStateRoot, h+1
				executed += block
			}
			b.ReportMetric(float64(executed)/time.Since(start).Seconds(), "txs/s")
		})
	}
}

// BenchmarkBlockOf100 executes blocks of 100 sets over a state of
// 100,000 keys: updates of existing keys only, and half updates, half new
// keys spread over the key range (each new key shifts the leaves after
// it, so a block re-hashes the subtrees right of its first new key). It
// measures the state root's upkeep between blocks.
func BenchmarkBlockOf100(b *testing.B) {
	const n, block = 100_000, 100
	for _, inserts := range []bool{false, true} {
		b.Run(fmt.Sprintf("inserts=%v", inserts), func(b *testing.B) {
			e, h, root := preload(b, n)
			b.ReportAllocs()
			for b.Loop() {
				txs := make([][]byte, block)
				for i := range txs {
					key := fmt.Sprintf("key%07d", (i*997+int(h)*31)%n)
					if inserts && i%2 == 1 {
						key = fmt.Sprintf("key%07d-%d", (i*991+int(h)*17)%n, h)
					}
					txs[i] = tx(b, kv.TypeSet, key, fmt.Sprint(h))
				}
				res, err := e.ExecuteTxs(context.Background(), txs, h, genesisTime, root)
				if err != nil {
					b.Fatal(err)
				}
				root, h = res.UpdatedStateRoot, h+1
			}
		})
	}
}

// BenchmarkQuery answers a query with its proof over states of growing
// size.
func BenchmarkQuery(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			e, _, _ := preload(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Query(context.Background(), kv.Query{Type: kv.TypeGet, Key: "key0000500"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
