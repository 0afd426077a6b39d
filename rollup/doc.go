// Package rollup is the rollup node: a chain whose blocks are blobs in
// one DataMesh namespace, executed by an ev-node execution.Executor
// (package execution). It holds the block format, the genesis, the
// node's store, the Sequencer that makes and posts blocks and the
// Follower, a full node that re-executes every posted block. It reaches
// DataMesh through three interfaces it declares (Submitter, HeaderSource,
// NamespaceSource), which rollup/meshapi implements over the API client;
// the package links neither the node nor libp2p (deps_test.go).
//
// # Blocks
//
// A block is a Header (chain ID, height, time, parent hash, data hash,
// state root, proposer, signature) and its transactions, posted as one
// blob. Block.Encode writes Magic ("DMRB" and a version byte) and then
// protowire fields in a fixed order; DecodeBlock accepts exactly that
// encoding within MaxBlockSize and MaxTxs, so a block has one encoding
// and its hash is well defined. A blob without Magic is someone else's
// data in the namespace (ErrNotBlock) and is skipped. docs/rollups.md
// lists the fields.
//
// Headers are signed with ed25519 (crypto/ed25519): its signatures are
// deterministic, so a sequencer that signs a block again after a restart
// produces the same bytes; Go's verification is strict (it rejects
// non-canonical encodings, so a signature cannot be altered into another
// valid one and a block has one valid form); keys are 32 bytes and need
// no parameters; and it is in the standard library. The signed bytes are
// a domain string and the header without its signature, so the
// signature commits to the chain ID and cannot be replayed on another
// chain or taken for a signature of something else.
//
// # Trust
//
// One sequencer, named by its public key in the Genesis, orders the
// chain: a follower takes the blocks it signed, in height order, each
// linked to the previous by ParentHash and later in time. What a
// follower trusts, and what it checks:
//
//   - The DataMesh headers of its HeaderSource, normally the user's own
//     light node, which verified them by header sync and sampling.
//     The follower also runs header.Validate on each (commit signatures,
//     the DAH against the data root).
//   - Nothing of its NamespaceSource, any node's API: the answer of
//     share.GetNamespaceData is checked with eds.NamespaceData.Verify
//     against the trusted header's DAH, which proves both that the
//     shares are in the square and that no share of the namespace is
//     left out. A node that hides a blob fails the check; the follower
//     reports the DataMesh height and the source (Status.LastError),
//     retries, and never goes past that height.
//   - Nothing of the sequencer's forced inclusion: the forced namespace
//     of every height is read and verified like the rollup's, and a
//     forced transaction still pending after its deadline, or a block
//     whose first ForcedTxs transactions are not the next pending ones,
//     halts the follower with Evidence (forced.go, docs/rollups.md
//     "Forced inclusion").
//   - Nothing of the sequencer's execution: every block is executed
//     again and its StateRoot compared with the executor's. A block
//     signed by the sequencer that does not follow the chain (height,
//     parent, time) or whose state root differs halts the follower,
//     with Evidence (DataMesh height, block height, claimed and computed
//     roots, the blob) in Status and in the store, so it stays halted
//     across restarts.
//
// Blobs that are not blocks, blocks of another chain ID, blocks not
// signed by the sequencer and blocks whose data hash does not match
// their transactions are ignored and logged: anyone may post in a
// namespace, and none of these is the sequencer's. A block at a height
// already held is a resubmission when its bytes are the same and
// equivocation when they differ (logged as an error; the first block
// found stands). A block past the next height is ignored: the sequencer
// posts in order, so the blocks between were never posted.
//
// # Store and crash consistency
//
// Store keeps the blocks by height with the DataMesh height of each, the
// head, the follower's sync height (the last DataMesh height read
// completely), the sequencer's block in progress, the halt evidence and
// the pending forced transactions,
// under "rollup/" keys, each change in one Badger transaction. It may
// share the executor's database (execution/kv keeps to "kv/"); the two
// are not written in one transaction, since the Executor interface does
// not offer one, and consistency rests on two rules instead:
//
//   - The executor never falls behind for good: on Start, resume gives
//     the executor the stored blocks past its height (GetLatestHeight
//     when it is an execution.HeightProvider, otherwise all of them),
//     checking each reaches its stored state root.
//   - An executor ahead of the store is harmless: an Executor answers a
//     block it already executed with the same root (the execution
//     package's determinism contract). A follower that crashed after
//     executing and before storing reads the DataMesh height again and
//     executes the same block; a sequencer records a block's inputs
//     (Pending: transactions and time) before executing them, and a
//     restart executes that same block again and finishes it, so it
//     never makes a different block at that height.
//
// A halted follower's executor has executed the rejected block (the
// Executor cannot execute without committing); its store, its Status and
// its head stop before that block.
//
// # Sequencer
//
// Every BlockTime the Sequencer takes the pending forced transactions
// (read by a third loop from the forced namespace, verified against
// SequencerConfig.Headers) and the executor's waiting transactions
// (GetTxs), filters them with FilterTxs (forced ones first, flagged),
// keeps the forced ones in order up to the first postponed and the
// others FilterTxs marks OK, within MaxBlockBytes, executes them, signs
// the header and stores the block; no transactions, no block. A second loop posts the oldest unposted
// blocks, several per Submit, in order, and on inclusion records the
// DataMesh height and calls SetFinal; a failed submit is retried with
// backoff while blocks keep being made, up to MaxUnposted waiting
// blocks. A restart posts the stored unposted blocks with their stored
// bytes, so a block posted twice is the same block, which followers
// skip.
//
// The rollup's own JSON-RPC (soft confirmations, queries with proofs)
// is package rollup/rpc, over Store, Sequencer and Follower Status and
// the executor; package rollup/node wires a node (mesh-node rollup run
// and the modules mesh-node rollup new scaffolds).
package rollup
