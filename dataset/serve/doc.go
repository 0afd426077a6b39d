// Package serve serves a node's dataset blocks to IPFS (issue 16, item 3),
// from any boxo blockstore the caller gives (a read-only blockstore over
// the squares in a node), used only through Has, Get and GetSize:
//
//   - Bitswap: a bitswap server on a libp2p host, under the standard
//     protocol IDs (BitswapProtocols: /ipfs/bitswap/1.2.0 and older, not
//     prefixed), so stock IPFS peers fetch blocks by CID. It only serves:
//     it never asks peers for blocks nor searches for providers.
//   - NewGateway: the IPFS trustless gateway (/ipfs/<cid> with
//     ?format=raw, ?format=car, dag-scope, entity-bytes), over the
//     blockstore alone through an offline exchange, so an unknown CID is
//     a fast 404.
//   - NewRouter: the delegated routing endpoint
//     (/routing/v1/providers/{cid}, IPIP-337), naming this node, with
//     protocol transport-bitswap, as the provider of every CID the
//     blockstore holds, so a kubo with Routing.Type=delegated finds it
//     without a DHT in common.
//   - HTTP: one listener (DefaultHTTPAddr, 127.0.0.1:26661) for the gateway
//     and the router, told apart by path.
//
// Each piece takes an explicit settings struct (Default...Settings,
// Validate); nothing here changes boxo's process-wide defaults, and the
// gateway and router register their metrics in the registry given (a
// private one if none). Constructors do no I/O; Bitswap and HTTP have
// idempotent Start and Stop, and Stop returns once the goroutines Start
// began have exited. A block larger than the settings' MaxBlockSize
// (default 2 MiB, bitswap's limit) is treated by every server as not held.
//
// The blockstore is trusted to return the block its CID names: in a node
// the index checks every block's hash when it records a part.
package serve
