package api

import (
	"context"
	"fmt"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/state"
)

// The state module's staking and distribution methods: celestia-node
// v0.32's names, parameter order, permissions and Cosmos SDK JSON
// answers. On a proof-of-authority chain each fails with
// state.ErrProofOfAuthority's message ("state: this chain is proof of
// authority: it has no staking"); after a halt, with the halt's error.

// staking returns the service's staking methods once the caller's
// permission (requirePerm's check, for the method that called staking) and
// the halt allow the call.
func (m *StateModule) staking(ctx context.Context) (StakingService, error) {
	name, e, err := authorize(ctx, m, 1)
	if err == nil && e.cost != costFree {
		err = fmt.Errorf("api: %s is heavy: it must take a Limiter slot with enterAt", name)
	}
	if err != nil {
		return nil, err
	}
	if err := haltAny(m.halt); err != nil {
		return nil, err
	}
	s, ok := m.svc.(StakingService)
	if !ok {
		return nil, ErrNoStaking
	}
	return s, nil
}

// Delegate (state.Delegate, write) delegates amount from the node's
// account (or config's key) to the validator operated by delAddr
// (celestia-node's name for the validator's address).
func (m *StateModule) Delegate(ctx context.Context, delAddr ValidatorRef, amount state.Int, config *state.TxConfig) (*state.TxResponse, error) {
	s, err := m.staking(ctx)
	if err != nil {
		return nil, err
	}
	if amount == 0 {
		return nil, errInvalidAmount
	}
	return s.Delegate(ctx, tx.Address(delAddr), amount, config)
}

// Undelegate (state.Undelegate, write) starts unbonding amount of the
// account's stake with the validator delAddr.
func (m *StateModule) Undelegate(ctx context.Context, delAddr ValidatorRef, amount state.Int, config *state.TxConfig) (*state.TxResponse, error) {
	s, err := m.staking(ctx)
	if err != nil {
		return nil, err
	}
	if amount == 0 {
		return nil, errInvalidAmount
	}
	return s.Undelegate(ctx, tx.Address(delAddr), amount, config)
}

// BeginRedelegate (state.BeginRedelegate, write) moves amount of the
// account's stake from srcValAddr to dstValAddr.
func (m *StateModule) BeginRedelegate(ctx context.Context, srcValAddr, dstValAddr ValidatorRef, amount state.Int, config *state.TxConfig) (*state.TxResponse, error) {
	s, err := m.staking(ctx)
	if err != nil {
		return nil, err
	}
	if amount == 0 {
		return nil, errInvalidAmount
	}
	return s.BeginRedelegate(ctx, tx.Address(srcValAddr), tx.Address(dstValAddr), amount, config)
}

// CancelUnbondingDelegation (state.CancelUnbondingDelegation, write)
// delegates amount of the account's unbonding entry from valAddr created
// at height back to it.
func (m *StateModule) CancelUnbondingDelegation(ctx context.Context, valAddr ValidatorRef, amount, height state.Int, config *state.TxConfig) (*state.TxResponse, error) {
	s, err := m.staking(ctx)
	if err != nil {
		return nil, err
	}
	if amount == 0 {
		return nil, errInvalidAmount
	}
	if height == 0 {
		return nil, fmt.Errorf("%w: height 0", state.ErrInvalidTx)
	}
	return s.CancelUnbondingDelegation(ctx, tx.Address(valAddr), amount, height, config)
}

// WithdrawDelegatorReward (state.WithdrawDelegatorReward, write) pays the
// account its rewards from valAddr.
func (m *StateModule) WithdrawDelegatorReward(ctx context.Context, valAddr ValidatorRef, config *state.TxConfig) (*state.TxResponse, error) {
	s, err := m.staking(ctx)
	if err != nil {
		return nil, err
	}
	return s.WithdrawDelegatorReward(ctx, tx.Address(valAddr), config)
}

// QueryDelegationRewards (state.QueryDelegationRewards, read) returns the
// rewards a withdrawal from valAddr would pay the node's account now.
func (m *StateModule) QueryDelegationRewards(ctx context.Context, valAddr ValidatorRef) (*tx.QueryDelegationRewardsResponse, error) {
	s, err := m.staking(ctx)
	if err != nil {
		return nil, err
	}
	return s.QueryDelegationRewards(ctx, tx.Address(valAddr))
}

// QueryDelegation (state.QueryDelegation, read) returns the node
// account's delegation to valAddr.
func (m *StateModule) QueryDelegation(ctx context.Context, valAddr ValidatorRef) (*tx.QueryDelegationResponse, error) {
	s, err := m.staking(ctx)
	if err != nil {
		return nil, err
	}
	return s.QueryDelegation(ctx, tx.Address(valAddr))
}

// QueryUnbonding (state.QueryUnbonding, read) returns the node account's
// unbonding entries from valAddr.
func (m *StateModule) QueryUnbonding(ctx context.Context, valAddr ValidatorRef) (*tx.QueryUnbondingDelegationResponse, error) {
	s, err := m.staking(ctx)
	if err != nil {
		return nil, err
	}
	return s.QueryUnbonding(ctx, tx.Address(valAddr))
}

// QueryRedelegations (state.QueryRedelegations, read) returns the node
// account's redelegations from srcValAddr to dstValAddr.
func (m *StateModule) QueryRedelegations(ctx context.Context, srcValAddr, dstValAddr ValidatorRef) (*tx.QueryRedelegationsResponse, error) {
	s, err := m.staking(ctx)
	if err != nil {
		return nil, err
	}
	return s.QueryRedelegations(ctx, tx.Address(srcValAddr), tx.Address(dstValAddr))
}

// errInvalidAmount is celestia-node's answer to a zero amount.
var errInvalidAmount = fmt.Errorf("%w: amount must be positive", state.ErrInvalidTx)

// Validator address prefixes: Cosmos SDK's valoper forms of mesh and
// celestia.
const (
	meshValoperPrefix     = tx.AddressPrefix + "valoper"
	celestiaValoperPrefix = celestiaPrefix + "valoper"
)

// ValidatorRef is a validator a request names by its operator's account:
// bech32 with prefix "mesh" (how the chain writes operators), "celestia",
// or their valoper forms "meshvaloper" and "celestiavaloper" (what
// celestia-node's Go client writes for a ValAddress), all for the same 20
// bytes.
type ValidatorRef tx.Address

// UnmarshalText decodes any of the four forms; another prefix is an error
// naming it.
func (r *ValidatorRef) UnmarshalText(b []byte) error {
	hrp, data, err := tx.DecodeBech32(string(b))
	if err != nil {
		return fmt.Errorf("api: validator address %q: %w", b, err)
	}
	switch hrp {
	case tx.AddressPrefix, celestiaPrefix, meshValoperPrefix, celestiaValoperPrefix:
	default:
		return fmt.Errorf("api: validator address %q: prefix %q, want %q, %q, %q or %q", b, hrp,
			tx.AddressPrefix, meshValoperPrefix, celestiaPrefix, celestiaValoperPrefix)
	}
	a, err := tx.AddressFromBytes(data)
	if err != nil {
		return fmt.Errorf("api: validator address %q: %w", b, err)
	}
	*r = ValidatorRef(a)
	return nil
}

// MarshalText writes the mesh1… form.
func (r ValidatorRef) MarshalText() ([]byte, error) { return tx.Address(r).MarshalText() }
