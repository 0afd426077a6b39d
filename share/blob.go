package share

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/datamesh/mesh-node/merkle"
	"github.com/datamesh/mesh-node/nmt"
)

var (
	// ErrEmptyBlob is returned for a blob without data.
	ErrEmptyBlob = errors.New("share: blob data is empty")
	// ErrInvalidSigner is returned for a signer on a share version 0 blob or
	// a share version 1 signer that is not SignerSize bytes.
	ErrInvalidSigner = errors.New("share: invalid blob signer")
	// ErrBlobTooLarge is returned for a blob that needs more shares than
	// the largest square holds (MaxShareCount).
	ErrBlobTooLarge = errors.New("share: blob too large")
)

// MaxBlobSize is the largest blob data size, in bytes, of a share version 0
// blob: the one that fills every share of the largest square.
const MaxBlobSize = FirstSparseShareContentSize + (MaxShareCount-1)*ContinuationSparseShareContentSize

// Blob is data posted under a namespace. A Blob is immutable: NewBlob copies
// its inputs and the accessors return slices the caller must not modify.
// The blobs of a Square from Construct or Build alias the transactions laid
// out, which their callers keep unmodified. Being immutable, a Blob keeps
// its commitment once computed (see Commitment).
type Blob struct {
	ns           Namespace
	data         []byte
	shareVersion uint8
	signer       []byte
	commitment   atomic.Pointer[[]byte] // set by the first Commitment
}

// NewBlob validates and returns a blob. It copies data and signer.
//
//   - ns must pass ValidateForBlob (version 0, not reserved);
//   - data must not be empty and must fit in the largest square
//     (ErrBlobTooLarge);
//   - shareVersion must be 0 or 1 (ErrUnsupportedShareVersion);
//   - version 0 takes no signer (nil or empty), version 1 requires a
//     SignerSize-byte signer (ErrInvalidSigner).
func NewBlob(ns Namespace, data []byte, shareVersion uint8, signer []byte) (*Blob, error) {
	if err := validateBlob(ns, data, shareVersion, signer); err != nil {
		return nil, err
	}
	b := &Blob{ns: ns, data: append([]byte(nil), data...), shareVersion: shareVersion}
	if shareVersion == ShareVersionOne {
		b.signer = append([]byte(nil), signer...)
	}
	return b, nil
}

func validateBlob(ns Namespace, data []byte, shareVersion uint8, signer []byte) error {
	if err := ns.ValidateForBlob(); err != nil {
		return err
	}
	if len(data) == 0 {
		return ErrEmptyBlob
	}
	switch shareVersion {
	case ShareVersionZero:
		if len(signer) != 0 {
			return fmt.Errorf("%w: share version 0 takes no signer, got %d bytes", ErrInvalidSigner, len(signer))
		}
	case ShareVersionOne:
		if len(signer) != SignerSize {
			return fmt.Errorf("%w: share version 1 needs a %d-byte signer, got %d bytes", ErrInvalidSigner, SignerSize, len(signer))
		}
	default:
		return fmt.Errorf("%w: blobs use share version 0 or 1, got %d", ErrUnsupportedShareVersion, shareVersion)
	}
	if n := SparseSharesNeeded(len(data), shareVersion == ShareVersionOne); n > MaxShareCount {
		return fmt.Errorf("%w: %d bytes need %d shares, at most %d fit in a square",
			ErrBlobTooLarge, len(data), n, MaxShareCount)
	}
	return nil
}

// Namespace returns the blob's namespace.
func (b *Blob) Namespace() Namespace { return b.ns }

// Data returns the blob's data. The caller must not modify it.
func (b *Blob) Data() []byte { return b.data }

// ShareVersion returns the blob's share version, 0 or 1.
func (b *Blob) ShareVersion() uint8 { return b.shareVersion }

// Signer returns the 20-byte signer of a share version 1 blob and nil for
// version 0. The caller must not modify it.
func (b *Blob) Signer() []byte { return b.signer }

// hasSigner reports whether the blob's first share holds a signer.
func (b *Blob) hasSigner() bool { return b.shareVersion == ShareVersionOne }

// SharesNeeded returns the number of sparse shares the blob occupies.
func (b *Blob) SharesNeeded() int { return SparseSharesNeeded(len(b.data), b.hasSigner()) }

// Shares returns the blob split into sparse shares (spec section 2): a first
// share ns | info | seq_len | [signer] | data, then continuation shares
// ns | info | data, the last one zero-padded. The shares share one newly
// allocated buffer.
func (b *Blob) Shares() []Share {
	n := b.SharesNeeded()
	buf := make([]byte, n*ShareSize)
	out := make([]Share, n)
	for i := range n {
		out[i] = Share(buf[i*ShareSize : (i+1)*ShareSize])
		b.writeShare(i, out[i])
	}
	return out
}

// writeShare writes the blob's i-th sparse share into dst, which must be
// ShareSize bytes (it is fully overwritten).
func (b *Blob) writeShare(i int, dst []byte) {
	copy(dst, b.ns[:])
	var payload []byte
	if i == 0 {
		dst[NamespaceSize] = byte(b.shareVersion<<1 | 1)
		binary.BigEndian.PutUint32(dst[NamespaceSize+ShareInfoBytes:], uint32(len(b.data)))
		off := sparseFirstHeaderSize
		if b.hasSigner() {
			off += copy(dst[off:], b.signer)
		}
		payload = dst[off:]
		n := copy(payload, b.data)
		clear(payload[n:])
		return
	}
	dst[NamespaceSize] = byte(b.shareVersion << 1)
	payload = dst[sparseContinuationHeaderSize:]
	first := FirstSparseShareContentSize
	if b.hasSigner() {
		first = FirstSparseShareContentSizeWithSigner
	}
	start := first + (i-1)*ContinuationSparseShareContentSize
	n := copy(payload, b.data[start:])
	clear(payload[n:])
}

// Commitment returns the blob's share commitment (spec section 4): the blob
// is split into sparse shares, the shares are grouped into the Merkle
// mountain range of subtrees of width SubTreeWidth, each group's NMT root is
// taken over the leaves ns || share, and the commitment is the RFC 6962 root
// of those subtree roots. The error is reserved for future share versions;
// it is nil for every blob NewBlob returns.
//
// The first call computes it and the blob keeps it: later calls (the blob
// service's check, the state client's PayForBlobs) return it without
// hashing again. Each call returns a new slice the caller owns. It is safe
// for concurrent use.
func (b *Blob) Commitment() ([]byte, error) {
	if c := b.cachedCommitment(); c != nil {
		return bytes.Clone(c), nil
	}
	roots, err := b.SubtreeRoots()
	if err != nil {
		return nil, err
	}
	c := merkle.HashFromByteSlices(roots)
	b.commitment.Store(&c)
	return bytes.Clone(c), nil
}

// cachedCommitment returns the commitment a previous Commitment computed,
// or nil. The caller must not modify it.
func (b *Blob) cachedCommitment() []byte {
	if b == nil {
		return nil
	}
	if c := b.commitment.Load(); c != nil {
		return *c
	}
	return nil
}

// SubtreeRoots returns the NMT roots of the blob's commitment subtrees, in
// order; each is nmt.NodeSize bytes.
func (b *Blob) SubtreeRoots() ([][]byte, error) {
	if b == nil || len(b.data) == 0 {
		return nil, ErrEmptyBlob
	}
	n := b.SharesNeeded()
	w := SubTreeWidth(n)
	sizes := MerkleMountainRangeSizes(n, w)
	stack := nmt.NewRootStack(nmt.NewHasher(), w)
	roots := make([][]byte, len(sizes))
	rootBuf := make([]byte, 0, len(sizes)*nmt.NodeSize)
	var sh [ShareSize]byte
	next := 0
	for i, size := range sizes {
		stack.Reset(size)
		for range size {
			b.writeShare(next, sh[:])
			stack.PushLeaf(b.ns[:], sh[:])
			next++
		}
		start := len(rootBuf)
		rootBuf = stack.Root(rootBuf)
		roots[i] = rootBuf[start:len(rootBuf):len(rootBuf)]
	}
	return roots, nil
}
