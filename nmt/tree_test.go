package nmt_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/nmt"
)

func TestPushRejects(t *testing.T) {
	tree := nmt.New()
	if err := tree.Push(leaf(ns(5), "a")); err != nil {
		t.Fatal(err)
	}
	before := mustRoot(t, tree)

	err := tree.Push(leaf(ns(4), "b"))
	if !errors.Is(err, nmt.ErrInvalidPushOrder) || !strings.Contains(err.Error(), "leaf 1") {
		t.Errorf("unsorted push: err = %v, want ErrInvalidPushOrder naming leaf 1", err)
	}
	err = tree.Push(ns(6)[:28])
	if !errors.Is(err, nmt.ErrShortLeaf) || !strings.Contains(err.Error(), "leaf 1") {
		t.Errorf("short push: err = %v, want ErrShortLeaf naming leaf 1", err)
	}
	if tree.Size() != 1 || !bytes.Equal(mustRoot(t, tree), before) {
		t.Errorf("rejected pushes changed the tree")
	}
	// Equal namespaces and a bare namespace (empty payload) are fine.
	for _, l := range [][]byte{leaf(ns(5), "c"), ns(7), nmt.MaxNamespace()} {
		if err := tree.Push(l); err != nil {
			t.Errorf("push %x: %v", l, err)
		}
	}
	if err := tree.Push(leaf(ns(7), "after parity")); !errors.Is(err, nmt.ErrInvalidPushOrder) {
		t.Errorf("push after MaxNamespace: err = %v", err)
	}
}

func TestRootCache(t *testing.T) {
	tree := nmt.New()
	if got := mustRoot(t, tree); !bytes.Equal(got, nmt.EmptyRoot()) {
		t.Errorf("empty tree root %x, want EmptyRoot", got)
	}
	data := leaf(ns(1), "a")
	if err := tree.Push(data); err != nil {
		t.Fatal(err)
	}
	r1 := mustRoot(t, tree)
	r1[0] ^= 0xFF // the caller owns the returned root
	data[len(data)-1] = 'z'
	if again := mustRoot(t, tree); again[0] == r1[0] {
		t.Errorf("modifying a returned root changed the cache")
	}
	r1[0] ^= 0xFF
	if err := tree.Push(leaf(ns(2), "b")); err != nil {
		t.Fatal(err)
	}
	r2 := mustRoot(t, tree)
	want, err := nmt.RootOf(nmt.NewHasher(), [][]byte{leaf(ns(1), "a"), leaf(ns(2), "b")})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(r1, r2) || !bytes.Equal(r2, want) {
		t.Errorf("root after push: %x, want %x (Push must invalidate the cache; the tree must not keep the data)", r2, want)
	}

	tree.Reset()
	if tree.Size() != 0 || !bytes.Equal(mustRoot(t, tree), nmt.EmptyRoot()) {
		t.Errorf("Reset did not empty the tree")
	}
}

func TestProveErrors(t *testing.T) {
	tree, _, _ := fixture(t)
	for _, r := range [][2]int{{-1, 1}, {3, 3}, {4, 2}, {0, 11}, {10, 11}} {
		if _, err := tree.ProveRange(r[0], r[1]); !errors.Is(err, nmt.ErrInvalidRange) {
			t.Errorf("ProveRange(%d, %d): err = %v, want ErrInvalidRange", r[0], r[1], err)
		}
	}
	for _, q := range [][]byte{nil, ns(1)[:28], append(ns(1), 0)} {
		if _, err := tree.ProveNamespace(q); !errors.Is(err, nmt.ErrInvalidNamespace) {
			t.Errorf("ProveNamespace(%x): err = %v, want ErrInvalidNamespace", q, err)
		}
	}
	empty, err := nmt.New().ProveNamespace(ns(1))
	if err != nil || !empty.IsEmpty() {
		t.Errorf("ProveNamespace on an empty tree: %+v, %v", empty, err)
	}
	if err := empty.VerifyNamespace(ns(1), nil, nmt.EmptyRoot()); err != nil {
		t.Errorf("empty proof of the empty tree: %v", err)
	}
}

func TestProofsOutliveTree(t *testing.T) {
	tree, leaves, root := fixture(t)
	p := proveNs(t, tree, ns(5))
	a := proveNs(t, tree, ns(4))
	tree.Reset()
	for range 20 {
		if err := tree.Push(leaf(ns(0xFF), "other")); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.VerifyNamespace(ns(5), leaves[5:7], root); err != nil {
		t.Errorf("inclusion proof after the tree changed: %v", err)
	}
	if err := a.VerifyNamespace(ns(4), nil, root); err != nil {
		t.Errorf("absence proof after the tree changed: %v", err)
	}
}

// TestAllParity checks a tree whose leaves are all MaxNamespace: the root
// range is [MaxNamespace, MaxNamespace] and the namespace is provable.
func TestAllParity(t *testing.T) {
	leaves := [][]byte{leaf(nmt.MaxNamespace(), "p"), leaf(nmt.MaxNamespace(), "q"), leaf(nmt.MaxNamespace(), "r")}
	tree, ref := build(t, leaves)
	root := mustRoot(t, tree)
	p := proveNs(t, tree, nmt.MaxNamespace())
	if p.Start != 0 || p.End != 3 {
		t.Fatalf("proof %+v, want [0, 3)", p)
	}
	if err := p.VerifyNamespace(nmt.MaxNamespace(), leaves, root); err != nil {
		t.Error(err)
	}
	rp, err := ref.ProveNamespace(nmt.MaxNamespace())
	if err != nil || !equalProofs(p, fromRef(rp)) {
		t.Errorf("reference proof %+v, %v", fromRef(rp), err)
	}
}
