package app

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/share"
)

func TestTxRoundTrip(t *testing.T) {
	key, from := testKey(t, "alice")
	_, to := testKey(t, "bob")
	ns := testNamespace(t, 1)
	msgs := []Msg{
		&MsgSend{From: from, To: to, Amount: 7},
		&MsgUpdateValidator{PubKey: bytes.Repeat([]byte{3}, 32), Power: 10},
		&MsgUpdateValidator{PubKey: bytes.Repeat([]byte{3}, 32), Power: 0},
		&MsgPayForBlobs{Signer: from, Namespaces: nsList(ns, ns), BlobSizes: []uint32{1, 300},
			ShareCommitments: [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)}, ShareVersions: []uint32{0, 1}},
	}
	for _, m := range msgs {
		body := Body{ChainID: "mesh-test", Nonce: 3, Fee: Fee{GasLimit: 100, GasPrice: 2}, Msg: m}
		raw, err := SignTx(body, key)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := UnmarshalTx(raw)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		if !reflect.DeepEqual(tx.Body, body) {
			t.Fatalf("%T: decoded %+v, want %+v", m, tx.Body, body)
		}
		if err := tx.VerifySignature(); err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		// Any change to the body breaks the signature.
		tx.Body.Nonce++
		if err := tx.VerifySignature(); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("%T: tampered nonce verified: %v", m, err)
		}
	}
}

func nsList(ns ...share.Namespace) []share.Namespace { return ns }

func TestUnmarshalTxRejects(t *testing.T) {
	key, from := testKey(t, "alice")
	raw := sendTx(t, "c", key, 0, from, 1, 10, 1)

	// Duplicate trailing field, an unknown field, a non-minimal varint, a
	// fixed32 field and truncation are all malformed.
	cases := map[string][]byte{
		"empty":     {},
		"truncated": raw[:len(raw)-1],
		"unknown":   protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), raw...), 9, protowire.VarintType), 1),
		"duplicate": protowire.AppendBytes(protowire.AppendTag(append([]byte(nil), raw...), txPubKeyField, protowire.BytesType), key.PubKey().Bytes()),
		"fixed32":   protowire.AppendFixed32(protowire.AppendTag(nil, 1, protowire.Fixed32Type), 1),
		"no body":   protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), []byte{1}),
		"two msgs":  twoMsgs(t, raw),
		"data root": append([]byte("DMDR"), make([]byte, 37)...),
		"oversized": make([]byte, MaxTxSize+1),
		"noncanon":  nonMinimalVarint(raw),
	}
	for name, b := range cases {
		if _, err := UnmarshalTx(b); !errors.Is(err, ErrMalformedTx) {
			t.Errorf("%s: got %v, want ErrMalformedTx", name, err)
		}
	}
}

// twoMsgs appends a second message field to the body of raw.
func twoMsgs(t *testing.T, raw []byte) []byte {
	tx, err := UnmarshalTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	body, err := tx.Body.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	body = protowire.AppendBytes(protowire.AppendTag(body, bodyUpdateValidatorField, protowire.BytesType), nil)
	out := protowire.AppendBytes(protowire.AppendTag(nil, txBodyField, protowire.BytesType), body)
	out = protowire.AppendBytes(protowire.AppendTag(out, txPubKeyField, protowire.BytesType), tx.PubKey)
	return protowire.AppendBytes(protowire.AppendTag(out, txSignatureField, protowire.BytesType), tx.Signature)
}

// nonMinimalVarint re-encodes the first field's length with a padded varint.
func nonMinimalVarint(raw []byte) []byte {
	v, n := protowire.ConsumeVarint(raw[1:])
	out := []byte{raw[0]}
	out = append(out, byte(v&0x7f)|0x80, byte(v>>7)|0x80, 0)
	return append(out, raw[1+n:]...)
}

func TestAddressBech32(t *testing.T) {
	_, a := testKey(t, "alice")
	s := a.String()
	if s[:5] != "mesh1" {
		t.Fatalf("address %q does not start with mesh1", s)
	}
	b, err := ParseAddress(s)
	if err != nil || b != a {
		t.Fatalf("ParseAddress(%q) = %v, %v", s, b, err)
	}
	other, err := EncodeBech32("cosmos", a[:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseAddress(other); err == nil {
		t.Fatal("accepted another prefix")
	}
}
