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

func ExampleCommit() {
	data := bytes.Repeat([]byte("rollup batch "), 20000) // 260,000 bytes
	chunks, err := kzg.Commit(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(chunks), "chunks, as ChunkCount says:", kzg.ChunkCount(len(data)))
	fmt.Printf("first versioned hash starts %x\n", chunks[0].VersionedHash[:1])

	// Prove gives what a MsgPayForBlobs carries: a commitment and a
	// proof per chunk, which VerifyBlobProofBatch checks against the
	// chunks' blobs.
	commitments, proofs, err := kzg.Prove(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	blobs, err := kzg.Chunks(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("same commitments:", commitments[1] == chunks[1].Commitment)
	fmt.Println("verifies:", kzg.VerifyBlobProofBatch(blobs, commitments, proofs) == nil)
	// Output:
	// 2 chunks, as ChunkCount says: 2
	// first versioned hash starts 01
	// same commitments: true
	// verifies: true
}

func ExampleComputeCells() {
	blob, err := kzg.EncodeChunk([]byte("hello, cells"))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := kzg.BlobToCommitment(blob)
	if err != nil {
		fmt.Println(err)
		return
	}
	cells, proofs, err := kzg.ComputeCells(blob)
	if err != nil {
		fmt.Println(err)
		return
	}
	// A client holding the commitment checks cells 3 and 100 alone.
	err = kzg.VerifyCellProofBatch([]kzg.Commitment{c, c}, []uint64{3, 100},
		[]*kzg.Cell{cells[3], cells[100]}, []kzg.Proof{proofs[3], proofs[100]})
	fmt.Println(len(cells), "cells; two verify:", err == nil)

	// Any half of the cells gives back all of them.
	var indices []uint64
	var half []*kzg.Cell
	for i := kzg.CellsPerBlob / 2; i < kzg.CellsPerBlob; i++ {
		indices, half = append(indices, uint64(i)), append(half, cells[i])
	}
	all, _, err := kzg.RecoverCells(indices, half)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("recovered cell 0 is the blob's first 2,048 bytes:", bytes.Equal(all[0][:], blob[:kzg.CellSize]))
	// Output:
	// 128 cells; two verify: true
	// recovered cell 0 is the blob's first 2,048 bytes: true
}
