// Package ethereum is mesh-node's interoperability suite against
// go-ethereum v1.17.10: it checks that what mesh-node's kzg package makes
// for a blob — the EIP-4844 blob of the codec, its KZG commitment and
// versioned hash, openings at a point z — is what Ethereum accepts, by
// running go-ethereum's own code on it — and that its Blobstream
// attestations and proofs are what Celestia's Solidity contracts accept, run
// in go-ethereum's EVM. It is a module of its own so that
// mesh-node never links go-ethereum; its go.mod replaces mesh-node with
// this checkout (../..).
//
// The precompile package runs go-ethereum's point-evaluation precompile
// (address 0x0a, core/vm) as mainnet executes it under Osaka rules. The
// tests here (precompile_test.go), with no devnet:
//
//   - encode random data with kzg.EncodeChunk, commit with
//     kzg.BlobToCommitment and check that go-ethereum's crypto/kzg4844
//     computes the same commitment and versioned hash for the same blob;
//   - open the blob at random points z with kzg.ComputeProof (checked
//     against kzg4844.ComputeProof), build the 192-byte precompile input
//     versioned_hash ‖ z ‖ y ‖ commitment ‖ proof, and check that the
//     precompile accepts it and returns FIELD_ELEMENTS_PER_BLOB ‖
//     BLS_MODULUS (32-byte big-endian each);
//   - flip one byte in each of the five parts of the input, one at a time,
//     and check that the precompile refuses each, for the reason expected
//     (a flipped commitment also with its versioned hash recomputed, so
//     the KZG check itself refuses it).
//
// They run once on kzg4844's Go backend (go-eth-kzg, the library mesh-node
// wraps, with go-ethereum's copy of the trusted setup) and, when built with
// -tags ckzg (cgo), once more on its C backend (c-kzg-4844 over blst), an
// implementation independent of mesh-node's.
//
// TestDevnetKZG (devnet_test.go) is issue 15's devnet test: it starts
// `mesh-node devnet` built from this checkout (internal/devnetproc),
// submits blobs of 1 B, 130,044 B, 130,045 B and 1 MiB with {"kzg": true}
// through the light node's blob.Submit, and checks over plain JSON-RPC,
// decoding the hex fields with go-ethereum's hexutil, that on the light
// node
//
//   - blob.GetKZG gives, for every chunk, the commitment go-eth-kzg
//     computes for the codec's output (the bridge answers the same), the
//     versioned hash go-ethereum computes and a blob proof kzg4844 accepts;
//   - blob.OpenKZG at random points gives a precompile_input made of the
//     opening's fields that go-ethereum's point-evaluation precompile
//     accepts, and refuses with one byte of any part flipped;
//   - blob.GetKZGCells gives cells and proofs that go-eth-kzg's
//     VerifyCellKZGProofBatch accepts (and refuses with a flipped byte),
//     the cells of the blob's half being its encoded bytes.
//
// TestDevnetBlobstreamContracts (blobstream_test.go) is issue 18's check
// against Celestia's own Solidity: testdata/blobstream holds Blobstream,
// OpenZeppelin's ERC1967Proxy and SharesProofChecker (our wrapper of
// DAVerifier.verifySharesToDataRootTupleRoot) compiled from
// celestiaorg/blobstream-contracts (its README names the files, commits,
// compiler and flags; build.sh rebuilds them from a clone). It starts a
// devnet, submits two blobs through the light node, waits for the data
// commitment covering their height to be attested, and on go-ethereum's
// simulated backend (ethclient/simulated)
//
//   - deploys Blobstream behind the proxy, initialised with the checkpoint
//     of blobstream.GetValset(1), computed with go-ethereum's ABI encoder;
//   - replays every attestation from nonce 2 to that one through
//     updateValidatorSet / submitDataRootTupleRoot with the node's
//     signatures, which the contract must accept, after checking that one
//     flipped byte of a signature or of the tuple root makes it revert;
//   - checks that verifyAttestation and verifySharesToDataRootTupleRoot
//     accept the light node's blobstream.GetSharesProof of each blob,
//     converted to the contracts' ABI structs, and that one flipped byte of
//     a share, a row root or the tuple's data root makes DAVerifier refuse
//     with the expected error code.
//
// The devnet has one validator, so its valsets have one member (nodebuilder's
// TestBlobstreamSharesProofThroughLight covers four, in Go).
//
// Run the suite with `make interop-eth` from the repository root (see the
// Makefile); -short skips the devnet test. The first run downloads
// go-ethereum's dependencies and compiles c-kzg-4844 and blst.
package ethereum
