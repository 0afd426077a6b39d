// Package statemachine is the VM-independent base of DataMesh's executors:
// an ev-node execution.Executor (Chain) over a Badger database that keeps
// a sorted key/value state with a Merkle root, the chain's bookkeeping and
// a mempool, and leaves what a transaction does to a Machine.
//
// A Machine checks a transaction for the mempool and FilterTxs (CheckTx,
// against the latest state) and applies one inside a block (Apply, on the
// block's State). Everything else is the Chain's:
//
//   - the genesis (InitChain, idempotent for the same parameters), the head
//     (last height and state root), the final height and a record of each
//     block (a hash of its inputs, its state root, the transactions'
//     TxResults), all in one Badger transaction per block with the block's
//     writes, so a crash keeps the previous block or this one;
//   - the rules of blocks: the next height on the previous root only; a
//     height executed before answered from its record when the block is the
//     same and refused (ErrConflict) otherwise; transactions past the
//     Machine's byte limit skipped and recorded as failed, and a gas budget
//     per block (Limits.MaxGas) handed to Apply;
//   - the mempool (SubmitTx, GetTxs) and FilterTxs;
//   - the state root and queries with proofs (Prove, Verify).
//
// # State and root
//
// The state is a set of entries, byte-string keys (1 to MaxKeySize bytes)
// to non-empty byte-string values, kept in Badger under the Chain's prefix
// with each entry's leaf hash beside its value. The state root is the
// RFC 6962 Merkle root (package merkle) over the entries sorted by key
// (bytewise), each leaf being Leaf(key, value): the key's length in 2 bytes
// big-endian, the key, the value; the empty state's root is EmptyRoot,
// SHA256("").
//
// # The tree in memory
//
// The Chain keeps the tree of its head in memory (a merkle.Tree; derived state only,
// nothing of it is stored): the keys in order, their leaf hashes and the
// hash of every aligned power-of-two run of leaves, [b·2^j, (b+1)·2^j).
// RFC 6962 splits n leaves at the largest power of two below n, so every
// inner node of the tree is such a run except the at most log2(n) nodes
// on its right edge, which are recomputed when needed. A run depends only
// on its leaves and their positions, so a block keeps every run whose
// leaves it neither changed nor moved: from its writes (the keys set or
// deleted, last write wins) it re-hashes the runs over an updated leaf,
// O(log n) per update, and, for an insert or a delete, those over the
// leaves it shifts, up to the next insert or delete that cancels the shift
// or to the end of the state. A query proves from the tree in O(log n)
// hashes, reading values from its snapshot.
//
// The tree is built with one pass over the stored leaf hashes: by the
// first block after a start, or by a query that finds no tree of the head
// its snapshot reads (then it is kept if no block has moved on since).
// A block holds the tree locked from its update to the block's commit, so
// a query never sees the tree of a head its snapshot does not have; a
// query whose snapshot is of another head than the tree's builds its own,
// and a block that fails after updating the tree drops it, to be built
// again. It costs about 80 bytes per entry plus the key (32 for the leaf
// hash, 32 for the runs above it, 16 for the key's string header), up to
// twice that while slices keep spare capacity: bounded by the state's size.
//
// Prove answers a key with its value and inclusion proof, or with the
// entries around it, adjacent in the tree, that prove it absent; Verify is
// what a light client runs on such an answer against a root it trusts.
package statemachine
