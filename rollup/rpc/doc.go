// Package rpc is the rollup node's own JSON-RPC: API holds the methods
// (namespace "rollup") over a node's rollup.Store, its executor's
// mempool and a query function, and Server serves them as JSON-RPC 2.0
// over HTTP POST, with a request size limit, a batch limit and error
// codes (CodeInvalidParams for bad input, CodeNotFound for a block or
// state the node does not have).
//
//   - rollup_submitTx(tx hex) → the transaction's hash, SHA-256 of its
//     bytes (TxHash).
//   - rollup_txStatus(hash hex) → TxStatus: pending (in the executor's
//     mempool), soft (in a block of this node not yet on DataMesh: the
//     sequencer's soft confirmation, with the block height), included
//     (its block is on DataMesh at da_height) or unknown.
//   - rollup_status() → Status: role, head, DataMesh height, last error
//     and a halted follower's evidence.
//   - rollup_getBlock(height) → BlockInfo: the header, transactions and
//     DataMesh height of a stored block.
//   - rollup_query(query hex[, height]) → QueryResult: the executor's
//     answer with its proof against the state root of the chain's block
//     at height. The executors keep only their latest state, so the
//     height, when given, must be the latest.
//
// Transaction statuses read a transaction index the API keeps in the
// node's Badger database under "rollup-rpc/": each call first indexes
// the blocks stored since the last, so the index needs no goroutine and
// survives restarts.
//
// API's methods have the shape go-ethereum's rpc server registers, so an
// EVM node serves them beside eth_* (execution/evm/ethrpc's
// RegisterName) without this package importing go-ethereum; their
// errors carry Code's JSON-RPC code in an ErrorCode method, which that
// server answers with, so bad input is -32602 there too.
package rpc
