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

// sharesOf returns the shares of ns in sq, in order, as a namespace's
// run is read from a square.
func sharesOf(sq share.Square, ns share.Namespace) [][]byte {
	var out [][]byte
	for _, s := range sq.Shares {
		if bytes.Equal(s[:share.NamespaceSize], ns[:]) {
			out = append(out, s)
		}
	}
	return out
}

func TestParseCompact(t *testing.T) {
	// A square's PFB and Tx runs give back its PFBs and transactions.
	sq := testSquare(t)
	ps, err := share.ParseSquare(sq.Shares)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ns   share.Namespace
		want [][]byte
	}{{share.PayForBlobNamespace, ps.PFBs}, {share.TxNamespace, ps.Txs}} {
		run := sharesOf(sq, c.ns)
		got, err := share.ParseCompact(run, c.ns)
		if err != nil {
			t.Fatalf("%s: %v", c.ns, err)
		}
		if len(got) != len(c.want) {
			t.Fatalf("%s: %d units, want %d", c.ns, len(got), len(c.want))
		}
		for i := range got {
			if !bytes.Equal(got[i], c.want[i]) {
				t.Fatalf("%s: unit %d differs", c.ns, i)
			}
		}
		// The units do not alias the shares.
		if len(got[0]) > 0 {
			got[0][0] ^= 0xff
			if again, _ := share.ParseCompact(run, c.ns); bytes.Equal(again[0], got[0]) {
				t.Fatalf("%s: units alias the shares", c.ns)
			}
		}
	}

	// Sequences of one and of many shares round-trip through SplitCompact.
	for _, units := range [][][]byte{
		{[]byte("one")},
		{bytes.Repeat([]byte{1}, 478), bytes.Repeat([]byte{2}, 1), bytes.Repeat([]byte{3}, 2000)},
	} {
		shares, err := share.SplitCompact(share.PayForBlobNamespace, units)
		if err != nil {
			t.Fatal(err)
		}
		run := make([][]byte, len(shares))
		for i, s := range shares {
			run[i] = s
		}
		got, err := share.ParseCompact(run, share.PayForBlobNamespace)
		if err != nil || len(got) != len(units) {
			t.Fatalf("%d units over %d shares: %d back, %v", len(units), len(run), len(got), err)
		}
		for i := range units {
			if !bytes.Equal(got[i], units[i]) {
				t.Fatalf("unit %d differs", i)
			}
		}
	}

	if got, err := share.ParseCompact(nil, share.PayForBlobNamespace); got != nil || err != nil {
		t.Fatalf("empty run: %v, %v", got, err)
	}
}

func TestParseCompactErrors(t *testing.T) {
	units := [][]byte{bytes.Repeat([]byte{1}, 700), []byte("second")}
	shares, err := share.SplitCompact(share.PayForBlobNamespace, units)
	if err != nil {
		t.Fatal(err)
	}
	if len(shares) < 2 {
		t.Fatalf("%d shares; the test needs a continuation share", len(shares))
	}
	run := func(f func(s [][]byte) [][]byte) [][]byte {
		cp := make([][]byte, len(shares))
		for i, s := range shares {
			cp[i] = bytes.Clone(s)
		}
		return f(cp)
	}
	blobNS := mustNamespace(t, "notcompact")
	for name, c := range map[string]struct {
		shares [][]byte
		ns     share.Namespace
	}{
		"blob namespace":     {run(func(s [][]byte) [][]byte { return s }), blobNS},
		"other compact ns":   {run(func(s [][]byte) [][]byte { return s }), share.TxNamespace},
		"short share":        {run(func(s [][]byte) [][]byte { s[1] = s[1][:100]; return s }), share.PayForBlobNamespace},
		"truncated":          {run(func(s [][]byte) [][]byte { return s[:len(s)-1] }), share.PayForBlobNamespace},
		"share past the end": {run(func(s [][]byte) [][]byte { return append(s, bytes.Clone(s[1])) }), share.PayForBlobNamespace},
		"continuation first": {run(func(s [][]byte) [][]byte { return s[1:] }), share.PayForBlobNamespace},
		"foreign share":      {run(func(s [][]byte) [][]byte { copy(s[1], share.TxNamespace[:]); return s }), share.PayForBlobNamespace},
		"huge seq_len": {run(func(s [][]byte) [][]byte {
			binary.BigEndian.PutUint32(s[0][share.NamespaceSize+1:], 1<<31)
			return s
		}), share.PayForBlobNamespace},
		"zero seq_len": {run(func(s [][]byte) [][]byte {
			binary.BigEndian.PutUint32(s[0][share.NamespaceSize+1:], 0)
			return s
		}), share.PayForBlobNamespace},
		"overrunning unit": {run(func(s [][]byte) [][]byte {
			// The first unit's length (after the sequence length and the
			// reserved bytes), 16,383: past the end of the sequence.
			s[0][share.NamespaceSize+share.ShareInfoBytes+4+4] = 0xff
			s[0][share.NamespaceSize+share.ShareInfoBytes+4+4+1] = 0x7f
			return s
		}), share.PayForBlobNamespace},
		"dirty padding": {run(func(s [][]byte) [][]byte {
			s[len(s)-1][share.ShareSize-1] = 1
			return s
		}), share.PayForBlobNamespace},
	} {
		if _, err := share.ParseCompact(c.shares, c.ns); !errors.Is(err, share.ErrMalformedSquare) {
			t.Errorf("%s: %v", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
