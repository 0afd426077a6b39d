package meshnode_test

import (
	"bytes"
	"fmt"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/share"
)

// Example is the README's round trip: a rollup's blob, the block's square,
// its data root, a light node's sample and a rollup reading its namespace
// back with proofs. Errors are checked as a real caller would.
func Example() {
	// A rollup posts a blob and computes the commitment its PayForBlobs carries.
	ns, err := share.NewV0Namespace([]byte("my-rollup"))
	check(err)
	blob, err := share.NewBlob(ns, []byte("rollup block 1"), share.ShareVersionZero, nil)
	check(err)
	commitment, err := blob.Commitment()
	check(err)

	// A proposer lays out the square; validators rebuild it with Construct.
	blobTx, err := share.MarshalBlobTx([]byte("signed MsgPayForBlobs"), blob)
	check(err)
	square, kept, err := share.Build([][]byte{blobTx}, share.DefaultMaxSquareSize)
	check(err)
	_, err = share.Construct(kept, share.DefaultMaxSquareSize)
	check(err)

	// Extend it and commit to it: the data root goes into the block header.
	ext, err := eds.Extend(square.Shares)
	check(err)
	dah, err := eds.NewDAH(ext)
	check(err)
	fmt.Printf("square %d×%d, extended %d×%d, data root %x…\n",
		square.Width, square.Width, ext.Width(), ext.Width(), dah.Hash()[:4])

	// A light node samples a cell of the extended square and checks its
	// proof against the header alone.
	sample, err := ext.Sample(3, 2, eds.Row)
	check(err)
	fmt.Println("sample (3, 2) verifies:", sample.Verify(dah, 3, 2) == nil)

	// The rollup reads its namespace back with proofs that it got all of it.
	data, err := ext.NamespaceData(ns)
	check(err)
	fmt.Println("namespace data verifies:", data.Verify(dah, ns) == nil)
	blobs, err := share.ParseBlobs(data.Flatten())
	check(err)
	got, err := blobs[0].Blob.Commitment()
	check(err)
	fmt.Printf("blob %q, commitment matches: %v\n", blobs[0].Blob.Data(), bytes.Equal(got, commitment))
	// Output:
	// square 2×2, extended 4×4, data root d2f57abf…
	// sample (3, 2) verifies: true
	// namespace data verifies: true
	// blob "rollup block 1", commitment matches: true
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
