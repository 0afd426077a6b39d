// Package kzg holds what DataMesh needs to commit to blobs the way
// Ethereum's EIP-4844 does: the codec, which lays blob bytes out in EIP-4844
// blobs (4,096 field elements of 32 bytes, BlobSize bytes in all), the KZG
// commitments and proofs over those blobs, and their EIP-7594 cells.
//
// # Encoding
//
// The layout is the OP Stack blob encoding, version 0 (the "Blob Encoding"
// section of the Optimism specs, Ecotone derivation), so that the blob an OP
// Stack batcher posts for some bytes and the one EncodeChunk makes for them
// are the same 131,072 bytes.
//
// The bytes encoded are a 4-byte header — the version (0) and the data's
// length as a 24-bit big-endian number — followed by the data. They are
// written in rounds of 127 bytes into 4 field elements (128 bytes) each, at
// most 1,024 rounds, which is why a blob holds at most MaxChunkSize =
// 1,024×127 − 4 = 130,044 bytes of data. In a round, the 127 bytes go to
//
//	bytes  0..30  → bytes 1..31 of field element 0
//	byte   31     → x
//	bytes 32..62  → bytes 1..31 of field element 1
//	byte   63     → y
//	bytes 64..94  → bytes 1..31 of field element 2
//	byte   95     → z
//	bytes 96..126 → bytes 1..31 of field element 3
//
// and the three bytes x, y, z, 24 bits, are cut into four 6-bit pieces that
// make byte 0 of the four field elements: the low 6 bits of x; the top 2 bits
// of x above the low 4 bits of y; the low 6 bits of z; the top 2 bits of z
// above the top 4 bits of y. Byte 0 of every field element is therefore below
// 0x40, so every element, read big-endian, is below the BLS12-381 scalar
// modulus. In the first round the header takes bytes 1..4 of the first field
// element and the data starts at byte 5. Rounds past the data, and the bytes
// of the last round past the data, are zero.
//
// DecodeChunk accepts exactly the blobs EncodeChunk makes: it rejects an
// unknown version (ErrVersion), a length over MaxChunkSize (ErrLength), a
// field element whose byte 0 has either of its top two bits set
// (ErrFieldElement), and any non-zero byte past the encoded data
// (ErrTrailingData), each wrapping ErrMalformed. The OP Stack decoder rejects
// the same blobs except that it ignores the top two bits of the first field
// element; such a blob is not a valid EIP-4844 blob (the element exceeds the
// modulus), and rejecting it keeps DecodeChunk the exact inverse of
// EncodeChunk.
//
// # Chunks
//
// A DataMesh blob larger than MaxChunkSize is cut by Chunks into pieces of
// MaxChunkSize bytes, the last one shorter, each encoded into its own
// EIP-4844 blob (which will carry its own commitment); ChunkCount(n) is how
// many a blob of n bytes makes, ceil(n / MaxChunkSize). Empty data is one
// chunk encoding zero bytes (the all-zero blob, whose commitment is the
// point at infinity), so every DataMesh blob has at least one EIP-4844 blob
// and ChunkCount(0) is 1. Join is the inverse: it accepts only the lists
// Chunks makes.
//
// # Commitments and proofs
//
// The KZG functions are thin wrappers over github.com/crate-crypto/go-eth-kzg
// (on gnark-crypto), taking this package's *Blob and its Commitment and
// Proof types (compressed BLS12-381 G1 points, 48 bytes) and following the
// Deneb polynomial-commitments functions of the consensus specs:
// BlobToCommitment (blob_to_kzg_commitment), ComputeBlobProof and
// VerifyBlobProof (compute_ and verify_blob_kzg_proof),
// VerifyBlobProofBatch (verify_blob_kzg_proof_batch), ComputeProof and
// VerifyProof (compute_ and verify_kzg_proof, the opening at a point z).
// VersionedHash is the EIP-4844 versioned hash of a commitment: 0x01
// followed by bytes 1..31 of its SHA-256.
//
// Commit and Prove work on a DataMesh blob's bytes rather than on one
// EIP-4844 blob: Commit returns the commitment and versioned hash of each
// chunk (what a client precomputes), Prove the commitment and blob proof of
// each chunk (what a MsgPayForBlobs carries, and what VerifyBlobProofBatch
// checks against the chunks' blobs), in the order of Chunks.
//
// # Cells
//
// EIP-7594 (PeerDAS) extends a blob's polynomial to twice its points and
// cuts the 8,192 evaluations into CellsPerBlob = 128 cells of 64 field
// elements (CellSize = 2,048 bytes), each with a proof against the blob's
// commitment, so that a piece of a blob can be checked without the rest.
// The extension is systematic: cells 0 to 63 are the blob's own bytes, in
// order. ComputeCells (compute_cells_and_kzg_proofs) returns the cells and
// their proofs; VerifyCellProofBatch (verify_cell_kzg_proof_batch) checks
// any cells of any blobs, each with the commitment of its blob, its index
// and its proof; RecoverCells (recover_cells_and_kzg_proofs) rebuilds all
// the cells and proofs from any half of them, given with their indices in
// ascending order.
//
// The consensus-spec test vectors go-eth-kzg ships, all 311 (the EIP-4844
// and the EIP-7594 ones), run through these functions in vectors_test.go.
//
// # Setup and errors
//
// The KZG and cell functions, Commit and Prove need the trusted setup of Ethereum's KZG ceremony (mainnet),
// which go-eth-kzg embeds. Parsing it takes seconds, so it is loaded once,
// on the first call that needs it, and kept for the life of the process; a
// node that never commits or verifies (a light node that only samples)
// never pays for it. VersionedHash and the codec need no setup. Should the
// load fail, every call returns the same error, wrapping ErrSetup.
//
// A verification returns nil when the proof holds, an error wrapping
// ErrVerify when well-formed inputs do not verify, and one wrapping
// ErrInvalidInput when an input is not what the specification accepts (a
// field element not below the scalar modulus, a commitment or proof that is
// not a compressed point of the G1 subgroup, a nil blob, batch lists of
// different lengths, a nil cell, a cell index not below CellsPerBlob). The
// computations wrap ErrInvalidInput likewise, as RecoverCells does for
// fewer than half the cells or indices out of order. The functions are safe
// for concurrent use; go-eth-kzg spreads most of their work over GOMAXPROCS
// goroutines.
//
// Errors wrap the package's sentinels, with the prefix "kzg: ". Nothing here
// panics on input.
package kzg
