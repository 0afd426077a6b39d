package merkle

import (
	"bytes"
	"crypto/sha256"
	"math/bits"
	"slices"
	"sort"
	"strings"
)

// Tree is an RFC 6962 tree over sorted key/leaf-hash entries, kept in
// memory and updated in place: the keys in order, their leaf hashes and the
// hashes of every aligned power-of-two run of leaves. Its root is
// RootFromLeafHashes of the leaf hashes in key order.
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
//
// A Tree is not safe for concurrent use.
type Tree struct {
	root []byte
	keys []string
	// levels[0] holds the leaf hashes back to back; levels[j] the hashes
	// of the runs [b<<j, (b+1)<<j), b < n>>j, each sha256.Size bytes.
	levels [][]byte
}

const hashSize = sha256.Size

// NewTree returns the tree of the entries with keys (sorted, distinct) and
// leaf hashes (each sha256.Size bytes), both in order. It keeps neither
// slice.
func NewTree(keys, hashes [][]byte) *Tree {
	t := &Tree{keys: make([]string, len(keys)), levels: [][]byte{make([]byte, 0, len(hashes)*hashSize)}}
	for i, k := range keys {
		t.keys[i] = string(k)
		t.levels[0] = append(t.levels[0], hashes[i]...)
	}
	t.rehash([]span{{0, len(keys)}})
	return t
}

// Len returns the number of entries.
func (t *Tree) Len() int { return len(t.levels[0]) / hashSize }

// Root returns the root: SHA256("") for no entries. The caller must not
// modify it.
func (t *Tree) Root() []byte { return t.root }

// Key returns the key of entry i < Len().
func (t *Tree) Key(i int) string { return t.keys[i] }

// node returns the hash of run b at level j; the caller must not modify it.
func (t *Tree) node(j, b int) []byte { return t.levels[j][b*hashSize : (b+1)*hashSize] }

// span is the runs [lo, hi) of one level.
type span struct{ lo, hi int }

// rehash recomputes, level by level, the runs over the leaves in dirty
// (sorted, disjoint spans of leaf positions: the leaves that changed or
// moved, and every position past the old last leaf) and then the root;
// the other runs are kept. The leaves must be in place.
func (t *Tree) rehash(dirty []span) {
	n := t.Len()
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
				copy(level[b*hashSize:], appendInner(sum[:0], l, r))
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
func (t *Tree) rangeHash(lo, hi int) []byte {
	size := hi - lo
	switch {
	case size == 0:
		return HashFromByteSlices(nil)
	case size&(size-1) == 0 && lo&(size-1) == 0:
		j := bits.TrailingZeros(uint(size))
		return bytes.Clone(t.node(j, lo>>j))
	}
	k := lo + SplitPoint(size)
	return appendInner(nil, t.rangeHash(lo, k), t.rangeHash(k, hi))
}

// Proof returns the proof of leaf i < Len(): what ProofFromLeafHashes
// gives over the leaf hashes. It shares no memory with the tree.
func (t *Tree) Proof(i int) *Proof {
	n := t.Len()
	p := &Proof{Total: int64(n), Index: int64(i), LeafHash: bytes.Clone(t.node(0, i))}
	lo, hi := 0, n
	for hi-lo > 1 {
		k := lo + SplitPoint(hi-lo)
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

// Search returns the position of the first key not before key.
func (t *Tree) Search(key []byte) int {
	return sort.Search(len(t.keys), func(i int) bool { return t.keys[i] >= string(key) })
}

// Apply changes the tree to the state after changes (key to its new leaf
// hash, nil for a deletion; deleting a missing key changes nothing). It
// keeps no slice of changes. It re-hashes only the runs over leaves that changed or
// moved: an update dirties one leaf, an insert or delete the leaves
// between it and the next one, or the end of the state if the inserts
// and deletes before do not cancel out.
func (t *Tree) Apply(changes map[string][]byte) {
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
	n := t.Len()
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

// appendInner appends SHA256(0x01 || l || r) to dst.
func appendInner(dst, l, r []byte) []byte {
	var buf [1 + 2*hashSize]byte
	buf[0] = 0x01
	copy(buf[1:], l)
	copy(buf[1+hashSize:], r)
	s := sha256.Sum256(buf[:])
	return append(dst, s[:]...)
}
