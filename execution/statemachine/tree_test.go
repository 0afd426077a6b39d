package statemachine

import (
	"bytes"
	"testing"

	"github.com/datamesh/mesh-node/merkle"
)

// TestTreeApplySetsHeight: a block's update labels the tree with the
// block's height and gives the root of the state from scratch
// (merkle.Tree's own tests check the updates thoroughly).
func TestTreeApplySetsHeight(t *testing.T) {
	tr := newTree(7, [][]byte{[]byte("a")}, [][]byte{merkle.LeafHash(Leaf([]byte("a"), []byte("1")))})
	tr.apply(8, map[string][]byte{"b": merkle.LeafHash(Leaf([]byte("b"), []byte("2")))})
	if tr.height != 8 {
		t.Fatalf("height %d after block 8", tr.height)
	}
	want := merkle.RootFromLeafHashes([][]byte{merkle.LeafHash(Leaf([]byte("a"), []byte("1"))), merkle.LeafHash(Leaf([]byte("b"), []byte("2")))})
	if !bytes.Equal(tr.Root(), want) {
		t.Fatalf("root %X, from scratch %X", tr.Root(), want)
	}
}
