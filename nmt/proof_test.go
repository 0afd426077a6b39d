package nmt_test

import (
	"bytes"
	"errors"
	"math"
	"math/bits"
	"slices"
	"testing"

	"github.com/datamesh/mesh-node/nmt"
)

// fixture is a small tree with present, absent and parity namespaces:
// ns 1 at 0, ns 3 at 1..4, ns 5 at 5..6, ns 9 at 7, MaxNamespace at 8..9.
func fixture(t *testing.T) (*nmt.Tree, [][]byte, []byte) {
	t.Helper()
	leaves := [][]byte{
		leaf(ns(1), "a"),
		leaf(ns(3), "b"), leaf(ns(3), "c"), leaf(ns(3), "d"), leaf(ns(3), "e"),
		leaf(ns(5), "f"), leaf(ns(5), "g"),
		leaf(ns(9), "h"),
		leaf(ns(0xFF), "p"), leaf(ns(0xFF), "q"),
	}
	tree, _ := build(t, leaves)
	return tree, leaves, mustRoot(t, tree)
}

func proveNs(t testing.TB, tree *nmt.Tree, namespace []byte) nmt.Proof {
	t.Helper()
	p, err := tree.ProveNamespace(namespace)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// clone deep-copies a proof so a test can tamper with it.
func clone(p nmt.Proof) nmt.Proof {
	q := p
	q.Nodes = make([][]byte, len(p.Nodes))
	for i, n := range p.Nodes {
		q.Nodes[i] = bytes.Clone(n)
	}
	q.LeafHash = bytes.Clone(p.LeafHash)
	return q
}

func wantErr(t *testing.T, name string, err error, targets ...error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: verified, want an error", name)
		return
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Errorf("%s: err = %v, want it to wrap %v", name, err, target)
		}
	}
}

func TestVerifyNamespaceRejects(t *testing.T) {
	tree, leaves, root := fixture(t)
	incl := proveNs(t, tree, ns(3))   // [1, 5)
	absent := proveNs(t, tree, ns(4)) // leaf 5
	ns3 := leaves[1:5]
	if err := incl.VerifyNamespace(ns(3), ns3, root); err != nil {
		t.Fatalf("valid inclusion proof: %v", err)
	}
	if err := absent.VerifyNamespace(ns(4), nil, root); err != nil {
		t.Fatalf("valid absence proof: %v", err)
	}

	tampered := clone(incl)
	tampered.Nodes[0][nmt.NodeSize-1] ^= 1
	wantErr(t, "tampered node digest", tampered.VerifyNamespace(ns(3), ns3, root), nmt.ErrInvalidProof, nmt.ErrRootMismatch)

	tampered = clone(incl)
	tampered.Nodes[len(tampered.Nodes)-1][2*nmt.NamespaceSize-1]++ // right node's max namespace
	wantErr(t, "tampered node namespace", tampered.VerifyNamespace(ns(3), ns3, root), nmt.ErrInvalidProof)

	otherRoot := bytes.Clone(root)
	otherRoot[nmt.NodeSize-1] ^= 1
	wantErr(t, "wrong root", incl.VerifyNamespace(ns(3), ns3, otherRoot), nmt.ErrInvalidProof, nmt.ErrRootMismatch)

	swapped := slices.Clone(ns3)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	wantErr(t, "swapped leaves", incl.VerifyNamespace(ns(3), swapped, root), nmt.ErrInvalidProof, nmt.ErrRootMismatch)

	tampered = clone(incl)
	tampered.Nodes[0], tampered.Nodes[1] = tampered.Nodes[1], tampered.Nodes[0]
	wantErr(t, "swapped nodes", tampered.VerifyNamespace(ns(3), ns3, root), nmt.ErrInvalidProof)

	changed := slices.Clone(ns3)
	changed[2] = leaf(ns(3), "X")
	wantErr(t, "changed leaf", incl.VerifyNamespace(ns(3), changed, root), nmt.ErrInvalidProof, nmt.ErrRootMismatch)

	wantErr(t, "leaf of another namespace", incl.VerifyNamespace(ns(3), append(slices.Clone(ns3[:3]), leaves[5]), root), nmt.ErrInvalidProof)
	wantErr(t, "missing leaf", incl.VerifyNamespace(ns(3), ns3[:3], root), nmt.ErrInvalidProof)
	wantErr(t, "short leaf", incl.VerifyNamespace(ns(3), [][]byte{ns3[0], ns3[1], ns3[2], {3}}, root), nmt.ErrInvalidProof)
	wantErr(t, "another namespace", incl.VerifyNamespace(ns(5), leaves[5:7], root), nmt.ErrInvalidProof)

	notIgnored := clone(incl)
	notIgnored.IsMaxNamespaceIgnored = false
	wantErr(t, "IsMaxNamespaceIgnored false", notIgnored.VerifyNamespace(ns(3), ns3, root), nmt.ErrInvalidProof)

	// Completeness: proofs of part of the namespace.
	for _, r := range [][2]int{{2, 5}, {1, 4}, {2, 3}} {
		p, err := tree.ProveRange(r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "partial namespace", p.VerifyNamespace(ns(3), leaves[r[0]:r[1]], root), nmt.ErrInvalidProof, nmt.ErrIncompleteProof)
	}

	// Absence proofs.
	wrongLeaf := clone(absent)
	wrongLeaf.LeafHash = hashLeaf(t, leaves[7])
	wantErr(t, "wrong leaf hash", wrongLeaf.VerifyNamespace(ns(4), nil, root), nmt.ErrInvalidProof)
	forged := clone(absent)
	forged.LeafHash = hashLeaf(t, leaf(ns(5), "forged"))
	wantErr(t, "forged leaf hash", forged.VerifyNamespace(ns(4), nil, root), nmt.ErrInvalidProof, nmt.ErrRootMismatch)
	lowLeaf := clone(absent)
	lowLeaf.LeafHash = hashLeaf(t, leaves[2])
	wantErr(t, "leaf hash not above namespace", lowLeaf.VerifyNamespace(ns(4), nil, root), nmt.ErrInvalidProof)
	wantErr(t, "absence proof with leaves", absent.VerifyNamespace(ns(4), leaves[5:6], root), nmt.ErrInvalidProof)
	wantErr(t, "absence proof for a present namespace", absent.VerifyNamespace(ns(3), nil, root), nmt.ErrInvalidProof)
	wide := clone(absent)
	wide.End++
	wantErr(t, "absence proof over two leaves", wide.VerifyNamespace(ns(4), nil, root), nmt.ErrInvalidProof)

	// Empty proofs.
	empty := nmt.Proof{IsMaxNamespaceIgnored: true}
	for _, q := range [][]byte{ns(0), ns(10), nmt.MaxNamespace()} {
		if err := empty.VerifyNamespace(q, nil, root); err != nil {
			t.Errorf("empty proof for %x outside the root range: %v", q, err)
		}
	}
	wantErr(t, "empty proof inside the range", empty.VerifyNamespace(ns(4), nil, root), nmt.ErrInvalidProof, nmt.ErrIncompleteProof)
	wantErr(t, "empty proof for a present namespace", empty.VerifyNamespace(ns(3), nil, root), nmt.ErrInvalidProof, nmt.ErrIncompleteProof)
	wantErr(t, "empty proof with leaves", empty.VerifyNamespace(ns(0), leaves[:1], root), nmt.ErrInvalidProof)
	offset := nmt.Proof{Start: 3, End: 3, IsMaxNamespaceIgnored: true}
	wantErr(t, "empty range not at 0", offset.VerifyNamespace(ns(0), nil, root), nmt.ErrInvalidProof)
	withNodes := clone(incl)
	withNodes.Start, withNodes.End = 0, 0
	wantErr(t, "empty range with nodes", withNodes.VerifyNamespace(ns(0), nil, root), nmt.ErrInvalidProof)
	if err := empty.VerifyNamespace(ns(0), nil, nmt.EmptyRoot()); err != nil {
		t.Errorf("empty proof against the empty root: %v", err)
	}
}

func hashLeaf(t *testing.T, data []byte) []byte {
	t.Helper()
	h, err := nmt.NewHasher().HashLeaf(nil, data)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestVerifyInclusionRejects(t *testing.T) {
	tree, leaves, root := fixture(t)
	p, err := tree.ProveRange(2, 4)
	if err != nil {
		t.Fatal(err)
	}
	pl := payloads(leaves[2:4])
	if err := p.VerifyInclusion(ns(3), pl, root); err != nil {
		t.Fatalf("valid proof: %v", err)
	}
	wantErr(t, "wrong namespace", p.VerifyInclusion(ns(5), pl, root), nmt.ErrInvalidProof)
	wantErr(t, "too few payloads", p.VerifyInclusion(ns(3), pl[:1], root), nmt.ErrInvalidProof)
	wantErr(t, "swapped payloads", p.VerifyInclusion(ns(3), [][]byte{pl[1], pl[0]}, root), nmt.ErrInvalidProof, nmt.ErrRootMismatch)
	shifted := clone(p)
	shifted.Start, shifted.End = 1, 3
	wantErr(t, "shifted range", shifted.VerifyInclusion(ns(3), pl, root), nmt.ErrInvalidProof)
	notIgnored := clone(p)
	notIgnored.IsMaxNamespaceIgnored = false
	wantErr(t, "IsMaxNamespaceIgnored false", notIgnored.VerifyInclusion(ns(3), pl, root), nmt.ErrInvalidProof)

	empty := nmt.Proof{IsMaxNamespaceIgnored: true}
	wantErr(t, "empty proof, no payloads", empty.VerifyInclusion(ns(0), nil, root), nmt.ErrInvalidProof)
	absent := proveNs(t, tree, ns(4))
	wantErr(t, "absence proof", absent.VerifyInclusion(ns(5), payloads(leaves[5:6]), root), nmt.ErrInvalidProof)

	// A sample of a parity leaf: the verifier supplies MaxNamespace.
	parity, err := tree.ProveRange(9, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := parity.VerifyInclusion(nmt.MaxNamespace(), payloads(leaves[9:10]), root); err != nil {
		t.Errorf("parity sample: %v", err)
	}
}

// TestTruncatedLeftPath checks that a proof whose nodes run out before
// covering the leaves left of Start is rejected rather than having its
// left nodes taken for right ones (GHSA-r9fq-g486-v8pg in celestiaorg/nmt).
func TestTruncatedLeftPath(t *testing.T) {
	tree, leaves, root := fixture(t)
	absent := proveNs(t, tree, ns(6)) // leaf 7: left nodes [0,4) [4,6) [6,7)
	if absent.Start != 7 || len(absent.Nodes) != 4 {
		t.Fatalf("unexpected fixture proof %+v", absent)
	}
	for keep := 0; keep < 3; keep++ {
		p := clone(absent)
		p.Nodes = p.Nodes[:keep]
		wantErr(t, "truncated absence proof", p.VerifyNamespace(ns(6), nil, root), nmt.ErrInvalidProof, nmt.ErrIncompleteProof)
	}
	incl, err := tree.ProveRange(7, 8)
	if err != nil {
		t.Fatal(err)
	}
	incl.Nodes = incl.Nodes[:2]
	wantErr(t, "truncated namespace proof", incl.VerifyNamespace(ns(9), leaves[7:8], root), nmt.ErrInvalidProof, nmt.ErrIncompleteProof)
	wantErr(t, "truncated inclusion proof", incl.VerifyInclusion(ns(9), payloads(leaves[7:8]), root), nmt.ErrInvalidProof)
}

// TestVerifyMalformed feeds malformed proofs and arguments to every
// verifier: each must return an error, not panic.
func TestVerifyMalformed(t *testing.T) {
	tree, leaves, root := fixture(t)
	good, err := tree.ProveRange(1, 5)
	if err != nil {
		t.Fatal(err)
	}
	node := good.Nodes[0]
	badNode := bytes.Clone(node)
	badNode[0] = 0xFE // min above max
	many := make([][]byte, nmt.MaxProofNodes+1)
	for i := range many {
		many[i] = node
	}
	with := func(f func(*nmt.Proof)) nmt.Proof {
		p := clone(good)
		f(&p)
		return p
	}
	proofs := map[string]nmt.Proof{
		"negative start":       with(func(p *nmt.Proof) { p.Start = -1 }),
		"start after end":      with(func(p *nmt.Proof) { p.Start, p.End = 5, 1 }),
		"huge end":             with(func(p *nmt.Proof) { p.End = math.MaxInt }),
		"end past bound":       with(func(p *nmt.Proof) { p.End = nmt.MaxProofIndex + 1 }),
		"end at bound":         with(func(p *nmt.Proof) { p.Start, p.End = nmt.MaxProofIndex-4, nmt.MaxProofIndex }),
		"too many nodes":       with(func(p *nmt.Proof) { p.Nodes = many }),
		"short node":           with(func(p *nmt.Proof) { p.Nodes[0] = node[:10] }),
		"nil node":             with(func(p *nmt.Proof) { p.Nodes[1] = nil }),
		"node min above max":   with(func(p *nmt.Proof) { p.Nodes[0] = badNode }),
		"short leaf hash":      with(func(p *nmt.Proof) { p.LeafHash = node[:30] }),
		"bad leaf hash":        with(func(p *nmt.Proof) { p.LeafHash = badNode }),
		"no nodes":             with(func(p *nmt.Proof) { p.Nodes = nil }),
		"extra nodes":          with(func(p *nmt.Proof) { p.Nodes = append(p.Nodes, node, node) }),
		"max-ns flag false":    with(func(p *nmt.Proof) { p.IsMaxNamespaceIgnored = false }),
		"zero proof":           {},
		"empty range at 2":     {Start: 2, End: 2, IsMaxNamespaceIgnored: true},
		"leaf hash, no range":  {LeafHash: node, IsMaxNamespaceIgnored: true},
		"nodes only":           {Nodes: [][]byte{node}, IsMaxNamespaceIgnored: true},
		"range past all nodes": {Start: 60, End: 64, IsMaxNamespaceIgnored: true},
	}
	roots := map[string][]byte{"root": root, "nil root": nil, "short root": root[:50], "bad root": badNode}
	nss := map[string][]byte{"ns": ns(3), "nil ns": nil, "short ns": ns(3)[:28]}
	ns3 := leaves[1:5]
	for pname, p := range proofs {
		for rname, r := range roots {
			for nname, q := range nss {
				name := pname + "/" + rname + "/" + nname
				for vname, err := range map[string]error{
					"VerifyInclusion":  p.VerifyInclusion(q, payloads(ns3), r),
					"VerifyNamespace":  p.VerifyNamespace(q, ns3, r),
					"VerifyLeafHashes": p.VerifyLeafHashes(q, [][]byte{node, node, node, node}, r),
					"absence":          p.VerifyNamespace(q, nil, r),
				} {
					if err == nil {
						t.Errorf("%s %s: verified", name, vname)
					} else if !errors.Is(err, nmt.ErrInvalidProof) && !errors.Is(err, nmt.ErrInvalidNamespace) {
						t.Errorf("%s %s: err = %v, want ErrInvalidProof or ErrInvalidNamespace", name, vname, err)
					}
				}
			}
		}
	}
}

// TestProofNodeBound checks the bound MaxProofNodes rests on: a range proof
// in a tree of n leaves has at most 2·ceil(log2 n) nodes.
func TestProofNodeBound(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8, 13, 64, 100, 127, 128, 129, 1024} {
		tree := nmt.New()
		for i := 0; i < n; i++ {
			if err := tree.Push(leaf(ns(1), "x")); err != nil {
				t.Fatal(err)
			}
		}
		limit := 2 * bits.Len(uint(n-1))
		most := 0
		// Every range of trees below 32 leaves, a grid of ranges above.
		step := 1 + n/32
		for start := 0; start < n; start += step {
			for end := start + 1; end <= n; end += step {
				p, err := tree.ProveRange(start, end)
				if err != nil {
					t.Fatal(err)
				}
				most = max(most, len(p.Nodes))
			}
		}
		if most > limit || most > nmt.MaxProofNodes {
			t.Errorf("n=%d: a proof has %d nodes, bound %d", n, most, limit)
		}
	}
}
