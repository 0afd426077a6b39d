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
// holds no state but GetKZGCells' bounded cache of computed cells, and
// starts no goroutine but a subscription's.
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
// # KZG
//
// A blob whose PayForBlobs carries EIP-4844 KZG commitments (package kzg's
// codec, one commitment and blob proof per chunk; core/tx's
// MsgPayForBlobs.KZG) can be read in that form. GetKZG finds the blob as
// Get does, reads the square's PayForBlobs namespace through the Getter
// (share.ParseCompact, share.UnmarshalIndexWrapper), takes the
// PayForBlobs whose share index for one of its blobs is the blob's first
// share in the original square (and checks it names the blob's namespace,
// size and commitment there), and checks its commitments' blob proofs
// against the blob's bytes before returning them (KZGInfo). OpenKZG opens
// one chunk at a point z (KZGOpening, with the input of Ethereum's
// point-evaluation precompile); GetKZGCells returns cells of a chunk's
// EIP-7594 extension with their proofs (KZGCells), computed on request,
// kept for the CellCacheChunks chunks used last and checked before they
// are returned. Since everything read goes through the Getter, the answer
// is equally proven on a light node. A blob paid for without KZG is
// ErrNoKZG; a bad z, chunk or cell index is ErrInvalidKZGRequest. The
// byte types Hex32 and PrecompileInput are 0x-hex in JSON, KZGPoint and
// CellData base64. docs/kzg.md explains the layout and how a contract
// checks an opening.
//
// # Commitment index
//
// Bridge and full nodes also keep an Index from share commitment to
// (height, namespace, index), in the node's Badger database under keys
// starting "blob/" (see index.go for the layout). The node calls
// Index.Index after storing each square, Index.CatchUp on start for heights
// stored but not indexed before a crash, and Index.Prune with the squares'
// pruning window. Service.GetByCommitment looks a commitment up and reads
// the blob back from its square. An IndexExtension (the dataset index of
// dataset/store) records entries of its own for each blob in the same
// transactions, and Prune and Delete remove them with the height.
package blob
