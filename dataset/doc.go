// Package dataset turns a file or a directory into blobs that stock IPFS
// can later fetch by CID: a UnixFS DAG built with the IPIP-499
// unixfs-v1-2025 profile, packed into CARv1 parts no larger than the
// chain's max_blob_size, tied together by a manifest. It is the format of
// issue 16's datasets; docs/datasets.md describes it for users.
//
// Import and ImportReader build the DAG into a boxo blockstore with the
// profile's parameters (ChunkSize, MaxLinks, HAMTShardingSize,
// HAMTFanout, CIDv1, sha2-256, raw leaves) passed to boxo on every call,
// never through boxo's process-wide defaults; the root CID is the one
// `ipfs add` prints with that profile (interop/kubo checks it against a
// stock kubo).
//
// Walk visits the DAG's blocks depth-first, each once: the order of
// `ipfs dag export`. Pack cuts that sequence into parts, each a complete
// CARv1 whose header names the dataset root, whole blocks only, so that
// CARHeader(root) followed by every part's sections is the export byte for
// byte. DecodePart reads a part from untrusted bytes (size limits, every
// block's hash checked, canonical header of the expected root, no trailing
// bytes). After the parts are posted, ManifestFor writes the manifest (a
// one-block CAR whose root is a dag-cbor Manifest listing the dataset
// root, size, block count and each part's height and commitment);
// DecodeManifest reads one from untrusted bytes. DefaultNamespace derives
// the namespace a dataset is posted in from its root; NamespaceFor applies
// a publisher's override.
//
// DecodeAnyPart reads a part whose root is not known in advance (the root
// is its header's), and LooksLikeCAR is the cheap test an indexer runs on
// every blob first.
//
// Nothing here talks to a node. Package dataset/store indexes parts and
// manifests as bridge and full nodes store blobs (DecodeAnyPart's
// PartBlock offsets become cid → height, namespace, commitment, offset,
// length) and serves their blocks as a read-only blockstore over the
// squares; package dataset/serve serves such a blockstore to IPFS
// (bitswap, a trustless gateway and delegated routing), and `mesh-node
// dataset put` posts a dataset's parts and manifest through blob.Submit.
//
// Every function is safe for concurrent use; none keeps state between
// calls.
package dataset
