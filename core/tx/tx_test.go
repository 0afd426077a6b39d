package tx_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/share"
)

func TestTxRoundTrip(t *testing.T) {
	key, from := txtest.Key(t, "alice")
	_, to := txtest.Key(t, "bob")
	ns := txtest.Namespace(t, 1)
	msgs := []tx.Msg{
		&tx.MsgSend{From: from, To: to, Amount: 7},
		&tx.MsgUpdateValidator{PubKey: bytes.Repeat([]byte{3}, 32), Power: 10},
		&tx.MsgUpdateValidator{PubKey: bytes.Repeat([]byte{3}, 32), Power: 0},
		&tx.MsgPayForBlobs{Signer: from, Namespaces: nsList(ns, ns), BlobSizes: []uint32{1, 300},
			ShareCommitments: [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)}, ShareVersions: []uint32{0, 1}},
	}
	for _, m := range msgs {
		body := tx.Body{ChainID: "mesh-test", Nonce: 3, Fee: tx.Fee{GasLimit: 100, GasPrice: 2}, Msg: m}
		raw, err := tx.SignTx(body, key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tx.UnmarshalTx(raw)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		if !reflect.DeepEqual(got.Body, body) {
			t.Fatalf("%T: decoded %+v, want %+v", m, got.Body, body)
		}
		if err := got.VerifySignature(); err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		// Any change to the body breaks the signature.
		got.Body.Nonce++
		if err := got.VerifySignature(); !errors.Is(err, tx.ErrInvalidSignature) {
			t.Fatalf("%T: tampered nonce verified: %v", m, err)
		}
	}
}

func nsList(ns ...share.Namespace) []share.Namespace { return ns }

func TestUnmarshalTxRejects(t *testing.T) {
	key, from := txtest.Key(t, "alice")
	raw := txtest.SendTx(t, "c", key, 0, from, 1, 10, 1)

	// Duplicate trailing field, an unknown field, a non-minimal varint, a
	// fixed32 field and truncation are all malformed.
	cases := map[string][]byte{
		"empty":     {},
		"truncated": raw[:len(raw)-1],
		"unknown":   protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), raw...), 9, protowire.VarintType), 1),
		"duplicate": protowire.AppendBytes(protowire.AppendTag(append([]byte(nil), raw...), tx.TxPubKeyField, protowire.BytesType), key.PubKey().Bytes()),
		"fixed32":   protowire.AppendFixed32(protowire.AppendTag(nil, 1, protowire.Fixed32Type), 1),
		"no body":   protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), []byte{1}),
		"two msgs":  twoMsgs(t, raw),
		"data root": append([]byte("DMDR"), make([]byte, 37)...),
		"oversized": make([]byte, tx.MaxTxSize+1),
		"noncanon":  nonMinimalVarint(raw),
	}
	for name, b := range cases {
		if _, err := tx.UnmarshalTx(b); !errors.Is(err, tx.ErrMalformedTx) {
			t.Errorf("%s: got %v, want ErrMalformedTx", name, err)
		}
	}
}

// twoMsgs appends a second message field to the body of raw.
func twoMsgs(t *testing.T, raw []byte) []byte {
	decoded, err := tx.UnmarshalTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	body, err := decoded.Body.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	body = protowire.AppendBytes(protowire.AppendTag(body, tx.BodyUpdateValidatorField, protowire.BytesType), nil)
	out := protowire.AppendBytes(protowire.AppendTag(nil, tx.TxBodyField, protowire.BytesType), body)
	out = protowire.AppendBytes(protowire.AppendTag(out, tx.TxPubKeyField, protowire.BytesType), decoded.PubKey)
	return protowire.AppendBytes(protowire.AppendTag(out, tx.TxSignatureField, protowire.BytesType), decoded.Signature)
}

// nonMinimalVarint re-encodes the first field's length with a padded varint.
func nonMinimalVarint(raw []byte) []byte {
	v, n := protowire.ConsumeVarint(raw[1:])
	out := []byte{raw[0]}
	out = append(out, byte(v&0x7f)|0x80, byte(v>>7)|0x80, 0)
	return append(out, raw[1+n:]...)
}

func TestAddressBech32(t *testing.T) {
	_, a := txtest.Key(t, "alice")
	s := a.String()
	if s[:5] != "mesh1" {
		t.Fatalf("address %q does not start with mesh1", s)
	}
	b, err := tx.ParseAddress(s)
	if err != nil || b != a {
		t.Fatalf("ParseAddress(%q) = %v, %v", s, b, err)
	}
	other, err := tx.EncodeBech32("cosmos", a[:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ParseAddress(other); err == nil {
		t.Fatal("accepted another prefix")
	}
}
