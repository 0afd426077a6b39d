package staking

import (
	"fmt"

	"github.com/datamesh/mesh-node/core/tx"
)

// The operations below are the staking and distribution transactions. Each
// acts at the current block (the last BeginBlock, or genesis), checks
// everything before it changes anything, and on error leaves the state and
// the bank as they were: the only bank call that can fail (Sub) comes
// before any change.

// CreateValidatorMsg creates a validator operated by Operator.
type CreateValidatorMsg struct {
	Operator   tx.Address
	ConsPubKey []byte // ed25519, ConsPubKeySize bytes
	Moniker    string
	// SelfBond is delegated from the operator's balance; at least
	// Params.MinSelfBond.
	SelfBond      uint64
	Rate          Dec
	MaxRate       Dec
	MaxChangeRate Dec
}

// CreateValidator makes a validator, unbonded until an EndBlock puts it in
// the active set, and delegates its self-bond.
func (s *State) CreateValidator(bank Bank, m CreateValidatorMsg) error {
	one := NewDec(1)
	ca := ConsAddressOf(m.ConsPubKey)
	switch {
	case s.validators[m.Operator] != nil:
		return fmt.Errorf("%w: validator %s", ErrExists, m.Operator)
	case len(m.ConsPubKey) != ConsPubKeySize:
		return fmt.Errorf("%w: consensus key is %d bytes, want %d", ErrInvalid, len(m.ConsPubKey), ConsPubKeySize)
	case s.signing[ca] != nil:
		return fmt.Errorf("%w: consensus key %X already used", ErrExists, ca[:])
	case len(m.Moniker) > MaxMonikerLen:
		return fmt.Errorf("%w: moniker of %d bytes, max %d", ErrInvalid, len(m.Moniker), MaxMonikerLen)
	case m.SelfBond < s.params.MinSelfBond:
		return fmt.Errorf("%w: %d < %d", ErrSelfBond, m.SelfBond, s.params.MinSelfBond)
	case m.Rate.IsNegative() || m.MaxRate.IsNegative() || m.MaxChangeRate.IsNegative():
		return fmt.Errorf("%w: negative commission", ErrInvalid)
	case m.MaxRate.Cmp(one) > 0 || m.Rate.Cmp(m.MaxRate) > 0 || m.MaxChangeRate.Cmp(m.MaxRate) > 0:
		return fmt.Errorf("%w: need rate <= max rate <= 1 and max change <= max rate", ErrInvalid)
	}
	if err := bank.Sub(m.Operator, m.SelfBond); err != nil {
		return fmt.Errorf("staking: self-bond: %w", err)
	}
	v := &Validator{
		Operator:   m.Operator,
		ConsPubKey: append([]byte(nil), m.ConsPubKey...),
		Moniker:    m.Moniker,
		Status:     Unbonded,
		Commission: Commission{Rate: m.Rate, MaxRate: m.MaxRate, MaxChangeRate: m.MaxChangeRate, UpdateTime: s.time},
	}
	s.validators[m.Operator] = v
	s.byCons[ca] = m.Operator
	s.dist[m.Operator] = newValDist()
	s.signing[ca] = &signing{SigningInfo: SigningInfo{Address: ca, StartHeight: s.height}, missed: make([]byte, bitmapLen(s.params.SignedBlocksWindow))}
	s.addTokens(bank, m.Operator, m.Operator, m.SelfBond)
	return nil
}

func bitmapLen(window int64) int { return int((window + 7) / 8) }

// EditValidatorMsg changes a validator; nil fields stay.
type EditValidatorMsg struct {
	Operator tx.Address
	Moniker  *string
	Rate     *Dec
}

// commissionInterval is how often a commission rate may change.
const commissionInterval = 24 * 3600

// EditValidator changes the moniker or the commission rate. A new rate must
// not exceed the maximum rate nor differ from the current one by more than
// the maximum change rate, and the rate changes at most once per 24 hours.
func (s *State) EditValidator(m EditValidatorMsg) error {
	v := s.validators[m.Operator]
	if v == nil {
		return fmt.Errorf("%w: validator %s", ErrNotFound, m.Operator)
	}
	if m.Moniker != nil && len(*m.Moniker) > MaxMonikerLen {
		return fmt.Errorf("%w: moniker of %d bytes, max %d", ErrInvalid, len(*m.Moniker), MaxMonikerLen)
	}
	if r := m.Rate; r != nil {
		c := v.Commission
		change := r.Sub(c.Rate)
		if change.IsNegative() {
			change = c.Rate.Sub(*r)
		}
		switch {
		case r.IsNegative() || r.Cmp(c.MaxRate) > 0:
			return fmt.Errorf("%w: rate %s not in [0, %s]", ErrCommission, *r, c.MaxRate)
		case change.Cmp(c.MaxChangeRate) > 0:
			return fmt.Errorf("%w: change %s above %s", ErrCommission, change, c.MaxChangeRate)
		case s.time-c.UpdateTime < commissionInterval:
			return fmt.Errorf("%w: last change %d s ago, less than 24 h", ErrCommission, s.time-c.UpdateTime)
		}
	}
	if m.Moniker != nil {
		v.Moniker = *m.Moniker
	}
	if m.Rate != nil {
		// Rewards so far were allocated at the old rate; the new one
		// applies from the next allocation.
		v.Commission.Rate = *m.Rate
		v.Commission.UpdateTime = s.time
	}
	return nil
}

// Delegate moves amount from del's balance to validator val. Rewards of an
// existing delegation are withdrawn first.
func (s *State) Delegate(bank Bank, del, val tx.Address, amount uint64) error {
	v := s.validators[val]
	switch {
	case v == nil:
		return fmt.Errorf("%w: validator %s", ErrNotFound, val)
	case amount == 0:
		return fmt.Errorf("%w: zero amount", ErrInvalid)
	case v.Tokens == 0 && !v.Shares.IsZero():
		return fmt.Errorf("%w: validator %s has shares but no tokens", ErrInvalid, val)
	case v.Tokens+amount < v.Tokens:
		return fmt.Errorf("%w: amount overflows", ErrInvalid)
	}
	if err := bank.Sub(del, amount); err != nil {
		return fmt.Errorf("staking: delegate: %w", err)
	}
	s.addTokens(bank, del, val, amount)
	return nil
}

// addTokens bonds amount, already taken from the bank, to val for del.
func (s *State) addTokens(bank Bank, del, val tx.Address, amount uint64) Dec {
	v := s.validators[val]
	d := s.delegationW(pairKey{del, val})
	if d != nil {
		s.withdraw(bank, d)
	} else {
		s.incrementPeriod(val)
		d = &delegation{Delegation: Delegation{Delegator: del, Validator: val}}
		s.setDelegation(pairKey{del, val}, d)
	}
	sh := sharesFor(v, amount, false)
	v.Tokens += amount
	v.Shares = v.Shares.Add(sh)
	*s.pool(v.Status) += amount
	d.Shares = d.Shares.Add(sh)
	s.initDelegation(d)
	return sh
}

// unbondPlan works out the shares and tokens that taking amount out of
// del's delegation to v removes: shares rounded up so that the tokens
// cover amount, but never more than the delegation holds.
func (s *State) unbondPlan(del, val tx.Address, amount uint64) (*delegation, Dec, uint64, error) {
	v := s.validators[val]
	d := s.delegationW(pairKey{del, val})
	switch {
	case v == nil:
		return nil, Dec{}, 0, fmt.Errorf("%w: validator %s", ErrNotFound, val)
	case d == nil:
		return nil, Dec{}, 0, fmt.Errorf("%w: delegation of %s to %s", ErrNotFound, del, val)
	case amount == 0:
		return nil, Dec{}, 0, fmt.Errorf("%w: zero amount", ErrInvalid)
	case v.Tokens == 0:
		// Slashed to nothing: the shares stand for no tokens; only
		// leaving entirely is possible.
		return d, d.Shares, 0, nil
	}
	sh := sharesFor(v, amount, true)
	if sh.Cmp(d.Shares) > 0 {
		if sharesFor(v, amount, false).Cmp(d.Shares) > 0 {
			return nil, Dec{}, 0, fmt.Errorf("%w: %d tokens asked, %d delegated", ErrInsufficientShares, amount, tokensFor(v, d.Shares))
		}
		sh = d.Shares
	}
	tok := tokensFor(v, sh)
	if tok == 0 {
		return nil, Dec{}, 0, fmt.Errorf("%w: amount rounds to nothing", ErrInvalid)
	}
	return d, sh, tok, nil
}

// removeShares withdraws d's rewards, takes sh shares (worth tok tokens)
// out of d and its validator, and returns the tokens' pool. It deletes an
// emptied delegation and jails a validator whose operator fell below the
// minimum self-bond.
func (s *State) removeShares(bank Bank, d *delegation, sh Dec, tok uint64) *uint64 {
	v := s.validators[d.Validator]
	s.withdraw(bank, d)
	v.Tokens -= tok
	v.Shares = v.Shares.Sub(sh)
	d.Shares = d.Shares.Sub(sh)
	if d.Shares.IsZero() {
		s.setDelegation(pairKey{d.Delegator, d.Validator}, nil)
	} else {
		s.initDelegation(d)
	}
	if d.Delegator == d.Validator && !v.Jailed {
		self := uint64(0)
		if sd := s.delegations.At(pairKey{d.Delegator, d.Validator}); sd != nil {
			self = tokensFor(v, sd.Shares)
		}
		if self < s.params.MinSelfBond {
			v.Jailed = true
		}
	}
	return s.pool(v.Status)
}

// Undelegate takes amount (or, when rounding leaves less, the whole
// delegation) out of del's delegation to val into an unbonding entry that
// EndBlock releases to del's balance at the returned completion time. From
// a validator slashed to no tokens, it removes the whole delegation at once
// and returns the current time.
// Rewards are withdrawn first. An operator going below the minimum
// self-bond jails its validator.
func (s *State) Undelegate(bank Bank, del, val tx.Address, amount uint64) (completion int64, err error) {
	d, sh, tok, err := s.unbondPlan(del, val, amount)
	if err != nil {
		return 0, err
	}
	if tok == 0 {
		s.removeShares(bank, d, sh, 0)
		return s.time, nil
	}
	ub := s.unbondingW(pairKey{del, val})
	if ub != nil && len(ub.Entries) >= int(s.params.MaxEntries) {
		return 0, fmt.Errorf("%w: %d unbonding entries", ErrTooManyEntries, len(ub.Entries))
	}
	pool := s.removeShares(bank, d, sh, tok)
	*pool -= tok
	s.pools.NotBonded += tok
	if ub == nil {
		ub = &UnbondingDelegation{Delegator: del, Validator: val}
		s.setUnbonding(pairKey{del, val}, ub)
	}
	completion = s.time + s.params.UnbondingTime
	ub.Entries = append(ub.Entries, UnbondingEntry{CreationHeight: s.height, CompletionTime: completion, InitialBalance: tok, Balance: tok})
	s.enqueue(queueItem{time: completion, del: del, src: val})
	return completion, nil
}

// receiving reports whether a redelegation to val by del is still in its
// unbonding period.
func (s *State) receiving(del, val tx.Address) bool {
	return s.receivers[pairKey{del, val}] > 0
}

// Redelegate moves amount of del's delegation from src to dst without
// unbonding. Stake that arrived at src by a redelegation still in progress
// cannot move on (no transitive redelegation). While src is bonded or
// unbonding the move stays slashable for src's earlier infractions until
// the returned completion time (0 when src is unbonded).
func (s *State) Redelegate(bank Bank, del, src, dst tx.Address, amount uint64) (completion int64, err error) {
	vd := s.validators[dst]
	switch {
	case src == dst:
		return 0, fmt.Errorf("%w: redelegation to the same validator", ErrInvalid)
	case vd == nil:
		return 0, fmt.Errorf("%w: validator %s", ErrNotFound, dst)
	case vd.Tokens == 0 && !vd.Shares.IsZero():
		return 0, fmt.Errorf("%w: validator %s has shares but no tokens", ErrInvalid, dst)
	}
	d, sh, tok, err := s.unbondPlan(del, src, amount)
	if err != nil {
		return 0, err
	}
	if tok == 0 {
		return 0, fmt.Errorf("%w: validator %s has no tokens", ErrInsufficientShares, src)
	}
	if vd.Tokens+tok < vd.Tokens {
		return 0, fmt.Errorf("%w: amount overflows", ErrInvalid)
	}
	if s.receiving(del, src) {
		return 0, fmt.Errorf("%w: %s", ErrTransitive, src)
	}
	k := tripleKey{del, src, dst}
	rd := s.redelW(k)
	if rd != nil && len(rd.Entries) >= int(s.params.MaxEntries) {
		return 0, fmt.Errorf("%w: %d redelegation entries", ErrTooManyEntries, len(rd.Entries))
	}
	vs := s.validators[src]
	switch vs.Status {
	case Bonded:
		completion = s.time + s.params.UnbondingTime
	case Unbonding:
		completion = vs.UnbondingTime
	}
	pool := s.removeShares(bank, d, sh, tok)
	*pool -= tok
	shDst := s.addTokens(bank, del, dst, tok)
	if vs.Status == Unbonded {
		return 0, nil
	}
	if rd == nil {
		rd = &Redelegation{Delegator: del, Src: src, Dst: dst}
		s.setRedel(k, rd)
		s.receivers[pairKey{del, dst}]++
	}
	rd.Entries = append(rd.Entries, RedelegationEntry{CreationHeight: s.height, CompletionTime: completion, InitialBalance: tok, SharesDst: shDst})
	s.enqueue(queueItem{time: completion, redel: true, del: del, src: src, dst: dst})
	return completion, nil
}

// WithdrawRewards pays del its rewards from val and returns the amount.
// Fractions of a token stay in the remainder.
func (s *State) WithdrawRewards(bank Bank, del, val tx.Address) (uint64, error) {
	d := s.delegationW(pairKey{del, val})
	if d == nil {
		return 0, fmt.Errorf("%w: delegation of %s to %s", ErrNotFound, del, val)
	}
	paid := s.withdraw(bank, d)
	s.initDelegation(d)
	return paid, nil
}

// WithdrawCommission pays the operator the whole tokens of its validator's
// accrued commission and returns the amount.
func (s *State) WithdrawCommission(bank Bank, operator tx.Address) (uint64, error) {
	d := s.dist[operator]
	if d == nil {
		return 0, fmt.Errorf("%w: validator %s", ErrNotFound, operator)
	}
	paid := d.commission.TruncateInt()
	if paid == 0 {
		return 0, nil
	}
	d.commission = d.commission.Sub(NewDec(paid))
	d.outstanding = d.outstanding.Sub(NewDec(paid))
	s.pools.Rewards -= paid
	bank.Add(operator, paid)
	return paid, nil
}

// Unjail lets a jailed validator back into the active set at the next
// EndBlock, once its jail time has passed, unless it is tombstoned or its
// operator's self-bond is below the minimum.
func (s *State) Unjail(operator tx.Address) error {
	v := s.validators[operator]
	if v == nil {
		return fmt.Errorf("%w: validator %s", ErrNotFound, operator)
	}
	si := s.signing[v.ConsAddress()]
	self := uint64(0)
	if d := s.delegations.At(pairKey{operator, operator}); d != nil {
		self = tokensFor(v, d.Shares)
	}
	switch {
	case !v.Jailed:
		return fmt.Errorf("%w: validator %s is not jailed", ErrInvalid, operator)
	case si != nil && si.Tombstoned:
		return fmt.Errorf("%w: validator %s is tombstoned", ErrJailed, operator)
	case si != nil && s.time < si.JailedUntil:
		return fmt.Errorf("%w: validator %s until %d, now %d", ErrJailed, operator, si.JailedUntil, s.time)
	case self < s.params.MinSelfBond:
		return fmt.Errorf("%w: %d < %d", ErrSelfBond, self, s.params.MinSelfBond)
	}
	v.Jailed = false
	return nil
}

// CancelUnbonding puts amount of del's unbonding entry from val created at
// creationHeight back into the delegation, as Cosmos SDK's
// MsgCancelUnbondingDelegation does: the entry shrinks (or goes, when all
// of its balance is taken) and the tokens are delegated again. It is
// refused for a jailed validator. Rewards of the delegation are withdrawn
// first.
func (s *State) CancelUnbonding(bank Bank, del, val tx.Address, amount uint64, creationHeight int64) error {
	v := s.validators[val]
	ub := s.unbondingW(pairKey{del, val})
	switch {
	case v == nil:
		return fmt.Errorf("%w: validator %s", ErrNotFound, val)
	case v.Jailed:
		return fmt.Errorf("%w: validator %s", ErrJailed, val)
	case amount == 0:
		return fmt.Errorf("%w: zero amount", ErrInvalid)
	case v.Tokens == 0 && !v.Shares.IsZero():
		return fmt.Errorf("%w: validator %s has shares but no tokens", ErrInvalid, val)
	case ub == nil:
		return fmt.Errorf("%w: unbonding of %s from %s", ErrNotFound, del, val)
	}
	i := 0
	for i < len(ub.Entries) && ub.Entries[i].CreationHeight != creationHeight {
		i++
	}
	if i == len(ub.Entries) {
		return fmt.Errorf("%w: no unbonding entry at height %d", ErrNotFound, creationHeight)
	}
	e := &ub.Entries[i]
	if amount > e.Balance {
		return fmt.Errorf("%w: %d asked, entry holds %d", ErrInsufficientShares, amount, e.Balance)
	}
	if amount == e.Balance {
		ub.Entries = append(ub.Entries[:i], ub.Entries[i+1:]...)
		if len(ub.Entries) == 0 {
			s.setUnbonding(pairKey{del, val}, nil)
		}
	} else {
		e.Balance -= amount
		e.InitialBalance -= amount
	}
	s.pools.NotBonded -= amount
	s.addTokens(bank, del, val, amount)
	return nil
}
