package staking

import (
	"bytes"
	"maps"
	"slices"
	"sort"

	"github.com/datamesh/mesh-node/internal/cowmap"
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

// records is one kind of copy-on-write record: the map and the state's
// owned and touched keys of that kind.
type records[K comparable, V any] struct {
	m       *cowmap.Map[K, *V]
	owned   map[K]bool
	touched map[K]bool
	copy    func(*V) *V
}

// writable returns k's record to change (nil if there is none), copied
// first if it is shared.
func (r records[K, V]) writable(k K) *V {
	v := r.m.At(k)
	if v == nil {
		return nil
	}
	r.touched[k] = true
	if !r.owned[k] {
		v = r.copy(v)
		r.m.Set(k, v)
		r.owned[k] = true
	}
	return v
}

// set adds or (v nil) deletes k's record.
func (r records[K, V]) set(k K, v *V) {
	r.touched[k] = true
	if v == nil {
		r.m.Delete(k)
		delete(r.owned, k)
		return
	}
	r.m.Set(k, v)
	r.owned[k] = true
}

func (s *State) delegationRecords() records[pairKey, delegation] {
	return records[pairKey, delegation]{s.delegations, s.ownedDel, s.touchedDel, func(d *delegation) *delegation { c := *d; return &c }}
}

func (s *State) unbondingRecords() records[pairKey, UnbondingDelegation] {
	return records[pairKey, UnbondingDelegation]{s.unbondings, s.ownedUnb, s.touchedUnb, func(ub *UnbondingDelegation) *UnbondingDelegation {
		c := *ub
		c.Entries = slices.Clone(ub.Entries)
		return &c
	}}
}

func (s *State) redelRecords() records[tripleKey, Redelegation] {
	return records[tripleKey, Redelegation]{s.redels, s.ownedRedel, s.touchedRedel, func(rd *Redelegation) *Redelegation {
		c := *rd
		c.Entries = slices.Clone(rd.Entries)
		return &c
	}}
}

// delegationW returns k's delegation to change (nil if there is none),
// copied first if s shares it; setDelegation adds or (d nil) deletes it.
// unbondingW, setUnbonding, redelW and setRedel are the same for
// unbonding delegations and redelegations.
func (s *State) delegationW(k pairKey) *delegation { return s.delegationRecords().writable(k) }

func (s *State) setDelegation(k pairKey, d *delegation) { s.delegationRecords().set(k, d) }

func (s *State) unbondingW(k pairKey) *UnbondingDelegation { return s.unbondingRecords().writable(k) }

func (s *State) setUnbonding(k pairKey, ub *UnbondingDelegation) { s.unbondingRecords().set(k, ub) }

func (s *State) redelW(k tripleKey) *Redelegation { return s.redelRecords().writable(k) }

func (s *State) setRedel(k tripleKey, rd *Redelegation) { s.redelRecords().set(k, rd) }

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
