package main

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

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

func (c *cli) kzgCmd() *cobra.Command {
	var o clientFlags
	commit := &cobra.Command{
		Use:   "commit DATA",
		Short: "Print the EIP-4844 versioned hashes of data without submitting it (kzg.Commit)",
		Long: `Ask the node for the EIP-4844 KZG commitments and versioned hashes of DATA
(kzg.Commit): one per ` + fmt.Sprint(kzg.MaxChunkSize) + `-byte chunk, the ones blob submit --kzg signs in
for a blob of DATA. Nothing is submitted. DATA is read as blob submit reads
it: @PATH reads a file, anything else is the data itself. Prints
versioned_hashes (0x-hex, one per chunk, in order); with -o json, the
method's result (codec and, per chunk, commitment and versioned_hash).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readData("DATA", args[0])
			if err != nil {
				return fmt.Errorf("kzg commit: %w", err)
			}
			ctx, cl, done, err := c.dial(cmd, o)
			if err != nil {
				return fmt.Errorf("kzg commit: %w", err)
			}
			defer done()
			r, err := cl.KZG.Commit(ctx, data)
			if err != nil {
				return fmt.Errorf("kzg commit: %w", err)
			}
			hashes := make([]string, len(r.Chunks))
			for i, ch := range r.Chunks {
				hashes[i] = ch.VersionedHash.String()
			}
			return printResult(cmd, r, "versioned_hashes: "+strings.Join(hashes, " ")+"\n")
		},
	}
	o.register(commit)
	cmd := &cobra.Command{Use: "kzg", Short: "Compute EIP-4844 KZG commitments through a running node's API"}
	cmd.AddCommand(commit)
	return cmd
}
