// Package header owns DataMesh's extended header: a CometBFT block header
// together with what makes it verifiable on its own and what light nodes
// need to sample the block's data. It also declares the header Store.
//
// # The data root on vanilla CometBFT
//
// CometBFT's header DataHash is the Merkle root of the block's
// transactions, not the data root of the block's square. So the proposer
// appends one last transaction, the data root transaction (DataRootTx:
// square size and data root, a fixed 41-byte encoding), and validators reject
// a block whose data root transaction is missing, not last, or wrong. An
// ExtendedHeader carries that transaction and a CometBFT Merkle proof
// (crypto/merkle, as Txs.Proof builds it) that it is the last leaf under
// DataHash.
//
// # ExtendedHeader
//
//	RawHeader     the CometBFT header
//	Commit        its commit: precommit signatures of the block
//	ValidatorSet  the validators of this height
//	DAH           row and column roots of the extended square
//	DataRootTx    the block's last transaction
//	DataRootProof its proof under RawHeader.DataHash
//
// MakeExtendedHeader builds and validates the header of a block from its
// CometBFT header, transactions, commit, validator set and DAH (what a
// bridge has after fetching a block and rebuilding its square).
// ExtendedHeader.Validate checks one header on its own, in order: basic
// fields, the validator set against ValidatorsHash, the commit signatures
// (more than 2/3 of the set, and every signature present valid), the data
// root proof, and that the DAH hashes to the committed data root with the
// committed square size. Each failure wraps its own sentinel
// (ErrInvalidHeader, ErrValidatorSetMismatch, ErrInvalidCommit,
// ErrInvalidDataRootProof, ErrDAHMismatch), so a peer's forgery is named by
// errors.Is.
//
// Verify checks an untrusted header against a trusted one, as CometBFT's
// light client does: the next header must be signed by the trusted header's
// NextValidatorsHash set and chain to it by LastBlockID; a header further
// ahead must be signed by validators of the trusted set holding more than
// the trust level (default 1/3) of its power, and by more than 2/3 of its
// own set. The trusted header must be within the trusting period (default
// 14 days) and the untrusted one not beyond now plus the clock drift.
// VerifyAdjacent is Verify that refuses to skip heights (ErrHeightGap).
// Verify uses the commit-verification primitives of cometbft/types rather
// than the light package, which links CometBFT's RPC client and databases.
//
// # Encodings
//
// MarshalBinary and UnmarshalExtendedHeader are the wire (p2p) encoding: a
// protobuf message whose fields are CometBFT's own protobuf messages for the
// header, commit, validator set and proof, and eds's encoding of the DAH,
// bounded by MaxExtendedHeaderSize (4 MiB). MarshalJSON and UnmarshalJSON use
// CometBFT's JSON (int64 as strings) with the field names of Celestia's
// header API (header, commit, validator_set, dah{row_roots, column_roots}),
// so its clients decode our headers. Decoding never validates: call
// Validate, then Verify. Neither decoder panics on malformed input; both
// are fuzzed (testdata/fuzz).
//
// # Store
//
// Store is the interface the syncer and the API use to keep a contiguous run
// of verified headers, by height and hash, with the head and bounded ranges;
// CheckChain is the contiguity rule every implementation applies.
// Subpackage store implements it on Badger; headertest implements it in
// memory, generates valid chains (real keys, squares, commits, validator-set
// changes) for tests, and holds the conformance tests every Store must pass.
package header
