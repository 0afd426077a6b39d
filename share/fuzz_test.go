package share_test

import (
	"bytes"
	"errors"
	"testing"

	gsshare "github.com/celestiaorg/go-square/v3/share"
	gstx "github.com/celestiaorg/go-square/v3/tx"

	"github.com/datamesh/mesh-node/share"
)

// Fuzz targets for every decoder of untrusted bytes. Seed corpora live in
// testdata/fuzz/<FuzzName>/ and run with plain `go test`.

// FuzzUnmarshalBlobTx checks that UnmarshalBlobTx never panics, classifies
// bytes as go-square does, accepts what go-square accepts (except blobs
// that NewBlob rejects: reserved namespaces), and round-trips.
func FuzzUnmarshalBlobTx(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		btx, isBlobTx, err := share.UnmarshalBlobTx(in)
		refIsBlobTx, refValid, refBlobs := refClassify(in)
		if isBlobTx != refIsBlobTx {
			t.Fatalf("isBlobTx %v, go-square %v (err %v)", isBlobTx, refIsBlobTx, err)
		}
		if !isBlobTx {
			if btx != nil || !errors.Is(err, share.ErrNotBlobTx) {
				t.Fatalf("not a blob tx: got %v, %v", btx, err)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, share.ErrMalformedBlobTx) {
				t.Fatalf("error %v does not wrap ErrMalformedBlobTx", err)
			}
			if refValid {
				// Only stricter namespace checks may reject what
				// go-square accepts.
				reserved := false
				for _, b := range refBlobs {
					reserved = reserved || b.Namespace().IsReserved()
				}
				if !reserved || !errors.Is(err, share.ErrInvalidNamespace) {
					t.Fatalf("rejected a blob tx go-square accepts: %v", err)
				}
			}
			return
		}
		if !refValid || len(refBlobs) != len(btx.Blobs) {
			t.Fatalf("accepted a blob tx go-square rejects")
		}
		for i, b := range btx.Blobs {
			r := refBlobs[i]
			ns := b.Namespace()
			if !bytes.Equal(ns[:], r.Namespace().Bytes()) || !bytes.Equal(b.Data(), r.Data()) ||
				b.ShareVersion() != r.ShareVersion() || !bytes.Equal(b.Signer(), r.Signer()) {
				t.Fatalf("blob %d differs from go-square's", i)
			}
		}
		again, err := share.MarshalBlobTx(btx.Tx, btx.Blobs...)
		if err != nil {
			t.Fatal(err)
		}
		btx2, ok, err := share.UnmarshalBlobTx(again)
		if !ok || err != nil || !bytes.Equal(btx2.Tx, btx.Tx) || len(btx2.Blobs) != len(btx.Blobs) {
			t.Fatalf("re-encoded blob tx does not round-trip: %v", err)
		}
	})
}

// FuzzUnmarshalIndexWrapper checks UnmarshalIndexWrapper against go-square.
func FuzzUnmarshalIndexWrapper(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		iw, err := share.UnmarshalIndexWrapper(in)
		ref, refOK := gstx.UnmarshalIndexWrapper(in)
		if (err == nil) != refOK {
			t.Fatalf("ok %v (%v), go-square %v", err == nil, err, refOK)
		}
		if err != nil {
			if !errors.Is(err, share.ErrNotIndexWrapper) {
				t.Fatalf("error %v does not wrap ErrNotIndexWrapper", err)
			}
			return
		}
		if !bytes.Equal(iw.Tx, ref.Tx) || len(iw.ShareIndexes) != len(ref.ShareIndexes) {
			t.Fatal("index wrapper differs from go-square's")
		}
		for i := range iw.ShareIndexes {
			if iw.ShareIndexes[i] != ref.ShareIndexes[i] {
				t.Fatal("share indexes differ from go-square's")
			}
		}
		again, err := share.UnmarshalIndexWrapper(share.MarshalIndexWrapper(iw.Tx, iw.ShareIndexes...))
		if err != nil || !bytes.Equal(again.Tx, iw.Tx) || len(again.ShareIndexes) != len(iw.ShareIndexes) {
			t.Fatalf("re-encoded index wrapper does not round-trip: %v", err)
		}
	})
}

// FuzzShare checks NewShare and every accessor on arbitrary bytes: no
// panics, ErrShareSize exactly for the wrong size, and agreement with
// go-square's accessors on valid sizes.
func FuzzShare(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := share.NewShare(in)
		if (err != nil) != (len(in) != share.ShareSize) {
			t.Fatalf("NewShare(%d bytes): %v", len(in), err)
		}
		if err != nil {
			if !errors.Is(err, share.ErrShareSize) {
				t.Fatalf("error %v does not wrap ErrShareSize", err)
			}
			s = share.Share(in) // accessors must fail cleanly
		}
		_, nsErr := s.Namespace()
		ib, ibErr := s.InfoByte()
		_, _ = s.Version()
		start, _ := s.IsSequenceStart()
		seqLen, seqErr := s.SequenceLen()
		_, _ = s.HasSigner()
		_, _ = s.Signer()
		_, _ = s.ReservedBytes()
		raw, rawErr := s.RawData()
		pad, _ := s.IsPadding()
		compact, _ := s.IsCompact()
		if err != nil {
			for _, e := range []error{nsErr, ibErr, seqErr, rawErr} {
				if !errors.Is(e, share.ErrShareSize) {
					t.Fatalf("accessor on %d bytes: %v", len(in), e)
				}
			}
			return
		}
		ref, refErr := gsshare.NewShare(in)
		if refErr != nil {
			t.Fatal(refErr)
		}
		if byte(ib) != byte(ref.InfoByte()) || start != ref.IsSequenceStart() || compact != ref.IsCompactShare() || pad != ref.IsPadding() {
			t.Fatal("info byte, sequence start, compact or padding differ from go-square")
		}
		if start && (seqErr != nil || seqLen != ref.SequenceLen()) {
			t.Fatalf("sequence length %d (%v), go-square %d", seqLen, seqErr, ref.SequenceLen())
		}
		if !start && !errors.Is(seqErr, share.ErrMalformedShare) {
			t.Fatalf("continuation share SequenceLen: %v", seqErr)
		}
		if rawErr != nil || len(raw) == 0 || len(raw) > share.ShareSize {
			t.Fatalf("RawData: %d bytes, %v", len(raw), rawErr)
		}
	})
}

// squareFromBytes cuts fuzz input into the shares of a square: the first
// byte picks the width (1, 2, 4 or 8), the rest fills the shares,
// zero-padded.
func squareFromBytes(in []byte) [][]byte {
	if len(in) == 0 {
		return nil
	}
	w := 1 << (in[0] % 4)
	in = in[1:]
	shares := make([][]byte, w*w)
	for i := range shares {
		shares[i] = make([]byte, share.ShareSize)
		if len(in) > 0 {
			in = in[copy(shares[i], in):]
		}
	}
	return shares
}

// FuzzParseSquare checks that ParseSquare never panics, returns only
// ErrMalformedSquare errors, and that what it accepts re-encodes to the
// same shares.
func FuzzParseSquare(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		shares := squareFromBytes(in)
		ps, err := share.ParseSquare(shares)
		if err != nil {
			if !errors.Is(err, share.ErrMalformedSquare) {
				t.Fatalf("error %v does not wrap ErrMalformedSquare", err)
			}
			return
		}
		txShares, err := share.SplitCompact(share.TxNamespace, ps.Txs)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range txShares {
			if !bytes.Equal(s, shares[i]) {
				t.Fatalf("tx share %d does not re-encode", i)
			}
		}
		pfbShares, err := share.SplitCompact(share.PayForBlobNamespace, ps.PFBs)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range pfbShares {
			if !bytes.Equal(s, shares[len(txShares)+i]) {
				t.Fatalf("PFB share %d does not re-encode", i)
			}
		}
		for _, pb := range ps.Blobs {
			for j, s := range pb.Blob.Shares() {
				if !bytes.Equal(s, shares[pb.Start+j]) {
					t.Fatalf("blob at %d: share %d does not re-encode", pb.Start, j)
				}
			}
		}
	})
}

// cutShares cuts in into shares, at most 64, the last padded with zeros.
func cutShares(in []byte) [][]byte {
	var shares [][]byte
	for len(in) > 0 && len(shares) < 64 {
		s := make([]byte, share.ShareSize)
		in = in[copy(s, in):]
		shares = append(shares, s)
	}
	return shares
}

// FuzzParseBlobs cuts the input into shares and checks that whatever
// ParseBlobs accepts re-encodes to exactly those shares.
func FuzzParseBlobs(f *testing.F) {
	ns, _ := share.NewV0Namespace([]byte("fuzz-blobs"))
	for _, size := range []int{1, 478, 479, 1500} {
		b, _ := share.NewBlob(ns, bytes.Repeat([]byte{7}, size), share.ShareVersionZero, nil)
		var in []byte
		for _, s := range b.Shares() {
			in = append(in, s...)
		}
		f.Add(in)
	}
	pad, _ := share.NamespacePaddingShare(ns, share.ShareVersionZero)
	f.Add([]byte(pad))
	f.Fuzz(func(t *testing.T, in []byte) {
		shares := cutShares(in)
		blobs, err := share.ParseBlobs(shares)
		if err != nil {
			if !errors.Is(err, share.ErrMalformedSquare) {
				t.Fatalf("error %v does not wrap ErrMalformedSquare", err)
			}
			return
		}
		for _, pb := range blobs {
			for j, s := range pb.Blob.Shares() {
				if !bytes.Equal(s, shares[pb.Start+j]) {
					t.Fatalf("blob at %d: share %d does not re-encode", pb.Start, j)
				}
			}
		}
	})
}

// FuzzParseCompact cuts the input into shares and checks that ParseCompact
// fails only with ErrMalformedSquare, accepts the run for at most one of
// the two compact namespaces, and that what it accepts re-encodes to
// exactly those shares.
func FuzzParseCompact(f *testing.F) {
	for _, units := range [][][]byte{
		{[]byte("pfb")},
		{bytes.Repeat([]byte{1}, 478), {2}, bytes.Repeat([]byte{3}, 1200)},
	} {
		for _, ns := range []share.Namespace{share.TxNamespace, share.PayForBlobNamespace} {
			shares, _ := share.SplitCompact(ns, units)
			var in []byte
			for _, s := range shares {
				in = append(in, s...)
			}
			f.Add(in)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		shares := cutShares(in)
		accepted := 0
		for _, ns := range []share.Namespace{share.TxNamespace, share.PayForBlobNamespace} {
			units, err := share.ParseCompact(shares, ns)
			if err != nil {
				if !errors.Is(err, share.ErrMalformedSquare) {
					t.Fatalf("error %v does not wrap ErrMalformedSquare", err)
				}
				continue
			}
			if len(shares) == 0 {
				continue
			}
			accepted++
			again, err := share.SplitCompact(ns, units)
			if err != nil {
				t.Fatal(err)
			}
			if len(again) != len(shares) {
				t.Fatalf("%d units re-encode to %d shares, not %d", len(units), len(again), len(shares))
			}
			for i, s := range again {
				if !bytes.Equal(s, shares[i]) {
					t.Fatalf("share %d does not re-encode", i)
				}
			}
		}
		if accepted > 1 {
			t.Fatal("the same shares parse in two namespaces")
		}
	})
}
