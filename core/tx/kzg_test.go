package tx_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
)

// kzgPFB is a two-blob PayForBlobs: blob 0 (KZGChunkSize+1 bytes, two
// chunks) with KZG commitments, blob 1 without.
func kzgPFB(t *testing.T) *tx.MsgPayForBlobs {
	t.Helper()
	_, from := txtest.Key(t, "alice")
	ns := txtest.Namespace(t, 1)
	point := func(b byte) (p [tx.KZGCommitmentSize]byte) { p[0] = b; return p }
	return &tx.MsgPayForBlobs{
		Signer: from, Namespaces: nsList(ns, ns), BlobSizes: []uint32{tx.KZGChunkSize + 1, 5},
		ShareCommitments: [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)},
		ShareVersions:    []uint32{0, 0},
		KZG: []tx.BlobKZG{
			{Commitments: [][tx.KZGCommitmentSize]byte{point(1), point(2)}, Proofs: [][tx.KZGProofSize]byte{point(3), point(4)}},
			{},
		},
	}
}

func signedBody(t *testing.T, m tx.Msg) (tx.Body, []byte) {
	t.Helper()
	key, _ := txtest.Key(t, "alice")
	body := tx.Body{ChainID: "mesh-test", Nonce: 1, Fee: tx.Fee{GasLimit: 1, GasPrice: 1}, Msg: m}
	raw, err := tx.SignTx(body, key)
	if err != nil {
		t.Fatal(err)
	}
	return body, raw
}

func TestKZGRoundTrip(t *testing.T) {
	m := kzgPFB(t)
	if err := m.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	body, raw := signedBody(t, m)
	got, err := tx.UnmarshalTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Body.Msg, body.Msg) {
		t.Fatalf("decoded %+v, want %+v", got.Body.Msg, body.Msg)
	}
	if err := got.VerifySignature(); err != nil {
		t.Fatal(err)
	}
	// The commitments are signed: changing one breaks the signature.
	got.Body.Msg.(*tx.MsgPayForBlobs).KZG[0].Proofs[1][5] ^= 1
	if err := got.VerifySignature(); !errors.Is(err, tx.ErrInvalidSignature) {
		t.Fatalf("tampered proof verified: %v", err)
	}
}

// A PayForBlobs without KZG encodes exactly as it did before KZG existed:
// fields 1 to 5 only.
func TestKZGAbsentLeavesEncoding(t *testing.T) {
	m := kzgPFB(t)
	m.KZG = nil
	enc, err := tx.Body{ChainID: "c", Msg: m}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// The body's last field is the message; walk its fields.
	_, _, n := protowire.ConsumeField(enc)
	rest := enc[n:]
	for len(rest) > 0 {
		num, _, n := protowire.ConsumeField(rest)
		if num == 6 { // bodyPayForBlobsField
			_, _, tn := protowire.ConsumeTag(rest)
			msg, _ := protowire.ConsumeBytes(rest[tn:])
			for len(msg) > 0 {
				f, _, fn := protowire.ConsumeField(msg)
				if f > 5 {
					t.Fatalf("message without KZG has field %d", f)
				}
				msg = msg[fn:]
			}
		}
		rest = rest[n:]
	}
}

func TestKZGValidateBasic(t *testing.T) {
	cases := map[string]func(m *tx.MsgPayForBlobs){
		"too few entries": func(m *tx.MsgPayForBlobs) { m.KZG = m.KZG[:1] },
		"missing chunk":   func(m *tx.MsgPayForBlobs) { k := &m.KZG[0]; k.Commitments, k.Proofs = k.Commitments[:1], k.Proofs[:1] },
		"one chunk too many": func(m *tx.MsgPayForBlobs) {
			k := &m.KZG[0]
			k.Commitments, k.Proofs = append(k.Commitments, k.Commitments[0]), append(k.Proofs, k.Proofs[0])
		},
		"proof missing":  func(m *tx.MsgPayForBlobs) { m.KZG[0].Proofs = m.KZG[0].Proofs[:1] },
		"empty for all":  func(m *tx.MsgPayForBlobs) { m.KZG[0] = tx.BlobKZG{} },
		"wrong for size": func(m *tx.MsgPayForBlobs) { m.BlobSizes[0] = tx.KZGChunkSize },
	}
	for name, mutate := range cases {
		m := kzgPFB(t)
		mutate(m)
		if err := m.ValidateBasic(); !errors.Is(err, tx.ErrInvalidKZG) {
			t.Errorf("%s: got %v, want ErrInvalidKZG", name, err)
		} else if tx.Code(err) != tx.CodeInvalidKZG {
			t.Errorf("%s: code %d, want %d", name, tx.Code(err), tx.CodeInvalidKZG)
		}
	}
}

func TestKZGUnmarshalRejects(t *testing.T) {
	_, raw := signedBody(t, kzgPFB(t))
	decoded, err := tx.UnmarshalTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	// Re-encode the message with a hand-written tail of KZG fields.
	reencode := func(tail func(msg []byte) []byte) []byte {
		m := *decoded.Body.Msg.(*tx.MsgPayForBlobs)
		m.KZG = nil
		body, err := tx.Body{ChainID: decoded.Body.ChainID, Nonce: decoded.Body.Nonce, Fee: decoded.Body.Fee, Msg: &m}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		// Split off the message field (the body's last) and extend it.
		var head []byte
		rest := body
		for len(rest) > 0 {
			num, _, n := protowire.ConsumeField(rest)
			if num == 6 {
				_, _, tn := protowire.ConsumeTag(rest)
				msg, _ := protowire.ConsumeBytes(rest[tn:])
				msg = tail(append([]byte(nil), msg...))
				head = protowire.AppendBytes(protowire.AppendTag(head, 6, protowire.BytesType), msg)
			} else {
				head = append(head, rest[:n]...)
			}
			rest = rest[n:]
		}
		out := protowire.AppendBytes(protowire.AppendTag(nil, tx.TxBodyField, protowire.BytesType), head)
		out = protowire.AppendBytes(protowire.AppendTag(out, tx.TxPubKeyField, protowire.BytesType), decoded.PubKey)
		return protowire.AppendBytes(protowire.AppendTag(out, tx.TxSignatureField, protowire.BytesType), decoded.Signature)
	}
	field := func(msg []byte, num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(msg, num, protowire.BytesType), v)
	}
	p48 := make([]byte, 48)
	cases := map[string][]byte{
		"not a multiple of 48":       reencode(func(m []byte) []byte { return field(field(m, 6, make([]byte, 47)), 7, p48) }),
		"commitments without proofs": reencode(func(m []byte) []byte { return field(field(m, 6, p48), 6, nil) }),
		"proofs before commitments":  reencode(func(m []byte) []byte { return field(field(m, 7, p48), 6, p48) }),
		"varint": reencode(func(m []byte) []byte {
			return protowire.AppendVarint(protowire.AppendTag(m, 6, protowire.VarintType), 1)
		}),
	}
	for name, b := range cases {
		if _, err := tx.UnmarshalTx(b); !errors.Is(err, tx.ErrMalformedTx) {
			t.Errorf("%s: got %v, want ErrMalformedTx", name, err)
		}
	}
}

func TestKZGGas(t *testing.T) {
	p := tx.DefaultParams()
	m := kzgPFB(t)
	withKZG, ok := tx.GasUsed(p, m)
	if !ok {
		t.Fatal("overflow")
	}
	m.KZG = nil
	without, _ := tx.GasUsed(p, m)
	if withKZG-without != 2*p.GasPerKZGChunk {
		t.Fatalf("KZG adds %d gas, want 2 × %d", withKZG-without, p.GasPerKZGChunk)
	}
	p.GasPerKZGChunk = 1 << 63
	m = kzgPFB(t)
	if _, ok := tx.GasUsed(p, m); ok {
		t.Fatal("2 × 2^63 gas did not overflow")
	}
}

func TestKZGChunkCount(t *testing.T) {
	for size, want := range map[int]int{0: 1, 1: 1, tx.KZGChunkSize: 1, tx.KZGChunkSize + 1: 2, 2 << 20: 17} {
		if got := tx.KZGChunkCount(size); got != want {
			t.Errorf("KZGChunkCount(%d) = %d, want %d", size, got, want)
		}
	}
}
