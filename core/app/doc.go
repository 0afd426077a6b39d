// Package app is the DataMesh ABCI++ application that CometBFT (v0.38) runs
// on validators: accounts with secp256k1 keys, transfers, PayForBlobs, a
// validator set by proof of authority or proof of stake (a genesis choice),
// and the data root transaction that
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
//     extends the square (eds.ODSBuffer, eds.NewDAH) and appends
//     header.DataRootTx{SquareSize, DataRoot: dah.Hash()} last.
//   - ProcessTxs(state, proposalTxs) accepts a proposal only if its last
//     transaction is a valid data root transaction, no other one looks like
//     one, all others execute in order, share.Construct lays them out, the
//     square width and data root equal the data root transaction's, and the
//     KZG proofs of all its PayForBlobs verify, in one batch.
//   - State is the committed state in memory; Store persists it in Badger.
//
// # Work done once per block
//
// A block's blobs are ~8 MiB at k = 128 and ~32 MiB at k = 256; App
// computes what depends on their bytes only once (verified.go), without
// changing any outcome:
//
//   - A BlobTx whose blobs pass checkBlobs (share commitments) and whose
//     KZG proofs verify, in CheckTx or in a proposal, is remembered by its
//     SHA-256 (CometBFT's tx hash) in an LRU of verifiedTxCacheSize hashes
//     with a lock of its own (CheckTx runs beside consensus calls). A
//     recheck, PrepareProposal and ProcessProposal skip those checks for a
//     transaction it holds; any other is checked in full. A recheck of a
//     transaction with KZG commitments that is no longer held does not
//     verify the proofs (as before) and so does not cache it.
//   - PrepareProposal remembers the proposal it returned (one, until
//     Commit) with its transactions decoded and a digest over their
//     hashes. ProcessProposal of that same proposal (same height, same
//     committed state, same digest: the proposer's own) still checks the
//     attestation and executes every transaction in order against the
//     state, but does not rebuild, extend and hash the square nor check
//     the blobs and proofs again: PrepareTxs computed them from the same
//     bytes. A proposal changed in any way takes the full path, as does
//     every proposal at a validator that did not build it.
//   - FinalizeBlock executes the transactions ProcessProposal decoded
//     when req.Txs are, byte for byte, the block it accepted (until
//     Commit); otherwise it decodes and checks them again.
//   - The square is laid out straight into the first quadrant of the
//     extended square (share.BuildInto, share.ConstructInto into an
//     eds.ODSBuffer) and extended in place, and CheckTx, PrepareTxs and
//     ProcessTxs decode a BlobTx aliasing its bytes (decodeCached): a
//     blob's bytes are copied once per square, into its shares.
//   - With WithSquareHandOff, the extended square and DAH of each
//     proposal built or accepted are kept (handoff.go: at most
//     MaxKeptSquares, of the last two committed heights, keyed by data
//     root; Commit drops the other proposals of its height) for TakeSquare,
//     which hands one over once to a bridge in the same process
//     (core.Options.Squares): the bridge then does not build the square
//     again. Without it nothing outlives the call that built it.
//
// PrepareTxs and ProcessTxs, the pure functions, use no cache.
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
//     proposal. App's PrepareProposal and ProcessProposal skip the
//     transactions whose verification CheckTx remembered (see "Work done
//     once per block").
//   - FinalizeBlock does not verify: the block it executes was accepted by
//     ProcessProposal of validators holding more than two thirds of the
//     power.
//
// Blocks without KZG commitments are unchanged: their transactions encode,
// and their squares and data roots are, exactly as before.
//
// # Blobstream attestations
//
// With params.data_commitment_window W > 0 the validators attest, for
// Blobstream contracts on other chains, the data roots of the blocks (the
// DataRoot of each block's data root transaction, never CometBFT's
// DataHash), in the formats of Celestia's contract (package blobstream).
// One nonce sequence holds both kinds of tx.Attestation (attest.go):
//
//   - Valsets: the validators with a registered EVM address (genesis
//     evm_addresses or tx.MsgRegisterEVMAddress) and their powers, ordered by
//     power descending then address, with threshold
//     blobstream.PowerThreshold of their total. Nonce 1 is the first
//     non-empty one (at genesis when it registers addresses), trusted as a
//     contract's constructor trusts it: attested without signatures. After
//     a block in which the registered set (key, address, power) changed, the
//     new set is the next nonce, signed by the valset before it over
//     blobstream.ValsetDigest.
//   - Data commitments: after block (k+1)·W, the tuple root
//     (blobstream.TupleRoot) over heights [k·W+1, (k+1)·W+1) is the next
//     nonce (after a valset made in the same block), signed by the latest
//     valset over blobstream.DataCommitmentDigest. Windows that end before
//     nonce 1 exists are skipped. The state holds the data roots of the
//     current window only.
//
// Attestations are signed strictly in nonce order: the pending one is the
// oldest unattested (State.PendingAttestation), and since it is made when
// its last block is committed, its data is final. ExtendVote at height H
// signs it (blobstream.Sign) when the node's blobstream key
// (WithBlobstreamKey) has an address in the signing valset; the extension is
// a VoteExtension, protobuf {1: nonce, 2: 65-byte signature r‖s‖v}, or
// empty. VerifyVoteExtension accepts an empty extension or the pending
// nonce signed by the address the voting validator (req.ValidatorAddress)
// has in the signing valset, and rejects anything else, so CometBFT drops a
// vote with a wrong root and the chain goes on with the others.
// PrepareProposal checks the extensions of req.LocalLastCommit again and,
// when their signers reach the signing valset's threshold, leads the
// proposal with an AttestationTx: "DMAT" ‖ version 1 ‖ 8-byte nonce ‖
// 4-byte count ‖ one 65-byte signature per member of the signing valset,
// in its order, zero for one that did not sign. It is the first
// transaction and a bare transaction of the square (the bridge and
// followers rebuild the square from the block's transactions unchanged),
// and no transaction in the mempool may start with "DMAT" (ErrReservedTx).
// ProcessTxs accepts it only first, for the pending nonce, with signatures
// that pass blobstream.VerifySignatures (as the contract checks them);
// FinalizeBlock stores the signatures and the height. Signatures that do
// not reach the threshold leave the attestation pending: the validators
// sign it again at the next heights. An attestation included at height H
// was signed in the votes for H−1, so at most one attestation is included
// every other block.
//
// The Query method answers, in JSON at the last committed height (code
// tx.CodeNotFound for nothing):
//
//	/blobstream/attestation      data: nonce (decimal)   tx.Attestation, pending or attested
//	/blobstream/data_commitment  data: height (decimal)  the data commitment covering the height
//	/blobstream/latest_nonce     no data                 tx.BlobstreamNonces {latest_nonce, latest_attested_nonce}
//	/blobstream/valset           data: nonce (decimal)   the valset with the largest nonce ≤ it
//	/blobstream/evm_address      data: hex ed25519 key or CometBFT address   tx.EVMAddressInfo
//
// A registration is refused for a key that is not a validator's
// (tx.ErrInvalidValidatorSet) and for an address another validator has
// registered (one key would sign for both). CometBFT must have vote
// extensions enabled (core/validator's GenesisDoc enables them from
// height 1); without them no attestation is ever signed.
//
// # Proof of stake
//
// A genesis with "consensus": "pos" runs core/staking (see its doc for the
// rules: active set, F1 rewards, slashing) inside the application; without
// it (or with "poa") the chain is proof of authority as before, byte for
// byte. On a proof-of-stake chain:
//
//   - The state holds a staking.State (stake.go) beside the accounts, which
//     are staking's Bank (liquid balances). Its Entries are part of the app
//     hash under "k/". A block runs on a clone of it (staking.State.Clone,
//     which shares delegations copy-on-write), and the mempool's view
//     clones it at its first staking transaction.
//   - Fees are not burned: the fees of block H's transactions are held in
//     the state ("f") and passed as Fees to staking's BeginBlock at H+1,
//     which distributes them with InflationPerBlock to the validators that
//     signed the last commit, by power, and on to their delegators after
//     commission.
//   - FinalizeBlock first runs BeginBlock with req.Time (unix seconds),
//     req.DecidedLastCommit's votes (signed unless BlockIDFlagAbsent) and
//     req.Misbehavior (duplicate votes and light client attacks alike, as
//     double signs), then the transactions, then EndBlock, whose updates are
//     ResponseFinalizeBlock.ValidatorUpdates and the app's validator set
//     (which Blobstream's valsets follow).
//   - The staking messages of core/tx (MsgCreateValidator … MsgUnjail) run
//     the staking operation after the fee is charged; if it fails, the
//     transaction changes nothing, fee included. A proof-of-authority chain
//     refuses them (tx.ErrInvalidMsg), a proof-of-stake chain refuses
//     MsgUpdateValidator (tx.ErrUnauthorized).
//   - WithInvariantChecks (tests) checks State.CheckInvariants after every
//     block: staking's bookkeeping and liquid + fees + pools + burned =
//     genesis supply + minted.
//
// The Query method answers the staking paths of core/tx in JSON, shaped as
// Cosmos SDK's responses that celestia-node's state module returns; the
// data is a tx.StakingQuery in JSON ({"delegator": "mesh1...", "validator":
// "mesh1...", "src_validator": ..., "dst_validator": ...}):
//
//	/staking/validators     no data                    tx.QueryValidatorsResponse
//	/staking/validator      validator                  tx.QueryValidatorResponse
//	/staking/delegation     delegator, validator       tx.QueryDelegationResponse
//	/staking/delegations    delegator                  tx.QueryDelegatorDelegationsResponse
//	/staking/unbonding      delegator, validator       tx.QueryUnbondingDelegationResponse
//	/staking/redelegations  delegator [, src, dst]     tx.QueryRedelegationsResponse
//	/distribution/rewards   delegator, validator       tx.QueryDelegationRewardsResponse (commission too for the operator)
//
// A proof-of-authority chain answers them tx.CodeNotFound.
//
// BenchmarkFinalizeBlockPoS measures a block with 4 validators and 100,
// 1,000 or 10,000 delegators each: staking's BeginBlock and EndBlock do
// not depend on the number of delegators, the state's clone shares what
// the block leaves alone (internal/cowmap, staking's copy-on-write
// records) and the app hash's tree is updated from the block's changed
// entries, so neither does the block (docs/benchmarks.md).
//
// # Genesis
//
// CometBFT's genesis app_state is a Genesis in JSON (unknown fields are
// errors):
//
//	{"chain_id": "...", "authority": "mesh1...", "validators": [{"pub_key": "<base64 ed25519>", "power": 10}],
//	 "accounts": [{"address": "mesh1...", "balance": 1000}],
//	 "params": {"max_square_size": 128, "fixed_gas": 65000, "gas_per_blob_byte": 8, "min_gas_price": 1, "max_blob_size": 2097152,
//	            "gas_per_kzg_chunk": 200000, "data_commitment_window": 400},
//	 "evm_addresses": [{"pub_key": "<base64 ed25519>", "evm_address": "0x..."}]}
//
// gas_per_kzg_chunk may be absent (0: the chain accepts no KZG
// commitments), and so may data_commitment_window (0: no attestations) and
// evm_addresses, so a genesis written before they existed keeps its bytes
// and app hash. evm_addresses must name validators of the genesis set. chain_id must equal CometBFT's. When CometBFT's genesis lists
// validators they are the set (validators here must then be absent or the
// same); otherwise these are returned from InitChain.
//
// A proof-of-stake genesis adds, and lists no "validators" (the authority
// may be absent):
//
//	"consensus": "pos",
//	"staking": {"params": {<staking.Params: unbonding_time, max_validators, max_entries, min_self_bond,
//	                       power_reduction, signed_blocks_window, min_signed_per_window, downtime_jail_duration,
//	                       slash_fraction_double_sign, slash_fraction_downtime, inflation_per_block>},
//	            "validators": [{"operator": "mesh1...", "pub_key": "<base64 ed25519>", "self_bond": 1000000000,
//	                            "moniker": "v0", "commission_rate": "0.1", "commission_max_rate": "0.2",
//	                            "commission_max_change_rate": "0.01"}]}
//
// Each validator's self-bond is taken from its operator's genesis balance
// at InitChain (CometBFT's genesis time starts staking's clock), and the
// initial validator set is the active set: the top max_validators by
// stake, power = self_bond / power_reduction (Genesis.GenesisValidatorSet;
// core/validator's GenesisDoc writes it into CometBFT's genesis, which
// InitChain checks against it).
//
// # State, app hash and restarts
//
// The state is the configuration (chain ID, authority, params; on a
// proof-of-stake chain also "consensus" and "genesis_supply"), the accounts
// {balance, nonce, pub_key}, the validator powers, Blobstream's records and,
// on a proof-of-stake chain, the staking state and the fees to distribute.
// It is held in memory and stored in one Badger database under "s/" with
// keys
//
//	"c"                 configuration, JSON
//	"a/" + address      account, protobuf {1: balance, 2: nonce, 3: pub_key}
//	"v/" + ed25519 key  validator power, uvarint
//	"e/" + ed25519 key  registered EVM address, 20 bytes
//	"bm"                attestation sequence {next_nonce, attested_nonce, last_valset_nonce}, JSON
//	                    (only with data_commitment_window > 0)
//	"br/" + height      data root of a height of the current window (8-byte big-endian height)
//	"bn/" + nonce       tx.Attestation, JSON (8-byte big-endian nonce)
//	"f"                 fees of the last block, uvarint (proof of stake only)
//	"k/" + staking key  staking.State's Entries (proof of stake only)
//
// beside "m/height" (last committed block, 8 bytes big-endian) and
// "m/apphash". The app hash is the RFC 6962 Merkle root
// (merkle.HashFromByteSlices) of the entries in key order, except that
// Blobstream's data roots ("br/") and attestations ("bn/") come after all
// the others, each leaf uvarint(len(key)) || key || value. Its tree (merkle.Tree) is kept in
// memory between blocks (apphash.go): a block's state takes it from the
// state before and updates it from the entries the block changed (the
// accounts, validators and Blobstream records it touched, the fees and
// staking.State.ChangedEntries), O(changes × log n); the first block after
// a start builds it from the whole state once. FinalizeBlock computes the
// next state and its hash in memory; Commit writes the same changed
// entries, height and app hash in one Badger transaction. Info reports that height and hash, so after a crash
// CometBFT's handshake replays exactly the blocks the application has not
// committed. InitChain saves the genesis state at height 0.
package app
