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
// SHA256(""). Each block recomputes the root over the stored leaf hashes,
// one pass over the state.
//
// Prove answers a key with its value and inclusion proof, or with the
// entries around it, adjacent in the tree, that prove it absent; Verify is
// what a light client runs on such an answer against a root it trusts.
package statemachine
