package nmt

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
)

const (
	// MaxProofIndex bounds Proof.Start and Proof.End. It is far above the
	// largest tree DataMesh builds (an EDS row or column: 2 × 512 = 1024
	// leaves) and small enough that index arithmetic, including the next
	// power of two above End, fits an int on every platform.
	MaxProofIndex = 1 << 30

	// MaxProofNodes bounds len(Proof.Nodes). A range proof holds one node
	// per maximal subtree left of Start and one per maximal subtree right of
	// End. On each side there is at most one such subtree per tree level,
	// so a tree of at most MaxProofIndex = 2^30 leaves (30 levels below the
	// root) needs at most 2 × 30 = 60 nodes; an EDS row of 1024 leaves needs
	// at most 20.
	MaxProofNodes = 64
)

var (
	// ErrInvalidRange is returned by Tree.ProveRange for a range that is
	// empty or not within the tree.
	ErrInvalidRange = errors.New("nmt: invalid leaf range")
	// ErrInvalidNamespace is returned for a namespace argument that is not
	// NamespaceSize bytes.
	ErrInvalidNamespace = errors.New("nmt: namespace is not NamespaceSize bytes")
	// ErrInvalidProof is wrapped by every error from proof verification and
	// decoding, except ErrInvalidNamespace for a bad namespace argument.
	ErrInvalidProof = errors.New("nmt: invalid proof")
	// ErrRootMismatch is wrapped, with ErrInvalidProof, when a well-formed
	// proof leads to a root other than the expected one.
	ErrRootMismatch = errors.New("nmt: proof leads to a different root")
	// ErrIncompleteProof is wrapped, with ErrInvalidProof, when a namespace
	// proof does not show that it covers every leaf of the namespace.
	ErrIncompleteProof = errors.New("nmt: namespace proof is not complete")
)

// Proof is a Merkle proof for the leaves [Start, End) of a namespaced Merkle
// tree, field for field the proof of celestiaorg/nmt (and its protobuf
// message, see MarshalBinary). Three kinds exist:
//   - inclusion: Start < End, LeafHash empty;
//   - absence: End = Start+1 and LeafHash is the hash of leaf Start, the
//     first leaf whose namespace is greater than the one proven absent;
//   - empty: Start = End = 0, no nodes, no LeafHash; it shows a namespace is
//     outside the root's namespace range.
//
// Nodes and LeafHash of a proof made by Tree or UnmarshalProof are owned by
// the proof; verification never modifies them.
type Proof struct {
	// Start is the index of the first proven leaf.
	Start int
	// End is one past the index of the last proven leaf.
	End int
	// Nodes are the roots of the maximal subtrees outside [Start, End),
	// NodeSize bytes each, in left-to-right order: those covering
	// [0, Start), then those covering [End, size).
	Nodes [][]byte
	// LeafHash is set only in an absence proof.
	LeafHash []byte
	// IsMaxNamespaceIgnored records that the tree used the ignore-max rule.
	// DataMesh trees always do, and verification rejects a proof where it is
	// false: such a proof claims different node hashing.
	IsMaxNamespaceIgnored bool
}

// IsOfAbsence reports whether p is an absence proof (LeafHash is set).
func (p Proof) IsOfAbsence() bool { return len(p.LeafHash) > 0 }

// IsEmpty reports whether p is the empty proof: Start = End = 0, no nodes
// and no LeafHash.
func (p Proof) IsEmpty() bool {
	return p.Start == 0 && p.End == 0 && len(p.Nodes) == 0 && len(p.LeafHash) == 0
}

// VerifyInclusion checks that the leaves ns || payloads[i] are the leaves
// [Start, End) of the tree with the given root. All leaves share namespace
// ns: this is how a sample is verified, the verifier supplying the
// namespace. It does not check completeness (other leaves of ns may exist),
// and it rejects absence and empty proofs, which prove no inclusion.
//
// A nil error means the proof verifies. Errors wrap ErrInvalidProof (and
// ErrRootMismatch when only the root differs), or ErrInvalidNamespace.
func (p Proof) VerifyInclusion(ns []byte, payloads [][]byte, root []byte) error {
	if err := p.checkArgs(ns, root); err != nil {
		return err
	}
	switch {
	case p.IsOfAbsence():
		return fmt.Errorf("%w: an absence proof proves no inclusion", ErrInvalidProof)
	case p.Start == p.End:
		return fmt.Errorf("%w: an empty range proves no inclusion", ErrInvalidProof)
	case len(payloads) != p.End-p.Start:
		return fmt.Errorf("%w: %d payloads for range [%d, %d)", ErrInvalidProof, len(payloads), p.Start, p.End)
	}
	hs := NewHasher()
	return p.verifyRoot(hs, hashLeaves(hs, ns, payloads, 0), root)
}

// VerifyNamespace checks that leaves, each ns || payload, are all the leaves
// of namespace ns in the tree with the given root:
//   - for an inclusion proof, leaves are the leaves [Start, End), all of
//     namespace ns, and the proof shows that no leaf left of Start or right
//     of End has namespace ns;
//   - for an absence proof, leaves must be empty; the proof shows that
//     LeafHash (namespace > ns) is in the tree and every leaf before it has
//     a namespace < ns;
//   - the empty proof, with leaves empty, is valid when ns is outside the
//     root's namespace range, or the root is EmptyRoot.
//
// Completeness cannot be shown for MaxNamespace, whose leaves the ignore-max
// rule leaves out of the node ranges.
//
// A nil error means the proof verifies. Errors wrap ErrInvalidProof and, when
// it is the reason, ErrIncompleteProof or ErrRootMismatch; a wrong-size ns
// gives ErrInvalidNamespace.
func (p Proof) VerifyNamespace(ns []byte, leaves [][]byte, root []byte) error {
	if len(ns) != NamespaceSize {
		return fmt.Errorf("%w: %d bytes", ErrInvalidNamespace, len(ns))
	}
	for i, l := range leaves {
		if len(l) < NamespaceSize || !bytes.Equal(l[:NamespaceSize], ns) {
			return fmt.Errorf("%w: leaf %d is not of namespace %x", ErrInvalidProof, i, ns)
		}
	}
	// Do not hash leaves that cannot match the proof's range.
	if len(leaves) > 0 && len(leaves) != p.End-p.Start {
		return fmt.Errorf("%w: %d leaves for range [%d, %d)", ErrInvalidProof, len(leaves), p.Start, p.End)
	}
	hs := NewHasher()
	var hashes [][]byte
	if len(leaves) > 0 {
		hashes = hashLeaves(hs, ns, leaves, NamespaceSize)
	}
	return p.verifyNamespace(hs, ns, hashes, root)
}

// VerifyLeafHashes is VerifyNamespace for a caller that holds the leaf
// hashes rather than the leaves: each leaf hash must be a valid node whose
// minimum and maximum namespace are ns.
func (p Proof) VerifyLeafHashes(ns []byte, leafHashes [][]byte, root []byte) error {
	return p.verifyNamespace(NewHasher(), ns, leafHashes, root)
}

func (p Proof) verifyNamespace(hs *Hasher, ns []byte, leafHashes [][]byte, root []byte) error {
	if err := p.checkArgs(ns, root); err != nil {
		return err
	}
	if p.Start == p.End {
		return p.verifyEmpty(ns, len(leafHashes), root)
	}
	if p.IsOfAbsence() {
		if len(leafHashes) != 0 {
			return fmt.Errorf("%w: absence proof given %d leaves", ErrInvalidProof, len(leafHashes))
		}
		if p.End-p.Start != 1 {
			return fmt.Errorf("%w: absence proof for range [%d, %d), want one leaf", ErrInvalidProof, p.Start, p.End)
		}
		if bytes.Compare(MinNamespace(p.LeafHash), ns) <= 0 {
			return fmt.Errorf("%w: absence proof leaf namespace %x is not above %x", ErrInvalidProof, MinNamespace(p.LeafHash), ns)
		}
		leafHashes = [][]byte{p.LeafHash}
	} else {
		if len(leafHashes) != p.End-p.Start {
			return fmt.Errorf("%w: %d leaves for range [%d, %d)", ErrInvalidProof, len(leafHashes), p.Start, p.End)
		}
		for i, h := range leafHashes {
			if err := ValidateNode(h); err != nil {
				return fmt.Errorf("%w: leaf hash %d: %w", ErrInvalidProof, i, err)
			}
			if !bytes.Equal(MinNamespace(h), ns) || !bytes.Equal(MaxNamespaceOf(h), ns) {
				return fmt.Errorf("%w: leaf hash %d is not of namespace %x", ErrInvalidProof, i, ns)
			}
		}
	}
	if err := p.checkCompleteness(ns); err != nil {
		return err
	}
	return p.verifyRoot(hs, leafHashes, root)
}

// checkArgs runs the checks every verification starts with.
func (p Proof) checkArgs(ns, root []byte) error {
	if len(ns) != NamespaceSize {
		return fmt.Errorf("%w: %d bytes", ErrInvalidNamespace, len(ns))
	}
	if !p.IsMaxNamespaceIgnored {
		return fmt.Errorf("%w: proof is not for a tree with IgnoreMaxNamespace", ErrInvalidProof)
	}
	if err := p.checkShape(); err != nil {
		return err
	}
	if err := ValidateNode(root); err != nil {
		return fmt.Errorf("%w: root: %w", ErrInvalidProof, err)
	}
	return nil
}

// checkShape checks the bounds and node formats that every proof, valid or
// not, must meet to be encoded, decoded or verified.
func (p Proof) checkShape() error {
	if p.Start < 0 || p.End < p.Start || p.End > MaxProofIndex {
		return fmt.Errorf("%w: range [%d, %d) not within [0, %d]", ErrInvalidProof, p.Start, p.End, MaxProofIndex)
	}
	if len(p.Nodes) > MaxProofNodes {
		return fmt.Errorf("%w: %d nodes, at most %d", ErrInvalidProof, len(p.Nodes), MaxProofNodes)
	}
	for i, n := range p.Nodes {
		if err := ValidateNode(n); err != nil {
			return fmt.Errorf("%w: node %d: %w", ErrInvalidProof, i, err)
		}
	}
	if len(p.LeafHash) > 0 {
		if err := ValidateNode(p.LeafHash); err != nil {
			return fmt.Errorf("%w: leaf hash: %w", ErrInvalidProof, err)
		}
	}
	return nil
}

// verifyEmpty checks a proof with Start = End against a namespace query.
func (p Proof) verifyEmpty(ns []byte, leaves int, root []byte) error {
	if !p.IsEmpty() {
		return fmt.Errorf("%w: empty range [%d, %d) with %d nodes and a %d-byte leaf hash",
			ErrInvalidProof, p.Start, p.End, len(p.Nodes), len(p.LeafHash))
	}
	if leaves != 0 {
		return fmt.Errorf("%w: empty proof given %d leaves", ErrInvalidProof, leaves)
	}
	if bytes.Compare(ns, MinNamespace(root)) < 0 || bytes.Compare(ns, MaxNamespaceOf(root)) > 0 || isEmptyRoot(root) {
		return nil
	}
	return fmt.Errorf("%w: %w: empty proof for namespace %x inside the root's range [%x, %x]",
		ErrInvalidProof, ErrIncompleteProof, ns, MinNamespace(root), MaxNamespaceOf(root))
}

// checkCompleteness checks that no leaf of ns lies outside [Start, End): the
// subtrees left of Start must all have max < ns and those right of End
// min > ns. The left subtrees are the first popcount(Start) nodes, one per
// set bit of Start (the aligned blocks that tile [0, Start)); a proof with
// fewer nodes is truncated and must not pass by having its left nodes
// counted as right ones.
func (p Proof) checkCompleteness(ns []byte) error {
	left := bits.OnesCount(uint(p.Start))
	if len(p.Nodes) < left {
		return fmt.Errorf("%w: %w: %d nodes, but leaves [0, %d) need %d",
			ErrInvalidProof, ErrIncompleteProof, len(p.Nodes), p.Start, left)
	}
	for i, n := range p.Nodes[:left] {
		if bytes.Compare(MaxNamespaceOf(n), ns) >= 0 {
			return fmt.Errorf("%w: %w: node %d, left of the range, reaches namespace %x", ErrInvalidProof, ErrIncompleteProof, i, MaxNamespaceOf(n))
		}
	}
	for i, n := range p.Nodes[left:] {
		if bytes.Compare(MinNamespace(n), ns) <= 0 {
			return fmt.Errorf("%w: %w: node %d, right of the range, starts at namespace %x", ErrInvalidProof, ErrIncompleteProof, left+i, MinNamespace(n))
		}
	}
	return nil
}

// verifyRoot recomputes the root from the leaf hashes of [Start, End) and
// the nodes, and compares it with root. The caller has checked the shape,
// Start < End and len(leafHashes) = End-Start.
//
// The verifier does not know the tree size. It walks the perfect tree over
// [0, 2^k), the smallest power of two >= End: a subtree outside [Start, End)
// takes the next node, or none once the nodes run out (it lies past the
// tree's last leaf), and a missing right child passes its sibling up. Nodes
// left over are the roots of the larger subtrees to the right, folded in
// one by one.
func (p Proof) verifyRoot(hs *Hasher, leafHashes [][]byte, root []byte) error {
	return p.walkRoot(hs, leafHashes, nil, root)
}

// walkRoot is verifyRoot where, if ranges is not nil, leafHashes are the
// roots of the subtrees ranges (which tile [Start, End)) rather than leaf
// hashes.
func (p Proof) walkRoot(hs *Hasher, leafHashes [][]byte, ranges []LeafRange, root []byte) error {
	w := rootWalk{
		hs: hs, start: p.Start, end: p.End, leaves: leafHashes, nodes: p.Nodes, ranges: ranges,
		// Each hash replaces two nodes by one, so there are fewer hashes
		// than leaves plus nodes.
		arena: make([]byte, 0, (len(leafHashes)+len(p.Nodes))*NodeSize),
	}
	got, err := w.subtree(0, 1<<bits.Len(uint(p.End-1)))
	if err != nil {
		return err
	}
	for _, n := range w.nodes {
		if got, err = w.hash(got, n); err != nil {
			return fmt.Errorf("%w: folding in a right node: %w", ErrInvalidProof, err)
		}
	}
	if !bytes.Equal(got, root) {
		return fmt.Errorf("%w: %w: got %x, want %x", ErrInvalidProof, ErrRootMismatch, got, root)
	}
	return nil
}

// rootWalk is the state of verifyRoot's walk: the leaf hashes and nodes not
// yet used.
type rootWalk struct {
	hs         *Hasher
	start, end int
	leaves     [][]byte
	nodes      [][]byte
	arena      []byte // backing store for the inner nodes computed
	// ranges, when set, are the leaf ranges that leaves (then subtree
	// roots, not leaf hashes) cover, in order (VerifySubtreeRoots).
	ranges []LeafRange
}

// hash returns the parent of left and right, stored in the arena.
func (w *rootWalk) hash(left, right []byte) ([]byte, error) {
	n := len(w.arena)
	out, err := w.hs.HashNode(w.arena, left, right)
	if err != nil {
		return nil, err
	}
	// Should the arena grow, nodes already returned keep the old array.
	w.arena = out
	return out[n:len(out):len(out)], nil
}

// subtree returns the root of [lo, hi), a power-of-two-sized aligned block,
// or nil if the block is outside the proven range and no nodes are left.
func (w *rootWalk) subtree(lo, hi int) ([]byte, error) {
	if hi <= w.start || w.end <= lo {
		if len(w.nodes) == 0 {
			return nil, nil
		}
		n := w.nodes[0]
		w.nodes = w.nodes[1:]
		return n, nil
	}
	if w.ranges != nil {
		if len(w.ranges) > 0 && w.ranges[0] == (LeafRange{lo, hi}) {
			r := w.leaves[0]
			w.leaves, w.ranges = w.leaves[1:], w.ranges[1:]
			return r, nil
		}
		if hi-lo == 1 {
			return nil, fmt.Errorf("%w: leaf %d is under no subtree root", ErrInvalidProof, lo)
		}
	} else if hi-lo == 1 {
		l := w.leaves[0]
		w.leaves = w.leaves[1:]
		return l, nil
	}
	mid := lo + (hi-lo)/2
	left, err := w.subtree(lo, mid)
	if err != nil {
		return nil, err
	}
	if left == nil {
		// A left child outside the range lies before Start, where the
		// tree has all its leaves.
		return nil, fmt.Errorf("%w: no node for leaves [%d, %d)", ErrInvalidProof, lo, mid)
	}
	right, err := w.subtree(mid, hi)
	if err != nil || right == nil {
		return left, err
	}
	node, err := w.hash(left, right)
	if err != nil {
		return nil, fmt.Errorf("%w: node over leaves [%d, %d): %w", ErrInvalidProof, lo, hi, err)
	}
	return node, nil
}

// hashLeaves returns the leaf hashes of ns || l[skip:] for each l, in one
// allocation.
func hashLeaves(hs *Hasher, ns []byte, leaves [][]byte, skip int) [][]byte {
	buf := make([]byte, 0, len(leaves)*NodeSize)
	for _, l := range leaves {
		buf = hs.HashLeafNs(buf, ns, l[skip:])
	}
	out := make([][]byte, len(leaves))
	for i := range out {
		out[i] = buf[i*NodeSize : (i+1)*NodeSize : (i+1)*NodeSize]
	}
	return out
}

// isEmptyRoot reports whether root is EmptyRoot().
func isEmptyRoot(root []byte) bool {
	var zero [2 * NamespaceSize]byte
	empty := sha256.Sum256(nil)
	return len(root) == NodeSize && bytes.Equal(root[:2*NamespaceSize], zero[:]) && bytes.Equal(root[2*NamespaceSize:], empty[:])
}
