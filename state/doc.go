// Package state signs transactions with a keyring key and submits them to a
// core node's CometBFT RPC: transfers and PayForBlobs, with the signer's
// nonce tracked across concurrent submissions, and balance queries. It is
// the state.* JSON-RPC module and blob.Submit's submitter; its types have
// the JSON shapes of celestia-node's state package.
//
// A Client (New, then Start) selects the signing key per transaction
// (TxConfig.KeyName, else TxConfig.SignerAddress, else Options.DefaultKey),
// signs with the chain ID and params it queries once, broadcasts it and
// polls the node until a block includes the transaction: through the core
// node's binary routes (core/meshrpc: the raw transaction as the body, an
// inclusion status without the transaction's bytes) when it serves them,
// else with CometBFT's broadcast_tx_sync and /tx. Per key, signing and broadcasting are serialized and the
// next nonce is kept locally, so that concurrent submissions pipeline: each
// waits for its own inclusion without holding the key. A nonce the chain
// rejects (a transaction signed elsewhere, one dropped from the mempool) is
// corrected from the application's log or the /account query, and the
// transaction re-signed once.
//
// # KZG commitments
//
// TxConfig.KZG (the options' "kzg": true, DataMesh's own field) makes
// SubmitPayForBlob sign into the PayForBlobs, for every blob, the EIP-4844
// KZG commitment and blob proof of each chunk of its data (package kzg:
// the data alone, cut into tx.KZGChunkSize-byte chunks, each laid out as an
// EIP-4844 blob with the OP Stack codec). The message's shape (one
// commitment and proof per chunk) is set first, so that the fee
// (tx.GasUsed: gas_per_kzg_chunk per chunk) and the size are known; then
// the client refuses a chain whose params accept no KZG (gas_per_kzg_chunk
// 0: ErrUnsupported) and a transaction over tx.MaxTxSize (ErrTxTooLarge,
// saying how many chunks fit), and only then computes the commitments and
// proofs (kzg.Prove), about 60 ms a chunk, outside the key's lock,
// checking the context between blobs; Options.Timeout covers it. The first
// KZG submission of a process also loads the trusted setup (a few
// seconds); a client that never asks for KZG never does. The chain
// verifies the proofs against the blobs (core/app). TxResponse.KZG returns
// what was signed (not in the JSON). A transfer with KZG is refused
// (ErrInvalidTx) rather than ignored.
//
// # Blobstream
//
// Attestation, DataCommitment, Valset, LatestAttestationNonces and
// EVMAddress read the chain's Blobstream records over abci_query (the
// /blobstream/ paths of core/tx, answered by core/app), typed as core/tx's
// Attestation, BlobstreamNonces and EVMAddressInfo; a record the chain does
// not hold is ErrNotAttested. They check the answer's shape only: the api
// package's blobstream module verifies signatures before serving them.
// RegisterEVMAddress submits a validator's tx.MsgRegisterEVMAddress as
// Transfer submits a transfer.
//
// # Staking
//
// On a proof-of-stake chain (genesis "consensus": "pos"), Delegate,
// Undelegate, BeginRedelegate, CancelUnbondingDelegation, CreateValidator,
// EditValidator, WithdrawDelegatorReward, WithdrawValidatorCommission and
// Unjail submit core/tx's staking messages as Transfer submits a transfer,
// signed by the selected key (the delegator or the operator).
// Validators, Validator, Delegation, Delegations, Unbonding, Redelegations
// and DelegationRewards read the /staking/ and /distribution/ paths over
// abci_query, typed as core/tx's Query*Response (the Cosmos SDK shapes
// celestia-node returns); QueryDelegation, QueryUnbonding,
// QueryRedelegations and QueryDelegationRewards are celestia-node's
// methods, for the default key. Nothing the chain does not hold is
// ErrNotFound. On a proof-of-authority chain, read from the genesis once,
// every one of them fails with ErrProofOfAuthority before anything is
// signed or asked. Options.NoDefaultKey makes a client for the queries
// that name their accounts (mesh-node query).
//
// The keys live in the subpackage keyring, a directory of unencrypted
// secp256k1 keys for devnets.
package state
