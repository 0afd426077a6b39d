package nmt

import (
	"bytes"
	"fmt"
	"math/bits"
)

// RootOf returns the root of the tree whose leaves are the given leaf data,
// each ns(29) || payload, pushed in order. It checks the push order and
// returns ErrInvalidPushOrder when a namespace decreases. It allocates only
// the returned root and an O(log n) stack.
func RootOf(hs *Hasher, leaves [][]byte) ([]byte, error) {
	if len(leaves) == 0 {
		return EmptyRoot(), nil
	}
	for i, l := range leaves {
		if len(l) < NamespaceSize {
			return nil, fmt.Errorf("%w: leaf %d has %d bytes", ErrShortLeaf, i, len(l))
		}
		if i > 0 && bytes.Compare(l[:NamespaceSize], leaves[i-1][:NamespaceSize]) < 0 {
			return nil, fmt.Errorf("%w: leaf %d", ErrInvalidPushOrder, i)
		}
	}
	s := NewRootStack(hs, len(leaves))
	for _, l := range leaves {
		s.PushLeaf(l[:NamespaceSize], l[NamespaceSize:])
	}
	return s.Root(nil), nil
}

// RootStack computes a root incrementally, leaf by leaf, with the RFC 6962
// tree shape (split at the largest power of two below n). It does not check
// push order; callers that accept untrusted leaves must (RootOf does).
// A RootStack is reusable via Reset and allocates nothing after creation.
type RootStack struct {
	hs     *Hasher
	n      int    // leaves expected
	pushed int    // leaves pushed so far
	nodes  []byte // stack of NodeSize entries
	sizes  []int  // leaves under each stack entry
	tmp    [NodeSize]byte
}

// NewRootStack returns a RootStack for a tree of n leaves.
func NewRootStack(hs *Hasher, n int) *RootStack {
	depth := bits.Len(uint(n)) + 1
	return &RootStack{hs: hs, n: n, nodes: make([]byte, 0, depth*NodeSize), sizes: make([]int, 0, depth)}
}

// Reset prepares the stack for a new tree of n leaves.
func (s *RootStack) Reset(n int) {
	s.n, s.pushed = n, 0
	s.nodes, s.sizes = s.nodes[:0], s.sizes[:0]
}

// PushLeaf adds the next leaf, ns || payload. ns must be NamespaceSize bytes.
func (s *RootStack) PushLeaf(ns, payload []byte) {
	s.nodes = s.hs.HashLeafNs(s.nodes, ns, payload)
	s.leafAdded()
}

// PushLeafHash adds the next leaf as its leaf hash (NodeSize bytes, as
// Hasher.HashLeafNs makes it), computed beforehand: a leaf in two trees,
// such as a cell of an extended square in its row and its column, is then
// hashed once.
func (s *RootStack) PushLeafHash(leafHash []byte) { s.pushNode(leafHash) }

// pushNode adds the next leaf as an already computed leaf hash of NodeSize
// bytes.
func (s *RootStack) pushNode(leafHash []byte) {
	s.nodes = append(s.nodes, leafHash...)
	s.leafAdded()
}

// leafAdded records a leaf just appended to s.nodes and merges.
func (s *RootStack) leafAdded() {
	s.sizes = append(s.sizes, 1)
	s.pushed++
	// Merge while the two top subtrees are equal-sized: with RFC 6962 shape
	// a left subtree is always a power of two at least as large as the
	// right one, so equal perfect subtrees always merge.
	for len(s.sizes) >= 2 && s.sizes[len(s.sizes)-1] == s.sizes[len(s.sizes)-2] {
		s.mergeTop()
	}
}

func (s *RootStack) mergeTop() {
	top := len(s.sizes) - 1
	l := s.nodes[(top-1)*NodeSize : top*NodeSize]
	r := s.nodes[top*NodeSize : (top+1)*NodeSize]
	out := s.hs.hashNodeUnchecked(s.tmp[:0], l, r)
	copy(l, out)
	s.nodes = s.nodes[:top*NodeSize]
	s.sizes[top-1] += s.sizes[top]
	s.sizes = s.sizes[:top]
}

// Root appends the root to dst. All n leaves must have been pushed; the
// remaining stack (subtrees of decreasing size) is folded right to left.
func (s *RootStack) Root(dst []byte) []byte {
	if s.pushed == 0 {
		return append(dst, EmptyRoot()...)
	}
	for len(s.sizes) > 1 {
		s.mergeTop()
	}
	return append(dst, s.nodes[:NodeSize]...)
}
