package share_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/datamesh/mesh-node/share"
)

func BenchmarkCommitment(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	ns, _ := share.NewV0Namespace([]byte("bench"))
	for _, size := range []int{1 << 10, 64 << 10, 2 << 20} {
		blob, err := share.NewBlob(ns, randBytes(rng, size), share.ShareVersionZero, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := blob.Commitment(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkConstruct(b *testing.B) {
	for _, k := range []int{8, 32, 128} {
		rng := rand.New(rand.NewPCG(2, uint64(k)))
		var txs [][]byte
		for len(txs) == 0 {
			normal, blobTxs := randTxSet(b, rng, k)
			var err error
			_, txs, err = share.Build(append(normal, blobTxs...), k)
			if err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := share.Construct(txs, k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseSquare(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	normal, blobTxs := randTxSet(b, rng, 64)
	sq, _, err := share.Build(append(normal, blobTxs...), 64)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(sq.Shares) * share.ShareSize))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := share.ParseSquare(sq.Shares); err != nil {
			b.Fatal(err)
		}
	}
}
