package kzg_test

import (
	"bytes"
	"fmt"

	"github.com/datamesh/mesh-node/kzg"
)

func Example() {
	data := bytes.Repeat([]byte("mesh"), 40000) // 160,000 bytes
	blobs, err := kzg.Chunks(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, err := kzg.Join(blobs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(blobs), "blobs, round trip:", bytes.Equal(back, data))

	one, _ := kzg.DecodeChunk(blobs[1])
	fmt.Println("second blob holds", len(one), "bytes; header", blobs[1][1:5])
	// Output:
	// 2 blobs, round trip: true
	// second blob holds 29956 bytes; header [0 0 117 4]
}

func ExampleBlobToCommitment() {
	blob, err := kzg.EncodeChunk([]byte("hello, blobs"))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := kzg.BlobToCommitment(blob) // the first call loads the trusted setup
	if err != nil {
		fmt.Println(err)
		return
	}
	proof, err := kzg.ComputeBlobProof(blob, c)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("verifies:", kzg.VerifyBlobProof(blob, c, proof) == nil)
	h := kzg.VersionedHash(c)
	fmt.Printf("versioned hash starts %x\n", h[:1])
	// Output:
	// verifies: true
	// versioned hash starts 01
}
