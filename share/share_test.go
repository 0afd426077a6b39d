package share_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/datamesh/mesh-node/share"
)

func TestInfoByte(t *testing.T) {
	for _, tc := range []struct {
		version uint8
		start   bool
		want    byte
	}{{0, true, 0x01}, {0, false, 0x00}, {1, true, 0x03}, {1, false, 0x02}, {2, true, 0x05}, {127, true, 0xFF}} {
		ib, err := share.NewInfoByte(tc.version, tc.start)
		if err != nil || byte(ib) != tc.want || ib.Version() != tc.version || ib.IsSequenceStart() != tc.start {
			t.Fatalf("NewInfoByte(%d, %v) = %#x, %v", tc.version, tc.start, byte(ib), err)
		}
	}
	if _, err := share.NewInfoByte(128, true); !errors.Is(err, share.ErrUnsupportedShareVersion) {
		t.Fatalf("version 128: %v", err)
	}
}

func TestShareAccessors(t *testing.T) {
	ns := mustNamespace(t, "accessors")
	signer := bytes.Repeat([]byte{7}, share.SignerSize)
	data := bytes.Repeat([]byte{0xAB}, 1000)
	b, err := share.NewBlob(ns, data, share.ShareVersionOne, signer)
	if err != nil {
		t.Fatal(err)
	}
	shares := b.Shares()
	first, cont := shares[0], shares[1]

	gotNs, err := first.Namespace()
	if err != nil || gotNs != ns {
		t.Fatalf("Namespace: %v %v", gotNs, err)
	}
	if v, _ := first.Version(); v != 1 {
		t.Fatalf("Version %d", v)
	}
	if l, err := first.SequenceLen(); err != nil || l != 1000 {
		t.Fatalf("SequenceLen %d %v", l, err)
	}
	if s, err := first.Signer(); err != nil || !bytes.Equal(s, signer) {
		t.Fatalf("Signer %x %v", s, err)
	}
	if raw, _ := first.RawData(); len(raw) != share.FirstSparseShareContentSizeWithSigner {
		t.Fatalf("first RawData %d bytes", len(raw))
	}
	if raw, _ := cont.RawData(); len(raw) != share.ContinuationSparseShareContentSize {
		t.Fatalf("continuation RawData %d bytes", len(raw))
	}
	if _, err := cont.SequenceLen(); !errors.Is(err, share.ErrMalformedShare) {
		t.Fatalf("continuation SequenceLen: %v", err)
	}
	if _, err := cont.Signer(); !errors.Is(err, share.ErrMalformedShare) {
		t.Fatalf("continuation Signer: %v", err)
	}
	if _, err := first.ReservedBytes(); !errors.Is(err, share.ErrMalformedShare) {
		t.Fatalf("sparse ReservedBytes: %v", err)
	}
	for _, s := range []share.Share{first, cont} {
		if pad, _ := s.IsPadding(); pad {
			t.Fatal("blob share is padding")
		}
		if c, _ := s.IsCompact(); c {
			t.Fatal("blob share is compact")
		}
	}

	tx, err := share.SplitCompact(share.TxNamespace, [][]byte{bytes.Repeat([]byte{1}, 600), {2, 3}})
	if err != nil || len(tx) != 2 {
		t.Fatalf("SplitCompact: %d shares, %v", len(tx), err)
	}
	if c, _ := tx[0].IsCompact(); !c {
		t.Fatal("tx share not compact")
	}
	// Unit 1 starts at 38 in share 0; unit 2 starts in share 1 after the
	// 602-474 = 128 bytes of unit 1 spilling over: at 34 + 128 = 162.
	if rb, err := tx[0].ReservedBytes(); err != nil || rb != 38 {
		t.Fatalf("first reserved bytes %d %v", rb, err)
	}
	if rb, err := tx[1].ReservedBytes(); err != nil || rb != 162 {
		t.Fatalf("second reserved bytes %d %v", rb, err)
	}
	if l, _ := tx[0].SequenceLen(); l != 602+3 {
		t.Fatalf("compact sequence length %d", l)
	}
	if raw, _ := tx[1].RawData(); len(raw) != share.ContinuationCompactShareContentSize {
		t.Fatalf("compact continuation RawData %d bytes", len(raw))
	}
	bad := bytes.Clone(tx[1])
	binary.BigEndian.PutUint32(bad[share.NamespaceSize+1:], 512)
	if _, err := share.Share(bad).ReservedBytes(); !errors.Is(err, share.ErrMalformedShare) {
		t.Fatalf("reserved bytes 512: %v", err)
	}
	if pad, _ := share.TailPaddingShare().IsPadding(); !pad {
		t.Fatal("tail padding is not padding")
	}
	if pad, _ := share.PrimaryReservedPaddingShare().IsPadding(); !pad {
		t.Fatal("reserved padding is not padding")
	}
}

func TestShareWrongSize(t *testing.T) {
	for _, n := range []int{0, 1, 511, 513, 1024} {
		if _, err := share.NewShare(make([]byte, n)); !errors.Is(err, share.ErrShareSize) {
			t.Fatalf("NewShare(%d bytes): %v", n, err)
		}
		s := share.Share(make([]byte, n))
		if _, err := s.Namespace(); !errors.Is(err, share.ErrShareSize) {
			t.Fatalf("Namespace on %d bytes: %v", n, err)
		}
		if _, err := s.RawData(); !errors.Is(err, share.ErrShareSize) {
			t.Fatalf("RawData on %d bytes: %v", n, err)
		}
		if _, err := s.IsPadding(); !errors.Is(err, share.ErrShareSize) {
			t.Fatalf("IsPadding on %d bytes: %v", n, err)
		}
	}
	// A parity-like share has no valid namespace.
	s, _ := share.NewShare(bytes.Repeat([]byte{0x42}, share.ShareSize))
	if _, err := s.Namespace(); !errors.Is(err, share.ErrInvalidNamespace) {
		t.Fatalf("Namespace of garbage: %v", err)
	}
}

func TestNewBlobErrors(t *testing.T) {
	ns := mustNamespace(t, "blob-errs")
	signer := make([]byte, share.SignerSize)
	for _, tc := range []struct {
		name    string
		ns      share.Namespace
		data    []byte
		version uint8
		signer  []byte
		err     error
	}{
		{"reserved tx namespace", share.TxNamespace, []byte("x"), 0, nil, share.ErrInvalidNamespace},
		{"tail padding namespace", share.TailPaddingNamespace, []byte("x"), 0, nil, share.ErrInvalidNamespace},
		{"parity namespace", share.ParitySharesNamespace, []byte("x"), 0, nil, share.ErrInvalidNamespace},
		{"zero namespace", share.Namespace{}, []byte("x"), 0, nil, share.ErrInvalidNamespace},
		{"empty data", ns, nil, 0, nil, share.ErrEmptyBlob},
		{"share version 2", ns, []byte("x"), 2, nil, share.ErrUnsupportedShareVersion},
		{"share version 200", ns, []byte("x"), 200, nil, share.ErrUnsupportedShareVersion},
		{"v0 signer", ns, []byte("x"), 0, signer, share.ErrInvalidSigner},
		{"v1 no signer", ns, []byte("x"), 1, nil, share.ErrInvalidSigner},
		{"v1 long signer", ns, []byte("x"), 1, make([]byte, 21), share.ErrInvalidSigner},
		{"too large v0", ns, make([]byte, share.MaxBlobSize+1), 0, nil, share.ErrBlobTooLarge},
		{"too large v1", ns, make([]byte, share.MaxBlobSize-19), 1, signer, share.ErrBlobTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if b, err := share.NewBlob(tc.ns, tc.data, tc.version, tc.signer); b != nil || !errors.Is(err, tc.err) {
				t.Fatalf("NewBlob: %v, want %v", err, tc.err)
			}
		})
	}
	b, err := share.NewBlob(ns, make([]byte, share.MaxBlobSize), 0, nil)
	if err != nil || b.SharesNeeded() != share.MaxShareCount {
		t.Fatalf("largest blob: %v", err)
	}
	// NewBlob copies its inputs.
	data := []byte("mutable")
	b, _ = share.NewBlob(ns, data, 0, []byte{})
	data[0] = 'X'
	if string(b.Data()) != "mutable" || b.Signer() != nil {
		t.Fatal("blob aliases its input")
	}
}

func TestBuilderErrors(t *testing.T) {
	for _, k := range []int{0, -1, 3, 100, 1024} {
		if _, err := share.NewBuilder(k); !errors.Is(err, share.ErrInvalidSquareSize) {
			t.Fatalf("NewBuilder(%d): %v", k, err)
		}
		if _, _, err := share.Build(nil, k); !errors.Is(err, share.ErrInvalidSquareSize) {
			t.Fatalf("Build(%d): %v", k, err)
		}
	}
	ns := mustNamespace(t, "order")
	blob, _ := share.NewBlob(ns, []byte("data"), 0, nil)
	btx, err := share.MarshalBlobTx([]byte("pfb"), blob)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := share.Construct([][]byte{btx, []byte("normal")}, 8); !errors.Is(err, share.ErrTxOrder) {
		t.Fatalf("normal tx after blob tx: %v", err)
	}
	big, _ := share.NewBlob(ns, make([]byte, 10000), 0, nil)
	bigTx, _ := share.MarshalBlobTx([]byte("pfb"), big)
	if _, err := share.Construct([][]byte{bigTx}, 4); !errors.Is(err, share.ErrTxDoesNotFit) {
		t.Fatalf("oversized blob tx: %v", err)
	}
	if _, err := share.Construct([][]byte{make([]byte, 10000)}, 2); !errors.Is(err, share.ErrTxDoesNotFit) {
		t.Fatalf("oversized tx: %v", err)
	}
	malformed := blobTxOf("BLOB")
	if _, err := share.Construct([][]byte{malformed}, 8); !errors.Is(err, share.ErrMalformedBlobTx) {
		t.Fatalf("malformed blob tx: %v", err)
	}
	// Build drops what does not fit or is malformed, keeping order.
	sq, kept, err := share.Build([][]byte{bigTx, btx, malformed, []byte("normal")}, 4)
	if err != nil || len(kept) != 2 || string(kept[0]) != "normal" || string(kept[1]) != string(btx) {
		t.Fatalf("Build kept %q, %v", kept, err)
	}
	if sq.Width != 2 || len(sq.PFBs) != 1 || sq.PFBs[0].Blobs[0].Start != 2 {
		t.Fatalf("square width %d, PFBs %+v", sq.Width, sq.PFBs)
	}
	b, _ := share.NewBuilder(8)
	if b.AppendBlobTx(nil) || b.AppendBlobTx(&share.BlobTx{Tx: []byte("x")}) {
		t.Fatal("AppendBlobTx accepted a blob tx without blobs")
	}
	// Export does not change the builder.
	b.AppendTx([]byte("a"))
	s1, _ := b.Export()
	s2, _ := b.Export()
	if !slices.EqualFunc(s1.Shares, s2.Shares, bytes.Equal) || b.CurrentSize() != 1 {
		t.Fatal("Export is not repeatable")
	}
}
