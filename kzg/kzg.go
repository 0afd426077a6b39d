package kzg

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	goethkzg "github.com/crate-crypto/go-eth-kzg"
)

// Commitment is a KZG commitment to a blob: a compressed BLS12-381 G1 point.
type Commitment [48]byte

// Proof is a KZG opening proof: a compressed BLS12-381 G1 point.
type Proof [48]byte

// VersionedHashVersion is the first byte of an EIP-4844 versioned hash.
const VersionedHashVersion = 0x01

var (
	// ErrSetup is wrapped when the trusted setup fails to load. The load
	// is tried once; every later call returns the same error.
	ErrSetup = errors.New("trusted setup did not load")
	// ErrInvalidInput is wrapped for input that is not what the
	// specification accepts: a nil blob, a blob or field element that is
	// not below the scalar modulus, a commitment or proof that is not a
	// compressed point of the G1 subgroup, or batch lists of different
	// lengths.
	ErrInvalidInput = errors.New("invalid input")
	// ErrVerify is wrapped when well-formed inputs fail verification:
	// the proof does not open the commitment as claimed.
	ErrVerify = errors.New("proof does not verify")
)

// setup is the trusted setup of the Ethereum KZG ceremony, embedded in
// go-eth-kzg. Parsing it takes seconds, so it is done on first use only.
// The value never changes once made.
var setup = sync.OnceValues(func() (*goethkzg.Context, error) {
	setupTried.Store(true)
	c, err := goethkzg.NewContext4096Secure()
	if err != nil {
		return nil, fmt.Errorf("kzg: %w: %v", ErrSetup, err)
	}
	return c, nil
})

// setupTried is set when the setup's loading starts.
var setupTried atomic.Bool

// SetupLoaded reports whether this process has loaded (or tried to load)
// the trusted setup: false until the first operation that needs it. A node
// that handles no KZG commitment never loads it.
func SetupLoaded() bool { return setupTried.Load() }

// numGoroutines is what the go-eth-kzg calls that take one are passed:
// zero means one per CPU (GOMAXPROCS).
const numGoroutines = 0

// invalid wraps err, from go-eth-kzg, in ErrInvalidInput.
func invalid(err error) error {
	return fmt.Errorf("kzg: %w: %v", ErrInvalidInput, err)
}

var errNilBlob = fmt.Errorf("kzg: %w: nil blob", ErrInvalidInput)

// BlobToCommitment returns the commitment to blob (blob_to_kzg_commitment).
// The error wraps ErrInvalidInput for a nil blob or one with a field element
// not below the modulus, or ErrSetup.
func BlobToCommitment(blob *Blob) (Commitment, error) {
	if blob == nil {
		return Commitment{}, errNilBlob
	}
	ctx, err := setup()
	if err != nil {
		return Commitment{}, err
	}
	c, err := ctx.BlobToKZGCommitment((*goethkzg.Blob)(blob), numGoroutines)
	if err != nil {
		return Commitment{}, invalid(err)
	}
	return Commitment(c), nil
}

// ComputeBlobProof returns the proof that blob opens commitment at the
// Fiat–Shamir challenge of both (compute_blob_kzg_proof). It does not check
// that commitment is blob's: the proof then simply fails VerifyBlobProof.
// The error wraps ErrInvalidInput for a nil blob, a blob with a field
// element not below the modulus or a commitment that is not a G1 point, or
// ErrSetup.
func ComputeBlobProof(blob *Blob, commitment Commitment) (Proof, error) {
	if blob == nil {
		return Proof{}, errNilBlob
	}
	ctx, err := setup()
	if err != nil {
		return Proof{}, err
	}
	p, err := ctx.ComputeBlobKZGProof((*goethkzg.Blob)(blob), goethkzg.KZGCommitment(commitment), numGoroutines)
	if err != nil {
		return Proof{}, invalid(err)
	}
	return Proof(p), nil
}

// VerifyBlobProof checks that proof shows commitment to be blob's
// (verify_blob_kzg_proof). It returns nil if so; else the error wraps
// ErrVerify for well-formed inputs that do not verify, ErrInvalidInput for
// ill-formed ones, or ErrSetup.
func VerifyBlobProof(blob *Blob, commitment Commitment, proof Proof) error {
	if blob == nil {
		return errNilBlob
	}
	ctx, err := setup()
	if err != nil {
		return err
	}
	b, c, p := (*goethkzg.Blob)(blob), goethkzg.KZGCommitment(commitment), goethkzg.KZGProof(proof)
	if err := ctx.VerifyBlobKZGProof(b, c, p); err != nil {
		return classify(err, b, c, p)
	}
	return nil
}

// VerifyBlobProofBatch checks, as VerifyBlobProof does but faster than one
// by one, that proofs[i] shows commitments[i] to be blobs[i] for every i
// (verify_blob_kzg_proof_batch). Empty lists verify. Lists of different
// lengths wrap ErrInvalidInput; the other errors are those of
// VerifyBlobProof, for the batch as a whole (it does not say which entry
// failed).
func VerifyBlobProofBatch(blobs []*Blob, commitments []Commitment, proofs []Proof) error {
	if len(blobs) != len(commitments) || len(blobs) != len(proofs) {
		return fmt.Errorf("kzg: %w: %d blobs, %d commitments, %d proofs",
			ErrInvalidInput, len(blobs), len(commitments), len(proofs))
	}
	if len(blobs) == 0 {
		return nil // nothing to verify, and no reason to load the setup
	}
	bs := make([]*goethkzg.Blob, len(blobs))
	cs := make([]goethkzg.KZGCommitment, len(blobs))
	ps := make([]goethkzg.KZGProof, len(blobs))
	for i := range blobs {
		if blobs[i] == nil {
			return fmt.Errorf("kzg: %w: nil blob %d", ErrInvalidInput, i)
		}
		bs[i], cs[i], ps[i] = (*goethkzg.Blob)(blobs[i]), goethkzg.KZGCommitment(commitments[i]), goethkzg.KZGProof(proofs[i])
	}
	ctx, err := setup()
	if err != nil {
		return err
	}
	if err := ctx.VerifyBlobKZGProofBatch(bs, cs, ps); err != nil {
		for i := range bs {
			if bad := checkInputs(bs[i], cs[i], ps[i]); bad != nil {
				return fmt.Errorf("kzg: %w: entry %d: %v", ErrInvalidInput, i, bad)
			}
		}
		return fmt.Errorf("kzg: %w: %v", ErrVerify, err)
	}
	return nil
}

// ComputeProof returns the proof that blob's polynomial takes the value y
// at z, and y (compute_kzg_proof). z and y are big-endian field elements.
// The error wraps ErrInvalidInput for a nil blob or a blob or z not below
// the modulus, or ErrSetup.
func ComputeProof(blob *Blob, z [32]byte) (Proof, [32]byte, error) {
	if blob == nil {
		return Proof{}, [32]byte{}, errNilBlob
	}
	ctx, err := setup()
	if err != nil {
		return Proof{}, [32]byte{}, err
	}
	p, y, err := ctx.ComputeKZGProof((*goethkzg.Blob)(blob), goethkzg.Scalar(z), numGoroutines)
	if err != nil {
		return Proof{}, [32]byte{}, invalid(err)
	}
	return Proof(p), [32]byte(y), nil
}

// VerifyProof checks that proof shows the polynomial committed to by
// commitment to take the value y at z (verify_kzg_proof). It returns nil if
// so; else the error wraps ErrVerify for well-formed inputs that do not
// verify, ErrInvalidInput for ill-formed ones, or ErrSetup.
func VerifyProof(commitment Commitment, z, y [32]byte, proof Proof) error {
	ctx, err := setup()
	if err != nil {
		return err
	}
	c, p := goethkzg.KZGCommitment(commitment), goethkzg.KZGProof(proof)
	if err := ctx.VerifyKZGProof(c, goethkzg.Scalar(z), goethkzg.Scalar(y), p); err != nil {
		for _, s := range [][32]byte{z, y} {
			if _, bad := goethkzg.DeserializeScalar(goethkzg.Scalar(s)); bad != nil {
				return invalid(bad)
			}
		}
		return classify(err, nil, c, p)
	}
	return nil
}

// classify turns err, returned by a verification of blob (if not nil),
// commitment and proof, into ErrInvalidInput if one of them does not
// decode and into ErrVerify if they all do. go-eth-kzg's own verification
// error is in an internal package, so the inputs are checked again, on the
// failure path only.
func classify(err error, blob *goethkzg.Blob, c goethkzg.KZGCommitment, p goethkzg.KZGProof) error {
	if bad := checkInputs(blob, c, p); bad != nil {
		return invalid(bad)
	}
	return fmt.Errorf("kzg: %w: %v", ErrVerify, err)
}

// checkInputs returns the first decoding error of blob (if not nil),
// commitment and proof, or nil.
func checkInputs(blob *goethkzg.Blob, c goethkzg.KZGCommitment, p goethkzg.KZGProof) error {
	if blob != nil {
		if _, err := goethkzg.DeserializeBlob(blob); err != nil {
			return err
		}
	}
	if _, err := goethkzg.DeserializeKZGCommitment(c); err != nil {
		return fmt.Errorf("commitment: %w", err)
	}
	if _, err := goethkzg.DeserializeKZGProof(p); err != nil {
		return fmt.Errorf("proof: %w", err)
	}
	return nil
}

// VersionedHash returns the EIP-4844 versioned hash of commitment:
// VersionedHashVersion followed by bytes 1..31 of its SHA-256. It needs no
// trusted setup.
func VersionedHash(commitment Commitment) [32]byte {
	h := sha256.Sum256(commitment[:])
	h[0] = VersionedHashVersion
	return h
}
