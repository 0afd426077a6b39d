// Package node wires a rollup node from its parts: a home directory
// (genesis, sequencer key, Badger database), an executor, a DataMesh
// node's API (rollup/meshapi), a sequencer or follower (package rollup)
// and the rollup's JSON-RPC (rollup/rpc, plus the Ethereum JSON-RPC of an
// EVM node). `mesh-node rollup run` and the rollups `mesh-node rollup new`
// scaffolds both run nodes through it.
//
// Init writes a home's genesis (and keys) without running; Run runs the
// node until its context ends. Config.Open chooses the executor: nil is
// OpenBuiltin, the kv, wasm and evm executors of execution/.
package node
