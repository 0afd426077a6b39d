package share_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/datamesh/mesh-node/share"
)

// A rollup posts "hello" under its namespace and computes the share
// commitment that its MsgPayForBlobs carries.
func ExampleBlob_Commitment() {
	ns, err := share.NewV0Namespace([]byte("oracle-ns1"))
	if err != nil {
		panic(err)
	}
	blob, err := share.NewBlob(ns, []byte("hello"), share.ShareVersionZero, nil)
	if err != nil {
		panic(err)
	}
	commitment, err := blob.Commitment()
	if err != nil {
		panic(err)
	}
	fmt.Println(hex.EncodeToString(commitment))
	// Output: 5bf868c8a4ec488673460426f94127d035554c0537be2ae31f609373911dbd36
}

// A proposer lays out a block; a validator rebuilds the same square from the
// kept transactions.
func ExampleBuild() {
	ns, _ := share.NewV0Namespace([]byte("my-rollup"))
	blob, _ := share.NewBlob(ns, []byte("rollup block 1"), share.ShareVersionZero, nil)
	blobTx, _ := share.MarshalBlobTx([]byte("signed MsgPayForBlobs"), blob)

	sq, kept, err := share.Build([][]byte{blobTx, []byte("a transfer")}, share.DefaultMaxSquareSize)
	if err != nil {
		panic(err)
	}
	fmt.Println("width:", sq.Width, "kept:", len(kept), "blob starts at share", sq.PFBs[0].Blobs[0].Start)

	again, err := share.Construct(kept, share.DefaultMaxSquareSize)
	fmt.Println("validator agrees:", err == nil && slices.EqualFunc(again.Shares, sq.Shares, bytes.Equal))
	// Output:
	// width: 2 kept: 2 blob starts at share 2
	// validator agrees: true
}
