package staking

import (
	"bytes"
	"fmt"
	"math"
	"sort"

	"github.com/datamesh/mesh-node/core/tx"
)

// Vote is one validator's entry in the last commit, as CometBFT's
// FinalizeBlock request reports it (DecidedLastCommit).
type Vote struct {
	Address ConsAddress
	Power   int64
	// Signed is false when the validator's vote is absent.
	Signed bool
}

// Evidence is a double sign (duplicate vote or light client attack) that
// CometBFT reports as misbehaviour.
type Evidence struct {
	Address ConsAddress
	// Height is the infraction height.
	Height int64
	// Power is the validator's voting power at Height.
	Power int64
}

// BeginBlockInput is what the application passes at the start of each
// block.
type BeginBlockInput struct {
	Height int64
	Time   int64 // unix seconds from the block header
	// Fees are the fees the block's transactions paid; the application
	// has taken them from the payers. They join the rewards pool.
	Fees     uint64
	Votes    []Vote
	Evidence []Evidence
}

// BeginBlock moves the state to the block: it mints the inflation,
// distributes fees, inflation and the remainder to the validators that
// signed the last commit by voting power, records liveness, jails and
// slashes validators that were down, and slashes, jails and tombstones
// validators in the evidence. Votes and evidence naming unknown validators
// are ignored. It fails, changing nothing, only if the height does not
// follow the state's or the time goes back.
func (s *State) BeginBlock(bank Bank, in BeginBlockInput) error {
	if in.Height != s.height+1 || in.Time < s.time {
		return fmt.Errorf("%w: block %d at %d after block %d at %d", ErrBlock, in.Height, in.Time, s.height, s.time)
	}
	if s.pools.Rewards+in.Fees < s.pools.Rewards || s.pools.Rewards+in.Fees+s.params.InflationPerBlock < s.pools.Rewards+in.Fees {
		return fmt.Errorf("%w: rewards pool overflows", ErrInvalid)
	}
	s.height, s.time = in.Height, in.Time
	s.pools.Rewards += in.Fees + s.params.InflationPerBlock
	s.pools.Minted += s.params.InflationPerBlock
	s.distribute(NewDec(in.Fees+s.params.InflationPerBlock), in.Votes)
	for _, v := range in.Votes {
		s.handleVote(bank, v)
	}
	for _, e := range in.Evidence {
		s.handleEvidence(bank, e)
	}
	return nil
}

// distribute shares amount plus the remainder among the validators that
// signed, by power; what rounding leaves goes back to the remainder.
func (s *State) distribute(amount Dec, votes []Vote) {
	total := amount.Add(s.remainder)
	s.remainder = Dec{}
	var power uint64
	type share struct {
		val tx.Address
		pw  uint64
	}
	shares := make([]share, 0, 16)
	// A commit lists each validator once; keep the first entry.
	seen := map[tx.Address]bool{}
	for _, v := range votes {
		if !v.Signed || v.Power <= 0 {
			continue
		}
		op, ok := s.byCons[v.Address]
		if !ok || seen[op] {
			continue
		}
		seen[op] = true
		pw := uint64(min(v.Power, maxPower)) // bounded so the sum cannot overflow
		shares = append(shares, share{op, pw})
		power += pw
	}
	given := Dec{}
	for _, sh := range shares {
		r := mulQuo(total, sh.pw, power, false)
		s.allocate(sh.val, r)
		given = given.Add(r)
	}
	s.remainder = total.Sub(given)
}

// handleVote records one validator's signature or absence and jails and
// slashes it when it missed too many of the window.
func (s *State) handleVote(bank Bank, vote Vote) {
	si := s.signing[vote.Address]
	op, ok := s.byCons[vote.Address]
	if si == nil || !ok {
		return
	}
	v := s.validators[op]
	w := s.params.SignedBlocksWindow
	idx := si.IndexOffset % w
	si.IndexOffset++
	byteIdx, bit := idx/8, byte(1)<<(idx%8)
	was := si.missed[byteIdx]&bit != 0
	missed := !vote.Signed
	switch {
	case missed && !was:
		si.missed[byteIdx] |= bit
		si.MissedBlocks++
	case !missed && was:
		si.missed[byteIdx] &^= bit
		si.MissedBlocks--
	}
	if s.height <= si.StartHeight+w || si.MissedBlocks <= s.params.maxMissed() || v.Jailed || si.Tombstoned {
		return
	}
	// The last commit is of height-1, whose validators were chosen at
	// the end of height-2.
	s.slash(bank, op, max(s.height-2, 0), vote.Power, s.params.SlashFractionDowntime)
	v.Jailed = true
	si.JailedUntil = s.time + s.params.DowntimeJailDuration
	si.MissedBlocks, si.IndexOffset = 0, 0
	clear(si.missed)
}

func (s *State) handleEvidence(bank Bank, e Evidence) {
	si := s.signing[e.Address]
	op, ok := s.byCons[e.Address]
	if si == nil || !ok || si.Tombstoned || e.Height <= 0 || e.Height > s.height || e.Power < 0 {
		return
	}
	s.slash(bank, op, e.Height, e.Power, s.params.SlashFractionDoubleSign)
	s.validators[op].Jailed = true
	si.Tombstoned = true
	si.JailedUntil = math.MaxInt64
}

// slash burns fraction of the stake val had bonded at infraction height
// (power at that height × PowerReduction): first from the unbonding
// entries and redelegations made from val at or after that height and not
// yet complete, then, for what is left, from val's tokens. Entries made
// before the infraction height are not touched.
func (s *State) slash(bank Bank, val tx.Address, infraction int64, power int64, fraction Dec) {
	v := s.validators[val]
	stake := uint64(max(power, 0))
	if hi := ^uint64(0) / s.params.PowerReduction; stake > hi {
		stake = hi
	}
	remaining := NewDec(stake * s.params.PowerReduction).Mul(fraction).TruncateInt()
	sub := func(x uint64) {
		if x > remaining {
			remaining = 0
		} else {
			remaining -= x
		}
	}
	for _, k := range s.sortedUnbondings(val) {
		ub := s.unbondingW(k)
		for i := range ub.Entries {
			e := &ub.Entries[i]
			if e.CreationHeight < infraction || e.CompletionTime <= s.time {
				continue
			}
			amt := NewDec(e.InitialBalance).Mul(fraction).TruncateInt()
			sub(amt)
			amt = min(amt, e.Balance)
			e.Balance -= amt
			s.pools.NotBonded -= amt
			s.pools.Burned += amt
		}
	}
	for _, k := range s.sortedRedelegations(val) {
		rd := s.redels.At(k)
		for _, e := range rd.Entries {
			if e.CreationHeight < infraction || e.CompletionTime <= s.time {
				continue
			}
			sub(NewDec(e.InitialBalance).Mul(fraction).TruncateInt())
			d := s.delegationW(pairKey{k.del, k.dst})
			if d == nil {
				continue
			}
			sh := minDec(e.SharesDst.Mul(fraction), d.Shares)
			vd := s.validators[k.dst]
			tok := tokensFor(vd, sh)
			if sh.IsZero() {
				continue
			}
			pool := s.removeShares(bank, d, sh, tok)
			*pool -= tok
			s.pools.Burned += tok
		}
	}
	burn := min(remaining, v.Tokens)
	if burn == 0 {
		return
	}
	s.recordSlash(val, NewDecFrac(burn, v.Tokens))
	v.Tokens -= burn
	*s.pool(v.Status) -= burn
	s.pools.Burned += burn
}

func (s *State) sortedUnbondings(val tx.Address) []pairKey {
	var ks []pairKey
	for k := range s.unbondings.Keys() {
		if k.val == val {
			ks = append(ks, k)
		}
	}
	sort.Slice(ks, func(i, j int) bool { return bytes.Compare(ks[i].del[:], ks[j].del[:]) < 0 })
	return ks
}

func (s *State) sortedRedelegations(src tx.Address) []tripleKey {
	var ks []tripleKey
	for k := range s.redels.Keys() {
		if k.src == src {
			ks = append(ks, k)
		}
	}
	sort.Slice(ks, func(i, j int) bool {
		if c := bytes.Compare(ks[i].del[:], ks[j].del[:]); c != 0 {
			return c < 0
		}
		return bytes.Compare(ks[i].dst[:], ks[j].dst[:]) < 0
	})
	return ks
}

// ValidatorUpdate is a change of CometBFT's validator set: power 0
// removes the validator.
type ValidatorUpdate struct {
	PubKey []byte // ed25519
	Power  int64
}

// EndBlock chooses the active set — the MaxValidators unjailed validators
// with the most tokens and a power of at least 1, ties broken by consensus
// key — moves validators between Bonded, Unbonding and Unbonded, releases
// unbonding entries whose completion time has come (at or before the block
// time) to the bank, drops completed redelegations, and removes unbonded
// validators left without shares. It returns the validator updates for
// CometBFT, sorted by public key: only validators whose power changed,
// power 0 for those that left. The returned slices are the caller's.
func (s *State) EndBlock(bank Bank) []ValidatorUpdate {
	cands := make([]*Validator, 0, len(s.validators))
	for _, v := range s.validators {
		if !v.Jailed && s.params.Power(v.Tokens) > 0 {
			cands = append(cands, v)
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].Tokens != cands[j].Tokens {
			return cands[i].Tokens > cands[j].Tokens
		}
		return bytes.Compare(cands[i].ConsPubKey, cands[j].ConsPubKey) < 0
	})
	if len(cands) > int(s.params.MaxValidators) {
		cands = cands[:s.params.MaxValidators]
	}
	next := make(map[tx.Address]int64, len(cands))
	for _, v := range cands {
		next[v.Operator] = s.params.Power(v.Tokens)
	}
	var updates []ValidatorUpdate
	for _, op := range sortedAddrs(s.validators) {
		v := s.validators[op]
		pw, in := next[op]
		last, was := s.lastPower[op]
		switch {
		case in && v.Status != Bonded:
			s.pools.NotBonded -= v.Tokens
			s.pools.Bonded += v.Tokens
			v.Status = Bonded
			if si := s.signing[v.ConsAddress()]; si != nil {
				si.StartHeight, si.IndexOffset, si.MissedBlocks = s.height, 0, 0
				clear(si.missed)
			}
		case !in && v.Status == Bonded:
			s.pools.Bonded -= v.Tokens
			s.pools.NotBonded += v.Tokens
			v.Status = Unbonding
			v.UnbondingHeight = s.height
			v.UnbondingTime = s.time + s.params.UnbondingTime
		}
		if in && (!was || last != pw) {
			updates = append(updates, ValidatorUpdate{PubKey: append([]byte(nil), v.ConsPubKey...), Power: pw})
			s.lastPower[op] = pw
		}
		if !in && was {
			updates = append(updates, ValidatorUpdate{PubKey: append([]byte(nil), v.ConsPubKey...), Power: 0})
			delete(s.lastPower, op)
		}
		if v.Status == Unbonding && v.UnbondingTime <= s.time {
			v.Status = Unbonded
		}
		if v.Status == Unbonded && v.Shares.IsZero() {
			s.removeValidator(bank, op)
		}
	}
	sort.Slice(updates, func(i, j int) bool { return bytes.Compare(updates[i].PubKey, updates[j].PubKey) < 0 })
	s.mature(bank)
	return updates
}

// removeValidator deletes an unbonded validator without shares; its
// signing info stays, so its consensus key cannot be used again.
func (s *State) removeValidator(bank Bank, op tx.Address) {
	v := s.validators[op]
	s.pools.NotBonded -= v.Tokens
	s.pools.Burned += v.Tokens // dust no share stands for
	s.removeDist(bank, op)
	delete(s.byCons, v.ConsAddress())
	delete(s.validators, op)
}

// mature releases the queue's entries due at or before the block time.
func (s *State) mature(bank Bank) {
	n := 0
	for n < len(s.queue) && s.queue[n].time <= s.time {
		n++
	}
	due := s.queue[:n]
	s.queue = append([]queueItem(nil), s.queue[n:]...)
	for _, q := range due {
		if q.redel {
			k := tripleKey{q.del, q.src, q.dst}
			rd := s.redelW(k)
			if rd == nil {
				continue
			}
			rd.Entries = keep(rd.Entries, func(e RedelegationEntry) bool { return e.CompletionTime > s.time })
			if len(rd.Entries) == 0 {
				s.setRedel(k, nil)
				s.dropReceiver(pairKey{k.del, k.dst})
			}
			continue
		}
		k := pairKey{q.del, q.src}
		ub := s.unbondingW(k)
		if ub == nil {
			continue
		}
		var out uint64
		ub.Entries = keep(ub.Entries, func(e UnbondingEntry) bool {
			if e.CompletionTime > s.time {
				return true
			}
			out += e.Balance
			return false
		})
		if len(ub.Entries) == 0 {
			s.setUnbonding(k, nil)
		}
		s.pools.NotBonded -= out
		if out > 0 {
			bank.Add(q.del, out)
		}
	}
}

func keep[T any](xs []T, f func(T) bool) []T {
	out := xs[:0]
	for _, x := range xs {
		if f(x) {
			out = append(out, x)
		}
	}
	return out
}

func (s *State) dropReceiver(k pairKey) {
	if s.receivers[k] <= 1 {
		delete(s.receivers, k)
		return
	}
	s.receivers[k]--
}
