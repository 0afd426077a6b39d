// Package app is the DataMesh ABCI++ application that CometBFT (v0.38) runs
// on validators: accounts with secp256k1 keys, transfers, PayForBlobs, a
// proof-of-authority validator set, and the data root transaction that
// commits each block's data square (see the architecture document, DESIGN.md,
// "Committing the data root on vanilla CometBFT").
//
// # Layers
//
// The protocol logic is pure and synchronous; App is a thin ABCI layer over
// it:
//
//   - Execute(delta, txBytes) validates one transaction against a State view
//     (a Delta over the committed State) and applies it; CheckTx,
//     PrepareProposal, ProcessProposal and FinalizeBlock all use it, so they
//     agree on validity.
//   - PrepareTxs(state, mempoolTxs, maxTxBytes) builds a proposal: it keeps
//     the transactions that execute in order and fit maxTxBytes, lays them
//     out with share.Build within Params.MaxSquareSize, re-executes them in
//     square order (bare transactions first, then BlobTxs) dropping any that
//     no longer apply, extends the square (eds.Extend, eds.NewDAH) and
//     appends header.DataRootTx{SquareSize, DataRoot: dah.Hash()} last.
//   - ProcessTxs(state, proposalTxs) accepts a proposal only if its last
//     transaction is a valid data root transaction, no other one looks like
//     one, all others execute in order, share.Construct lays them out, and
//     the square width and data root equal the data root transaction's.
//   - State is the committed state in memory; Store persists it in Badger.
//
// # Transactions
//
// A transaction is protobuf (encoded with protowire), canonical: fields in
// field-number order, singular fields at most once, zero scalars and empty
// bytes omitted, minimal varints, no unknown fields. UnmarshalTx re-encodes
// what it decoded and rejects any input that differs, so every transaction
// has exactly one encoding.
//
//	Tx                 { 1: body (Body), 2: pub_key (33-byte compressed secp256k1), 3: signature (64 bytes, R||S, low S) }
//	Body               { 1: chain_id, 2: nonce, 3: fee (Fee, always present), one of 4: send | 5: update_validator | 6: pay_for_blobs }
//	Fee                { 1: gas_limit, 2: gas_price }
//	MsgSend            { 1: from (20 bytes), 2: to (20 bytes), 3: amount }
//	MsgUpdateValidator { 1: pub_key (32-byte ed25519), 2: power (0 removes) }
//	MsgPayForBlobs     { 1: signer (20 bytes), 2: namespaces (repeated, 29 bytes), 3: blob_sizes (packed),
//	                     4: share_commitments (repeated, 32 bytes), 5: share_versions (packed) }
//
// The signature is secp256k1 (CometBFT's crypto/secp256k1: ECDSA over
// SHA-256) of the encoded Body, which carries the chain ID and the nonce,
// the signer account's sequence. An address is RIPEMD-160(SHA-256(pub_key)),
// 20 bytes, written in bech32 with prefix "mesh" (BIP-173, bech32.go).
// Limits: MaxTxSize for the encoded Tx, MaxChainIDSize, MaxBlobsPerPFB.
//
// A MsgPayForBlobs travels in a share.BlobTx envelope (share.MarshalBlobTx)
// with its blobs; the entries of the message must match the blobs one for
// one (namespace, size, share version, signer for share version 1, and the
// share commitment), every blob at most Params.MaxBlobSize bytes. CometBFT's
// mempool max_tx_bytes (1 MiB by default) bounds the whole BlobTx as well,
// so a node that accepts blobs near max_blob_size must raise it. Only a
// MsgPayForBlobs may travel in a BlobTx and it may travel in nothing else.
// Bytes that start with the data root transaction's magic are never a
// transaction. A MsgUpdateValidator must be signed by the genesis authority;
// it may not remove an unknown validator or the last one.
//
// # Fees
//
// gas = Params.FixedGas, plus Params.GasPerBlobByte per byte of blob data
// (the sum of blob_sizes) for a PayForBlobs. The transaction's gas_limit
// must cover it and its gas_price be at least Params.MinGasPrice; the fee
// charged is gas × gas_price, taken from the signer (who must hold fee plus
// any amount sent) and burned. A transaction that fails in FinalizeBlock
// (possible only in a block ProcessProposal did not check) changes nothing,
// not even the fee; its result carries the error code. Rejections carry an ABCI code (Code) and the
// reason in the log: "incorrect account sequence", "insufficient funds",
// "blob: over size limit", an invalid or reserved namespace, commitments
// that do not match the blobs, a bad signature, and so on (errors.go).
//
// # Genesis
//
// CometBFT's genesis app_state is a Genesis in JSON (unknown fields are
// errors):
//
//	{"chain_id": "...", "authority": "mesh1...", "validators": [{"pub_key": "<base64 ed25519>", "power": 10}],
//	 "accounts": [{"address": "mesh1...", "balance": 1000}],
//	 "params": {"max_square_size": 128, "fixed_gas": 65000, "gas_per_blob_byte": 8, "min_gas_price": 1, "max_blob_size": 2097152}}
//
// chain_id must equal CometBFT's. When CometBFT's genesis lists validators
// they are the set (validators here must then be absent or the same);
// otherwise these are returned from InitChain.
//
// # State, app hash and restarts
//
// The state is the configuration (chain ID, authority, params), the accounts
// {balance, nonce, pub_key} and the validator powers. It is held in memory
// and stored in one Badger database under "s/" with keys
//
//	"c"                 configuration, JSON
//	"a/" + address      account, protobuf {1: balance, 2: nonce, 3: pub_key}
//	"v/" + ed25519 key  validator power, uvarint
//
// beside "m/height" (last committed block, 8 bytes big-endian) and
// "m/apphash". The app hash is the RFC 6962 Merkle root
// (merkle.HashFromByteSlices) of the entries in key order, each leaf
// uvarint(len(key)) || key || value, recomputed over the whole state every
// block (O(n log n); fine for a devnet's accounts, an incremental tree is
// future work). FinalizeBlock computes the next state and its hash in
// memory; Commit writes the block's changes, height and app hash in one
// Badger transaction. Info reports that height and hash, so after a crash
// CometBFT's handshake replays exactly the blocks the application has not
// committed. InitChain saves the genesis state at height 0.
package app
