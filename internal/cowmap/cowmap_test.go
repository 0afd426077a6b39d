package cowmap

import (
	"maps"
	"math/rand/v2"
	"testing"
)

// TestCloneMatchesMaps drives a Map and its clones with random sets and
// deletes beside plain maps and checks that every version keeps its own
// entries.
func TestCloneMatchesMaps(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m, want := &Map[int, int]{}, map[int]int{}
	type version struct {
		m    *Map[int, int]
		want map[int]int
	}
	var old []version
	for round := range 60 {
		for range r.IntN(200) {
			k := r.IntN(2000)
			if r.IntN(3) == 0 {
				m.Delete(k)
				delete(want, k)
			} else {
				m.Set(k, round)
				want[k] = round
			}
		}
		check(t, m, want)
		// Keep the version, and change either it or its clone next.
		c := m.Clone()
		if r.IntN(2) == 0 {
			old = append(old, version{c, maps.Clone(want)})
		} else {
			old = append(old, version{m, maps.Clone(want)})
			m = c
		}
		for _, v := range old {
			check(t, v.m, v.want)
		}
	}
}

func check(t *testing.T, m *Map[int, int], want map[int]int) {
	t.Helper()
	if m.Len() != len(want) {
		t.Fatalf("%d entries, want %d", m.Len(), len(want))
	}
	got := maps.Collect(m.All())
	if !maps.Equal(got, want) {
		t.Fatal("entries differ")
	}
	for k, v := range want {
		if x, ok := m.Get(k); !ok || x != v || m.At(k) != v {
			t.Fatalf("key %d: %d %v, want %d", k, x, ok, v)
		}
	}
	if _, ok := m.Get(-1); ok {
		t.Fatal("missing key found")
	}
}
