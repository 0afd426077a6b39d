// Package staking is the proof-of-stake state machine of the DataMesh
// chain: staking (validators, delegations, unbonding, redelegation and the
// active set), distribution (fees and inflation paid to validators and
// shared with delegators) and slashing (double signing and downtime). It
// is pure and deterministic in the manner of STYLE.md's first example: no
// goroutines, no clock, no storage, no CometBFT; heights, block times
// (unix seconds from block headers), keys and votes come in as values, and
// decisions (validator updates, errors) go out as values.
//
// # What it owns and what it does not
//
// A State owns validators, delegations, unbonding entries, redelegations,
// signing (liveness) records, the F1 distribution records and four module
// accounts (Pools): the bonded pool (tokens of bonded validators), the
// not-bonded pool (tokens of unbonding and unbonded validators and of
// unbonding entries), the rewards pool (fees and inflation not yet paid
// out) and the tally of burned and minted tokens. It does not own
// accounts: liquid balances belong to the application, reached through
// the two-method Bank interface (MemBank is an in-memory one for tests).
// Tokens leave the bank into a pool on Delegate and CreateValidator, and
// come back on WithdrawRewards, WithdrawCommission and when an unbonding
// entry completes; slashing moves tokens from the pools to Burned. So the
// supply is conserved and checkable: Invariants verifies
// liquid + Bonded + NotBonded + Rewards + Burned = genesis supply + Minted.
//
// # How the application drives it
//
// At genesis: New(params, genesisTime), CreateValidator for each genesis
// validator (with a bank holding the genesis balances), then EndBlock,
// whose updates are the initial validator set for InitChain. Then, for
// each block's FinalizeBlock:
//
//  1. BeginBlock with the height, the header time, the fees the block's
//     transactions paid (already taken from the payers), the votes of the
//     last commit (DecidedLastCommit) and the misbehaviour evidence. It
//     mints InflationPerBlock, distributes, tracks liveness and slashes.
//  2. The block's staking transactions: CreateValidator, EditValidator,
//     Delegate, Undelegate, CancelUnbonding, Redelegate, WithdrawRewards,
//     WithdrawCommission, Unjail. Each acts at the block of step 1 and,
//     on error, changes nothing (neither the state nor the bank).
//  3. EndBlock: the new active set as CometBFT validator updates (only
//     changes; power 0 removes a validator), status transitions, and
//     release of unbonding entries whose completion time is at or before
//     the block time.
//
// Queries (Validators, Delegation, Delegations, Unbonding, Redelegations,
// Rewards, Commission, OutstandingRewards, SigningInfo) return copies in
// the shapes of Cosmos SDK's staking and distribution responses, which
// celestia-node's state module (QueryDelegation, QueryUnbonding,
// QueryRedelegations) returns; the application converts addresses to
// bech32 and times to RFC 3339.
//
// The application persists the state as Entries (key-value pairs sorted by
// key, identical for identical states, so they can be hashed into the app
// hash) and restores it with Load, which checks sizes, shapes and the
// bookkeeping invariants and never panics on bad bytes. A validator's F1
// history is one entry per period, so that a block's changed entries
// (ChangedEntries, what a Clone changed: the application hashes and saves
// only those) do not grow with the number of delegators; Clone shares the
// delegations, unbonding delegations, redelegations and histories with
// the original, copying a record when either changes it.
//
// # Staking rules
//
// The active set is the MaxValidators unjailed validators with the most
// tokens whose power (tokens / PowerReduction) is at least 1, ties broken
// by consensus public key (bytewise, lowest first). A validator entering it
// becomes Bonded (its tokens move to the bonded pool); one leaving becomes
// Unbonding until UnbondingTime has passed, then Unbonded; an Unbonded
// validator without shares is removed (its consensus key stays used).
// Undelegated tokens go into an unbonding entry and return to the
// delegator at CompletionTime = block time + UnbondingTime. A redelegation
// moves stake at once but stays slashable for the source's infractions
// until its completion; stake redelegated to a validator cannot be
// redelegated on until that completes (no transitive redelegation). The
// commission rate may change once per 24 hours by at most MaxChangeRate
// and never above MaxRate. An operator whose self-delegation drops below
// MinSelfBond jails its validator.
//
// # Slashing rules
//
// Evidence of double signing at height h with power p burns
// SlashFractionDoubleSign × p × PowerReduction tokens: first from unbonding
// entries and redelegations from the validator created at or after h and
// not yet complete (each loses the fraction of its initial balance; a
// redelegation's loss is taken from its shares at the destination), then
// the rest from the validator's tokens. The validator is jailed forever and
// tombstoned; later evidence against it is ignored. Each vote of the last
// commit sets a bit in the validator's window of SignedBlocksWindow blocks;
// once a window has passed since it was bonded, missing more than
// window − round(MinSignedPerWindow × window) of them slashes
// SlashFractionDowntime (infraction height = height − 2, the height the
// commit's validator set was chosen at), jails it until block time +
// DowntimeJailDuration and resets the window. Unjail succeeds after that
// time, if not tombstoned.
//
// # Distribution: F1
//
// Rewards of a block (fees + inflation + the remainder carried over) are
// split among the validators that signed the last commit in proportion to
// their vote power. A validator's share is split into commission
// (share × rate, accrued for the operator) and the delegators' part, which
// is added to the validator's current period. Nothing is done per
// delegator. Following Cosmos SDK's F1 scheme, a validator's rewards are
// kept in periods: closing a period (whenever a delegation to it changes,
// or it is slashed) adds current rewards / tokens to a cumulative ratio
// stored for that period. A delegation records the last closed period when
// it started and its stake (tokens its shares stand for) then; it is owed
// stake × (ratio now − ratio at start). A slash closes a period and records
// the fraction of tokens burned; computing a delegation's rewards walks the
// slashes since it started and scales its stake by (1 − fraction) at each,
// so delegators share a slash in proportion to their stake. Every change of
// a delegation (delegate, undelegate, redelegate, slashing of a
// redelegation) first pays out its rewards and starts it afresh, as F1
// requires. Historical ratios are reference-counted and dropped when no
// delegation or slash refers to them. The cost of BeginBlock and EndBlock
// depends on the number of validators, not of delegators (BenchmarkBlock).
//
// # Units and rounding
//
// Token amounts are uint64 integers in the chain's base unit. Shares,
// rates, fractions and reward accounting use Dec, a fixed-point decimal
// with 18 digits after the point on math/big; no floating point is used
// anywhere. Rounding always favours the pools, never an account:
//   - a delegation buys shares = tokens × shares/tokens of the validator,
//     truncated (the first delegation buys one share per token);
//   - an undelegation of an amount removes shares rounded up, capped at
//     the delegation's, and returns the tokens those shares stand for,
//     truncated (all of a validator's shares stand for all its tokens);
//   - rewards are allocated with 18 decimals; a withdrawal pays the whole
//     tokens and the fraction goes to the remainder, which the next
//     BeginBlock distributes again, as it does rewards of blocks nobody
//     signed and rewards of a validator with no tokens;
//   - slash amounts are truncated.
//
// A validator slashed to no tokens (slash fraction 1) refuses new
// delegations; Undelegate removes a delegation to it whole, without an
// unbonding entry, and once all shares are gone the validator is removed.
package staking
