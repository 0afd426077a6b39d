package kzg_test

import (
	"testing"

	goethkzg "github.com/crate-crypto/go-eth-kzg"

	"github.com/datamesh/mesh-node/kzg"
)

// fullChunk returns the blob of one full chunk of random data.
func fullChunk(b *testing.B) *kzg.Blob {
	b.Helper()
	blob, err := kzg.EncodeChunk(randomData(1, kzg.MaxChunkSize))
	if err != nil {
		b.Fatal(err)
	}
	return blob
}

// BenchmarkCommitProof commits to and proves one full chunk (what Prove
// does per chunk), through this package (impl=ours) and through go-eth-kzg
// called directly on the same blob and the same setup (impl=direct), so
// that one run shows what the wrapper costs. The setup is loaded before the
// timer.
func BenchmarkCommitProof(b *testing.B) {
	blob := fullChunk(b)
	ctx, err := kzg.SetupContext()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("impl=ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := kzg.BlobToCommitment(blob)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := kzg.ComputeBlobProof(blob, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=direct", func(b *testing.B) {
		gb := (*goethkzg.Blob)(blob)
		b.ReportAllocs()
		for b.Loop() {
			c, err := ctx.BlobToKZGCommitment(gb, 0)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ctx.ComputeBlobKZGProof(gb, c, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerifyBatch64 verifies the blob proofs of 64 full chunks of
// random data, encoded by the codec, in one VerifyBlobProofBatch: a block's
// worth of chunks (8 MiB). It also reports the time per chunk. The setup is
// loaded, and the commitments and proofs computed, before the timer.
func BenchmarkVerifyBatch64(b *testing.B) {
	const chunks = 64
	data := randomData(2, chunks*kzg.MaxChunkSize)
	blobs, err := kzg.Chunks(data)
	if err != nil {
		b.Fatal(err)
	}
	commitments, proofs, err := kzg.Prove(data)
	if err != nil {
		b.Fatal(err)
	}
	if len(blobs) != chunks || len(commitments) != chunks {
		b.Fatalf("%d blobs, %d commitments, want %d", len(blobs), len(commitments), chunks)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := kzg.VerifyBlobProofBatch(blobs, commitments, proofs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*chunks), "ns/chunk")
}

// BenchmarkComputeCells computes the 128 cells and cell proofs of one full
// chunk's extension. The setup is loaded before the timer.
func BenchmarkComputeCells(b *testing.B) {
	blob := fullChunk(b)
	if _, err := kzg.SetupContext(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := kzg.ComputeCells(blob); err != nil {
			b.Fatal(err)
		}
	}
}
