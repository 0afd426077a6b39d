package staking

import (
	"bytes"
	"sort"

	"github.com/datamesh/mesh-node/core/tx"
)

// Queries return copies: the caller owns every returned value and slice.
// They read the state as of the last operation and never change it.

func (v *Validator) clone() Validator {
	c := *v
	c.ConsPubKey = append([]byte(nil), v.ConsPubKey...)
	return c
}

// Validators returns every validator, by operator address.
func (s *State) Validators() []Validator {
	out := make([]Validator, 0, len(s.validators))
	for _, op := range sortedAddrs(s.validators) {
		out = append(out, s.validators[op].clone())
	}
	return out
}

// Validator returns the validator operated by op.
func (s *State) Validator(op tx.Address) (Validator, bool) {
	v := s.validators[op]
	if v == nil {
		return Validator{}, false
	}
	return v.clone(), true
}

// ValidatorByConsAddress returns the validator with consensus address ca.
func (s *State) ValidatorByConsAddress(ca ConsAddress) (Validator, bool) {
	op, ok := s.byCons[ca]
	if !ok {
		return Validator{}, false
	}
	return s.Validator(op)
}

// SigningInfo returns the liveness record of consensus address ca.
func (s *State) SigningInfo(ca ConsAddress) (SigningInfo, bool) {
	si := s.signing[ca]
	if si == nil {
		return SigningInfo{}, false
	}
	return si.SigningInfo, true
}

// DelegationResponse is a delegation with the tokens its shares stand
// for, as Cosmos SDK's QueryDelegationResponse carries it.
type DelegationResponse struct {
	Delegation Delegation `json:"delegation"`
	Balance    uint64     `json:"balance"`
}

// Delegation returns del's delegation to val.
func (s *State) Delegation(del, val tx.Address) (DelegationResponse, bool) {
	d := s.delegations.At(pairKey{del, val})
	if d == nil {
		return DelegationResponse{}, false
	}
	return DelegationResponse{Delegation: d.Delegation, Balance: tokensFor(s.validators[val], d.Shares)}, true
}

// Delegations returns del's delegations, by validator address.
func (s *State) Delegations(del tx.Address) []DelegationResponse {
	var out []DelegationResponse
	for k, d := range s.delegations.All() {
		if k.del == del {
			out = append(out, DelegationResponse{Delegation: d.Delegation, Balance: tokensFor(s.validators[k.val], d.Shares)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return bytes.Compare(out[i].Delegation.Validator[:], out[j].Delegation.Validator[:]) < 0
	})
	return out
}

// Unbonding returns del's unbonding entries from val.
func (s *State) Unbonding(del, val tx.Address) (UnbondingDelegation, bool) {
	ub := s.unbondings.At(pairKey{del, val})
	if ub == nil {
		return UnbondingDelegation{}, false
	}
	c := *ub
	c.Entries = append([]UnbondingEntry(nil), ub.Entries...)
	return c, true
}

// RedelegationEntryResponse is a redelegation entry with the tokens its
// destination shares stand for now.
type RedelegationEntryResponse struct {
	Entry   RedelegationEntry `json:"redelegation_entry"`
	Balance uint64            `json:"balance"`
}

// RedelegationResponse is a redelegation as Cosmos SDK's
// QueryRedelegationsResponse carries it.
type RedelegationResponse struct {
	Redelegation Redelegation                `json:"redelegation"`
	Entries      []RedelegationEntryResponse `json:"entries"`
}

// Redelegations returns del's redelegations in progress from src to dst;
// a nil src or dst matches any validator. They are sorted by source, then
// destination.
func (s *State) Redelegations(del tx.Address, src, dst *tx.Address) []RedelegationResponse {
	var keys []tripleKey
	for k := range s.redels.Keys() {
		if k.del == del && (src == nil || *src == k.src) && (dst == nil || *dst == k.dst) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if c := bytes.Compare(keys[i].src[:], keys[j].src[:]); c != 0 {
			return c < 0
		}
		return bytes.Compare(keys[i].dst[:], keys[j].dst[:]) < 0
	})
	out := make([]RedelegationResponse, 0, len(keys))
	for _, k := range keys {
		rd := s.redels.At(k)
		r := RedelegationResponse{Redelegation: *rd}
		r.Redelegation.Entries = append([]RedelegationEntry(nil), rd.Entries...)
		for _, e := range rd.Entries {
			var bal uint64
			if v := s.validators[k.dst]; v != nil {
				bal = tokensFor(v, e.SharesDst)
			}
			r.Entries = append(r.Entries, RedelegationEntryResponse{Entry: e, Balance: bal})
		}
		out = append(out, r)
	}
	return out
}

// Rewards returns what del would receive from val if it withdrew now,
// fractions of a token included (withdrawal pays the integer part).
func (s *State) Rewards(del, val tx.Address) (Dec, bool) {
	d := s.delegations.At(pairKey{del, val})
	if d == nil {
		return Dec{}, false
	}
	dist, v := s.dist[val], s.validators[val]
	end := dist.ratio(dist.period - 1)
	if v.Tokens > 0 {
		end = end.Add(dist.current.QuoInt(v.Tokens))
	}
	r := minDec(s.rewardsUpTo(d, end), dist.outstanding.Sub(dist.commission))
	if r.IsNegative() {
		return Dec{}, true
	}
	return r, true
}

// Commission returns the commission accrued by validator op, not yet
// withdrawn.
func (s *State) Commission(op tx.Address) (Dec, bool) {
	d := s.dist[op]
	if d == nil {
		return Dec{}, false
	}
	return d.commission, true
}

// OutstandingRewards returns the rewards allocated to validator op and not
// yet withdrawn, commission included (Cosmos SDK's
// ValidatorOutstandingRewards).
func (s *State) OutstandingRewards(op tx.Address) (Dec, bool) {
	d := s.dist[op]
	if d == nil {
		return Dec{}, false
	}
	return d.outstanding, true
}
