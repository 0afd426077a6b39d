package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/share"
)

// KZGCodec names the layout of a blob's bytes in the EIP-4844 blobs its
// KZG commitments are over: the OP Stack blob encoding, version 0, in
// chunks of kzg.MaxChunkSize bytes (package kzg).
const KZGCodec = "op-stack-v0"

var (
	// ErrNoKZG is returned (wrapped) by GetKZG, OpenKZG and GetKZGCells
	// for a blob whose PayForBlobs carries no KZG commitments for it.
	ErrNoKZG = errors.New("blob: the blob was paid for without KZG commitments (submit it with KZG to read or open them)")
	// ErrInvalidKZGRequest is wrapped by OpenKZG and GetKZGCells for
	// arguments no blob could satisfy: a z that is not a canonical field
	// element, a chunk or cell index out of range, a bad list of cell
	// indices. The message says which.
	ErrInvalidKZGRequest = errors.New("blob: invalid KZG request")
)

// KZGInfo is a blob's EIP-4844 form: the codec its bytes are laid out
// with, and for each chunk, in order, its KZG commitment, the commitment's
// versioned hash and the blob proof that the commitment is to the chunk's
// bytes. JSON: {"codec": "op-stack-v0", "chunks": [{"commitment": base64,
// "versioned_hash": "0x…", "proof": base64}, …]}.
type KZGInfo struct {
	Codec  string     `json:"codec"`
	Chunks []KZGChunk `json:"chunks"`
}

// KZGChunk is one chunk's commitment, versioned hash and blob proof.
type KZGChunk struct {
	Commitment    KZGPoint `json:"commitment"`
	VersionedHash Hex32    `json:"versioned_hash"`
	Proof         KZGPoint `json:"proof"`
}

// KZGOpening is the value y that a chunk's polynomial takes at z, with the
// KZG proof of it, and PrecompileInput, the same as the input of the
// point-evaluation precompile. JSON: z, y, versioned_hash and
// precompile_input as 0x-hex, commitment and proof as base64.
type KZGOpening struct {
	Z               Hex32           `json:"z"`
	Y               Hex32           `json:"y"`
	Commitment      KZGPoint        `json:"commitment"`
	Proof           KZGPoint        `json:"proof"`
	VersionedHash   Hex32           `json:"versioned_hash"`
	PrecompileInput PrecompileInput `json:"precompile_input"`
}

// GetKZG returns the KZG commitments and blob proofs of the blob of ns
// with commitment c at height, as the PayForBlobs that paid for it in the
// square carries them.
//
// The blob is found as Get finds it. The PayForBlobs is found in the
// square's PayForBlobs namespace (fetched through the Getter, so verified
// against the header like the blob) as the one whose share index for
// some blob i is the blob's first share in the original square, with
// namespace ns and commitment c for blob i. If the namespace holds the
// same blob more than once, the first copy in square order whose
// PayForBlobs carries KZG commitments answers. Before returning, the
// proofs are checked against the blob's bytes (kzg.VerifyBlobProofBatch
// over kzg.Chunks of its data, about 1 ms a chunk): what is returned is
// in the square and commits to the blob's bytes, on any node.
//
// It returns ErrBlobNotFound (wrapped) when there is no such blob,
// ErrNoKZG when it was paid for without KZG, and an error wrapping
// kzg.ErrVerify if the commitments do not open the blob's bytes (a chain
// that verifies KZG never includes such a PayForBlobs).
func (s *Service) GetKZG(ctx context.Context, height uint64, ns share.Namespace, c Commitment) (*KZGInfo, error) {
	p, err := s.paidKZG(ctx, height, ns, c)
	if err != nil {
		return nil, err
	}
	chunks, err := kzg.Chunks(p.data)
	if err != nil {
		return nil, fmt.Errorf("blob: KZG at height %d: %w", height, err)
	}
	if err := kzg.VerifyBlobProofBatch(chunks, p.commitments, p.proofs); err != nil {
		return nil, p.verifyError(err)
	}
	info := &KZGInfo{Codec: KZGCodec, Chunks: make([]KZGChunk, len(chunks))}
	for i := range chunks {
		info.Chunks[i] = KZGChunk{Commitment: KZGPoint(p.commitments[i]),
			VersionedHash: kzg.VersionedHash(p.commitments[i]), Proof: KZGPoint(p.proofs[i])}
	}
	return info, nil
}

// OpenKZG opens chunk chunk (from 0) of the blob of ns with commitment c
// at height at the point z: it computes y, the value of the chunk's
// polynomial at z, and the KZG proof of it (kzg.ComputeProof), checks the
// proof (kzg.VerifyProof) and returns them with the chunk's commitment,
// its versioned hash and the point-evaluation precompile's input. The
// blob and its commitment are found and checked as GetKZG does, for this
// chunk.
//
// z must be a canonical field element, below the BLS12-381 scalar
// modulus, and chunk within the blob's chunks; otherwise the error wraps
// ErrInvalidKZGRequest (z is checked before anything is fetched). The
// other errors are GetKZG's.
func (s *Service) OpenKZG(ctx context.Context, height uint64, ns share.Namespace, c Commitment, chunk int, z [32]byte) (*KZGOpening, error) {
	if !IsFieldElement(z) {
		return nil, fmt.Errorf("%w: z %s is not below the BLS12-381 scalar modulus %s", ErrInvalidKZGRequest, Hex32(z), Hex32(blsModulus))
	}
	blob, commitment, err := s.verifiedChunk(ctx, height, ns, c, chunk)
	if err != nil {
		return nil, err
	}
	proof, y, err := kzg.ComputeProof(blob, z)
	if err != nil {
		return nil, fmt.Errorf("blob: opening chunk %d at height %d: %w", chunk, height, err)
	}
	if err := kzg.VerifyProof(commitment, z, y, proof); err != nil {
		return nil, fmt.Errorf("blob: the opening of chunk %d at height %d does not verify: %w", chunk, height, err)
	}
	vh := kzg.VersionedHash(commitment)
	return &KZGOpening{Z: z, Y: y, Commitment: KZGPoint(commitment), Proof: KZGPoint(proof),
		VersionedHash: vh, PrecompileInput: precompileInput(vh, z, y, commitment, proof)}, nil
}

// precompileInput lays out the input of the point-evaluation precompile:
// versioned_hash ‖ z ‖ y ‖ commitment ‖ proof.
func precompileInput(vh, z, y [32]byte, c kzg.Commitment, p kzg.Proof) PrecompileInput {
	var in PrecompileInput
	copy(in[0:32], vh[:])
	copy(in[32:64], z[:])
	copy(in[64:96], y[:])
	copy(in[96:144], c[:])
	copy(in[144:192], p[:])
	return in
}

// blsModulus is the BLS12-381 scalar field modulus r, big-endian.
var blsModulus = [32]byte{
	0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05,
	0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
}

// IsFieldElement reports whether z, read big-endian, is a canonical
// BLS12-381 scalar: below the modulus r = 0x73eda753…00000001, as the
// point-evaluation precompile requires of z and y.
func IsFieldElement(z [32]byte) bool { return bytes.Compare(z[:], blsModulus[:]) < 0 }

// paidKZG is a blob's data with the KZG commitments and blob proofs its
// PayForBlobs carries, one per chunk (not yet checked against the data).
type paidKZG struct {
	height      uint64
	data        []byte
	commitments []kzg.Commitment
	proofs      []kzg.Proof
}

// verifiedChunk returns the EIP-4844 blob of chunk chunk of the blob of ns
// with commitment c at height, and its KZG commitment, after checking that
// the PayForBlobs' proof shows the commitment to be the chunk's.
func (s *Service) verifiedChunk(ctx context.Context, height uint64, ns share.Namespace, c Commitment, chunk int) (*kzg.Blob, kzg.Commitment, error) {
	if chunk < 0 {
		return nil, kzg.Commitment{}, fmt.Errorf("%w: chunk %d", ErrInvalidKZGRequest, chunk)
	}
	p, err := s.paidKZG(ctx, height, ns, c)
	if err != nil {
		return nil, kzg.Commitment{}, err
	}
	blob, err := p.verifiedChunk(chunk)
	if err != nil {
		return nil, kzg.Commitment{}, err
	}
	return blob, p.commitments[chunk], nil
}

// verifiedChunk returns the EIP-4844 blob of chunk i, after checking that
// its proof shows its commitment to be the chunk's.
func (p *paidKZG) verifiedChunk(i int) (*kzg.Blob, error) {
	if i < 0 || i >= len(p.commitments) {
		return nil, fmt.Errorf("%w: chunk %d of a blob of %d bytes, which has %d chunks of at most %d bytes (0 to %d)",
			ErrInvalidKZGRequest, i, len(p.data), len(p.commitments), kzg.MaxChunkSize, len(p.commitments)-1)
	}
	lo := i * kzg.MaxChunkSize
	blob, err := kzg.EncodeChunk(p.data[lo:min(len(p.data), lo+kzg.MaxChunkSize)])
	if err != nil {
		return nil, fmt.Errorf("blob: KZG at height %d: chunk %d: %w", p.height, i, err)
	}
	if err := kzg.VerifyBlobProof(blob, p.commitments[i], p.proofs[i]); err != nil {
		return nil, p.verifyError(err)
	}
	return blob, nil
}

func (p *paidKZG) verifyError(err error) error {
	return fmt.Errorf("blob: the KZG commitments paid for at height %d do not open the blob's bytes: %w", p.height, err)
}

// paidKZG finds the blob of ns with commitment c at height and the KZG
// entry of the PayForBlobs that paid for it (see GetKZG).
func (s *Service) paidKZG(ctx context.Context, height uint64, ns share.Namespace, c Commitment) (*paidKZG, error) {
	h, err := s.header(ctx, height)
	if err != nil {
		return nil, err
	}
	blobs, err := s.blobsOf(ctx, h, ns)
	if err != nil {
		return nil, err
	}
	var copies []*Blob
	for _, b := range blobs {
		if bytes.Equal(b.Commitment, c) {
			copies = append(copies, b)
		}
	}
	if len(copies) == 0 {
		return nil, ErrBlobNotFound
	}
	pfbs, err := s.pfbsOf(ctx, h)
	if err != nil {
		return nil, err
	}
	width := len(h.DAH.RowRoots)
	k := width / 2
	for _, b := range copies {
		start := (b.Index/width)*k + b.Index%width // in the original square
		entry, err := pfbs.kzgFor(start, b)
		if err != nil {
			return nil, fmt.Errorf("blob: KZG at height %d: %w", height, err)
		}
		if entry == nil || len(entry.Commitments) == 0 {
			continue
		}
		p := &paidKZG{height: height, data: b.Data,
			commitments: make([]kzg.Commitment, len(entry.Commitments)), proofs: make([]kzg.Proof, len(entry.Proofs))}
		for i := range entry.Commitments {
			p.commitments[i], p.proofs[i] = kzg.Commitment(entry.Commitments[i]), kzg.Proof(entry.Proofs[i])
		}
		return p, nil
	}
	return nil, fmt.Errorf("%w: namespace %s, commitment %X, height %d", ErrNoKZG, ns, []byte(c), height)
}

// pfbIndex maps the original-square index of each blob's first share to
// the PayForBlobs that paid for the blob.
type pfbIndex struct {
	byStart map[uint32]pfbRef
}

// pfbRef is blob blob of the PayForBlobs in wrapper.
type pfbRef struct {
	wrapper *share.IndexWrapper
	blob    int
}

// pfbsOf reads the PayForBlobs of h's square, verified by the Getter.
func (s *Service) pfbsOf(ctx context.Context, h *header.ExtendedHeader) (*pfbIndex, error) {
	nd, err := s.getter.GetNamespaceData(ctx, h, share.PayForBlobNamespace)
	if err != nil {
		return nil, fmt.Errorf("blob: PayForBlobs at height %d: %w", h.Height(), err)
	}
	units, err := share.ParseCompact(nd.Flatten(), share.PayForBlobNamespace)
	if err != nil {
		return nil, fmt.Errorf("blob: PayForBlobs at height %d: %w", h.Height(), err)
	}
	idx := &pfbIndex{byStart: make(map[uint32]pfbRef)}
	for u, unit := range units {
		w, err := share.UnmarshalIndexWrapper(unit)
		if err != nil {
			return nil, fmt.Errorf("blob: PayForBlobs %d at height %d: %w", u, h.Height(), err)
		}
		for i, start := range w.ShareIndexes {
			if _, dup := idx.byStart[start]; dup {
				return nil, fmt.Errorf("blob: PayForBlobs at height %d: two blobs start at share %d", h.Height(), start)
			}
			idx.byStart[start] = pfbRef{wrapper: w, blob: i}
		}
	}
	return idx, nil
}

// kzgFor returns the KZG entry the PayForBlobs of the blob b starting at
// share start (in the original square) carries for it: nil, or an entry
// without commitments, when there is none. The PayForBlobs must name b's
// namespace, size and commitment at that position.
func (x *pfbIndex) kzgFor(start int, b *Blob) (*tx.BlobKZG, error) {
	var ref pfbRef
	ok := false
	if start >= 0 {
		ref, ok = x.byStart[uint32(start)]
	}
	if !ok {
		return nil, fmt.Errorf("no PayForBlobs names the blob starting at share %d", start)
	}
	t, err := tx.UnmarshalTx(ref.wrapper.Tx)
	if err != nil {
		return nil, fmt.Errorf("the PayForBlobs of the blob at share %d: %w", start, err)
	}
	msg, ok := t.Body.Msg.(*tx.MsgPayForBlobs)
	if !ok {
		return nil, fmt.Errorf("the transaction of the blob at share %d is a %T, not a PayForBlobs", start, t.Body.Msg)
	}
	i := ref.blob
	if len(msg.Namespaces) != len(ref.wrapper.ShareIndexes) || len(msg.BlobSizes) != len(msg.Namespaces) || len(msg.ShareCommitments) != len(msg.Namespaces) {
		return nil, fmt.Errorf("the PayForBlobs of the blob at share %d pays for %d blobs, its wrapper places %d",
			start, len(msg.Namespaces), len(ref.wrapper.ShareIndexes))
	}
	if msg.Namespaces[i] != b.Namespace || int(msg.BlobSizes[i]) != len(b.Data) || !bytes.Equal(msg.ShareCommitments[i], b.Commitment) {
		return nil, fmt.Errorf("the PayForBlobs placing a blob at share %d pays for another blob (namespace %s, %d bytes, commitment %X)",
			start, msg.Namespaces[i], msg.BlobSizes[i], msg.ShareCommitments[i])
	}
	if msg.KZG == nil {
		return nil, nil
	}
	if len(msg.KZG) != len(msg.Namespaces) {
		return nil, fmt.Errorf("the PayForBlobs of the blob at share %d has KZG for %d of its %d blobs", start, len(msg.KZG), len(msg.Namespaces))
	}
	k := &msg.KZG[i]
	if n := len(k.Commitments); n > 0 && (len(k.Proofs) != n || n != tx.KZGChunkCount(len(b.Data))) {
		return nil, fmt.Errorf("the PayForBlobs of the blob at share %d carries %d KZG commitments and %d proofs for %d chunks",
			start, n, len(k.Proofs), tx.KZGChunkCount(len(b.Data)))
	}
	return k, nil
}
