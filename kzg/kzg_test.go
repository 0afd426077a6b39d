package kzg_test

import (
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/datamesh/mesh-node/kzg"
)

func TestBlobProofRoundTrip(t *testing.T) {
	blobs, err := kzg.Chunks([]byte("a DataMesh blob in one EIP-4844 blob"))
	if err != nil {
		t.Fatal(err)
	}
	blob := blobs[0]
	c, err := kzg.BlobToCommitment(blob)
	if err != nil {
		t.Fatal(err)
	}
	p, err := kzg.ComputeBlobProof(blob, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := kzg.VerifyBlobProof(blob, c, p); err != nil {
		t.Fatalf("VerifyBlobProof: %v", err)
	}
	if err := kzg.VerifyBlobProofBatch([]*kzg.Blob{blob, blob}, []kzg.Commitment{c, c}, []kzg.Proof{p, p}); err != nil {
		t.Fatalf("VerifyBlobProofBatch: %v", err)
	}

	other := *blob
	other[100] ^= 1 // byte 0 of element 3 stays below 0x40: still a valid blob
	if err := kzg.VerifyBlobProof(&other, c, p); !errors.Is(err, kzg.ErrVerify) {
		t.Fatalf("other blob: got %v, want ErrVerify", err)
	}
	if err := kzg.VerifyBlobProofBatch([]*kzg.Blob{blob, &other}, []kzg.Commitment{c, c}, []kzg.Proof{p, p}); !errors.Is(err, kzg.ErrVerify) {
		t.Fatalf("batch with other blob: got %v, want ErrVerify", err)
	}

	var z [32]byte
	z[31] = 7
	op, y, err := kzg.ComputeProof(blob, z)
	if err != nil {
		t.Fatal(err)
	}
	if err := kzg.VerifyProof(c, z, y, op); err != nil {
		t.Fatalf("VerifyProof: %v", err)
	}
	y[31] ^= 1
	if err := kzg.VerifyProof(c, z, y, op); !errors.Is(err, kzg.ErrVerify) {
		t.Fatalf("wrong y: got %v, want ErrVerify", err)
	}
}

func TestInvalidInputs(t *testing.T) {
	var c kzg.Commitment
	var p kzg.Proof
	c[0], p[0] = 0xc0, 0xc0 // the point at infinity, a valid point
	if _, err := kzg.BlobToCommitment(nil); !errors.Is(err, kzg.ErrInvalidInput) {
		t.Errorf("BlobToCommitment(nil): %v", err)
	}
	if _, err := kzg.ComputeBlobProof(nil, c); !errors.Is(err, kzg.ErrInvalidInput) {
		t.Errorf("ComputeBlobProof(nil): %v", err)
	}
	if _, _, err := kzg.ComputeProof(nil, [32]byte{}); !errors.Is(err, kzg.ErrInvalidInput) {
		t.Errorf("ComputeProof(nil): %v", err)
	}
	if err := kzg.VerifyBlobProof(nil, c, p); !errors.Is(err, kzg.ErrInvalidInput) {
		t.Errorf("VerifyBlobProof(nil): %v", err)
	}
	if err := kzg.VerifyBlobProofBatch([]*kzg.Blob{nil}, []kzg.Commitment{c}, []kzg.Proof{p}); !errors.Is(err, kzg.ErrInvalidInput) {
		t.Errorf("VerifyBlobProofBatch(nil blob): %v", err)
	}
	if err := kzg.VerifyBlobProofBatch(nil, []kzg.Commitment{c}, nil); !errors.Is(err, kzg.ErrInvalidInput) {
		t.Errorf("VerifyBlobProofBatch(lengths): %v", err)
	}
	if err := kzg.VerifyBlobProofBatch(nil, nil, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
	var blob kzg.Blob
	for i := range 32 {
		blob[i] = 0xff // element 0 over the modulus
	}
	if _, err := kzg.BlobToCommitment(&blob); !errors.Is(err, kzg.ErrInvalidInput) {
		t.Errorf("BlobToCommitment(element over the modulus): %v", err)
	}
	var notPoint kzg.Commitment
	notPoint[0] = 0x80 | 0x1f // compressed flag, x not on the curve (all-ones high limb)
	for i := 1; i < len(notPoint); i++ {
		notPoint[i] = 0xff
	}
	if err := kzg.VerifyProof(notPoint, [32]byte{}, [32]byte{}, p); !errors.Is(err, kzg.ErrInvalidInput) {
		t.Errorf("VerifyProof(not a point): %v", err)
	}
}

func TestVersionedHash(t *testing.T) {
	// The commitment of the all-zero blob is the point at infinity; its
	// versioned hash is the one Ethereum clients show for empty blobs.
	c, err := kzg.BlobToCommitment(new(kzg.Blob))
	if err != nil {
		t.Fatal(err)
	}
	if want := (kzg.Commitment{0xc0}); c != want {
		t.Fatalf("commitment of the zero blob %x, want %x", c, want)
	}
	h := kzg.VersionedHash(c)
	const want = "010657f37554c781402a22917dee2f75def7ab966d7b770905398eba3c444014"
	if got := hex.EncodeToString(h[:]); got != want {
		t.Fatalf("VersionedHash = %s, want %s", got, want)
	}
}

// randomData returns n bytes of seeded pseudo-random data.
func randomData(seed uint64, n int) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	data := make([]byte, n)
	_, _ = r.Read(data) // ChaCha8.Read never fails
	return data
}
