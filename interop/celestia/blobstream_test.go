package celestia_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/celestiaorg/celestia-node/api/rpc/client"
	"github.com/celestiaorg/celestia-node/header"
	"github.com/cometbft/cometbft/crypto/merkle"
)

// TestBlobstreamModule calls the blobstream module through celestia-node
// v0.32.1's client on every node type and checks its answers with
// Celestia's own code: the tuple root is CometBFT's merkle root over
// abi.encode(height, dataRoot) where dataRoot is the DAH hash of the
// header the client decodes (celestia-node's DataAvailabilityHeader.Hash),
// and each inclusion proof, decoded into celestia-node's type, verifies
// with CometBFT's Proof.Verify.
func TestBlobstreamModule(t *testing.T) {
	p := postedBlobs(t)
	forEachClient(t, func(t *testing.T, mode string, c *client.Client) {
		ctx := testCtx(t)
		if _, err := c.Header.WaitForHeight(ctx, p.height); err != nil {
			t.Fatal(err)
		}
		tail, err := c.Header.Tail(ctx)
		if err != nil {
			t.Fatal(err)
		}
		start := max(tail.Height(), p.height-3)
		end := p.height + 1
		from, err := c.Header.GetByHeight(ctx, start)
		if err != nil {
			t.Fatal(err)
		}
		hs := []*header.ExtendedHeader{from}
		if end-start > 1 {
			rng, err := c.Header.GetRangeByHeight(ctx, from, end)
			if err != nil {
				t.Fatal(err)
			}
			hs = append(hs, rng...)
		}
		var tuples [][]byte
		for _, h := range hs {
			tuple := make([]byte, 64)
			binary.BigEndian.PutUint64(tuple[24:32], h.Height())
			copy(tuple[32:], h.DAH.Hash())
			tuples = append(tuples, tuple)
		}
		want := merkle.HashFromByteSlices(tuples)
		got, err := c.Blobstream.GetDataRootTupleRoot(ctx, start, end)
		if err != nil {
			t.Fatalf("GetDataRootTupleRoot(%d, %d): %v", start, end, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("GetDataRootTupleRoot(%d, %d) = %X, Celestia's computation %X", start, end, []byte(got), want)
		}
		for i, h := 0, start; h < end; i, h = i+1, h+1 {
			proof, err := c.Blobstream.GetDataRootTupleInclusionProof(ctx, h, start, end)
			if err != nil {
				t.Fatalf("GetDataRootTupleInclusionProof(%d, %d, %d): %v", h, start, end, err)
			}
			mp := merkle.Proof(*proof)
			if err := mp.Verify(want, tuples[i]); err != nil {
				t.Fatalf("proof of %d: %v", h, err)
			}
		}
		if _, err := c.Blobstream.GetDataRootTupleRoot(ctx, 0, end); err == nil || !strings.Contains(err.Error(), "height is equal to 0") {
			t.Fatalf("GetDataRootTupleRoot(0, …) = %v, want celestia-node's \"height is equal to 0\"", err)
		}
	})
}
