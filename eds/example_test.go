package eds_test

import (
	"errors"
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

// A light node samples a cell: the node holding the square proves the share
// against its row root, and the light node checks it against the header.
func ExampleExtendedDataSquare_Sample() {
	ods := make([][]byte, 4)
	for i := range ods {
		ods[i] = make([]byte, share.ShareSize)
		ns, _ := share.NewV0Namespace([]byte{byte(i + 1)})
		copy(ods[i], ns[:])
		copy(ods[i][share.NamespaceSize:], fmt.Sprintf("share %d", i))
	}
	square, err := eds.Extend(ods)
	if err != nil {
		panic(err)
	}
	dah, err := eds.NewDAH(square)
	if err != nil {
		panic(err)
	}

	// Server: prove cell (1, 3), a parity cell, and send it.
	sample, err := square.Sample(1, 3, eds.Row)
	if err != nil {
		panic(err)
	}
	wire, err := sample.MarshalBinary()
	if err != nil {
		panic(err)
	}

	// Light node: decode and verify against the header it trusts.
	received, err := eds.UnmarshalSample(wire)
	if err != nil {
		panic(err)
	}
	fmt.Println("cell (1, 3):", received.Verify(dah, 1, 3))
	fmt.Println("claimed for (1, 2):", errors.Is(received.Verify(dah, 1, 2), eds.ErrInvalidSample))
	// Output:
	// cell (1, 3): <nil>
	// claimed for (1, 2): true
}

// A rollup reads its namespace: the shares with proofs that none is left out,
// and for an absent namespace, proof of absence.
func ExampleExtendedDataSquare_NamespaceData() {
	rollup, _ := share.NewV0Namespace([]byte("rollup"))
	other, _ := share.NewV0Namespace([]byte("zombie"))
	ods := make([][]byte, 4)
	for i := range ods {
		ods[i] = make([]byte, share.ShareSize)
		ns := rollup
		if i == 3 {
			ns = other
		}
		copy(ods[i], ns[:])
		copy(ods[i][share.NamespaceSize:], fmt.Sprintf("block data %d", i))
	}
	square, err := eds.Extend(ods)
	if err != nil {
		panic(err)
	}
	dah, err := eds.NewDAH(square)
	if err != nil {
		panic(err)
	}

	data, err := square.NamespaceData(rollup)
	if err != nil {
		panic(err)
	}
	fmt.Println("rows:", eds.RowsWithNamespace(dah, rollup), "shares:", len(data.Flatten()), "verify:", data.Verify(dah, rollup))

	// Leaving out the last row fails verification.
	fmt.Println("row dropped:", errors.Is(data[:1].Verify(dah, rollup), eds.ErrInvalidNamespaceData))

	// A namespace between the two is absent from row 1: an absence proof.
	absent, _ := share.NewV0Namespace([]byte("sequin"))
	none, err := square.NamespaceData(absent)
	if err != nil {
		panic(err)
	}
	fmt.Println("absent:", none[0].Row, none[0].Data.Proof.IsOfAbsence(), len(none.Flatten()), none.Verify(dah, absent))
	// Output:
	// rows: [0 1] shares: 3 verify: <nil>
	// row dropped: true
	// absent: 1 true 0 <nil>
}
