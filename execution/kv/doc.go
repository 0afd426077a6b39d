// Package kv is the key-value machine: the simplest executor of a
// DataMesh rollup, an ev-node execution.Executor over a Badger database:
// a Machine over the shared base, package statemachine.
//
// # Transactions and queries
//
// A transaction is one JSON object of strings:
//
//	{"type":"set","key":"foo","value":"bar"}   sets foo to bar
//	{"type":"delete","key":"foo"}              removes foo (no change if absent)
//
// and a query {"type":"get","key":"foo"}. DecodeTx and DecodeQuery read
// them strictly: valid UTF-8 only (encoding/json would turn other bytes
// into U+FFFD), no unknown or repeated members, no members that are not
// strings, nothing after the object; keys of 1 to MaxKeySize (256)
// bytes, set values of 1 to MaxValueSize (4096) bytes, a delete without a
// value, and at most MaxTxSize (16 KiB) of JSON. Bad input is an error
// wrapping ErrInvalidTx, never a panic (FuzzDecodeTx).
//
// # Blocks
//
// ExecuteTxs applies a block's transactions in order in one Badger
// transaction with the block's record and the new head, so a crash keeps
// the state of the previous block or of this one. A transaction that does
// not decode, or comes after MaxBlockBytes (1 MiB) of the block's
// transactions, is skipped and recorded as failed (Results); it never
// fails the block. Blocks come in order from InitChain's initial height,
// each on the previous state root; a height executed before is answered
// from its record when the block is the same and refused (ErrConflict)
// when it is not, so a node that restarts resumes from its database and
// replaying a block is harmless.
//
// The mempool (SubmitTx, GetTxs) keeps valid transactions in arrival
// order, bounded in count and bytes (Config), until a block executes
// them. FilterTxs follows ev-node's contract: invalid or oversized
// transactions are removed, those past the byte limit postponed. The
// machine has no gas: GetExecutionInfo reports MaxGas 0.
//
// # State root and proofs
//
// The state root is the RFC 6962 Merkle root (package merkle) over the
// state's entries sorted by key, each entry's leaf being Leaf(key, value):
// the key's length in 2 bytes, the key, the value. The length prefix
// makes the encoding injective (Leaf's doc), so one leaf never stands for
// two entries; the empty state's root is EmptyRoot, SHA256("").
//
// Query answers with the value and its inclusion proof, or, for a missing
// key, the proofs of the two entries around it, adjacent in the tree
// (one of them when the key would be first or last, none for an empty
// state). Verify is what a light client runs on an answer against a
// state root it trusts.
//
// The database keeps each entry's leaf hash beside its value, and the
// executor keeps the tree of its head in memory (statemachine: about 80
// bytes per entry plus the key), built from the leaf hashes once after a
// start. A block re-hashes the tree's nodes over the entries it updates,
// O(log n) each, and over the entries a new or deleted key shifts, the
// part of the tree right of it; a query proves from the tree in O(log n).
// Indicative figures on a shared 2-core VM at 100,000 entries: a block of
// 100 updates about 2 ms, of 50 updates and 50 new keys spread over the
// key range about 30 ms (BenchmarkBlockOf100; 150 ms each when every
// block re-hashed the whole tree), a query about 0.1 ms (BenchmarkQuery;
// 110 ms before).
package kv
