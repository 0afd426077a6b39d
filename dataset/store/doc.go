// Package store indexes the dataset parts and manifests that bridge and
// full nodes find among the blobs of their squares, and serves the blocks
// of those parts as a read-only IPFS blockstore (issue 16, item 3).
//
// Index is a blob.IndexExtension: handed to blob.NewIndex, it is called
// for every blob the commitment index records, and its entries are
// written in the same Badger transactions, share the height's mark and
// CatchUp's checkpoint, and are pruned with the height. A blob that starts
// like a CAR (dataset.LooksLikeCAR) is decoded under a size limit, every
// block's hash checked (dataset.DecodeAnyPart, dataset.DecodeManifest); a
// part records cid → (height, namespace, commitment, offset, length) for
// each of its blocks, a manifest records itself under its CID and under
// its dataset's root. A blob that does not decode is logged and records
// nothing. Locate, Manifest and List read the entries.
//
// Blockstore implements boxo's blockstore.Blockstore over the index and
// the node's blobs: Get looks the CID up, reads the blobs of the part's
// namespace at its height (through a PartSource, the node's own stored
// squares, once per height however many requests miss it, kept in a small
// cache), finds the block by the CAR framing the index recorded (its CID
// right before its bytes), and checks its hash again before returning it. It answers an unknown CID with ipld.ErrNotFound from the
// index alone, never asking the network; writes are refused. Bitswap, the
// trustless gateway and the dataset JSON-RPC module read through it.
//
// Pins keeps the blocks of pinned datasets in Badger under a prefix of its
// own that pruning does not touch: Sync walks each pinned DAG over the
// Blockstore and copies its blocks, and a Blockstore given the Pins reads
// them before the squares, so a pinned dataset is served after its heights
// are pruned.
//
// It is one package because the blockstore is the index's main reader and
// both depend on the key layout, which stays unexported here.
package store
