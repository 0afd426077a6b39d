package statemachine

import (
	"bytes"
	"crypto/sha256"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/datamesh/mesh-node/merkle"
)

// tree is the state's Merkle tree kept in memory: the keys in order, their
// leaf hashes and the hashes of every aligned power-of-two run of leaves.
// RFC 6962 splits n > 1 leaves at the largest power of two below n, so
// every inner node of its tree is either such an aligned run (a perfect
// subtree) or one of the at most log2(n) nodes on the right edge, [s, n).
// The tree keeps the first kind and recomputes the second on demand.
//
// A run [b<<j, (b+1)<<j) depends only on its leaves and their positions:
// an update of leaf i dirties the runs holding i, one per level; an
// insert or delete at position f shifts the leaves from f on, up to the
// next insert or delete that cancels the shift (or the end), and dirties
// the runs over them, leaving the others as they are.
type tree struct {
	height uint64 // of the head the tree is the state of
	root   []byte
	keys   []string
	// levels[0] holds the leaf hashes back to back; levels[j] the hashes
	// of the runs [b<<j, (b+1)<<j), b < n>>j, each sha256.Size bytes.
	levels [][]byte
}

const hashSize = sha256.Size

// newTree returns the tree of the entries with keys (sorted) and leaf
// hashes, both in order. It keeps neither slice.
func newTree(height uint64, keys, hashes [][]byte) *tree {
	t := &tree{height: height, keys: make([]string, len(keys)), levels: [][]byte{make([]byte, 0, len(hashes)*hashSize)}}
	for i, k := range keys {
		t.keys[i] = string(k)
		t.levels[0] = append(t.levels[0], hashes[i]...)
	}
	t.rehash([]span{{0, len(keys)}})
	return t
}

func (t *tree) len() int { return len(t.levels[0]) / hashSize }

// node returns the hash of run b at level j; the caller must not modify it.
func (t *tree) node(j, b int) []byte { return t.levels[j][b*hashSize : (b+1)*hashSize] }

// span is the runs [lo, hi) of one level.
type span struct{ lo, hi int }

// rehash recomputes, level by level, the runs over the leaves in dirty
// (sorted, disjoint spans of leaf positions: the leaves that changed or
// moved, and every position past the old last leaf) and then the root;
// the other runs are kept. The leaves must be in place.
func (t *tree) rehash(dirty []span) {
	n := t.len()
	var sum [hashSize]byte
	for j := 1; n>>j > 0; j++ {
		if j == len(t.levels) {
			t.levels = append(t.levels, nil)
		}
		count := n >> j
		child, level := t.levels[j-1], t.levels[j]
		if len(level) < count*hashSize {
			level = slices.Grow(level, count*hashSize-len(level)) // past the old end: all dirty
		}
		level = level[:count*hashSize]
		next := dirty[:0]
		for _, d := range dirty {
			lo, hi := d.lo>>1, min((d.hi+1)>>1, count)
			if len(next) > 0 && next[len(next)-1].hi >= lo {
				lo = next[len(next)-1].hi
				next[len(next)-1].hi = max(hi, lo)
			} else if lo < hi {
				next = append(next, span{lo, hi})
			}
			for b := lo; b < hi; b++ {
				l, r := child[2*b*hashSize:(2*b+1)*hashSize], child[(2*b+1)*hashSize:(2*b+2)*hashSize]
				copy(level[b*hashSize:], innerHash(sum[:0], l, r))
			}
		}
		dirty = next
		t.levels[j] = level
	}
	for j := 1; j < len(t.levels); j++ {
		if n>>j == 0 {
			clear(t.levels[j:])
			t.levels = t.levels[:j]
			break
		}
	}
	t.root = t.rangeHash(0, n)
}

// rangeHash returns the hash of the tree's node over leaves [lo, hi):
// the root of the RFC 6962 tree of those leaves. lo must start a node of
// the tree.
func (t *tree) rangeHash(lo, hi int) []byte {
	size := hi - lo
	switch {
	case size == 0:
		return EmptyRoot()
	case size&(size-1) == 0 && lo&(size-1) == 0:
		j := bits.TrailingZeros(uint(size))
		return bytes.Clone(t.node(j, lo>>j))
	}
	k := lo + merkle.SplitPoint(size)
	return innerHash(nil, t.rangeHash(lo, k), t.rangeHash(k, hi))
}

// proof returns the proof of leaf i < len(): what merkle.ProofFromLeafHashes
// gives over the leaf hashes. It shares no memory with the tree.
func (t *tree) proof(i int) *merkle.Proof {
	n := t.len()
	p := &merkle.Proof{Total: int64(n), Index: int64(i), LeafHash: bytes.Clone(t.node(0, i))}
	lo, hi := 0, n
	for hi-lo > 1 {
		k := lo + merkle.SplitPoint(hi-lo)
		if i < k {
			p.Aunts = append(p.Aunts, t.rangeHash(k, hi))
			hi = k
		} else {
			p.Aunts = append(p.Aunts, t.rangeHash(lo, k))
			lo = k
		}
	}
	slices.Reverse(p.Aunts)
	return p
}

// search returns the position of the first key not before key.
func (t *tree) search(key []byte) int {
	return sort.Search(len(t.keys), func(i int) bool { return t.keys[i] >= string(key) })
}

// apply changes the tree to the state after changes (key to its new leaf
// hash, nil for a deletion; deleting a missing key changes nothing) and
// sets height. It re-hashes only the runs over leaves that changed or
// moved: an update dirties one leaf, an insert or delete the leaves
// between it and the next one, or the end of the state if the inserts
// and deletes before do not cancel out.
func (t *tree) apply(height uint64, changes map[string][]byte) {
	t.height = height
	type change struct {
		key  string
		hash []byte
		at   int // the old position of the deleted key, or the inserted key's
	}
	var updates []int
	var moves []change // inserts and deletes, by key
	leaves := t.levels[0]
	for k, h := range changes {
		i := sort.SearchStrings(t.keys, k)
		found := i < len(t.keys) && t.keys[i] == k
		switch {
		case found && h != nil:
			if !bytes.Equal(t.node(0, i), h) {
				copy(leaves[i*hashSize:], h)
				updates = append(updates, i)
			}
		case found || h != nil:
			moves = append(moves, change{key: k, hash: h, at: i})
		}
	}
	slices.Sort(updates)
	slices.SortFunc(moves, func(a, b change) int { return strings.Compare(a.key, b.key) })
	n := t.len()
	// The dirty leaves, by new position: the updated ones (moved by the
	// inserts and deletes before them) and the ones the moves shift.
	var dirty []span
	add := func(lo, hi int) {
		if k := len(dirty); k > 0 && dirty[k-1].hi >= lo {
			dirty[k-1].hi = max(dirty[k-1].hi, hi)
		} else if lo < hi {
			dirty = append(dirty, span{lo, hi})
		}
	}
	shift, m := 0, 0
	segment := 0 // the old position where the leaves moved by shift begin
	for _, i := range append(updates, n) {
		for ; m < len(moves) && (moves[m].at < i || moves[m].at == i && moves[m].hash != nil); m++ {
			mv := moves[m]
			if shift != 0 {
				add(segment+shift, mv.at+shift)
			}
			segment = mv.at
			if mv.hash == nil {
				segment, shift = mv.at+1, shift-1
			} else {
				add(mv.at+shift, mv.at+shift+1)
				shift++
			}
		}
		if i == n {
			break
		}
		if shift == 0 {
			add(i, i+1)
		} // else the segment holding i is added whole
	}
	if shift != 0 {
		add(segment+shift, n+shift)
	}
	if len(moves) > 0 {
		from := moves[0].at
		keys := make([]string, 0, n-from+len(moves))
		hashes := make([]byte, 0, cap(keys)*hashSize)
		i := from
		for _, mv := range moves {
			for ; i < mv.at; i++ {
				keys, hashes = append(keys, t.keys[i]), append(hashes, t.node(0, i)...)
			}
			if mv.hash == nil {
				i++ // skip the deleted entry
				continue
			}
			keys, hashes = append(keys, mv.key), append(hashes, mv.hash...)
		}
		keys, hashes = append(keys, t.keys[i:]...), append(hashes, leaves[i*hashSize:]...)
		clear(t.keys[from:])
		t.keys = append(t.keys[:from], keys...)
		t.levels[0] = append(leaves[:from*hashSize], hashes...)
	}
	t.rehash(dirty)
}

// innerHash appends SHA256(0x01 || l || r) to dst.
func innerHash(dst, l, r []byte) []byte {
	var buf [1 + 2*hashSize]byte
	buf[0] = 0x01
	copy(buf[1:], l)
	copy(buf[1+hashSize:], r)
	s := sha256.Sum256(buf[:])
	return append(dst, s[:]...)
}

// treeCache holds the tree of the latest committed head, if known. A
// block updates it in place from its writes (ExecuteTxs holds mu from the
// update to the block's commit, so a query never sees the tree of a head
// its snapshot does not have); a query answers from it when it is the
// tree of the head the query's snapshot reads, and otherwise builds one
// from the snapshot.
type treeCache struct {
	mu sync.RWMutex // guards t and the tree it points to
	t  *tree
	// build lets one query at a time build a missing tree, so that queries
	// after a restart do not each scan the state.
	build sync.Mutex
}

// answer answers key from the cached tree if it is the tree of h (ok),
// reading values from st, a snapshot at h.
func (c *treeCache) answer(h Head, st *State, key []byte) (a *Answer, ok bool, err error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.t == nil || c.t.height != h.Height || !bytes.Equal(c.t.root, h.StateRoot) {
		return nil, false, nil
	}
	a, err = st.answer(c.t, h, key)
	return a, true, err
}

// install makes t, a tree nobody else holds, the cached one unless the
// cache has a later head's.
func (c *treeCache) install(t *tree) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t == nil || c.t.height < t.height {
		c.t = t
	}
}
