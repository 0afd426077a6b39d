package kzg_test

import (
	"testing"

	"github.com/datamesh/mesh-node/kzg"
)

func TestCommitProve(t *testing.T) {
	for _, size := range []int{1, kzg.MaxChunkSize, kzg.MaxChunkSize + 1, 300_000} {
		data := randomData(uint64(size), size)
		blobs, err := kzg.Chunks(data)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := kzg.Commit(data)
		if err != nil {
			t.Fatal(err)
		}
		commitments, proofs, err := kzg.Prove(data)
		if err != nil {
			t.Fatal(err)
		}
		n := kzg.ChunkCount(size)
		if len(blobs) != n || len(cs) != n || len(commitments) != n || len(proofs) != n {
			t.Fatalf("size %d: %d blobs, %d from Commit, %d commitments and %d proofs from Prove, want %d",
				size, len(blobs), len(cs), len(commitments), len(proofs), n)
		}
		for i, b := range blobs {
			c, err := kzg.BlobToCommitment(b)
			if err != nil {
				t.Fatal(err)
			}
			p, err := kzg.ComputeBlobProof(b, c)
			if err != nil {
				t.Fatal(err)
			}
			if cs[i].Commitment != c || cs[i].VersionedHash != kzg.VersionedHash(c) {
				t.Errorf("size %d chunk %d: Commit gives %x %x, want %x %x",
					size, i, cs[i].Commitment, cs[i].VersionedHash, c, kzg.VersionedHash(c))
			}
			if commitments[i] != c || proofs[i] != p {
				t.Errorf("size %d chunk %d: Prove gives %x %x, want %x %x", size, i, commitments[i], proofs[i], c, p)
			}
		}
		if err := kzg.VerifyBlobProofBatch(blobs, commitments, proofs); err != nil {
			t.Errorf("size %d: %v", size, err)
		}
	}
}

// Empty data is one chunk, the all-zero blob, committed to by the point at
// infinity.
func TestCommitEmpty(t *testing.T) {
	cs, err := kzg.Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	commitments, proofs, err := kzg.Prove([]byte{})
	if err != nil {
		t.Fatal(err)
	}
	infinity := kzg.Commitment{0xc0}
	if len(cs) != 1 || cs[0].Commitment != infinity || cs[0].VersionedHash != kzg.VersionedHash(infinity) {
		t.Fatalf("Commit(nil) = %x", cs)
	}
	if len(commitments) != 1 || commitments[0] != infinity || len(proofs) != 1 {
		t.Fatalf("Prove(empty) = %x, %x", commitments, proofs)
	}
	if err := kzg.VerifyBlobProof(new(kzg.Blob), commitments[0], proofs[0]); err != nil {
		t.Fatal(err)
	}
}

func TestChunkCount(t *testing.T) {
	for _, tc := range []struct{ size, want int }{
		{0, 1},
		{1, 1},
		{kzg.MaxChunkSize, 1},
		{kzg.MaxChunkSize + 1, 2},
		{2 << 20, 17}, // 2,097,152 / 130,044 = 16.1
	} {
		if got := kzg.ChunkCount(tc.size); got != tc.want {
			t.Errorf("ChunkCount(%d) = %d, want %d", tc.size, got, tc.want)
		}
		blobs, err := kzg.Chunks(make([]byte, tc.size))
		if err != nil {
			t.Fatal(err)
		}
		if len(blobs) != tc.want {
			t.Errorf("Chunks of %d bytes: %d blobs, want %d", tc.size, len(blobs), tc.want)
		}
	}
	if got := kzg.ChunkCount(-1); got != 1 {
		t.Errorf("ChunkCount(-1) = %d, want 1", got)
	}
}
