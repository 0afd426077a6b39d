package ethereum_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/interop/ethereum/precompile"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"
)

// blsModulus is BLS_MODULUS of EIP-4844: the order of BLS12-381's scalar
// field, in decimal as the EIP writes it.
const blsModulus = "52435875175126190479447740508185965837690552500527637822603658699938581184513"

// fieldElementsPerBlob is FIELD_ELEMENTS_PER_BLOB of EIP-4844.
const fieldElementsPerBlob = 4096

// go-ethereum v1.17.10's refusals, by the text of its (unexported) errors.
const (
	refusedHash  = "mismatched versioned hash"
	refusedProof = "error verifying kzg proof"
)

// wantOutput is the precompile's return value as EIP-4844 specifies it:
// FIELD_ELEMENTS_PER_BLOB and BLS_MODULUS, 32-byte big-endian each.
func wantOutput(t *testing.T) []byte {
	t.Helper()
	out := make([]byte, 64)
	binary.BigEndian.PutUint64(out[24:32], fieldElementsPerBlob)
	m, ok := new(big.Int).SetString(blsModulus, 10)
	if !ok {
		t.Fatal("BLS_MODULUS does not parse")
	}
	m.FillBytes(out[32:64])
	return out
}

// inputPart is one of the five fields of the precompile's input, and the
// refusal expected when one of its bytes is flipped.
type inputPart struct {
	name      string
	off, size int
	refusal   string
}

// inputParts lays out versioned_hash ‖ z ‖ y ‖ commitment ‖ proof. A
// flipped commitment no longer hashes to the versioned hash, so the
// precompile refuses it before any KZG check.
var inputParts = []inputPart{
	{"versioned hash", 0, 32, refusedHash},
	{"z", 32, 32, refusedProof},
	{"y", 64, 32, refusedProof},
	{"commitment", 96, 48, refusedHash},
	{"proof", 144, 48, refusedProof},
}

// precompileInput returns versioned_hash ‖ z ‖ y ‖ commitment ‖ proof.
func precompileInput(vh, z, y [32]byte, c kzg.Commitment, p kzg.Proof) []byte {
	return slices.Concat(vh[:], z[:], y[:], c[:], p[:])
}

// flip returns a copy of in with one byte of in[off:off+size], chosen by
// rng, changed.
func flip(rng *rand.Rand, in []byte, off, size int) []byte {
	out := bytes.Clone(in)
	out[off+rng.IntN(size)] ^= byte(1 + rng.IntN(255))
	return out
}

// refuse checks that the precompile refuses in with an error containing
// reason.
func refuse(t *testing.T, in []byte, what, reason string) {
	t.Helper()
	out, err := precompile.Run(in)
	if err == nil {
		t.Errorf("%s: precompile accepted the input, returned %x", what, out)
		return
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("%s: refused with %q, want a refusal containing %q", what, err, reason)
	}
}

// checkOpenings commits to blobs of random data of 1 byte, a random size
// and kzg.MaxChunkSize bytes with mesh-node's kzg package and go-ethereum's
// kzg4844 (on whichever backend it uses), requires the same commitments,
// versioned hashes, proofs and values from both, and runs openings at
// random points, then each with one byte flipped, through go-ethereum's
// point-evaluation precompile.
func checkOpenings(t *testing.T, rng *rand.Rand) {
	want := wantOutput(t)
	for _, n := range []int{1, 1 + rng.IntN(kzg.MaxChunkSize-1), kzg.MaxChunkSize} {
		t.Run(fmt.Sprintf("%dB", n), func(t *testing.T) {
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			blob, err := kzg.EncodeChunk(data)
			if err != nil {
				t.Fatal(err)
			}
			c, err := kzg.BlobToCommitment(blob)
			if err != nil {
				t.Fatal(err)
			}
			gc, err := kzg4844.BlobToCommitment((*kzg4844.Blob)(blob))
			if err != nil {
				t.Fatalf("kzg4844: %v", err)
			}
			if kzg.Commitment(gc) != c {
				t.Fatalf("commitments differ:\nkzg     %x\nkzg4844 %x", c, gc)
			}
			vh := kzg.VersionedHash(c)
			if gvh := kzg4844.CalcBlobHashV1(sha256.New(), &gc); gvh != vh {
				t.Fatalf("versioned hashes differ:\nkzg     %x\nkzg4844 %x", vh, gvh)
			}

			for range 3 {
				var z [32]byte
				for i := range z {
					z[i] = byte(rng.Uint32())
				}
				z[0] = 0 // below the modulus
				proof, y, err := kzg.ComputeProof(blob, z)
				if err != nil {
					t.Fatal(err)
				}
				gp, gy, err := kzg4844.ComputeProof((*kzg4844.Blob)(blob), kzg4844.Point(z))
				if err != nil {
					t.Fatalf("kzg4844: %v", err)
				}
				if kzg.Proof(gp) != proof || [32]byte(gy) != y {
					t.Fatalf("z=%x: openings differ:\nkzg     y=%x proof=%x\nkzg4844 y=%x proof=%x", z, y, proof, gy, gp)
				}

				in := precompileInput(vh, z, y, c, proof)
				out, err := precompile.Run(in)
				if err != nil {
					t.Fatalf("z=%x: precompile refused the opening: %v", z, err)
				}
				if !bytes.Equal(out, want) {
					t.Fatalf("z=%x: precompile returned %x, want %x", z, out, want)
				}

				for _, p := range inputParts {
					refuse(t, flip(rng, in, p.off, p.size), fmt.Sprintf("z=%x: flipped %s", z, p.name), p.refusal)
				}
				// A flipped commitment with the versioned hash made to
				// match it gets past the hash check to the KZG check.
				bad := flip(rng, in, 96, 48)
				bvh := kzg.VersionedHash(kzg.Commitment(bad[96:144]))
				copy(bad[:32], bvh[:])
				refuse(t, bad, fmt.Sprintf("z=%x: flipped commitment, versioned hash recomputed", z), refusedProof)
			}
		})
	}
}

// TestPrecompileAcceptsOpenings runs checkOpenings on kzg4844's default,
// Go backend (go-eth-kzg).
func TestPrecompileAcceptsOpenings(t *testing.T) {
	checkOpenings(t, rand.New(rand.NewPCG(15, 4844)))
}

// TestPrecompileRefusesLength checks that inputs one byte short or long, or
// empty, are refused before any cryptography.
func TestPrecompileRefusesLength(t *testing.T) {
	for _, n := range []int{0, precompile.InputSize - 1, precompile.InputSize + 1} {
		refuse(t, make([]byte, n), fmt.Sprintf("%d bytes", n), "invalid input length")
	}
}
