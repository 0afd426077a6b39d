package blobstream_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	cmtmerkle "github.com/cometbft/cometbft/crypto/merkle"

	"github.com/datamesh/mesh-node/blobstream"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEncodeTupleVector is celestia-node v0.32.1's TestEncodeDataRootTuple
// (nodebuilder/blobstream/service_test.go): height 2 and its data root.
func TestEncodeTupleVector(t *testing.T) {
	root := [32]byte(mustHex(t, "82dc1607d84557d3579ce602a45f5872e821c36dbda7ec926dfa17ebc8d5c013"))
	want := mustHex(t, "0000000000000000000000000000000000000000000000000000000000000002"+
		"82dc1607d84557d3579ce602a45f5872e821c36dbda7ec926dfa17ebc8d5c013")
	if got := blobstream.EncodeTuple(2, root); !bytes.Equal(got, want) {
		t.Fatalf("EncodeTuple(2, …) = %x, want %x", got, want)
	}
	// celestia-node's TestTo32PaddedHexBytes: the height's 32 bytes.
	for _, c := range []struct {
		h    uint64
		want string
	}{
		{10, "000000000000000000000000000000000000000000000000000000000000000a"},
		{255, "00000000000000000000000000000000000000000000000000000000000000ff"},
		{4294967295, "00000000000000000000000000000000000000000000000000000000ffffffff"},
		{1<<64 - 1, "000000000000000000000000000000000000000000000000ffffffffffffffff"},
	} {
		if got := blobstream.EncodeTuple(c.h, [32]byte{})[:32]; !bytes.Equal(got, mustHex(t, c.want)) {
			t.Errorf("height %d encodes as %x, want %s", c.h, got, c.want)
		}
	}
}

// TestTupleRootAndProofsMatchCometBFT checks roots and proofs against
// CometBFT's crypto/merkle, which celestia-node uses, for every range length
// up to 33 and every height in it.
func TestTupleRootAndProofsMatchCometBFT(t *testing.T) {
	for n := 1; n <= 33; n++ {
		roots := make([][32]byte, n)
		for i := range roots {
			roots[i] = [32]byte{byte(i + 1), byte(n)}
		}
		const start = 7
		tuples := blobstream.Tuples(start, roots)
		want := cmtmerkle.HashFromByteSlices(tuples)
		got, err := blobstream.TupleRoot(start, roots)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("n=%d: TupleRoot = %x, %v; CometBFT %x", n, got, err, want)
		}
		_, cmtProofs := cmtmerkle.ProofsFromByteSlices(tuples)
		for i := range roots {
			h := uint64(start + i)
			root, p, err := blobstream.TupleProof(h, start, roots)
			if err != nil || !bytes.Equal(root, want) {
				t.Fatalf("n=%d h=%d: TupleProof root %x, %v", n, h, root, err)
			}
			cp := cmtmerkle.Proof{Total: p.Total, Index: p.Index, LeafHash: p.LeafHash, Aunts: p.Aunts}
			if err := cp.Verify(want, blobstream.EncodeTuple(h, roots[i])); err != nil {
				t.Fatalf("n=%d h=%d: CometBFT rejects our proof: %v", n, h, err)
			}
			if p.Index != cmtProofs[i].Index || p.Total != cmtProofs[i].Total || len(p.Aunts) != len(cmtProofs[i].Aunts) {
				t.Fatalf("n=%d h=%d: proof shape differs from CometBFT's", n, h)
			}
			// The tuple of another height, or another root, does not verify.
			if err := cp.Verify(want, blobstream.EncodeTuple(h+1, roots[i])); err == nil {
				t.Fatalf("n=%d h=%d: proof verifies the wrong height", n, h)
			}
		}
	}
}

// TestRangeErrors checks celestia-node's error texts, exactly, and that each
// is ErrInvalidRange (or ErrHeightZero).
func TestRangeErrors(t *testing.T) {
	for _, c := range []struct {
		height, start, end, head uint64
		want                     string
	}{
		{1, 0, 5, 10, "height is equal to 0"},
		{3, 3, 3, 10, "end block is smaller or equal to the start block"},
		{4, 4, 3, 10, "end block is smaller or equal to the start block"},
		{1, 1, 10_002, 20_000, "the query exceeds the limit of allowed blocks 10000"},
		{1, 1, 12, 10, "end block 12 is higher than local chain height 10. Wait for the node until it syncs up to 12"},
		{5, 1, 5, 10, "height 5 should be in the end exclusive interval first_block 1 last_block 5"},
		{0, 1, 5, 10, "height 0 should be in the end exclusive interval first_block 1 last_block 5"},
	} {
		err := blobstream.CheckProofRequest(c.height, c.start, c.end, c.head)
		if err == nil || err.Error() != c.want {
			t.Errorf("CheckProofRequest(%d, %d, %d, head %d) = %v, want %q", c.height, c.start, c.end, c.head, err, c.want)
			continue
		}
		if !errors.Is(err, blobstream.ErrInvalidRange) && !errors.Is(err, blobstream.ErrHeightZero) {
			t.Errorf("%q is neither ErrInvalidRange nor ErrHeightZero", err)
		}
	}
	for _, ok := range [][3]uint64{{1, 2, 1}, {1, 10_001, 10_000}, {5, 11, 10}} {
		if err := blobstream.CheckRange(ok[0], ok[1], ok[2]); err != nil {
			t.Errorf("CheckRange(%d, %d, head %d) = %v", ok[0], ok[1], ok[2], err)
		}
	}
	if _, err := blobstream.TupleRoot(1, nil); !errors.Is(err, blobstream.ErrInvalidRange) {
		t.Errorf("TupleRoot of nothing = %v", err)
	}
	if _, _, err := blobstream.TupleProof(9, 1, make([][32]byte, 8)); !errors.Is(err, blobstream.ErrInvalidRange) {
		t.Errorf("TupleProof outside the range = %v", err)
	}
}
