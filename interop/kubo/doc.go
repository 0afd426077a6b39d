// Package kubo is mesh-node's interoperability suite against a stock kubo
// (IPFS) v0.43.1: it checks that what mesh-node's dataset package builds
// is what kubo builds and exports, and that kubo fetches what
// dataset/serve serves. It is a module of its own so that
// mesh-node never links kubo; its go.mod replaces mesh-node with this
// checkout (../..). kubo itself is not linked either: the suite builds the
// stock `ipfs` binary from kubo's module (a throwaway module requiring
// github.com/ipfs/kubo v0.43.1 with go-libp2p bumped to v0.51.0, built
// with -tags untested_go_version) and runs it offline, each test with its
// own repository (`ipfs init --profile test`, then `ipfs config profile
// apply unixfs-v1-2025`).
//
// TestImportMatchesKubo (kubo_test.go), for a file of 0 B, 1 B, 1 MiB,
// 1 MiB + 1 B and 5 MiB, a small directory tree (files, a hidden file, an
// empty file, two files with the same bytes, a subdirectory, an empty
// directory and a symbolic link) and a directory of 4,000 files (a HAMT):
//
//   - dataset.Import's root CID equals the CID `ipfs add -Q` prints (with
//     -r --hidden for a directory: every entry, no wrapping directory);
//   - `ipfs dag export ROOT` equals dataset.CARHeader(ROOT) followed by the
//     sections of the parts dataset.Pack makes at the devnet's
//     max_blob_size (2 MiB), each of which dataset.DecodePart accepts.
//
// TestKuboFetchesOverBitswap and TestKuboFindsThroughDelegatedRouter
// (serve_test.go) check dataset/serve against a running kubo daemon: a
// dataset imported into an in-memory blockstore is served by
// serve.Bitswap on a loopback libp2p host, with serve's gateway and router
// on a loopback HTTP listener.
//
//   - With Routing.Type none, after `ipfs swarm connect` to the host, `ipfs
//     cat ROOT` is the file byte for byte, and kubo's `ipfs dag export
//     ROOT` equals the gateway's /ipfs/ROOT?format=car.
//   - With Routing.Type delegated pointed at the router's URL (and
//     Provide.Enabled false, which kubo requires with delegated routing),
//     kubo, connected to no peer, finds the host through
//     /routing/v1/providers/ROOT and `ipfs cat ROOT` is the file.
//
// TestDevnetDataset (devnet_test.go) does the same against a running node:
// it starts `mesh-node devnet` from this checkout (internal/devnetproc),
// puts a 20 MiB file with `mesh-node dataset put` through the light node,
// waits until the full node's gateway serves the root's CAR equal to the
// export computed from the file, and has a kubo with no routing (after
// `ipfs swarm connect` to the full node) and a kubo whose only router is
// the full node's delegated routing endpoint each `ipfs cat` the file
// (sha256 equal); the first kubo's `ipfs dag export` equals the gateway's
// CAR. -short skips it.
//
// The binary is built once and cached in the user cache directory
// (os.UserCacheDir()/mesh-node/kubo-v0.43.1/ipfs, ~/.cache on Linux);
// KUBO_BIN names another binary to use instead. The first build takes a
// few minutes on 2 cores. Run the suite with `make interop-kubo` from the
// repository root.
package kubo
