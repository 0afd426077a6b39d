package merkle_test

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	refmerkle "github.com/celestiaorg/go-square/merkle"
	"github.com/datamesh/mesh-node/merkle"
)

func TestHashFromByteSlicesMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 300; n++ {
		items := make([][]byte, n)
		for i := range items {
			items[i] = make([]byte, rng.IntN(100))
			for j := range items[i] {
				items[i][j] = byte(rng.Uint32())
			}
		}
		got, want := merkle.HashFromByteSlices(items), refmerkle.HashFromByteSlices(items)
		if !bytes.Equal(got, want) {
			t.Fatalf("n=%d: got %x want %x", n, got, want)
		}
	}
}

func TestEmptyRoot(t *testing.T) {
	want := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got := hex.EncodeToString(merkle.HashFromByteSlices(nil)); got != want {
		t.Fatalf("empty root %s, want %s", got, want)
	}
}

func TestSplitPoint(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 0, 2: 1, 3: 2, 4: 2, 5: 4, 8: 4, 9: 8, 1024: 512, 1025: 1024} {
		if got := merkle.SplitPoint(n); got != want {
			t.Errorf("SplitPoint(%d) = %d, want %d", n, got, want)
		}
	}
}
