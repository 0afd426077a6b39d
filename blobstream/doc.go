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
package blobstream
