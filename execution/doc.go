// Package execution is the home of DataMesh's executors: the state
// machines a rollup runs over the transactions it posts to DataMesh as
// blobs. DataMesh orders and publishes those transactions; an executor
// turns them into state and a state root, and every rollup node runs the
// same executor over the same published blocks to reach the same root.
//
// Every executor here implements ev-node's execution.Executor
// (github.com/evstack/ev-node/core/execution, pinned at v1.1.0, a module
// with no dependencies) unchanged: InitChain, GetTxs, ExecuteTxs,
// SetFinal, GetExecutionInfo and FilterTxs. An executor written for
// ev-node runs on a DataMesh rollup node, and ours run under ev-node.
// This package declares no interface of its own.
//
// # Determinism
//
// An executor is a function of its genesis (InitChain's genesis time,
// initial height and chain ID) and the ordered blocks it is given
// (ExecuteTxs's transactions, height and time): two executors fed the
// same calls return the same state roots, byte for byte, whatever the
// machine, the clock, the map iteration order or the configuration of
// the database underneath. Concretely, ExecuteTxs:
//
//   - reads no clock, randomness, environment or network; the block time
//     is the only time it sees;
//   - never fails because of what a transaction contains: a malformed or
//     invalid transaction inside a block is skipped and recorded as
//     failed, and the block goes on (ev-node: "must handle gracefully
//     gibberish transactions");
//   - applies each block atomically: a crash leaves the state of the
//     previous block or of this one, never half of it;
//   - refuses a block whose previous state root or height does not follow
//     its own state, and executes a block it already executed only to
//     return the same root (or refuses it if its content differs).
//
// Limits that decide which transactions a block can hold (sizes, counts,
// gas) are constants of the executor, never node settings, since two
// nodes with different settings would diverge.
//
// # Executors
//
// Package statemachine (execution/statemachine) is their shared base: the
// Badger state with its Merkle root and proofs, the block bookkeeping and
// the mempool, around a Machine that says what a transaction does.
//
// Package kv (execution/kv) is the key-value machine: JSON set and delete
// transactions, state in Badger, a state root over the sorted entries and
// queries answered with inclusion or absence proofs against it.
//
// Package wasm (execution/wasm) runs WebAssembly contracts: signed deploy
// and call transactions, metered gas, view calls and storage proofs.
//
// Package evm (execution/evm) is the Ethereum virtual machine on
// go-ethereum's core/vm and core/state over Badger, with signed legacy
// and EIP-1559 transactions, receipts and logs; execution/evm/ethrpc
// serves the Ethereum JSON-RPC that wallets and ethclient use. It is the
// only package of the module that imports go-ethereum.
//
// MoveVM and zkVM executors are not offered: neither has an
// implementation in pure Go that a node could link. The Executor
// interface carries nothing specific to a VM (transactions are opaque
// bytes, the state root an opaque hash), so either can be added as
// another implementation of it when one exists.
package execution
