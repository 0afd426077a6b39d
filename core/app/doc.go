// Package app is the DataMesh ABCI++ application that CometBFT (v0.38) runs
// on validators: accounts with secp256k1 keys, transfers, PayForBlobs, a
// proof-of-authority validator set, and the data root transaction that
// commits each block's data square (see docs/architecture.md, "Committing the data root on vanilla
// CometBFT").
//
// # Layers
//
// The protocol logic is pure and synchronous; App is a thin ABCI layer over
// it:
//
//   - Execute(delta, txBytes) validates one transaction against a State view
//     (a Delta over the committed State) and applies it; CheckTx,
//     PrepareProposal, ProcessProposal and FinalizeBlock all use it, so they
//     agree on validity. It checks the shape and gas of a PayForBlobs' KZG
//     commitments but not their proofs (see "KZG commitments" below).
//   - PrepareTxs(state, mempoolTxs, maxTxBytes) builds a proposal: it keeps
//     the transactions that execute in order, whose KZG proofs verify and
//     that fit maxTxBytes, lays them out with share.Build within
//     tx.Params.MaxSquareSize, re-executes them in square order (bare
//     transactions first, then BlobTxs) dropping any that no longer apply,
//     extends the square (eds.Extend, eds.NewDAH) and appends
//     header.DataRootTx{SquareSize, DataRoot: dah.Hash()} last.
//   - ProcessTxs(state, proposalTxs) accepts a proposal only if its last
//     transaction is a valid data root transaction, no other one looks like
//     one, all others execute in order, share.Construct lays them out, the
//     square width and data root equal the data root transaction's, and the
//     KZG proofs of all its PayForBlobs verify, in one batch.
//   - State is the committed state in memory; Store persists it in Badger.
//   - Genesis is CometBFT's app_state; its params are a tx.Params.
//
// # Transactions and fees
//
// The transaction formats, addresses, signing, gas (tx.GasUsed over
// tx.Params), the account query's answer and the rejection errors and ABCI
// codes are package core/tx's, which clients import without this package.
// Execute applies what tx only describes: the signer's account must hold fee
// plus any amount sent (fee = gas × gas_price, taken from the signer and
// burned) and its nonce must equal the transaction's; a MsgPayForBlobs must
// travel in a share.BlobTx whose blobs match it (checkBlobs); a
// MsgUpdateValidator must be signed by the genesis authority and may not
// remove an unknown validator or the last one. Bytes that start with the
// data root transaction's magic are never a transaction. CometBFT's mempool
// max_tx_bytes (1 MiB by default) bounds the whole BlobTx as well, so a node
// that accepts blobs near max_blob_size must raise it. A transaction that
// fails in FinalizeBlock (possible only in a block ProcessProposal did not
// check) changes nothing, not even the fee; its result carries the error
// code (tx.Code). The Query method answers tx.AccountQueryPath with a
// tx.AccountInfo.
//
// # KZG commitments
//
// A PayForBlobs may carry, per blob, the EIP-4844 KZG commitments of its
// chunks and their blob proofs (tx.BlobKZG), signed with the message. A
// chain whose params leave gas_per_kzg_chunk at 0 refuses them
// (tx.ErrInvalidKZG, in Execute); otherwise Execute checks one commitment
// and one proof per chunk (tx.MsgPayForBlobs.ValidateBasic) and charges
// gas_per_kzg_chunk for each. The proofs themselves are checked against the
// blob bytes the BlobTx carries, each chunk encoded as the kzg package does
// (kzg.Chunks), with kzg.VerifyBlobProofBatch; validators never compute a
// commitment. The check is kept out of Execute, since a pairing costs about
// a millisecond a chunk and batches well (kzg.go collects the chunks of
// decoded transactions):
//
//   - CheckTx verifies a new transaction's proofs in one batch, after every
//     other check passed against the mempool's view, without holding the
//     application's lock (see App.CheckTx); a failure is CodeInvalidKZG. A
//     recheck after Commit does not verify again: the result depends only on
//     the transaction's bytes and the genesis params.
//   - ProcessTxs verifies every chunk of the proposal in one batch; when the
//     batch fails it verifies each transaction alone, and the error
//     (ErrInvalidProposal wrapping tx.ErrInvalidKZG) names the first that
//     fails. A wrong proof, a commitment to other bytes, or a missing or
//     extra commitment (found by Execute) rejects the proposal.
//   - PrepareTxs verifies its candidates in one batch too and drops those
//     that fail, although CheckTx verified each: it cannot know where its
//     transactions came from, and one bad proof would cost the whole
//     proposal.
//   - FinalizeBlock does not verify: the block it executes was accepted by
//     ProcessProposal of validators holding more than two thirds of the
//     power.
//
// Blocks without KZG commitments are unchanged: their transactions encode,
// and their squares and data roots are, exactly as before.
//
// # Genesis
//
// CometBFT's genesis app_state is a Genesis in JSON (unknown fields are
// errors):
//
//	{"chain_id": "...", "authority": "mesh1...", "validators": [{"pub_key": "<base64 ed25519>", "power": 10}],
//	 "accounts": [{"address": "mesh1...", "balance": 1000}],
//	 "params": {"max_square_size": 128, "fixed_gas": 65000, "gas_per_blob_byte": 8, "min_gas_price": 1, "max_blob_size": 2097152,
//	            "gas_per_kzg_chunk": 200000}}
//
// gas_per_kzg_chunk may be absent (0: the chain accepts no KZG
// commitments), so a genesis written before it existed keeps its bytes and
// app hash. chain_id must equal CometBFT's. When CometBFT's genesis lists
// validators they are the set (validators here must then be absent or the
// same); otherwise these are returned from InitChain.
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
