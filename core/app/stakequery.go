package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/datamesh/mesh-node/core/staking"
	"github.com/datamesh/mesh-node/core/tx"
)

// maxStakingQuerySize bounds a staking query's JSON data.
const maxStakingQuerySize = 1024

func isStakingQuery(path string) bool {
	switch path {
	case tx.StakingValidatorsQueryPath, tx.StakingValidatorQueryPath, tx.StakingDelegationQueryPath,
		tx.StakingDelegationsQueryPath, tx.StakingUnbondingQueryPath, tx.StakingRedelegationsQueryPath,
		tx.DistributionRewardsQueryPath:
		return true
	}
	return false
}

func unixTime(s int64) time.Time { return time.Unix(s, 0).UTC() }

func amount(x uint64) string { return strconv.FormatUint(x, 10) }

func validatorInfo(p staking.Params, v staking.Validator) tx.ValidatorInfo {
	info := tx.ValidatorInfo{
		OperatorAddress: v.Operator.String(), ConsensusPubKey: v.ConsPubKey, Jailed: v.Jailed, Status: v.Status.String(),
		Tokens: amount(v.Tokens), DelegatorShares: v.Shares.String(), Description: tx.ValidatorDescription{Moniker: v.Moniker},
		UnbondingHeight: v.UnbondingHeight, UnbondingTime: unixTime(v.UnbondingTime),
		Commission: tx.ValidatorCommission{CommissionRates: tx.CommissionRates{Rate: v.Commission.Rate.String(),
			MaxRate: v.Commission.MaxRate.String(), MaxChangeRate: v.Commission.MaxChangeRate.String()}, UpdateTime: unixTime(v.Commission.UpdateTime)},
	}
	if v.Status == staking.Bonded {
		info.Power = p.Power(v.Tokens)
	}
	return info
}

func delegationResponse(d staking.DelegationResponse) tx.DelegationResponse {
	return tx.DelegationResponse{
		Delegation: tx.DelegationInfo{DelegatorAddress: d.Delegation.Delegator.String(), ValidatorAddress: d.Delegation.Validator.String(),
			Shares: d.Delegation.Shares.String()},
		Balance: tx.Coin{Denom: tx.Denom, Amount: amount(d.Balance)},
	}
}

// queryStaking answers the staking query paths (tx's Staking*QueryPath
// constants) from the committed staking state.
func (a *App) queryStaking(req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	bad := func(format string, args ...any) (*abci.ResponseQuery, error) {
		return &abci.ResponseQuery{Code: tx.CodeInvalidMsg, Log: fmt.Sprintf(format, args...)}, nil
	}
	notFound := func(format string, args ...any) (*abci.ResponseQuery, error) {
		return &abci.ResponseQuery{Code: tx.CodeNotFound, Log: fmt.Sprintf(format, args...)}, nil
	}
	sk := a.state.stake
	if sk == nil {
		return notFound("app: query %s: this chain is proof of authority", req.Path)
	}
	var q tx.StakingQuery
	if req.Path != tx.StakingValidatorsQueryPath {
		if len(req.Data) > maxStakingQuerySize {
			return bad("app: query %s: %d bytes of data, at most %d", req.Path, len(req.Data), maxStakingQuerySize)
		}
		dec := json.NewDecoder(bytes.NewReader(req.Data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&q); err != nil {
			return bad("app: query %s: data is not a staking query: %v", req.Path, err)
		}
	}
	need := func(names string) error {
		for _, n := range strings.Split(names, ",") {
			if (n == "delegator" && q.Delegator == nil) || (n == "validator" && q.Validator == nil) {
				return fmt.Errorf("app: query %s: %s address missing", req.Path, n)
			}
		}
		return nil
	}
	var answer any
	switch req.Path {
	case tx.StakingValidatorsQueryPath:
		r := tx.QueryValidatorsResponse{Validators: []tx.ValidatorInfo{}}
		for _, v := range sk.Validators() {
			r.Validators = append(r.Validators, validatorInfo(sk.Params(), v))
		}
		answer = r
	case tx.StakingValidatorQueryPath:
		if err := need("validator"); err != nil {
			return bad("%v", err)
		}
		v, ok := sk.Validator(*q.Validator)
		if !ok {
			return notFound("app: no validator %s", q.Validator)
		}
		answer = tx.QueryValidatorResponse{Validator: validatorInfo(sk.Params(), v)}
	case tx.StakingDelegationsQueryPath:
		if err := need("delegator"); err != nil {
			return bad("%v", err)
		}
		r := tx.QueryDelegatorDelegationsResponse{DelegationResponses: []tx.DelegationResponse{}}
		for _, d := range sk.Delegations(*q.Delegator) {
			r.DelegationResponses = append(r.DelegationResponses, delegationResponse(d))
		}
		answer = r
	case tx.StakingDelegationQueryPath:
		if err := need("delegator,validator"); err != nil {
			return bad("%v", err)
		}
		d, ok := sk.Delegation(*q.Delegator, *q.Validator)
		if !ok {
			return notFound("app: no delegation of %s to %s", q.Delegator, q.Validator)
		}
		dr := delegationResponse(d)
		answer = tx.QueryDelegationResponse{DelegationResponse: &dr}
	case tx.StakingUnbondingQueryPath:
		if err := need("delegator,validator"); err != nil {
			return bad("%v", err)
		}
		u, ok := sk.Unbonding(*q.Delegator, *q.Validator)
		if !ok {
			return notFound("app: no unbonding of %s from %s", q.Delegator, q.Validator)
		}
		r := tx.UnbondingDelegation{DelegatorAddress: u.Delegator.String(), ValidatorAddress: u.Validator.String(),
			Entries: []tx.UnbondingDelegationEntry{}}
		for _, e := range u.Entries {
			r.Entries = append(r.Entries, tx.UnbondingDelegationEntry{CreationHeight: e.CreationHeight, CompletionTime: unixTime(e.CompletionTime),
				InitialBalance: amount(e.InitialBalance), Balance: amount(e.Balance)})
		}
		answer = tx.QueryUnbondingDelegationResponse{Unbond: r}
	case tx.StakingRedelegationsQueryPath:
		if err := need("delegator"); err != nil {
			return bad("%v", err)
		}
		r := tx.QueryRedelegationsResponse{RedelegationResponses: []tx.RedelegationResponse{}}
		for _, rd := range sk.Redelegations(*q.Delegator, q.Src, q.Dst) {
			out := tx.RedelegationResponse{Redelegation: tx.Redelegation{DelegatorAddress: rd.Redelegation.Delegator.String(),
				ValidatorSrcAddress: rd.Redelegation.Src.String(), ValidatorDstAddress: rd.Redelegation.Dst.String(),
				Entries: []tx.RedelegationEntry{}}, Entries: []tx.RedelegationEntryResponse{}}
			for _, e := range rd.Entries {
				re := tx.RedelegationEntry{CreationHeight: e.Entry.CreationHeight, CompletionTime: unixTime(e.Entry.CompletionTime),
					InitialBalance: amount(e.Entry.InitialBalance), SharesDst: e.Entry.SharesDst.String()}
				out.Redelegation.Entries = append(out.Redelegation.Entries, re)
				out.Entries = append(out.Entries, tx.RedelegationEntryResponse{RedelegationEntry: re, Balance: amount(e.Balance)})
			}
			r.RedelegationResponses = append(r.RedelegationResponses, out)
		}
		answer = r
	default: // tx.DistributionRewardsQueryPath
		if err := need("delegator,validator"); err != nil {
			return bad("%v", err)
		}
		rw, ok := sk.Rewards(*q.Delegator, *q.Validator)
		r := tx.QueryDelegationRewardsResponse{Rewards: []tx.DecCoin{}}
		if ok {
			r.Rewards = append(r.Rewards, tx.DecCoin{Denom: tx.Denom, Amount: rw.String()})
		}
		if *q.Delegator == *q.Validator {
			if c, ok := sk.Commission(*q.Validator); ok {
				r.Commission = []tx.DecCoin{{Denom: tx.Denom, Amount: c.String()}}
			}
		}
		if !ok && r.Commission == nil {
			return notFound("app: no delegation of %s to %s", q.Delegator, q.Validator)
		}
		answer = r
	}
	v, err := json.Marshal(answer)
	if err != nil {
		return nil, err
	}
	return &abci.ResponseQuery{Value: v, Height: a.height}, nil
}
