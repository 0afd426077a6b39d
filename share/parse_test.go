package share_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/datamesh/mesh-node/share"
)

// testSquare builds a 4×4 square with txs, two blobs (v0 and v1) and
// padding of every kind.
func testSquare(t *testing.T) share.Square {
	t.Helper()
	ns1, ns2 := mustNamespace(t, "parse-1"), mustNamespace(t, "parse-2")
	b1, _ := share.NewBlob(ns1, bytes.Repeat([]byte{1}, 1500), 0, nil)
	b2, _ := share.NewBlob(ns2, bytes.Repeat([]byte{2}, 700), 1, bytes.Repeat([]byte{9}, 20))
	tx1, _ := share.MarshalBlobTx([]byte("pfb-1"), b1)
	tx2, _ := share.MarshalBlobTx([]byte("pfb-2"), b2)
	sq, err := share.Construct([][]byte{[]byte("tx-a"), bytes.Repeat([]byte{3}, 600), tx1, tx2}, 4)
	if err != nil {
		t.Fatal(err)
	}
	return sq
}

func TestParseSquare(t *testing.T) {
	sq := testSquare(t)
	ps, err := share.ParseSquare(sq.Shares)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.Txs) != 2 || string(ps.Txs[0]) != "tx-a" || len(ps.PFBs) != 2 || len(ps.Blobs) != 2 {
		t.Fatalf("parsed %d txs, %d PFBs, %d blobs", len(ps.Txs), len(ps.PFBs), len(ps.Blobs))
	}
	if ps.Blobs[1].Blob.ShareVersion() != 1 || !bytes.Equal(ps.Blobs[1].Blob.Signer(), bytes.Repeat([]byte{9}, 20)) {
		t.Fatal("v1 blob signer lost")
	}
	for i, p := range sq.PFBs {
		iw, err := share.UnmarshalIndexWrapper(ps.PFBs[i])
		if err != nil || int(iw.ShareIndexes[0]) != p.Blobs[0].Start || ps.Blobs[i].Start != p.Blobs[0].Start {
			t.Fatalf("PFB %d: %v", i, err)
		}
	}
}

func TestParseSquareErrors(t *testing.T) {
	sq := testSquare(t)
	firstBlob := sq.PFBs[0].Blobs[0].Start
	mutate := func(f func(shares [][]byte)) [][]byte {
		cp := make([][]byte, len(sq.Shares))
		for i, s := range sq.Shares {
			cp[i] = bytes.Clone(s)
		}
		f(cp)
		return cp
	}
	seqLenOf := func(s []byte) []byte { return s[share.NamespaceSize+1 : share.NamespaceSize+5] }
	for name, shares := range map[string][][]byte{
		"no shares":          nil,
		"not a square":       sq.Shares[:3],
		"short share":        mutate(func(s [][]byte) { s[5] = s[5][:511] }),
		"huge blob seq_len":  mutate(func(s [][]byte) { binary.BigEndian.PutUint32(seqLenOf(s[firstBlob]), 1<<31) }),
		"huge tx seq_len":    mutate(func(s [][]byte) { binary.BigEndian.PutUint32(seqLenOf(s[0]), 1<<31) }),
		"short blob seq_len": mutate(func(s [][]byte) { binary.BigEndian.PutUint32(seqLenOf(s[firstBlob]), 10) }),
		"truncated blob":     mutate(func(s [][]byte) { copy(s[firstBlob+2], share.TailPaddingShare()) }),
		"bad reserved bytes": mutate(func(s [][]byte) { s[0][share.NamespaceSize+8] ^= 1 }),
		"continuation first": mutate(func(s [][]byte) { s[firstBlob][share.NamespaceSize] = 0 }),
		"share version 2":    mutate(func(s [][]byte) { s[firstBlob][share.NamespaceSize] = 0x05 }),
		"garbage namespace":  mutate(func(s [][]byte) { s[len(s)-1][0] = 7 }),
		"namespace order":    mutate(func(s [][]byte) { s[len(s)-1], s[firstBlob] = s[firstBlob], s[len(s)-1] }),
		"dirty padding":      mutate(func(s [][]byte) { s[len(s)-1][100] = 1 }),
		"parity namespace":   mutate(func(s [][]byte) { copy(s[len(s)-1], share.ParitySharesNamespace[:]) }),
	} {
		if _, err := share.ParseSquare(shares); !errors.Is(err, share.ErrMalformedSquare) {
			t.Errorf("%s: %v", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
