package kzg_test

import (
	"testing"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/kzg"
)

// core/tx states the chunk size and count without importing kzg (so that a
// client signing transactions does not link the KZG library); they must be
// the codec's.
func TestTxChunkingMatchesCodec(t *testing.T) {
	if tx.KZGChunkSize != kzg.MaxChunkSize {
		t.Fatalf("tx.KZGChunkSize = %d, kzg.MaxChunkSize = %d", tx.KZGChunkSize, kzg.MaxChunkSize)
	}
	if tx.KZGCommitmentSize != len(kzg.Commitment{}) || tx.KZGProofSize != len(kzg.Proof{}) {
		t.Fatal("KZG point sizes differ between core/tx and kzg")
	}
	for _, size := range []int{0, 1, kzg.MaxChunkSize, kzg.MaxChunkSize + 1, 2 << 20} {
		if tx.KZGChunkCount(size) != kzg.ChunkCount(size) {
			t.Errorf("size %d: tx.KZGChunkCount %d, kzg.ChunkCount %d", size, tx.KZGChunkCount(size), kzg.ChunkCount(size))
		}
	}
}
