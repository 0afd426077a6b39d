package nmt_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"

	refnmt "github.com/celestiaorg/nmt"
	"github.com/datamesh/mesh-node/nmt"
)

func TestLeafRangesMatchReference(t *testing.T) {
	for width := 1; width <= 16; width *= 2 {
		for start := 0; start < 40; start++ {
			for end := start + 1; end <= 40; end++ {
				got, err := nmt.LeafRanges(start, end, width)
				ref, refErr := refnmt.ToLeafRanges(start, end, width)
				if (err != nil) != (refErr != nil) {
					t.Fatalf("[%d, %d) width %d: %v, reference %v", start, end, width, err, refErr)
				}
				if err != nil {
					continue
				}
				if !slices.EqualFunc(got, ref, func(a nmt.LeafRange, b refnmt.LeafRange) bool { return a.Start == b.Start && a.End == b.End }) {
					t.Fatalf("[%d, %d) width %d: %v, reference %v", start, end, width, got, ref)
				}
			}
		}
	}
	for _, bad := range [][3]int{{-1, 2, 2}, {3, 3, 2}, {0, 4, 3}, {0, 4, 0}} {
		if _, err := nmt.LeafRanges(bad[0], bad[1], bad[2]); !errors.Is(err, nmt.ErrInvalidRange) {
			t.Errorf("LeafRanges%v: %v", bad, err)
		}
	}
}

// TestVerifySubtreeRoots builds rows holding a blob (namespace 5) of n
// leaves at an aligned start between other namespaces, proves the blob's
// range, and checks its subtree roots like a commitment proof does, with
// the reference as the oracle.
func TestVerifySubtreeRoots(t *testing.T) {
	blobNs := ns(5)
	for _, c := range []struct{ size, start, n, width int }{
		{8, 0, 8, 4}, {8, 2, 3, 2}, {16, 4, 11, 4}, {16, 8, 8, 8}, {16, 1, 1, 1}, {32, 8, 21, 8}, {13, 4, 9, 4},
	} {
		var leaves [][]byte
		for i := range c.size {
			switch {
			case i < c.start:
				leaves = append(leaves, leaf(ns(2), "before"))
			case i < c.start+c.n:
				leaves = append(leaves, leaf(blobNs, string(rune('a'+i))))
			default:
				leaves = append(leaves, leaf(ns(9), "after"))
			}
		}
		tree, _ := build(t, leaves)
		root := mustRoot(t, tree)
		p, err := tree.ProveRange(c.start, c.start+c.n)
		if err != nil {
			t.Fatal(err)
		}
		ranges, err := nmt.LeafRanges(c.start, c.start+c.n, c.width)
		if err != nil {
			t.Fatal(err)
		}
		var roots [][]byte
		for _, r := range ranges {
			sub, err := nmt.RootOf(nmt.NewHasher(), leaves[r.Start:r.End])
			if err != nil {
				t.Fatal(err)
			}
			roots = append(roots, sub)
		}
		if err := p.VerifySubtreeRoots(blobNs, roots, c.width, root); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		refOK, refErr := toRef(p).VerifySubtreeRootInclusion(refnmt.NewNmtHasher(sha256.New(), nmt.NamespaceSize, true), roots, c.width, root)
		if !refOK || refErr != nil {
			t.Fatalf("%+v: the reference rejects it: %v", c, refErr)
		}
		bad := func(name string, err error) {
			t.Helper()
			if !errors.Is(err, nmt.ErrInvalidProof) {
				t.Errorf("%+v %s: %v, want ErrInvalidProof", c, name, err)
			}
		}
		flipped := slices.Clone(roots)
		flipped[0] = bytes.Clone(roots[0])
		flipped[0][len(flipped[0])-1] ^= 1
		bad("flipped root", p.VerifySubtreeRoots(blobNs, flipped, c.width, root))
		bad("one root short", p.VerifySubtreeRoots(blobNs, roots[1:], c.width, root))
		bad("other namespace", p.VerifySubtreeRoots(ns(6), roots, c.width, root))
		if c.width > 1 {
			bad("other width", p.VerifySubtreeRoots(blobNs, roots, c.width/2, root))
		}
		shifted := p
		shifted.Start, shifted.End = p.Start+1, p.End+1
		bad("shifted range", shifted.VerifySubtreeRoots(blobNs, roots, c.width, root))
		bad("absence", nmt.Proof{Start: p.Start, End: p.Start + 1, Nodes: p.Nodes, LeafHash: roots[0], IsMaxNamespaceIgnored: true}.VerifySubtreeRoots(blobNs, roots, c.width, root))
	}
}
