package share_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/datamesh/mesh-node/share"
)

// TestParseBlobs reads back the blobs of one namespace from the run of its
// shares in a built square, padding between blobs included.
func TestParseBlobs(t *testing.T) {
	ns, err := share.NewV0Namespace([]byte("parse-blob"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := share.NewV0Namespace([]byte("zzz-other"))
	if err != nil {
		t.Fatal(err)
	}
	var want []*share.Blob
	var txs [][]byte
	for i, size := range []int{10, 3000, 70000, 1} { // sizes that force alignment padding
		b, err := share.NewBlob(ns, bytes.Repeat([]byte{byte(i + 1)}, size), share.ShareVersionZero, nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, b)
		tx, err := share.MarshalBlobTx([]byte{byte(i)}, b)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	ob, _ := share.NewBlob(other, []byte("other"), share.ShareVersionZero, nil)
	otx, _ := share.MarshalBlobTx([]byte("o"), ob)
	sq, err := share.Construct(append(txs, otx), share.DefaultMaxSquareSize)
	if err != nil {
		t.Fatal(err)
	}
	var run [][]byte
	first := -1
	for i, s := range sq.Shares {
		if bytes.Equal(s[:share.NamespaceSize], ns[:]) {
			if first < 0 {
				first = i
			}
			run = append(run, s)
		}
	}
	got, err := share.ParseBlobs(run)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d blobs, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Blob.Data(), want[i].Data()) {
			t.Errorf("blob %d differs", i)
		}
		if first+got[i].Start != sq.PFBs[i].Blobs[0].Start {
			t.Errorf("blob %d starts at %d in the run (+%d), square says %d", i, got[i].Start, first, sq.PFBs[i].Blobs[0].Start)
		}
	}

	if blobs, err := share.ParseBlobs(nil); err != nil || blobs != nil {
		t.Errorf("empty input: %v, %v", blobs, err)
	}
	for name, bad := range map[string][][]byte{
		"short share":     {run[0][:100]},
		"truncated blob":  run[1:3],
		"mixed namespace": {run[0], sq.Shares[len(sq.Shares)-1]},
		"reserved":        {sq.Shares[0]},
	} {
		if _, err := share.ParseBlobs(bad); !errors.Is(err, share.ErrMalformedSquare) {
			t.Errorf("%s: got %v, want ErrMalformedSquare", name, err)
		}
	}
}
