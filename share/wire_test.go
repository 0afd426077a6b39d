package share_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	gsshare "github.com/celestiaorg/go-square/v3/share"
	gstx "github.com/celestiaorg/go-square/v3/tx"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/share"
)

func TestBlobTxMatchesGoSquare(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for c := range 200 {
		blobs := make([]*share.Blob, 1+rng.IntN(5))
		for i := range blobs {
			blobs[i] = randBlob(rng, 3000)
		}
		tx := randBytes(rng, rng.IntN(400))
		got, err := share.MarshalBlobTx(tx, blobs...)
		if err != nil {
			t.Fatal(err)
		}
		if want := refBlobTx(t, tx, blobs); !bytes.Equal(got, want) {
			t.Fatalf("case %d: BlobTx encoding differs from go-square", c)
		}
		btx, isBlobTx, err := share.UnmarshalBlobTx(got)
		if err != nil || !isBlobTx {
			t.Fatalf("case %d: UnmarshalBlobTx: %v %v", c, isBlobTx, err)
		}
		if !bytes.Equal(btx.Tx, tx) || len(btx.Blobs) != len(blobs) {
			t.Fatalf("case %d: round trip differs", c)
		}
		for i, b := range btx.Blobs {
			w := blobs[i]
			if b.Namespace() != w.Namespace() || !bytes.Equal(b.Data(), w.Data()) || b.ShareVersion() != w.ShareVersion() || !bytes.Equal(b.Signer(), w.Signer()) {
				t.Fatalf("case %d: blob %d differs after round trip", c, i)
			}
		}
	}
}

func TestIndexWrapperMatchesGoSquare(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	for c := range 200 {
		tx := randBytes(rng, rng.IntN(400))
		idx := make([]uint32, rng.IntN(6))
		for i := range idx {
			idx[i] = rng.Uint32() >> rng.IntN(32)
		}
		got := share.MarshalIndexWrapper(tx, idx...)
		want, err := gstx.MarshalIndexWrapper(tx, idx...)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d: IndexWrapper encoding differs", c)
		}
		iw, err := share.UnmarshalIndexWrapper(got)
		if err != nil || !bytes.Equal(iw.Tx, tx) || len(iw.ShareIndexes) != len(idx) {
			t.Fatalf("case %d: round trip: %v", c, err)
		}
		for i := range idx {
			if iw.ShareIndexes[i] != idx[i] {
				t.Fatalf("case %d: index %d differs", c, i)
			}
		}
	}
}

// blobProto encodes a BlobProto field by field (for malformed inputs).
func blobProto(nsID, data []byte, shareVersion, nsVersion uint64, signer []byte) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, nsID)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, data)
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, shareVersion)
	b = protowire.AppendTag(b, 4, protowire.VarintType)
	b = protowire.AppendVarint(b, nsVersion)
	if signer != nil {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, signer)
	}
	return b
}

func blobTxOf(typeID string, blobs ...[]byte) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte("sdk tx"))
	for _, bl := range blobs {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, bl)
	}
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	return protowire.AppendBytes(b, []byte(typeID))
}

func TestUnmarshalBlobTxErrors(t *testing.T) {
	userID := make([]byte, share.NamespaceIDSize)
	copy(userID[18:], "user-ns---")
	reservedID := make([]byte, share.NamespaceIDSize)
	reservedID[27] = 0x01
	signer := bytes.Repeat([]byte{1}, 20)
	for _, tc := range []struct {
		name     string
		in       []byte
		isBlobTx bool
		err      error
	}{
		{"empty", nil, false, share.ErrNotBlobTx},
		{"garbage", []byte{0xff, 0xff, 0xff}, false, share.ErrNotBlobTx},
		{"wrong type id", blobTxOf("INDX", blobProto(userID, []byte("x"), 0, 0, nil)), false, share.ErrNotBlobTx},
		{"invalid utf8 type id", blobTxOf("\xffBLOB", blobProto(userID, []byte("x"), 0, 0, nil)), false, share.ErrNotBlobTx},
		{"truncated", blobTxOf("BLOB", blobProto(userID, []byte("x"), 0, 0, nil))[:10], false, share.ErrNotBlobTx},
		{"no blobs", blobTxOf("BLOB"), true, share.ErrMalformedBlobTx},
		{"empty data", blobTxOf("BLOB", blobProto(userID, nil, 0, 0, nil)), true, share.ErrEmptyBlob},
		{"reserved namespace", blobTxOf("BLOB", blobProto(reservedID, []byte("x"), 0, 0, nil)), true, share.ErrInvalidNamespace},
		{"short namespace", blobTxOf("BLOB", blobProto(userID[1:], []byte("x"), 0, 0, nil)), true, share.ErrInvalidNamespace},
		{"namespace version 255", blobTxOf("BLOB", blobProto(bytes.Repeat([]byte{0xAA}, 28), []byte("x"), 0, 255, nil)), true, share.ErrInvalidNamespace},
		{"namespace version 256", blobTxOf("BLOB", blobProto(userID, []byte("x"), 0, 256, nil)), true, share.ErrInvalidNamespace},
		{"share version 2", blobTxOf("BLOB", blobProto(userID, []byte("x"), 2, 0, nil)), true, share.ErrUnsupportedShareVersion},
		{"share version 128", blobTxOf("BLOB", blobProto(userID, []byte("x"), 128, 0, nil)), true, share.ErrUnsupportedShareVersion},
		{"v0 with signer", blobTxOf("BLOB", blobProto(userID, []byte("x"), 0, 0, signer)), true, share.ErrInvalidSigner},
		{"v1 without signer", blobTxOf("BLOB", blobProto(userID, []byte("x"), 1, 0, nil)), true, share.ErrInvalidSigner},
		{"v1 short signer", blobTxOf("BLOB", blobProto(userID, []byte("x"), 1, 0, signer[:19])), true, share.ErrInvalidSigner},
	} {
		t.Run(tc.name, func(t *testing.T) {
			btx, isBlobTx, err := share.UnmarshalBlobTx(tc.in)
			if btx != nil || isBlobTx != tc.isBlobTx || !errors.Is(err, tc.err) {
				t.Fatalf("got (%v, %v, %v), want isBlobTx %v and %v", btx, isBlobTx, err, tc.isBlobTx, tc.err)
			}
			if tc.isBlobTx && !errors.Is(err, share.ErrMalformedBlobTx) {
				t.Fatalf("error %v does not wrap ErrMalformedBlobTx", err)
			}
			// go-square classifies the bytes the same way.
			_, refIsBlobTx, _ := gstx.UnmarshalBlobTx(tc.in)
			if refIsBlobTx != isBlobTx {
				t.Fatalf("go-square says isBlobTx=%v", refIsBlobTx)
			}
		})
	}
	// An empty signer field on a v0 blob decodes as no signer, as in
	// go-square.
	in := blobTxOf("BLOB", blobProto(userID, []byte("x"), 0, 0, []byte{}))
	if _, ok, err := share.UnmarshalBlobTx(in); !ok || err != nil {
		t.Fatalf("v0 with empty signer field: %v %v", ok, err)
	}
	if _, ok, err := gstx.UnmarshalBlobTx(in); !ok || err != nil {
		t.Fatalf("go-square: v0 with empty signer field: %v %v", ok, err)
	}
}

func TestUnmarshalIndexWrapperErrors(t *testing.T) {
	good := share.MarshalIndexWrapper([]byte("tx"), 1, 2, 300)
	for name, in := range map[string][]byte{
		"empty":      nil,
		"blob tx":    blobTxOf("BLOB"),
		"truncated":  good[:len(good)-1],
		"bad varint": append(append([]byte{}, good...), 0x10, 0xff),
	} {
		if _, err := share.UnmarshalIndexWrapper(in); !errors.Is(err, share.ErrNotIndexWrapper) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Unpacked share indexes and unknown fields are accepted, as by the
	// protobuf runtime.
	var in []byte
	in = protowire.AppendTag(in, 2, protowire.VarintType)
	in = protowire.AppendVarint(in, 7)
	in = protowire.AppendTag(in, 9, protowire.Fixed64Type)
	in = protowire.AppendFixed64(in, 1)
	in = protowire.AppendTag(in, 3, protowire.BytesType)
	in = protowire.AppendBytes(in, []byte("INDX"))
	iw, err := share.UnmarshalIndexWrapper(in)
	if err != nil || len(iw.ShareIndexes) != 1 || iw.ShareIndexes[0] != 7 {
		t.Fatalf("unpacked: %+v %v", iw, err)
	}
	ref, ok := gstx.UnmarshalIndexWrapper(in)
	if !ok || len(ref.ShareIndexes) != 1 {
		t.Fatal("go-square disagrees on unpacked indexes")
	}
}

func TestMarshalBlobTxErrors(t *testing.T) {
	if _, err := share.MarshalBlobTx([]byte("tx")); !errors.Is(err, share.ErrMalformedBlobTx) {
		t.Fatalf("no blobs: %v", err)
	}
	if _, err := share.MarshalBlobTx([]byte("tx"), nil); !errors.Is(err, share.ErrMalformedBlobTx) {
		t.Fatalf("nil blob: %v", err)
	}
}

// refClassify is go-square's verdict on bytes: whether they are a BlobTx
// and whether it is valid.
func refClassify(in []byte) (isBlobTx, valid bool, blobs []*gsshare.Blob) {
	btx, isBlobTx, err := gstx.UnmarshalBlobTx(in)
	if err != nil || !isBlobTx {
		return isBlobTx, false, nil
	}
	return true, true, btx.Blobs
}

// TestBlobTxClassificationEdgeCases checks protobuf corner cases against
// go-square: isBlobTx and validity must agree.
func TestBlobTxClassificationEdgeCases(t *testing.T) {
	userID := make([]byte, share.NamespaceIDSize)
	copy(userID[18:], "user-ns---")
	good := blobProto(userID, []byte("x"), 0, 0, nil)
	tag := func(b []byte, num protowire.Number, typ protowire.Type) []byte {
		return protowire.AppendTag(b, num, typ)
	}
	bytesField := func(b []byte, num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(tag(b, num, protowire.BytesType), v)
	}
	typeID := func(b []byte, id string) []byte { return bytesField(b, 3, []byte(id)) }
	blob := func(b []byte, v []byte) []byte { return bytesField(b, 2, v) }
	cases := map[string][]byte{
		"non-minimal tag":        append(blob(nil, good), 0x9A, 0x00, 0x04, 'B', 'L', 'O', 'B'),
		"type id twice, last X":  typeID(typeID(blob(nil, good), "BLOB"), "X"),
		"type id twice, last ok": typeID(typeID(blob(nil, good), "X"), "BLOB"),
		"tx twice":               typeID(bytesField(bytesField(blob(nil, good), 1, []byte("a")), 1, []byte("b")), "BLOB"),
		"blobs as varint":        typeID(protowire.AppendVarint(tag(nil, 2, protowire.VarintType), 5), "BLOB"),
		"blobs as group":         typeID(tag(tag(nil, 2, protowire.StartGroupType), 2, protowire.EndGroupType), "BLOB"),
		"unknown fixed":          typeID(protowire.AppendFixed32(tag(blob(nil, good), 99, protowire.Fixed32Type), 1), "BLOB"),
		"unknown nested group":   typeID(tag(tag(tag(tag(blob(nil, good), 9, protowire.StartGroupType), 10, protowire.StartGroupType), 10, protowire.EndGroupType), 9, protowire.EndGroupType), "BLOB"),
		"unmatched group":        typeID(tag(tag(blob(nil, good), 9, protowire.StartGroupType), 10, protowire.EndGroupType), "BLOB"),
		"max field number":       typeID(protowire.AppendVarint(tag(blob(nil, good), protowire.MaxValidNumber, protowire.VarintType), 1), "BLOB"),
		"field number too big":   typeID(append(blob(nil, good), 0xF8, 0xFF, 0xFF, 0xFF, 0x1F, 0x00), "BLOB"),
		"wire type 6":            typeID(append(blob(nil, good), 0x0E), "BLOB"),
		"11-byte varint":         typeID(append(tag(blob(nil, good), 9, protowire.VarintType), bytes.Repeat([]byte{0xFF}, 10)...), "BLOB"),
		"length overflow":        append(typeID(blob(nil, good), "BLOB"), 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F),
		"share version 2^32+1":   typeID(blob(nil, blobProto(userID, []byte("x"), 1<<32|1, 0, make([]byte, 20))), "BLOB"),
		"namespace version 2^32": typeID(blob(nil, blobProto(userID, []byte("x"), 0, 1<<32, nil)), "BLOB"),
		"share version as bytes": typeID(blob(nil, bytesField(good, 3, []byte{1})), "BLOB"),
		"nested end group":       typeID(blob(nil, append(bytes.Clone(good), 0x0C)), "BLOB"),
		"data twice":             typeID(blob(nil, bytesField(good, 2, []byte("second"))), "BLOB"),
	}
	for name, in := range cases {
		btx, isBlobTx, err := share.UnmarshalBlobTx(in)
		refIsBlobTx, refValid, refBlobs := refClassify(in)
		if isBlobTx != refIsBlobTx || (err == nil) != refValid {
			t.Errorf("%s: isBlobTx %v valid %v (%v); go-square %v %v", name, isBlobTx, err == nil, err, refIsBlobTx, refValid)
			continue
		}
		if err == nil && (len(btx.Blobs) != len(refBlobs) || !bytes.Equal(btx.Blobs[0].Data(), refBlobs[0].Data()) ||
			btx.Blobs[0].ShareVersion() != refBlobs[0].ShareVersion()) {
			t.Errorf("%s: blobs differ from go-square's", name)
		}
	}
}

// UnmarshalBlobTxAliased decodes what UnmarshalBlobTx decodes, with the Tx
// and the blobs' data sub-slices of the input (writing the input shows
// through), while UnmarshalBlobTx's are copies.
func TestUnmarshalBlobTxAliased(t *testing.T) {
	ns, err := share.NewV0Namespace(bytes.Repeat([]byte{7}, share.NamespaceVersionZeroIDSize))
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte{0x11}, 3*share.ShareSize)
	blob, err := share.NewBlob(ns, data, share.ShareVersionZero, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := share.MarshalBlobTx([]byte("sdk tx"), blob)
	if err != nil {
		t.Fatal(err)
	}
	copied, isBlobTx, err := share.UnmarshalBlobTx(raw)
	if err != nil || !isBlobTx {
		t.Fatal(isBlobTx, err)
	}
	aliased, isBlobTx, err := share.UnmarshalBlobTxAliased(raw)
	if err != nil || !isBlobTx {
		t.Fatal(isBlobTx, err)
	}
	if !bytes.Equal(aliased.Tx, copied.Tx) || len(aliased.Blobs) != 1 || !bytes.Equal(aliased.Blobs[0].Data(), data) ||
		aliased.Blobs[0].Namespace() != ns {
		t.Fatalf("aliased decoding %+v differs from %+v", aliased, copied)
	}
	at := bytes.Index(raw, data)
	raw[at], raw[bytes.Index(raw, []byte("sdk tx"))] = 0x22, 'S'
	if aliased.Blobs[0].Data()[0] != 0x22 || aliased.Tx[0] != 'S' {
		t.Fatal("the aliased blob data or tx is a copy of the input")
	}
	if copied.Blobs[0].Data()[0] != 0x11 || copied.Tx[0] != 's' {
		t.Fatal("UnmarshalBlobTx's result aliases the input")
	}
}
