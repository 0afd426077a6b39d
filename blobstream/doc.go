// Package blobstream is DataMesh's Blobstream: the data root tuples
// (height, data root) of consecutive blocks, the RFC 6962 roots over ranges of
// them that validators attest to, and the inclusion proofs of one tuple in
// such a root. The formats are those of Celestia's Blobstream contracts and of
// celestia-node's blobstream module, so a contract written for Celestia's
// Blobstream verifies DataMesh's commitments unchanged.
//
// A data root tuple is abi.encode(uint256 height, bytes32 dataRoot): the
// height as a 32-byte big-endian integer followed by the data root (64
// bytes). The data root is the hash of the block's DataAvailabilityHeader,
// the one the data root transaction carries; never CometBFT's DataHash.
// EncodeTuple, TupleRoot and TupleProof (tuple.go) make tuples, roots and
// proofs; CheckRange and CheckProofRequest check requested ranges.
//
// A SharesProof (sharesproof.go) is the Solidity SharesProof of Celestia's
// DAVerifier, field for field: shares of one namespace with their NMT
// proofs (NamespaceMerkleMultiproof) to their rows' roots (NamespaceNode),
// the rows' proofs (BinaryMerkleProof) to the block's data root, and the
// proof of the block's tuple to an attested tuple root (AttestationProof).
// Its JSON has the Solidity field names with 0x-hex byte strings, for
// Ethereum tooling. NewSharesProof (build.go) makes one from an
// eds.ShareProof (what eds.ProveShares and share.GetRange give for a blob's
// share range), a tuple proof and the attestation's nonce.
// VerifySharesProof (verify.go) runs the checks of
// DAVerifier.verifySharesToDataRootTupleRoot in its order, with the tuple
// root the contract would look up by nonce passed in, so that a rollup can
// test its settlement logic offline; VerifyError names the check that
// failed with the contract's error code. docs/blobstream.md describes the
// formats.
package blobstream
