// Package tx holds what a client of the DataMesh chain needs to build, sign
// and understand transactions, without the chain application (core/app) or
// its store: account addresses, the transaction wire format and its
// signing, the chain parameters that set gas, fees and the blob size limit,
// the answer of the account query, and the errors and ABCI codes the
// application rejects transactions with. It imports share and CometBFT's
// secp256k1 keys, nothing of ABCI or Badger, so a light node or any Go
// program can sign a PayForBlobs with it.
//
// # Addresses
//
// An address is RIPEMD-160(SHA-256(pub_key)) of a 33-byte compressed
// secp256k1 key, 20 bytes (AddressFromPubKey), written in bech32 with
// prefix "mesh" (BIP-173, bech32.go; ParseAddress, Address.String).
//
// # Transactions
//
// A transaction is protobuf (encoded with protowire, wire.go), canonical:
// fields in field-number order, singular fields at most once, zero scalars
// and empty bytes omitted, minimal varints, no unknown fields. UnmarshalTx
// re-encodes what it decoded and rejects any input that differs, so every
// transaction has exactly one encoding.
//
//	Tx                 { 1: body (Body), 2: pub_key (33-byte compressed secp256k1), 3: signature (64 bytes, R||S, low S) }
//	Body               { 1: chain_id, 2: nonce, 3: fee (Fee, always present),
//	                     one of 4: send | 5: update_validator | 6: pay_for_blobs | 7: register_evm_address
//	                     | 8: create_validator | 9: edit_validator | 10: delegate | 11: undelegate
//	                     | 12: begin_redelegate | 13: withdraw_rewards | 14: unjail | 15: cancel_unbonding }
//	Fee                { 1: gas_limit, 2: gas_price }
//	MsgSend            { 1: from (20 bytes), 2: to (20 bytes), 3: amount }
//	MsgUpdateValidator { 1: pub_key (32-byte ed25519), 2: power (0 removes) }
//	MsgPayForBlobs     { 1: signer (20 bytes), 2: namespaces (repeated, 29 bytes), 3: blob_sizes (packed),
//	                     4: share_commitments (repeated, 32 bytes), 5: share_versions (packed),
//	                     6: kzg_commitments (repeated, one per blob), 7: kzg_proofs (repeated, one per blob) }
//	MsgRegisterEVMAddress { 1: validator_pub_key (32-byte ed25519), 2: evm_address (20 bytes),
//	                     3: consensus_sig (64 bytes, ed25519), 4: evm_sig (65 bytes, r||s||v) }
//	MsgCreateValidator { 1: operator (20 bytes), 2: pub_key (32-byte ed25519), 3: self_bond, 4: rate,
//	                     5: max_rate, 6: max_change_rate, 7: moniker }
//	MsgEditValidator   { 1: operator, 2: moniker (present when set, even empty), 3: rate (present when set, even 0) }
//	MsgDelegate, MsgUndelegate { 1: delegator, 2: validator (operator address), 3: amount }
//	MsgBeginRedelegate { 1: delegator, 2: src, 3: dst, 4: amount }
//	MsgWithdrawRewards { 1: delegator, 2: validator, 3: commission (1: also the operator's commission) }
//	MsgUnjail          { 1: operator }
//	MsgCancelUnbondingDelegation { 1: delegator, 2: validator, 3: amount, 4: creation_height }
//
// Commission rates are integers in units of 10^-18 (RateOne is 100%), the
// 18 decimals of core/staking's Dec.
//
// Fields 6 and 7 carry the blobs' optional EIP-4844 KZG commitments
// (BlobKZG): entry i of each is blob i's commitments (respectively blob
// proofs), 48 bytes each, concatenated, one per KZGChunkSize-byte chunk of
// the blob (KZGChunkCount), or empty for a blob without. A message with no
// KZG has neither field, so it encodes exactly as before the fields
// existed; one with KZG has an entry for every blob, empty ones included.
//
// SignTx signs a Body with a secp256k1 key (CometBFT's crypto/secp256k1:
// ECDSA over SHA-256 of the encoded Body, which carries the chain ID and the
// nonce, the signer account's sequence) and returns the encoded Tx.
// Tx.ValidateBasic and Tx.VerifySignature are the stateless checks.
// Limits: MaxTxSize for the encoded Tx, MaxChainIDSize, MaxBlobsPerPFB.
//
// A MsgPayForBlobs travels in a share.BlobTx envelope (share.MarshalBlobTx)
// with its blobs; the entries of the message must match the blobs one for
// one (namespace, size, share version, signer for share version 1, and the
// share commitment), every blob at most Params.MaxBlobSize bytes. Only a
// MsgPayForBlobs may travel in a BlobTx and it may travel in nothing else.
// A MsgUpdateValidator must be signed by the genesis authority. A
// MsgRegisterEVMAddress sets the EVM address a validator signs Blobstream
// attestations with; any account may send and pay for it, and it proves
// both keys: consensus_sig is the validator key's ed25519 signature of
// ConsensusSignBytes (a domain string, the chain ID, the address), evm_sig
// the EVM key's blobstream.Sign over EVMRegistrationDigest (keccak256 of the
// domain string, the chain ID, the validator key); Verify checks both, and
// ValidateBasic calls it. The staking messages (staking.go, IsStakingMsg)
// are accepted by a proof-of-stake chain only (core/app refuses them on a
// proof-of-authority one, and refuses MsgUpdateValidator on a
// proof-of-stake one); each must be signed by the account it names first
// (operator or delegator), which Tx.ValidateBasic checks, and pays
// Params.FixedGas. The staking query paths and their Cosmos-shaped answers
// are in stakingquery.go (StakingValidatorsQueryPath and the others). The chain
// verifies a PayForBlobs' KZG proofs against its blobs (core/app, batched
// over a proposal); a wrong proof or commitment is ErrInvalidKZG, as is a
// count of commitments other than one per chunk.
//
// # Fees
//
// GasUsed: gas = Params.FixedGas, plus Params.GasPerBlobByte per byte of
// blob data (the sum of blob_sizes) and Params.GasPerKZGChunk per KZG
// commitment for a PayForBlobs (a chain whose GasPerKZGChunk is 0 accepts
// no KZG commitments). The transaction's
// gas_limit must cover it and its gas_price be at least Params.MinGasPrice;
// the fee charged is gas × gas_price. Params is the "params" object of the
// chain's genesis; a client reads it from CometBFT's /genesis with
// ParseGenesisParams.
//
// # Queries and errors
//
// The application answers the ABCI query AccountQueryPath ("/account"),
// with a bech32 address as data, with an AccountInfo in JSON: the balance
// and the nonce the account's next transaction must carry. Blobstream's
// paths (AttestationQueryPath and the others, attestation.go) answer an
// Attestation, BlobstreamNonces or EVMAddressInfo in JSON, CodeNotFound
// for a record the state does not hold.
//
// A rejected transaction carries an ABCI code (Code maps an error to it)
// and the reason in the log: "incorrect account sequence", "insufficient
// funds", "blob: over size limit", an invalid or reserved namespace,
// commitments that do not match the blobs, a bad signature, and so on
// (errors.go). The sentinels are errors.Is-able; the application wraps them
// with the evidence.
package tx
