package eds_test

import (
	"fmt"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/share"
)

// Extend a 2×2 original square, commit to it, and rebuild it from its
// parity quadrants alone.
func Example() {
	ods := make([][]byte, 4)
	for i := range ods {
		s := make([]byte, share.ShareSize)
		ns, _ := share.NewV0Namespace([]byte{byte(i + 1)})
		copy(s, ns[:])
		copy(s[share.NamespaceSize:], fmt.Sprintf("share %d", i))
		ods[i] = s
	}
	square, err := eds.Extend(ods)
	if err != nil {
		panic(err)
	}
	dah, err := eds.NewDAH(square)
	if err != nil {
		panic(err)
	}
	fmt.Printf("EDS width %d, %d row roots, data root %x…\n", square.Width(), len(dah.RowRoots), dah.Hash()[:8])

	// Keep only Q1, Q2 and Q3.
	w := square.Width()
	shares := make([][]byte, w*w)
	for r := 0; r < w; r++ {
		for c := 0; c < w; c++ {
			if r >= square.K() || c >= square.K() {
				shares[r*w+c] = square.Share(r, c)
			}
		}
	}
	repaired, err := eds.Repair(dah, shares)
	if err != nil {
		panic(err)
	}
	fmt.Printf("repaired share (1, 1): %q\n", repaired.Share(1, 1)[share.NamespaceSize:share.NamespaceSize+7])
	// Output:
	// EDS width 4, 4 row roots, data root 87e47e8ed6881579…
	// repaired share (1, 1): "share 3"
}
