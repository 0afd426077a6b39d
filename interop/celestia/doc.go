// Package celestia is mesh-node's interoperability suite against
// celestia-node v0.32.1: its tests start a devnet from this checkout (the
// mesh-node binary, in its own process), drive every JSON-RPC method of the
// header, share, blob, das, node, p2p and state modules through
// celestia-node's own Go client (api/rpc/client) over HTTP and WebSocket,
// and check every answer with Celestia's code: rsmt2d and celestia-app's
// da package for squares and roots, shwap's verifiers for samples, rows and
// namespace data, CommitmentProof.Verify and GetRangeResult.Verify for the
// proofs to the data root.
//
// It is a module of its own so that mesh-node never links celestia-node.
// Run it with `make interop` from the repository root (it needs
// GONOSUMDB=github.com/celestiaorg, GOFLAGS=-mod=mod and
// -tags untested_go_version; see the Makefile).
package celestia
