// Package validator runs a core node: an in-process CometBFT validator
// with the DataMesh application (core/app), from a home directory. It is
// the one implementation behind mesh-node core init, core start and the
// devnet's core node, and behind the test validators of core/coretest.
//
// Init writes a one-validator home (config.toml, node and validator keys,
// the blobstream key, genesis, a funded dev key); LoadConfig reads its
// config.toml; Start opens the application's Badger state and CometBFT's
// databases and runs the node, the application signing Blobstream
// attestations with the home's blobstream key (BlobstreamKeyFile, if the
// home has one); Stop stops it, then closes every database exactly once.
// Init with InitOptions.Genesis makes a home that joins an existing
// network instead: that genesis, checked by ParseGenesisDoc, and the
// network's nodes as persistent peers (CheckPeer). Testnet writes the
// homes of an N-validator network, sharing one genesis, each with the
// others as peers and ports of its own, into a temporary directory
// renamed into place at the end. Both write a proof-of-authority genesis
// unless their StakeOptions ask for proof of stake: each validator's dev
// key then bonds an equal self-bond under NetworkStakingParams (a minute
// of unbonding) or the params given.
// The pieces Init is made of, GenerateKeys, GenerateBlobstreamKey and
// GenesisDoc (which enables CometBFT's vote extensions from height 1),
// serve homes built another way, such as the multi-validator ones of
// tests.
//
// The node's RPC listener (rpc.laddr) is opened by Start rather than by
// CometBFT, the way CometBFT v0.38's node does it, so that it also serves
// package meshrpc's binary routes under /mesh/v1/ (rpc.go).
//
// CometBFT's databases are opened through a provider that records them:
// Node.OnStop closes only some of them and a node that failed to start
// none, so Start (on an error) and Stop close the rest. Each is guarded
// against use after Close, which turns into "not found" and dropped
// writes: CometBFT's reactor and peer goroutines can touch the block store
// for a moment after the node closed it, and its block store panics on
// the read error goleveldb then returns. Tests with several validators
// met that panic on shutdown; a production node with peers runs the same
// code, so the guard is here, not in the test helpers.
//
// The transaction index ("tx_index", CometBFT's kv indexer) stores each
// transaction's entry without the transaction (txindex.go): CometBFT would
// store every blob transaction there again beside the block store. The
// RPC's /tx and /tx_search read the transaction from the block store
// instead (txroutes.go), so their answers are CometBFT's; meshrpc's tx
// route never returned it. This is not configurable.
package validator
