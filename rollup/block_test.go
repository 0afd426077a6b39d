package rollup_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/rollup"
)

func sampleBlock(t testing.TB, key ed25519.PrivateKey) *rollup.Block {
	t.Helper()
	txs := [][]byte{[]byte(`{"type":"set","key":"foo","value":"bar"}`), {}, []byte("x")}
	b := &rollup.Block{
		Header: rollup.Header{ChainID: "demo", Height: 7, Time: time.Unix(1700000000, 123456789).UTC(),
			ParentHash: bytes.Repeat([]byte{1}, 32), DataHash: rollup.DataHash(txs), StateRoot: bytes.Repeat([]byte{2}, 32)},
		Txs: txs,
	}
	if err := b.Header.Sign(key); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBlockRoundTrip(t *testing.T) {
	key := keyFrom("k")
	b := sampleBlock(t, key)
	raw, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, rollup.Magic) {
		t.Fatalf("encoding starts %X, want the magic %X", raw[:5], rollup.Magic)
	}
	got, err := rollup.DecodeBlock(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Header.VerifySignature(key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	again, err := got.Encode()
	if err != nil || !bytes.Equal(again, raw) {
		t.Fatalf("re-encoding: %v, equal %v", err, bytes.Equal(again, raw))
	}
	if !got.Header.Time.Equal(b.Header.Time) || len(got.Txs) != 3 || len(got.Txs[1]) != 0 {
		t.Fatalf("decoded %+v", got)
	}
	// The same header and key give the same bytes (ed25519 is deterministic).
	b2 := sampleBlock(t, key)
	raw2, _ := b2.Encode()
	if !bytes.Equal(raw, raw2) {
		t.Fatal("two encodings of the same block signed by the same key differ")
	}
}

func TestVerifySignature(t *testing.T) {
	key, other := keyFrom("k"), keyFrom("other")
	b := sampleBlock(t, key)
	if err := b.Header.VerifySignature(other.Public().(ed25519.PublicKey)); !errors.Is(err, rollup.ErrBadSignature) {
		t.Fatalf("another sequencer key: %v, want ErrBadSignature", err)
	}
	for name, mutate := range map[string]func(h *rollup.Header){
		"state root": func(h *rollup.Header) { h.StateRoot = bytes.Repeat([]byte{3}, 32) },
		"height":     func(h *rollup.Header) { h.Height++ },
		"chain":      func(h *rollup.Header) { h.ChainID = "demo2" },
		"time":       func(h *rollup.Header) { h.Time = h.Time.Add(1) },
		"signature":  func(h *rollup.Header) { h.Signature[0] ^= 1 },
		"proposer":   func(h *rollup.Header) { h.Proposer = other.Public().(ed25519.PublicKey) },
	} {
		h := sampleBlock(t, key).Header
		mutate(&h)
		if err := h.VerifySignature(key.Public().(ed25519.PublicKey)); !errors.Is(err, rollup.ErrBadSignature) {
			t.Errorf("%s changed after signing: %v, want ErrBadSignature", name, err)
		}
	}
}

func TestDecodeBlockRejects(t *testing.T) {
	raw, err := sampleBlock(t, keyFrom("k")).Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rollup.DecodeBlock([]byte("hello")); !errors.Is(err, rollup.ErrNotBlock) {
		t.Fatalf("not a block: %v", err)
	}
	otherVersion := bytes.Clone(raw)
	otherVersion[4] = 2
	if _, err := rollup.DecodeBlock(otherVersion); !errors.Is(err, rollup.ErrNotBlock) {
		t.Fatalf("version 2: %v, want ErrNotBlock", err)
	}
	extraTx := protowire.AppendBytes(protowire.AppendTag(bytes.Clone(raw), 2, protowire.BytesType), []byte("y"))
	unknown := protowire.AppendVarint(protowire.AppendTag(bytes.Clone(raw), 9, protowire.VarintType), 1)
	for name, b := range map[string][]byte{
		"truncated":      raw[:len(raw)-1],
		"magic only":     rollup.Magic,
		"tx not hashed":  extraTx,
		"unknown field":  unknown,
		"oversized":      append(bytes.Clone(raw), make([]byte, rollup.MaxBlockSize)...),
		"long length":    append(bytes.Clone(rollup.Magic), 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f),
		"mangled length": append(append(bytes.Clone(rollup.Magic), 0x0a, 0x80|byte(len(raw)-7)&0x7f, 0x80), raw[7:]...),
		"header missing": append(bytes.Clone(rollup.Magic), 0x12, 0x01, 'x'),
	} {
		if _, err := rollup.DecodeBlock(b); !errors.Is(err, rollup.ErrInvalidBlock) {
			t.Errorf("%s: %v, want ErrInvalidBlock", name, err)
		}
	}
}

// FuzzDecodeBlock: DecodeBlock never panics, and what it accepts
// re-encodes to the same bytes.
func FuzzDecodeBlock(f *testing.F) {
	raw, err := sampleBlock(f, keyFrom("k")).Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte("DMRB"))
	f.Fuzz(func(t *testing.T, b []byte) {
		blk, err := rollup.DecodeBlock(b)
		if err != nil {
			return
		}
		again, err := blk.Encode()
		if err != nil {
			t.Fatalf("decoded block does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("decoded block re-encodes to other bytes")
		}
	})
}
