package staking

import (
	"github.com/datamesh/mesh-node/core/tx"

	"maps"
	"slices"
)

// Clone returns a copy of s: operations on either leave the other as it
// was. The application clones the committed state once per block and runs
// the block on the copy. Dec values are immutable and shared; delegations,
// unbonding delegations and redelegations are shared copy-on-write
// (diff.go), so cloning copies their maps but not the records, and s
// stops owning them. The clone's ChangedEntries(s) is what operations on
// it changed.
func (s *State) Clone() *State {
	c := &State{
		params:      s.params,
		height:      s.height,
		time:        s.time,
		validators:  make(map[tx.Address]*Validator, len(s.validators)),
		byCons:      maps.Clone(s.byCons),
		dist:        make(map[tx.Address]*valDist, len(s.dist)),
		delegations: s.delegations.Clone(),
		unbondings:  s.unbondings.Clone(),
		redels:      s.redels.Clone(),
		receivers:   maps.Clone(s.receivers),
		signing:     make(map[ConsAddress]*signing, len(s.signing)),
		lastPower:   maps.Clone(s.lastPower),
		pools:       s.pools,
		remainder:   s.remainder,
		queue:       slices.Clone(s.queue),
		cow:         newCow(),
	}
	s.disown()
	for k, v := range s.validators {
		cv := v.clone()
		c.validators[k] = &cv
	}
	for k, d := range s.dist {
		cd := *d
		d.histShared, cd.histShared = true, true
		cd.touched = map[uint64]bool{}
		cd.slashes = slices.Clone(d.slashes)
		c.dist[k] = &cd
	}
	for k, si := range s.signing {
		cs := *si
		cs.missed = slices.Clone(si.missed)
		c.signing[k] = &cs
	}
	return c
}
