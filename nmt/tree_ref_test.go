package nmt_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"testing"

	refnmt "github.com/celestiaorg/nmt"
	"github.com/datamesh/mesh-node/nmt"
)

// TestTreeMatchesReference builds random trees of 1..130 leaves in both
// implementations and checks roots, range proofs and namespace proofs both
// ways: same fields and bytes, and each side's proofs verify with the
// other's verifier.
func TestTreeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := map[string]int{}
	for n := 1; n <= 130; n++ {
		leaves := randomLeaves(rng, n)
		ours, ref := build(t, leaves)
		root := mustRoot(t, ours)
		refRoot, err := ref.Root()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(root, refRoot) {
			t.Fatalf("n=%d: root %x, reference %x", n, root, refRoot)
		}
		checkRangeProofs(t, rng, leaves, ours, ref, root)
		checkNamespaceProofs(t, leaves, ours, ref, root, kinds)
	}
	// Make sure the random trees reached every kind of proof.
	for _, k := range []string{"inclusion", "absence", "empty"} {
		if kinds[k] < 100 {
			t.Errorf("only %d %s proofs checked", kinds[k], k)
		}
	}
}

// checkRangeProofs compares range proofs: every range for small trees, a
// random sample for larger ones (the reference rehashes the whole tree per
// proof).
func checkRangeProofs(t *testing.T, rng *rand.Rand, leaves [][]byte, ours *nmt.Tree, ref *refnmt.NamespacedMerkleTree, root []byte) {
	t.Helper()
	n := len(leaves)
	check := func(start, end int) {
		p, err := ours.ProveRange(start, end)
		if err != nil {
			t.Fatalf("n=%d ProveRange(%d, %d): %v", n, start, end, err)
		}
		rp, err := ref.ProveRange(start, end)
		if err != nil {
			t.Fatal(err)
		}
		if !equalProofs(p, fromRef(rp)) {
			t.Fatalf("n=%d [%d, %d): proof %+v, reference %+v", n, start, end, p, fromRef(rp))
		}
		checkWire(t, p)
		// Verification needs one namespace across the range.
		namespace := leaves[start][:nmt.NamespaceSize]
		if !bytes.Equal(leaves[end-1][:nmt.NamespaceSize], namespace) {
			return
		}
		pl := payloads(leaves[start:end])
		if err := p.VerifyInclusion(namespace, pl, root); err != nil {
			t.Fatalf("n=%d [%d, %d): our proof, our verifier: %v", n, start, end, err)
		}
		if err := fromRef(rp).VerifyInclusion(namespace, pl, root); err != nil {
			t.Fatalf("n=%d [%d, %d): reference proof, our verifier: %v", n, start, end, err)
		}
		if !toRef(p).VerifyInclusion(sha256.New(), namespace, pl, root) {
			t.Fatalf("n=%d [%d, %d): our proof, reference verifier: rejected", n, start, end)
		}
	}
	if n <= 40 {
		for start := 0; start < n; start++ {
			for end := start + 1; end <= n; end++ {
				check(start, end)
			}
		}
		return
	}
	for range 50 {
		start := rng.IntN(n)
		check(start, start+1+rng.IntN(n-start))
		check(start, start+1) // a sample
	}
	check(0, n)
}

// checkNamespaceProofs compares namespace proofs for every namespace in the
// tree, one absent between each pair, one below the minimum, one above the
// maximum, and MaxNamespace.
func checkNamespaceProofs(t *testing.T, leaves [][]byte, ours *nmt.Tree, ref *refnmt.NamespacedMerkleTree, root []byte, kinds map[string]int) {
	t.Helper()
	n := len(leaves)
	queries := [][]byte{ns(0), ns(1), nmt.MaxNamespace(), ns(0xFE)}
	for i, l := range leaves {
		if i == 0 || !bytes.Equal(l[:nmt.NamespaceSize], leaves[i-1][:nmt.NamespaceSize]) {
			queries = append(queries, l[:nmt.NamespaceSize])
		}
		if i > 0 {
			if between := nsBetween(leaves[i-1][:nmt.NamespaceSize], l[:nmt.NamespaceSize]); between != nil {
				queries = append(queries, between)
			}
		}
	}
	for _, q := range queries {
		p, err := ours.ProveNamespace(q)
		if err != nil {
			t.Fatalf("n=%d ProveNamespace(%x): %v", n, q, err)
		}
		rp, err := ref.ProveNamespace(q)
		if err != nil {
			t.Fatal(err)
		}
		if !equalProofs(p, fromRef(rp)) {
			t.Fatalf("n=%d ns %x: proof %+v, reference %+v", n, q, p, fromRef(rp))
		}
		checkWire(t, p)
		kinds[kind(p)]++

		var got [][]byte
		if !p.IsOfAbsence() {
			got = leaves[p.Start:p.End]
		}
		want := ref.Get(q)
		if p.IsEmpty() && bytes.Equal(q, nmt.MaxNamespace()) {
			// The ignore-max rule keeps MaxNamespace out of the root's
			// range when other namespaces are present, so its leaves are
			// "outside" the range and get the empty proof.
			want = nil
		}
		if len(got) != len(want) {
			t.Fatalf("n=%d ns %x: proof covers %d leaves, tree has %d", n, q, len(got), len(want))
		}
		if err := p.VerifyNamespace(q, got, root); err != nil {
			t.Fatalf("n=%d ns %x (%s): our proof, our verifier: %v", n, q, kind(p), err)
		}
		if err := fromRef(rp).VerifyNamespace(q, got, root); err != nil {
			t.Fatalf("n=%d ns %x: reference proof, our verifier: %v", n, q, err)
		}
		if !toRef(p).VerifyNamespace(sha256.New(), q, got, root) {
			t.Fatalf("n=%d ns %x (%s): our proof, reference verifier: rejected", n, q, kind(p))
		}
		// An inclusion proof of a namespace is also an inclusion proof.
		if kind(p) == "inclusion" {
			if err := p.VerifyInclusion(q, payloads(got), root); err != nil {
				t.Fatalf("n=%d ns %x: VerifyInclusion: %v", n, q, err)
			}
		}
		// The proof kind follows from where q lies.
		switch {
		case len(want) > 0 && kind(p) != "inclusion",
			len(want) == 0 && kind(p) == "inclusion":
			t.Fatalf("n=%d ns %x: %s proof for %d leaves", n, q, kind(p), len(want))
		}
	}
}

// nsBetween returns a namespace strictly between a and b, or nil.
func nsBetween(a, b []byte) []byte {
	c := bytes.Clone(a)
	for i := len(c) - 1; i >= 0; i-- {
		if c[i] < 0xFF {
			c[i]++
			if bytes.Compare(c, b) < 0 {
				return c
			}
			return nil
		}
		c[i] = 0
	}
	return nil
}

func kind(p nmt.Proof) string {
	switch {
	case p.IsEmpty():
		return "empty"
	case p.IsOfAbsence():
		return "absence"
	default:
		return "inclusion"
	}
}

// checkWire checks that p encodes to the reference's bytes and decodes back.
func checkWire(t *testing.T, p nmt.Proof) {
	t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if want := refBytes(t, p); !bytes.Equal(b, want) {
		t.Fatalf("encoding of %+v:\n got %x\nwant %x", p, b, want)
	}
	q, err := nmt.UnmarshalProof(b)
	if err != nil {
		t.Fatal(err)
	}
	if !equalProofs(p, q) {
		t.Fatalf("round trip: %+v became %+v", p, q)
	}
}

// TestIncompleteProofRejectedByBoth checks that proofs leaving out leaves
// of the namespace fail completeness in our verifier and the reference's.
func TestIncompleteProofRejectedByBoth(t *testing.T) {
	leaves := [][]byte{
		leaf(ns(1), "a"), leaf(ns(3), "b"), leaf(ns(3), "c"), leaf(ns(3), "d"),
		leaf(ns(3), "e"), leaf(ns(5), "f"), leaf(ns(0xFF), "p"), leaf(ns(0xFF), "q"),
	}
	ours, _ := build(t, leaves)
	root := mustRoot(t, ours)
	for _, r := range [][2]int{{2, 5}, {1, 4}, {2, 4}} {
		p, err := ours.ProveRange(r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		err = p.VerifyNamespace(ns(3), leaves[r[0]:r[1]], root)
		if !errors.Is(err, nmt.ErrIncompleteProof) || !errors.Is(err, nmt.ErrInvalidProof) {
			t.Errorf("range %v of namespace [1, 5): err = %v, want ErrIncompleteProof", r, err)
		}
		if toRef(p).VerifyNamespace(sha256.New(), ns(3), leaves[r[0]:r[1]], root) {
			t.Errorf("range %v: reference accepts an incomplete proof", r)
		}
		// Inclusion alone still holds.
		if err := p.VerifyInclusion(ns(3), payloads(leaves[r[0]:r[1]]), root); err != nil {
			t.Errorf("range %v: VerifyInclusion: %v", r, err)
		}
	}
}
