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

// BenchmarkProcessProposalKZG measures ProcessTxs, every validator's work
// per block, for the largest block of 64 single-blob PayForBlobs that the
// default max square size (128) holds: blobs of 120,000 random bytes,
// 7,680,000 bytes (7.3 MiB) in all, each one KZG chunk (64 blobs of a
// full chunk, 130,044 bytes, do not fit: 59 do). "kzg" carries KZG
// commitments and proofs, verified in one batch of 64 chunks; "plain" is
// the same blobs without. Setting up computes 64 commitments and proofs
// (seconds).
func BenchmarkProcessProposalKZG(b *testing.B) {
	const n, size = 64, 120_000
	key, addr := txtest.Key(b, "bench")
	p := tx.DefaultParams()
	st := NewState(&Genesis{ChainID: "bench", Authority: addr, Params: p,
		Accounts: []GenesisAccount{{Address: addr, Balance: 1 << 62}}})
	plain, withKZG := make([][]byte, n), make([][]byte, n)
	for i := range n {
		blob := newBlob(b, byte(i), randomData(size, uint64(i)))
		plain[i], _ = txtest.BlobTx(b, "bench", key, uint64(i), 1, p, blob)
		withKZG[i], _ = txtest.KZGBlobTx(b, "bench", key, uint64(i), 1, p, blob)
	}
	for _, c := range []struct {
		name string
		txs  [][]byte
	}{{"kzg", withKZG}, {"plain", plain}} {
		proposal, err := PrepareTxs(st, c.txs, 1<<30)
		if err != nil {
			b.Fatal(err)
		}
		if len(proposal) != n+1 {
			b.Fatalf("%s: the square holds %d of the %d transactions", c.name, len(proposal)-1, n)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(n * size)
			for b.Loop() {
				if err := ProcessTxs(st, proposal); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
