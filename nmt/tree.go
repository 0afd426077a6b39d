package nmt

import (
	"bytes"
	"fmt"
	"math/bits"
	"sort"
)

// Tree is a namespaced Merkle tree built by pushing leaves in namespace
// order. It keeps only the leaf hashes (NodeSize bytes per leaf) and
// computes inner nodes when Root or a proof needs them, so a proof costs
// O(n) hashes and the tree holds no reference to the pushed data.
//
// A Tree is not safe for concurrent use: Root fills a cache and proofs reuse
// scratch space.
type Tree struct {
	hs        *Hasher
	leaves    []byte // leaf hashes, NodeSize bytes each, in push order
	root      [NodeSize]byte
	rootValid bool
	stack     *RootStack // scratch for subtree roots, created on first use
}

// New returns an empty tree.
func New() *Tree { return &Tree{hs: NewHasher()} }

// Reset empties the tree, keeping its buffers for the next use.
func (t *Tree) Reset() {
	t.leaves = t.leaves[:0]
	t.rootValid = false
}

// Size returns the number of leaves pushed.
func (t *Tree) Size() int { return len(t.leaves) / NodeSize }

// leafHash returns the hash of leaf i, aliasing the tree's storage.
func (t *Tree) leafHash(i int) []byte {
	return t.leaves[i*NodeSize : (i+1)*NodeSize : (i+1)*NodeSize]
}

// Push appends a leaf. data is ns(NamespaceSize) || payload; ns must not be
// below the previous leaf's namespace. Push hashes data at once and does not
// retain it, so the caller may reuse data after Push returns. Errors wrap
// ErrShortLeaf or ErrInvalidPushOrder and name the leaf index; a rejected
// leaf leaves the tree unchanged.
func (t *Tree) Push(data []byte) error {
	n := t.Size()
	if len(data) < NamespaceSize {
		return fmt.Errorf("%w: leaf %d has %d bytes", ErrShortLeaf, n, len(data))
	}
	ns := data[:NamespaceSize]
	if n > 0 {
		if prev := MinNamespace(t.leafHash(n - 1)); bytes.Compare(ns, prev) < 0 {
			return fmt.Errorf("%w: leaf %d has namespace %x after %x", ErrInvalidPushOrder, n, ns, prev)
		}
	}
	t.leaves = t.hs.HashLeafNs(t.leaves, ns, data[NamespaceSize:])
	t.rootValid = false
	return nil
}

// Root returns the root of the tree, or EmptyRoot for a tree without
// leaves. The root is cached until the next Push. The returned slice is a
// fresh copy owned by the caller. The error is always nil: Push rejects
// every input that could make the root undefined; it is kept for
// compatibility with tree interfaces that return one.
func (t *Tree) Root() ([]byte, error) {
	return append([]byte(nil), t.cachedRoot()...), nil
}

// cachedRoot returns the root, aliasing the cache.
func (t *Tree) cachedRoot() []byte {
	if !t.rootValid {
		if t.Size() == 0 {
			copy(t.root[:], EmptyRoot())
		} else {
			t.subtreeRoot(t.root[:0], 0, t.Size())
		}
		t.rootValid = true
	}
	return t.root[:]
}

// subtreeRoot appends to dst the root of the leaves [lo, hi), hi > lo. Any
// such range is hashed with its own RFC 6962 shape, which for the ranges
// the tree asks for (subtrees of the whole tree) is the shape they have in
// the whole tree.
func (t *Tree) subtreeRoot(dst []byte, lo, hi int) []byte {
	if hi-lo == 1 {
		return append(dst, t.leafHash(lo)...)
	}
	if t.stack == nil {
		t.stack = NewRootStack(t.hs, t.Size())
	}
	t.stack.Reset(hi - lo)
	for i := lo; i < hi; i++ {
		t.stack.pushNode(t.leafHash(i))
	}
	return t.stack.Root(dst)
}

// ProveRange returns an inclusion proof for the leaves [start, end). It
// returns an error wrapping ErrInvalidRange unless 0 <= start < end <=
// Size(). The proof owns its nodes: later pushes do not change it.
func (t *Tree) ProveRange(start, end int) (Proof, error) {
	if start < 0 || start >= end || end > t.Size() {
		return Proof{}, fmt.Errorf("%w: [%d, %d) in a tree of %d leaves", ErrInvalidRange, start, end, t.Size())
	}
	return t.prove(start, end, false), nil
}

// ProveNamespace returns a proof for all leaves of namespace ns:
//   - if the tree has leaves of ns, an inclusion proof of their range (they
//     are contiguous because leaves are pushed in order);
//   - if ns lies within the root's namespace range but has no leaves, an
//     absence proof: LeafHash is the hash of the first leaf whose namespace is
//     greater than ns, and the proof proves that leaf;
//   - if ns lies outside the root's range, or the tree is empty, the empty
//     proof (Start = End = 0, no nodes).
//
// The root's maximum follows the ignore-max rule, so for a tree that mixes
// other namespaces with MaxNamespace leaves, ProveNamespace(MaxNamespace)
// returns the empty proof. ns must be NamespaceSize bytes, else the error
// wraps ErrInvalidNamespace.
func (t *Tree) ProveNamespace(ns []byte) (Proof, error) {
	if len(ns) != NamespaceSize {
		return Proof{}, fmt.Errorf("%w: %d bytes", ErrInvalidNamespace, len(ns))
	}
	n := t.Size()
	if n == 0 {
		return Proof{IsMaxNamespaceIgnored: true}, nil
	}
	root := t.cachedRoot()
	if bytes.Compare(ns, MinNamespace(root)) < 0 || bytes.Compare(ns, MaxNamespaceOf(root)) > 0 {
		return Proof{IsMaxNamespaceIgnored: true}, nil
	}
	from := sort.Search(n, func(i int) bool { return bytes.Compare(MinNamespace(t.leafHash(i)), ns) >= 0 })
	to := sort.Search(n, func(i int) bool { return bytes.Compare(MinNamespace(t.leafHash(i)), ns) > 0 })
	if from < to {
		return t.prove(from, to, false), nil
	}
	// ns is absent but min(root) < ns < max(root), and max(root) is the
	// namespace of some leaf, so a leaf greater than ns exists: from < n.
	return t.prove(from, from+1, true), nil
}

// span is a range of leaves [lo, hi).
type span struct{ lo, hi int }

// prove builds the proof of [start, end), a valid range; with absence set,
// LeafHash is the hash of leaf start. The nodes and LeafHash share one
// allocation.
func (t *Tree) prove(start, end int, absence bool) Proof {
	var arr [MaxProofNodes]span
	spans := proofSpans(arr[:0], 0, t.Size(), start, end)
	count := len(spans)
	if absence {
		count++
	}
	buf := make([]byte, 0, count*NodeSize)
	for _, s := range spans {
		buf = t.subtreeRoot(buf, s.lo, s.hi)
	}
	if absence {
		buf = append(buf, t.leafHash(start)...)
	}
	p := Proof{Start: start, End: end, IsMaxNamespaceIgnored: true}
	if len(spans) > 0 {
		p.Nodes = make([][]byte, len(spans))
		for i := range p.Nodes {
			p.Nodes[i] = buf[i*NodeSize : (i+1)*NodeSize : (i+1)*NodeSize]
		}
	}
	if absence {
		p.LeafHash = buf[len(spans)*NodeSize:]
	}
	return p
}

// proofSpans appends to dst, in order, the leaf ranges of the maximal
// subtrees of [lo, hi) that are disjoint from [start, end): the subtrees
// whose roots form the proof. A subtree that overlaps the range only in part
// has at least two leaves, so it can always be split.
func proofSpans(dst []span, lo, hi, start, end int) []span {
	switch {
	case hi <= start || end <= lo:
		return append(dst, span{lo, hi})
	case start <= lo && hi <= end:
		return dst
	}
	k := splitPoint(hi - lo)
	dst = proofSpans(dst, lo, lo+k, start, end)
	return proofSpans(dst, lo+k, hi, start, end)
}

// splitPoint returns the largest power of two strictly below n (n >= 2):
// the size of the left subtree of an RFC 6962 tree of n leaves.
func splitPoint(n int) int {
	return 1 << (bits.Len(uint(n-1)) - 1)
}
