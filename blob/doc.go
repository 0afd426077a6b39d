// Package blob is the blob service behind the JSON-RPC blob.* methods:
// submitting blobs (through a Submitter, the state client), reading them back
// from a height and namespace, proving their inclusion, and following a
// namespace as new headers arrive. Its types have the JSON shapes of
// celestia-node's blob package, so clients written for celestia-node decode
// them unchanged.
//
// # Service
//
// NewService takes what it reads through as interfaces it declares:
// Headers (trusted headers by height, and waiting for the next one), Getter
// (a square's namespace data and rows, verified against the header's DAH by
// the implementation: the shrex getter on light nodes, the local squares on
// bridge and full nodes) and an optional Submitter. The service itself
// holds no state and starts no goroutine but a subscription's.
//
// Get and GetAll read a namespace's shares (Getter.GetNamespaceData), parse
// its blobs (share.ParseBlobs) and give each its Index, the position of its
// first share in the extended square (row*2k + column), and its commitment.
// GetProof fetches the first half of every row the blob spans, extends it
// (eds.ExtendAxis), rebuilds the row's NMT as eds does, checks it against
// the header's row root and proves the blob's columns of it; Included
// checks such a proof against the row roots for the blob's shares.
// GetCommitmentProof proves the same rows, adds the blob's commitment
// subtree roots (share.Blob.SubtreeRoots) and the rows' Merkle proofs to
// the data root (eds.DataAvailabilityHeader.ProveRowRoots): a
// CommitmentProof, which CommitmentProof.Verify checks against a data root
// and a commitment alone.
// Subscribe sends, height after height, the namespace's blobs (possibly
// none), as celestia-node does.
//
// # Commitment index
//
// Bridge and full nodes also keep an Index from share commitment to
// (height, namespace, index), in the node's Badger database under keys
// starting "blob/" (see index.go for the layout). The node calls
// Index.Index after storing each square, Index.CatchUp on start for heights
// stored but not indexed before a crash, and Index.Prune with the squares'
// pruning window. Service.GetByCommitment looks a commitment up and reads
// the blob back from its square.
package blob
