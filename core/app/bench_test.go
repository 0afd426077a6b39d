package app

import (
	"fmt"
	"testing"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
)

// BenchmarkProposal measures PrepareTxs and ProcessTxs for squares of width
// k filled to about 80% with blobs of up to 64 KiB from one account: the proposer's
// and every validator's work per block.
func BenchmarkProposal(b *testing.B) {
	for _, k := range []int{8, 32, 128} {
		key, addr := txtest.Key(b, "bench")
		p := tx.DefaultParams()
		st := NewState(&Genesis{ChainID: "bench", Authority: addr, Params: p,
			Accounts: []GenesisAccount{{Address: addr, Balance: 1 << 62}}})
		blobSize := min(64<<10, k*k*478*8/10)
		n := max(1, k*k*478*8/10/blobSize)
		txs := make([][]byte, n)
		for i := range txs {
			txs[i] = txtest.PFBTx(b, "bench", key, uint64(i), txtest.Namespace(b, byte(i)), 1, p, blobData(blobSize, byte(i)))
		}
		var proposal [][]byte
		b.Run(fmt.Sprintf("prepare/k=%d", k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if proposal, err = PrepareTxs(st, txs, 1<<30); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("process/k=%d", k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := ProcessTxs(st, proposal); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
