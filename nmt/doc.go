// Package nmt is DataMesh's namespaced Merkle tree (NMT): the tree over each
// row and column of the extended data square, its roots, and the range and
// namespace proofs that light and full nodes check shares against. It is
// byte-compatible with celestiaorg/nmt used with SHA-256, 29-byte namespaces
// and IgnoreMaxNamespace (spec/formats.md, sections 5 and 8); those
// parameters are fixed here, not options.
//
// What it owns:
//   - hashing: Hasher (leaf and inner-node hashes, node validation),
//     EmptyRoot, and the node layout minNs || maxNs || SHA-256 (NodeSize
//     bytes);
//   - roots: RootOf and RootStack compute a root without keeping leaves;
//   - Tree: push leaves in namespace order, then Root, ProveRange and
//     ProveNamespace;
//   - Proof: verification (VerifyInclusion for samples, VerifyNamespace and
//     VerifyLeafHashes for all shares of a namespace, with completeness) and
//     the protobuf wire format of celestiaorg/nmt (MarshalBinary,
//     UnmarshalProof).
//
// It does not know about shares, squares or the parity namespace rule of
// the EDS (which leaves get MaxNamespace): callers build leaves as
// namespace || data.
//
// Usage: a prover builds a Tree, keeps its root in a header and hands out
// proofs; a verifier, holding only the root, checks a proof with the leaves
// it received. Verification treats the proof and the leaves as untrusted:
// it never panics, bounds every size, and returns errors that wrap
// ErrInvalidProof. Decode proofs from the network with UnmarshalProof, which
// enforces MaxProofNodes and MaxProofIndex.
//
// Beyond the reference, verification is stricter in three ways: an empty or
// absence proof does not verify inclusion, an absence proof must come
// without leaves, and the empty proof must have Start = End = 0.
package nmt
