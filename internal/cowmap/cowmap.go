// Package cowmap is a map whose copies share memory until written: Clone
// costs a fixed amount whatever the size, and the first write to a part of
// either map after it copies that part (1/256 of the entries, about) once.
// The chain application keeps one version of its state per block this way
// (core/app's accounts, core/staking's delegations), so that a block costs
// what it changes rather than the state's size.
package cowmap

import (
	"hash/maphash"
	"iter"
	"maps"
)

// shards is the number of parts a Map is split into.
const shards = 256

var seed = maphash.MakeSeed()

// Map is a map from K to V with a cheap Clone. The zero Map is empty and
// ready to use. A Map is not safe for concurrent use, and Clone writes to
// the map it copies (which stops owning its parts), so it counts as a
// write.
type Map[K comparable, V any] struct {
	parts [shards]map[K]V
	// owned marks the parts only this map holds, which it changes in place.
	owned [shards]bool
	n     int
}

func part[K comparable](k K) int { return int(maphash.Comparable(seed, k) % shards) }

// Get returns the value of k and whether m has it.
func (m *Map[K, V]) Get(k K) (V, bool) {
	v, ok := m.parts[part(k)][k]
	return v, ok
}

// At returns the value of k, the zero V if m does not have it.
func (m *Map[K, V]) At(k K) V { return m.parts[part(k)][k] }

// writable returns part i of m to change, copied first if shared.
func (m *Map[K, V]) writable(i int) map[K]V {
	if !m.owned[i] {
		m.parts[i] = maps.Clone(m.parts[i])
		if m.parts[i] == nil {
			m.parts[i] = map[K]V{}
		}
		m.owned[i] = true
	}
	return m.parts[i]
}

// Set sets k to v.
func (m *Map[K, V]) Set(k K, v V) {
	p := m.writable(part(k))
	if _, ok := p[k]; !ok {
		m.n++
	}
	p[k] = v
}

// Delete removes k; deleting a missing key changes nothing.
func (m *Map[K, V]) Delete(k K) {
	i := part(k)
	if _, ok := m.parts[i][k]; !ok {
		return
	}
	delete(m.writable(i), k)
	m.n--
}

// Len returns the number of entries.
func (m *Map[K, V]) Len() int { return m.n }

// All yields the entries, in no particular order. m must not change
// during the iteration.
func (m *Map[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for _, p := range m.parts {
			for k, v := range p {
				if !yield(k, v) {
					return
				}
			}
		}
	}
}

// Keys yields the keys, in no particular order.
func (m *Map[K, V]) Keys() iter.Seq[K] {
	return func(yield func(K) bool) {
		for k := range m.All() {
			if !yield(k) {
				return
			}
		}
	}
}

// Clone returns a copy of m: changes to either leave the other as it was.
// It copies no entries; the first change to each part of either map
// copies that part.
func (m *Map[K, V]) Clone() *Map[K, V] {
	m.owned = [shards]bool{}
	return &Map[K, V]{parts: m.parts, n: m.n}
}
