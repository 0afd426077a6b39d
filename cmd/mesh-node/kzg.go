package main

import (
	"encoding/hex"
	"fmt"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/kzg"
)

// kzgFlagHelp is the --kzg flag's help, the same for blob submit and tx
// pay-for-blob.
var kzgFlagHelp = fmt.Sprintf("also sign in the EIP-4844 KZG commitment and proof of each %d-byte chunk, and print their versioned hashes", tx.KZGChunkSize)

// versionedHashes returns the EIP-4844 versioned hashes of the commitments
// of every blob of a PayForBlobs' KZG, in order, as 0x-hex.
func versionedHashes(blobs []tx.BlobKZG) []string {
	var out []string
	for _, b := range blobs {
		for _, c := range b.Commitments {
			h := kzg.VersionedHash(c)
			out = append(out, "0x"+hex.EncodeToString(h[:]))
		}
	}
	return out
}

// dataVersionedHashes returns the versioned hashes of the commitments to
// data's chunks (kzg.Commit), the ones a PayForBlobs with KZG carries for
// a blob of data: the chain verifies those commitments against the blob's
// bytes, so they are the only ones it includes for data.
func dataVersionedHashes(data []byte) ([]string, error) {
	chunks, err := kzg.Commit(data)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(chunks))
	for i, c := range chunks {
		out[i] = "0x" + hex.EncodeToString(c.VersionedHash[:])
	}
	return out, nil
}
