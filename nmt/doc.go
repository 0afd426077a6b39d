// Package nmt is DataMesh's namespaced Merkle tree (NMT): the tree over each
// row and column of the extended data square, its roots, and the range and
// namespace proofs that light and full nodes check shares against. It is
// byte-compatible with celestiaorg/nmt used with SHA-256, 29-byte namespaces
// and IgnoreMaxNamespace (docs/formats.md, sections 5 and 8); those
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
//     UnmarshalProof) and its JSON (MarshalJSON, UnmarshalJSON: the
//     protobuf message's keys, omitempty; a proof without the
//     is_max_namespace_ignored flag decodes as an ignore-max proof).
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
// Verification accepts no proof that celestiaorg/nmt rejects, and is
// stricter in these ways: it requires IsMaxNamespaceIgnored, bounds node
// count and indices, refuses empty and absence proofs in VerifyInclusion
// (the reference accepts an empty proof of zero leaves), requires an
// absence proof to come without leaves (the reference ignores them), and
// requires the empty proof to have Start = End = 0 (the reference accepts
// any Start = End). The fuzz targets check both directions.
package nmt
