package staking

import (
	"bytes"
	"maps"
	"slices"
	"sort"
)

// Delegations, unbonding delegations and redelegations, the records that
// grow with the number of delegators, are shared copy-on-write between a
// state and its clones: Clone copies the maps, not the records, and an
// operation that changes a record first takes it with delegationW,
// unbondingW or redelW, which copy a record the state does not own yet.
// The keys an operation took, created or deleted are also the state's
// touched ones, which ChangedEntries compares instead of every record.

// cow is the copy-on-write bookkeeping of a State.
type cow struct {
	// owned are the records only this state holds: made or copied by it
	// since it was made or last cloned.
	ownedDel, ownedUnb map[pairKey]bool
	ownedRedel         map[tripleKey]bool
	// touched are the keys of the records taken, made or deleted since
	// the state was made by Clone (or New, Load).
	touchedDel, touchedUnb map[pairKey]bool
	touchedRedel           map[tripleKey]bool
}

func newCow() cow {
	return cow{ownedDel: map[pairKey]bool{}, ownedUnb: map[pairKey]bool{}, ownedRedel: map[tripleKey]bool{},
		touchedDel: map[pairKey]bool{}, touchedUnb: map[pairKey]bool{}, touchedRedel: map[tripleKey]bool{}}
}

// disown forgets which records s owns: after a Clone, s shares them all.
func (c *cow) disown() {
	c.ownedDel, c.ownedUnb, c.ownedRedel = map[pairKey]bool{}, map[pairKey]bool{}, map[tripleKey]bool{}
}

// delegationW returns k's delegation to change (nil if there is none),
// copied first if s shares it.
func (s *State) delegationW(k pairKey) *delegation {
	d := s.delegations.At(k)
	if d == nil {
		return nil
	}
	s.touchedDel[k] = true
	if !s.ownedDel[k] {
		c := *d
		d = &c
		s.delegations.Set(k, d)
		s.ownedDel[k] = true
	}
	return d
}

// setDelegation adds or (d nil) deletes k's delegation.
func (s *State) setDelegation(k pairKey, d *delegation) {
	s.touchedDel[k] = true
	if d == nil {
		s.delegations.Delete(k)
		delete(s.ownedDel, k)
		return
	}
	s.delegations.Set(k, d)
	s.ownedDel[k] = true
}

// unbondingW returns k's unbonding delegation to change (nil if there is
// none), copied first if s shares it.
func (s *State) unbondingW(k pairKey) *UnbondingDelegation {
	ub := s.unbondings.At(k)
	if ub == nil {
		return nil
	}
	s.touchedUnb[k] = true
	if !s.ownedUnb[k] {
		c := *ub
		c.Entries = slices.Clone(ub.Entries)
		ub = &c
		s.unbondings.Set(k, ub)
		s.ownedUnb[k] = true
	}
	return ub
}

// setUnbonding adds or (ub nil) deletes k's unbonding delegation.
func (s *State) setUnbonding(k pairKey, ub *UnbondingDelegation) {
	s.touchedUnb[k] = true
	if ub == nil {
		s.unbondings.Delete(k)
		delete(s.ownedUnb, k)
		return
	}
	s.unbondings.Set(k, ub)
	s.ownedUnb[k] = true
}

// redelW returns k's redelegation to change (nil if there is none),
// copied first if s shares it.
func (s *State) redelW(k tripleKey) *Redelegation {
	rd := s.redels.At(k)
	if rd == nil {
		return nil
	}
	s.touchedRedel[k] = true
	if !s.ownedRedel[k] {
		c := *rd
		c.Entries = slices.Clone(rd.Entries)
		rd = &c
		s.redels.Set(k, rd)
		s.ownedRedel[k] = true
	}
	return rd
}

// setRedel adds or (rd nil) deletes k's redelegation.
func (s *State) setRedel(k tripleKey, rd *Redelegation) {
	s.touchedRedel[k] = true
	if rd == nil {
		s.redels.Delete(k)
		delete(s.ownedRedel, k)
		return
	}
	s.redels.Set(k, rd)
	s.ownedRedel[k] = true
}

// ChangedEntries returns the entries of s that differ from base's, sorted
// by key, as Entries encodes them: the new or changed ones with their
// value, the deleted ones with a nil Value. s must be base.Clone() changed
// only by operations on s since. Its cost grows with the number of
// validators and of the delegations, unbonding delegations, redelegations
// and F1 history periods the operations touched, not with the number of
// delegators.
func (s *State) ChangedEntries(base *State) []KV {
	var out []KV
	add := func(cur, old KV) {
		if !bytes.Equal(cur.Value, old.Value) {
			out = append(out, cur)
		}
	}
	add(s.paramsEntry(), base.paramsEntry())
	add(s.metaEntry(), base.metaEntry())
	for op := range union(s.validators, base.validators) {
		add(s.validatorEntry(op), base.validatorEntry(op))
	}
	for op := range union(s.dist, base.dist) {
		cur, old := s.dist[op], base.dist[op]
		periods := map[uint64]bool(nil)
		if cur != nil && old != nil && cur.touched != nil {
			periods = cur.touched
		} else {
			periods = union(cur.histOrNil(), old.histOrNil())
		}
		for p := range periods {
			add(s.histEntry(op, p), base.histEntry(op, p))
		}
	}
	for ca := range union(s.signing, base.signing) {
		add(s.signingEntry(ca), base.signingEntry(ca))
	}
	for op := range union(s.lastPower, base.lastPower) {
		add(s.powerEntry(op), base.powerEntry(op))
	}
	for k := range s.touchedDel {
		add(s.delegationEntry(k), base.delegationEntry(k))
	}
	for k := range s.touchedUnb {
		add(s.unbondingEntry(k), base.unbondingEntry(k))
	}
	for k := range s.touchedRedel {
		add(s.redelEntry(k), base.redelEntry(k))
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].Key, out[j].Key) < 0 })
	return out
}

// histOrNil returns d's history, nil for a nil d.
func (d *valDist) histOrNil() map[uint64]histRatio {
	if d == nil {
		return nil
	}
	return d.hist
}

// union returns the keys of a and b.
func union[K comparable, V any](a, b map[K]V) map[K]bool {
	out := make(map[K]bool, len(a))
	for k := range maps.Keys(a) {
		out[k] = true
	}
	for k := range maps.Keys(b) {
		out[k] = true
	}
	return out
}
