package kzg

// ChunkCommitment is one chunk of data as an EIP-4844 blob: its commitment
// and versioned hash.
type ChunkCommitment struct {
	Commitment    Commitment
	VersionedHash [32]byte
}

// Commit returns the commitment and versioned hash of each of data's chunks
// (the blobs of Chunks(data), in order), without proofs: what a client
// precomputes to know the versioned hashes a submission will carry. Empty
// data is one chunk, the all-zero blob, whose commitment is the point at
// infinity (0xc0 followed by 47 zero bytes). The list is newly allocated
// and has ChunkCount(len(data)) entries. Chunks are encoded one at a time,
// so the memory used beyond data is one blob. The codec's blobs are always
// valid input, so the only error is one wrapping ErrSetup.
func Commit(data []byte) ([]ChunkCommitment, error) {
	out := make([]ChunkCommitment, ChunkCount(len(data)))
	err := eachChunk(data, func(i int, b *Blob) error {
		c, err := BlobToCommitment(b)
		if err != nil {
			return err
		}
		out[i] = ChunkCommitment{Commitment: c, VersionedHash: VersionedHash(c)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Prove returns the commitment and the blob proof (compute_blob_kzg_proof)
// of each of data's chunks, in the order of Chunks(data): what a
// MsgPayForBlobs carries for data, and what VerifyBlobProofBatch checks
// against the chunks' blobs. Both slices are newly allocated and have
// ChunkCount(len(data)) entries; empty data is one chunk, as for Commit.
// The only error is one wrapping ErrSetup, as for Commit.
func Prove(data []byte) (commitments []Commitment, proofs []Proof, err error) {
	n := ChunkCount(len(data))
	commitments, proofs = make([]Commitment, n), make([]Proof, n)
	err = eachChunk(data, func(i int, b *Blob) error {
		c, err := BlobToCommitment(b)
		if err != nil {
			return err
		}
		p, err := ComputeBlobProof(b, c)
		if err != nil {
			return err
		}
		commitments[i], proofs[i] = c, p
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return commitments, proofs, nil
}
