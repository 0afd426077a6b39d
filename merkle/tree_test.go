package merkle

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// testLeaf is the leaf of an entry: the key's length as one byte, the key,
// the value.
func testLeaf(k, v []byte) []byte { return append(append([]byte{byte(len(k))}, k...), v...) }

// sortedLeaves returns the keys of state in order and their leaf hashes.
func sortedLeaves(state map[string]string) ([][]byte, [][]byte) {
	var keys [][]byte
	for k := range state {
		keys = append(keys, []byte(k))
	}
	slices.SortFunc(keys, bytes.Compare)
	hashes := make([][]byte, len(keys))
	for i, k := range keys {
		hashes[i] = LeafHash(testLeaf(k, []byte(state[string(k)])))
	}
	return keys, hashes
}

// checkTree checks t against state computed from scratch: its keys, every
// level of inner nodes (against a tree built afresh), its root (against
// RootFromLeafHashes) and the proofs of some leaves (against
// ProofFromLeafHashes).
func checkTree(t *testing.T, rng *rand.Rand, tr *Tree, state map[string]string) {
	t.Helper()
	keys, hashes := sortedLeaves(state)
	if len(tr.keys) != len(keys) {
		t.Fatalf("tree has %d keys, state %d", len(tr.keys), len(keys))
	}
	for i, k := range keys {
		if tr.keys[i] != string(k) {
			t.Fatalf("key %d is %q, want %q", i, tr.keys[i], k)
		}
	}
	if want := RootFromLeafHashes(hashes); !bytes.Equal(tr.root, want) {
		t.Fatalf("root of %d entries %X, from scratch %X", len(keys), tr.root, want)
	}
	fresh := NewTree(keys, hashes)
	if len(fresh.levels) != len(tr.levels) {
		t.Fatalf("%d levels, a fresh tree %d", len(tr.levels), len(fresh.levels))
	}
	for j := range fresh.levels {
		if !bytes.Equal(fresh.levels[j], tr.levels[j]) {
			t.Fatalf("level %d of %d entries differs from a fresh tree's", j, len(keys))
		}
	}
	if len(keys) == 0 {
		return
	}
	for _, i := range []int{0, len(keys) - 1, rng.IntN(len(keys))} {
		_, want, err := ProofFromLeafHashes(hashes, i)
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.Proof(i); !reflect.DeepEqual(got, want) {
			t.Fatalf("proof of %d of %d: %+v, want %+v", i, len(keys), got, want)
		}
	}
}

// TestTreeMatchesScratch applies random blocks of sets, updates and
// deletes to trees of sizes around powers of two and checks each result
// against the tree computed from scratch.
func TestTreeMatchesScratch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257}
	key := func() string { return fmt.Sprintf("k%03d", rng.IntN(600)) }
	for _, size := range sizes {
		state := map[string]string{}
		for len(state) < size {
			state[key()] = fmt.Sprint(rng.IntN(1000))
		}
		keys, hashes := sortedLeaves(state)
		tr := NewTree(keys, hashes)
		checkTree(t, rng, tr, state)
		for block := range 40 {
			changes := map[string][]byte{}
			ops := rng.IntN(8)
			if block%10 == 9 {
				ops = rng.IntN(150) // large blocks cross powers of two
			}
			for range ops {
				k := key()
				if len(state) > 0 && rng.IntN(2) == 0 {
					// an existing key: pick the first at or after k
					ks, _ := sortedLeaves(state)
					i, _ := slices.BinarySearchFunc(ks, []byte(k), bytes.Compare)
					k = string(ks[i%len(ks)])
				}
				switch rng.IntN(4) {
				case 0: // delete (maybe a missing key)
					delete(state, k)
					changes[k] = nil
				case 1: // set to the same value where set: no change
					if v, ok := state[k]; ok {
						changes[k] = LeafHash(testLeaf([]byte(k), []byte(v)))
						break
					}
					fallthrough
				default:
					v := fmt.Sprint(rng.IntN(1000))
					state[k] = v
					changes[k] = LeafHash(testLeaf([]byte(k), []byte(v)))
				}
			}
			tr.Apply(changes)
			checkTree(t, rng, tr, state)
		}
	}
}

// TestTreeEmptyAndBack deletes every entry of a tree and sets them again.
func TestTreeEmptyAndBack(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	state := map[string]string{}
	for i := range 33 {
		state[fmt.Sprintf("k%02d", i)] = "v"
	}
	keys, hashes := sortedLeaves(state)
	tr := NewTree(keys, hashes)
	changes := map[string][]byte{}
	for k := range state {
		changes[k] = nil
	}
	tr.Apply(changes)
	checkTree(t, rng, tr, map[string]string{})
	if !bytes.Equal(tr.root, HashFromByteSlices(nil)) {
		t.Fatalf("empty tree root %X", tr.root)
	}
	for k := range changes {
		changes[k] = LeafHash(testLeaf([]byte(k), []byte("v")))
	}
	tr.Apply(changes)
	checkTree(t, rng, tr, state)
}

// BenchmarkTreeApply applies blocks of 100 changes to the tree of a state
// of 100,000 entries: updates of existing keys only (O(log n) nodes each),
// and half updates, half inserts spread over the key range (each block
// re-hashes the runs right of its first insert, most of the tree).
func BenchmarkTreeApply(b *testing.B) {
	const n, block = 100_000, 100
	for _, inserts := range []bool{false, true} {
		b.Run(fmt.Sprintf("inserts=%v", inserts), func(b *testing.B) {
			keys, hashes := make([][]byte, n), make([][]byte, n)
			for i := range keys {
				keys[i] = fmt.Appendf(nil, "key%07d", i)
				hashes[i] = LeafHash(testLeaf(keys[i], []byte("value")))
			}
			tr := NewTree(keys, hashes)
			b.ReportAllocs()
			h := uint64(1)
			for b.Loop() {
				h++
				changes := make(map[string][]byte, block)
				for i := range block {
					k := fmt.Sprintf("key%07d", (i*997+int(h)*31)%n)
					if inserts && i%2 == 1 {
						k = fmt.Sprintf("key%07d-%d", (i*991+int(h)*17)%n, h)
					}
					changes[k] = LeafHash(testLeaf([]byte(k), fmt.Append(nil, h)))
				}
				tr.Apply(changes)
			}
		})
	}
}
