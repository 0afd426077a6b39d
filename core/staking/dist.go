package staking

import (
	"maps"

	"github.com/datamesh/mesh-node/core/tx"
)

// This file is the F1 fee distribution (Ojha, "F1 Fee Distribution", as
// Cosmos SDK's x/distribution implements it): each validator's rewards to
// delegators accrue in periods; closing a period adds rewards/tokens to a
// cumulative ratio; a delegation remembers the period it started from and
// its stake then, and is owed stake × (ratio now − ratio at start). A
// slash closes a period and records the fraction, so the stake of
// delegations that started before it is scaled down from there on.

func newValDist() *valDist {
	return &valDist{period: 1, hist: map[uint64]histRatio{0: {refs: 1}}}
}

func (d *valDist) ratio(period uint64) Dec { return d.hist[period].ratio }

// mutHist readies hist for a change of period: copied if a clone shares
// it, the period recorded as touched.
func (d *valDist) mutHist(period uint64) {
	if d.histShared {
		d.hist, d.histShared = maps.Clone(d.hist), false
	}
	if d.touched != nil {
		d.touched[period] = true
	}
}

func (d *valDist) incref(period uint64) {
	if h, ok := d.hist[period]; ok {
		d.mutHist(period)
		h.refs++
		d.hist[period] = h
	}
}

func (d *valDist) decref(period uint64) {
	h, ok := d.hist[period]
	if !ok {
		return
	}
	d.mutHist(period)
	if h.refs <= 1 {
		delete(d.hist, period)
		return
	}
	h.refs--
	d.hist[period] = h
}

// incrementPeriod closes the current period of val and returns it. Rewards
// of a period in which the validator had no tokens go to the remainder.
func (s *State) incrementPeriod(val tx.Address) uint64 {
	d, v := s.dist[val], s.validators[val]
	var r Dec
	if v.Tokens == 0 {
		s.remainder = s.remainder.Add(d.current)
		d.outstanding = d.outstanding.Sub(d.current)
	} else {
		r = d.current.QuoInt(v.Tokens)
	}
	ended := d.period
	d.mutHist(ended)
	d.hist[ended] = histRatio{ratio: d.ratio(ended - 1).Add(r), refs: 1}
	d.decref(ended - 1)
	d.current = Dec{}
	d.period++
	return ended
}

// initDelegation starts a delegation's F1 record at the last closed
// period; the caller has just called incrementPeriod (directly or through
// withdraw).
func (s *State) initDelegation(del *delegation) {
	d, v := s.dist[del.Validator], s.validators[del.Validator]
	prev := d.period - 1
	d.incref(prev)
	del.start = startInfo{period: prev, stake: tokensDecFor(v, del.Shares), height: s.height}
}

// rewardsUpTo returns what del is owed when the cumulative ratio is end,
// given the slashes recorded since it started.
func (s *State) rewardsUpTo(del *delegation, end Dec) Dec {
	d, v := s.dist[del.Validator], s.validators[del.Validator]
	stake, from := del.start.stake, del.start.period
	var total Dec
	for _, ev := range d.slashes {
		if ev.period <= from {
			continue
		}
		total = total.Add(stake.Mul(d.ratio(ev.period).Sub(d.ratio(from))))
		stake = stake.Sub(stake.Mul(ev.fraction))
		from = ev.period
	}
	// Truncation may leave the computed stake a hair above the
	// delegation's; never pay on more than it holds.
	stake = minDec(stake, tokensDecFor(v, del.Shares))
	diff := end.Sub(d.ratio(from))
	if diff.IsNegative() {
		return total
	}
	return total.Add(stake.Mul(diff))
}

// withdraw closes the validator's period, pays del its rewards and drops
// its reference to its starting period. The caller re-initialises del
// (initDelegation) or deletes it.
func (s *State) withdraw(bank Bank, del *delegation) uint64 {
	d := s.dist[del.Validator]
	ended := s.incrementPeriod(del.Validator)
	owed := minDec(s.rewardsUpTo(del, d.ratio(ended)), d.outstanding.Sub(d.commission))
	if owed.IsNegative() {
		owed = Dec{}
	}
	paid := owed.TruncateInt()
	d.outstanding = d.outstanding.Sub(owed)
	s.remainder = s.remainder.Add(owed.Sub(NewDec(paid)))
	s.pools.Rewards -= paid
	if paid > 0 {
		bank.Add(del.Delegator, paid)
	}
	d.decref(del.start.period)
	return paid
}

// allocate credits reward to validator val: commission to the operator,
// the rest to its delegators' current period.
func (s *State) allocate(val tx.Address, reward Dec) {
	d, v := s.dist[val], s.validators[val]
	comm := reward.Mul(v.Commission.Rate)
	d.commission = d.commission.Add(comm)
	d.current = d.current.Add(reward.Sub(comm))
	d.outstanding = d.outstanding.Add(reward)
}

// recordSlash closes val's period and records that fraction of its stake
// was slashed; call it before the tokens change.
func (s *State) recordSlash(val tx.Address, fraction Dec) {
	ended := s.incrementPeriod(val)
	d := s.dist[val]
	d.incref(ended)
	d.slashes = append(d.slashes, slashEvent{period: ended, height: s.height, fraction: fraction})
}

// removeDist pays a removed validator's commission to its operator and
// moves the dust left in its outstanding rewards to the remainder.
func (s *State) removeDist(bank Bank, val tx.Address) {
	d := s.dist[val]
	paid := d.commission.TruncateInt()
	if out := d.outstanding.TruncateInt(); paid > out {
		paid = out
	}
	s.pools.Rewards -= paid
	if paid > 0 {
		bank.Add(val, paid)
	}
	s.remainder = s.remainder.Add(d.outstanding.Sub(NewDec(paid)))
	delete(s.dist, val)
}
