package nmt_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"sort"
	"testing"

	refnmt "github.com/celestiaorg/nmt"
	"github.com/datamesh/mesh-node/nmt"
)

func TestRootOfMatchesReference(t *testing.T) {
	for n := 0; n <= 70; n++ {
		leaves := make([][]byte, n)
		for i := range leaves {
			leaves[i] = make([]byte, 29+40)
			rand.Read(leaves[i])
			if i%5 == 0 && i > 0 {
				copy(leaves[i][:29], bytes.Repeat([]byte{0xff}, 29))
			}
		}
		sort.Slice(leaves, func(i, j int) bool { return bytes.Compare(leaves[i][:29], leaves[j][:29]) < 0 })
		ref := refnmt.New(sha256.New(), refnmt.NamespaceIDSize(29), refnmt.IgnoreMaxNamespace(true))
		for _, l := range leaves {
			if err := ref.Push(l); err != nil {
				t.Fatal(err)
			}
		}
		want, _ := ref.Root()
		got, err := nmt.RootOf(nmt.NewHasher(), leaves)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("n=%d root mismatch", n)
		}
	}
}
