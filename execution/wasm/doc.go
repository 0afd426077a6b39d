// Package wasm is the WebAssembly contract VM of the WASM rollup executor:
// it validates a module at deployment, rewrites it so that it meters its own
// gas, and runs its methods on wazero with storage, caller and input given
// through host functions.
//
// Deployment (VM.Deploy, or Validate and Instrument alone) accepts only
// deterministic modules: WebAssembly 1.0 integer instructions and the
// sign-extension operators, decoded against an allow-list (no floating
// point, SIMD, threads, bulk memory or anything else), imports only of the
// host functions of HostModule with their exact signatures, no start
// function, at most MaxMemoryPages of memory and the other limits of
// limits.go. Instrument adds a gas counter (a mutable i64 global exported as
// GasExport) and charges each basic block's static cost when the block is
// entered; memory.grow is charged per page. Gas therefore depends on the
// module and the input only, never on wazero's engine.
//
// A call (VM.Call) instantiates the contract afresh, sets the counter to the
// gas limit, runs an exported method of type () -> () and applies its
// storage writes to the Storage only when it succeeds. The executor owns
// the Storage (one per contract: see Prefixed), stores Contract.Code, and
// decides which method runs at deployment ("init" by convention).
//
// Executor (NewExecutor) runs the VM as an ev-node execution.Executor over
// package statemachine: signed deploy and call transactions (Tx), contract
// addresses (ContractAddress), deployment gas, view calls (ViewCall) and
// storage proofs (ProveStorage, VerifyStorage).
//
// docs/rollups.md ("WASM contracts") documents the ABI, the host functions,
// the gas rule and costs, and how to build a contract; testdata holds the
// example counter and token contracts with their WAT sources, which
// Examples embeds. NonceKey and StorageKey are the state's keys of a
// sender's nonce and a contract's storage.
package wasm
