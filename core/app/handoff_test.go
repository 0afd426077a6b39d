package app

import (
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
)

func TestKeptSquaresPolicy(t *testing.T) {
	type sq struct {
		ext *eds.ExtendedDataSquare
		dah *eds.DataAvailabilityHeader
	}
	squares := make([]sq, 6)
	for i := range squares {
		ext, dah := edstest.RandomEDS(t, uint64(i+1), 2, 1)
		squares[i] = sq{ext, dah}
	}
	root := func(i int) []byte { return squares[i].dah.Hash() }
	has := func(k *keptSquares, i int) bool {
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, s := range k.all {
			if string(s.dataRoot) == string(root(i)) {
				return true
			}
		}
		return false
	}
	k := &keptSquares{}
	// Two proposals at height 5 (two rounds), the second proposed twice.
	k.add(5, squares[0].ext, squares[0].dah)
	k.add(5, squares[1].ext, squares[1].dah)
	k.add(5, squares[1].ext, squares[1].dah)
	if k.len() != 2 {
		t.Fatalf("%d kept, want 2", k.len())
	}
	// Height 5 commits the second: the first is dropped.
	k.commit(5, root(1))
	if k.len() != 1 || !has(k, 1) {
		t.Fatalf("after commit 5: %d kept, the committed one kept %v", k.len(), has(k, 1))
	}
	// Three proposals at height 6: the oldest square goes first.
	for i := 2; i <= 4; i++ {
		k.add(6, squares[i].ext, squares[i].dah)
	}
	if k.len() != MaxKeptSquares || has(k, 1) {
		t.Fatalf("%d kept (at most %d), height 5's kept %v", k.len(), MaxKeptSquares, has(k, 1))
	}
	k.commit(6, root(3))
	if k.len() != 1 || !has(k, 3) {
		t.Fatalf("after commit 6: %d kept, the committed one kept %v", k.len(), has(k, 3))
	}
	// Height 6 stays kept at 7, not at 8.
	k.add(7, squares[5].ext, squares[5].dah)
	k.commit(7, root(5))
	if !has(k, 3) || !has(k, 5) {
		t.Fatal("the squares of the last two committed heights are not both kept")
	}
	k.commit(8, nil)
	if has(k, 3) || !has(k, 5) {
		t.Fatalf("after commit 8: height 6 kept %v, height 7 kept %v", has(k, 3), has(k, 5))
	}
	// Taken once.
	ext, dah := squares[5].ext, squares[5].dah
	got, ok := k.take(root(5))
	if !ok || got.ext != ext || got.dah != dah || k.len() != 0 {
		t.Fatalf("take: ok %v, same square %v, %d left", ok, got.ext == ext, k.len())
	}
	if _, ok := k.take(root(5)); ok {
		t.Fatal("a square was taken twice")
	}
	var none *keptSquares
	none.add(1, ext, dah)
	none.commit(1, root(5))
	if _, ok := none.take(root(5)); ok || none.len() != 0 {
		t.Fatal("the nil keptSquares keeps a square")
	}
}
