package staking

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/datamesh/mesh-node/core/tx"
)

// ErrInvariant is wrapped by Invariants and by Load for inconsistent state.
var ErrInvariant = errors.New("staking: invariant broken")

// Invariants checks the state's bookkeeping and the conservation of
// supply: liquid (the total of all account balances, as the application's
// bank knows it) plus the bonded, not-bonded and rewards pools plus the
// burned tokens must equal supply (the genesis supply plus Pools().Minted).
// It also checks, without the bank, that:
//   - the bonded pool holds exactly the tokens of bonded validators;
//   - the not-bonded pool holds exactly the tokens of the other validators
//     plus the balances of unbonding entries;
//   - the delegations to each validator add up to its shares;
//   - the outstanding rewards of all validators plus the remainder equal
//     the rewards pool, each validator's outstanding covers its commission
//     and nothing is negative;
//   - no more than MaxValidators are bonded, and exactly the bonded
//     validators have power in CometBFT.
//
// It returns the first violation found.
func (s *State) Invariants(liquid, supply uint64) error {
	if err := s.checkInternal(); err != nil {
		return err
	}
	sum := new(big.Int).SetUint64(liquid)
	for _, x := range []uint64{s.pools.Bonded, s.pools.NotBonded, s.pools.Rewards, s.pools.Burned} {
		sum.Add(sum, new(big.Int).SetUint64(x))
	}
	if sum.Cmp(new(big.Int).SetUint64(supply)) != 0 {
		return fmt.Errorf("%w: liquid %d + pools %+v = %s, supply %d", ErrInvariant, liquid, s.pools, sum, supply)
	}
	return nil
}

func (s *State) checkInternal() error {
	var bonded, notBonded big.Int
	nBonded := 0
	shares := map[tx.Address]Dec{}
	for op, v := range s.validators {
		if v.Operator != op {
			return fmt.Errorf("%w: validator %s stored under %s", ErrInvariant, v.Operator, op)
		}
		if v.Shares.IsNegative() {
			return fmt.Errorf("%w: validator %s has negative shares", ErrInvariant, op)
		}
		switch v.Status {
		case Bonded:
			bonded.Add(&bonded, new(big.Int).SetUint64(v.Tokens))
			nBonded++
		case Unbonding, Unbonded:
			notBonded.Add(&notBonded, new(big.Int).SetUint64(v.Tokens))
		default:
			return fmt.Errorf("%w: validator %s has status %d", ErrInvariant, op, v.Status)
		}
		if s.dist[op] == nil {
			return fmt.Errorf("%w: validator %s has no distribution record", ErrInvariant, op)
		}
	}
	if nBonded > int(s.params.MaxValidators) {
		return fmt.Errorf("%w: %d bonded validators, max %d", ErrInvariant, nBonded, s.params.MaxValidators)
	}
	for _, ub := range s.unbondings.All() {
		for _, e := range ub.Entries {
			if e.Balance > e.InitialBalance {
				return fmt.Errorf("%w: unbonding entry balance %d above initial %d", ErrInvariant, e.Balance, e.InitialBalance)
			}
			notBonded.Add(&notBonded, new(big.Int).SetUint64(e.Balance))
		}
	}
	if bonded.Cmp(new(big.Int).SetUint64(s.pools.Bonded)) != 0 {
		return fmt.Errorf("%w: bonded pool %d, bonded validators hold %s", ErrInvariant, s.pools.Bonded, &bonded)
	}
	if notBonded.Cmp(new(big.Int).SetUint64(s.pools.NotBonded)) != 0 {
		return fmt.Errorf("%w: not-bonded pool %d, validators and unbonding entries hold %s", ErrInvariant, s.pools.NotBonded, &notBonded)
	}
	for k, d := range s.delegations.All() {
		if s.validators[k.val] == nil {
			return fmt.Errorf("%w: delegation to missing validator %s", ErrInvariant, k.val)
		}
		if d.Delegator != k.del || d.Validator != k.val || d.Shares.IsNegative() || d.Shares.IsZero() {
			return fmt.Errorf("%w: delegation of %s to %s malformed", ErrInvariant, k.del, k.val)
		}
		shares[k.val] = shares[k.val].Add(d.Shares)
	}
	for op, v := range s.validators {
		if !shares[op].Equal(v.Shares) {
			return fmt.Errorf("%w: delegations to %s hold %s shares, validator %s", ErrInvariant, op, shares[op], v.Shares)
		}
	}
	out := s.remainder
	if out.IsNegative() {
		return fmt.Errorf("%w: negative remainder", ErrInvariant)
	}
	for op, d := range s.dist {
		if s.validators[op] == nil {
			return fmt.Errorf("%w: distribution record of missing validator %s", ErrInvariant, op)
		}
		if d.commission.IsNegative() || d.current.IsNegative() || d.outstanding.Cmp(d.commission) < 0 {
			return fmt.Errorf("%w: validator %s outstanding %s, commission %s", ErrInvariant, op, d.outstanding, d.commission)
		}
		out = out.Add(d.outstanding)
	}
	if !out.Equal(NewDec(s.pools.Rewards)) {
		return fmt.Errorf("%w: outstanding rewards and remainder %s, rewards pool %d", ErrInvariant, out, s.pools.Rewards)
	}
	recv := map[pairKey]int{}
	for k, rd := range s.redels.All() {
		if len(rd.Entries) == 0 || rd.Delegator != k.del || rd.Src != k.src || rd.Dst != k.dst {
			return fmt.Errorf("%w: redelegation of %s from %s to %s malformed", ErrInvariant, k.del, k.src, k.dst)
		}
		recv[pairKey{k.del, k.dst}]++
	}
	if len(recv) != len(s.receivers) {
		return fmt.Errorf("%w: redelegation index out of date", ErrInvariant)
	}
	for k, n := range recv {
		if s.receivers[k] != n {
			return fmt.Errorf("%w: redelegation index out of date", ErrInvariant)
		}
	}
	for op := range s.lastPower {
		if v := s.validators[op]; v == nil || v.Status != Bonded {
			return fmt.Errorf("%w: %s has power in CometBFT but is not bonded", ErrInvariant, op)
		}
	}
	for op, v := range s.validators {
		if _, ok := s.lastPower[op]; v.Status == Bonded && !ok {
			return fmt.Errorf("%w: %s is bonded but has no power in CometBFT", ErrInvariant, op)
		}
	}
	return nil
}
