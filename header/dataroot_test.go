package header_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/datamesh/mesh-node/header"
)

func TestDataRootTxRoundTrip(t *testing.T) {
	in := header.DataRootTx{SquareSize: 64, DataRoot: bytes.Repeat([]byte{0xAB}, 32)}
	b, err := in.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != header.DataRootTxSize || !header.IsDataRootTx(b) {
		t.Fatalf("encoding %x", b)
	}
	out, err := header.UnmarshalDataRootTx(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.SquareSize != 64 || !bytes.Equal(out.DataRoot, in.DataRoot) {
		t.Fatalf("round trip gave %+v", out)
	}
	b[9] ^= 1 // the decoded root must not alias the input
	if out.DataRoot[0] != 0xAB {
		t.Fatal("decoded data root aliases the input")
	}
}

func TestDataRootTxRejects(t *testing.T) {
	good, err := header.DataRootTx{SquareSize: 1, DataRoot: make([]byte, 32)}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func([]byte) []byte) []byte { return f(bytes.Clone(good)) }
	for name, tx := range map[string][]byte{
		"empty":       nil,
		"short":       good[:40],
		"long":        append(bytes.Clone(good), 0),
		"magic":       mutate(func(b []byte) []byte { b[0] = 'X'; return b }),
		"version":     mutate(func(b []byte) []byte { b[4] = 2; return b }),
		"size zero":   mutate(func(b []byte) []byte { b[8] = 0; return b }),
		"size not 2n": mutate(func(b []byte) []byte { b[8] = 3; return b }),
		"size > 512":  mutate(func(b []byte) []byte { b[7], b[8] = 4, 0; return b }),
	} {
		if _, err := header.UnmarshalDataRootTx(tx); !errors.Is(err, header.ErrInvalidDataRootTx) {
			t.Errorf("%s: got %v, want ErrInvalidDataRootTx", name, err)
		}
	}
	for _, bad := range []header.DataRootTx{{SquareSize: 2, DataRoot: make([]byte, 31)}, {SquareSize: 6, DataRoot: make([]byte, 32)}} {
		if _, err := bad.Marshal(); !errors.Is(err, header.ErrInvalidDataRootTx) {
			t.Errorf("Marshal(%+v): got %v", bad, err)
		}
	}
}

func FuzzUnmarshalDataRootTx(f *testing.F) {
	good, _ := header.DataRootTx{SquareSize: 128, DataRoot: make([]byte, 32)}.Marshal()
	f.Add(good)
	f.Add([]byte("DMDR"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := header.UnmarshalDataRootTx(b)
		if err != nil {
			return
		}
		again, err := d.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded %+v does not re-encode to its input (%v)", d, err)
		}
	})
}
