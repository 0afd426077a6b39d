package kzg_test

import (
	"bytes"
	"errors"
	"flag"
	"testing"

	"github.com/datamesh/mesh-node/internal/fuzzcorpus"
	"github.com/datamesh/mesh-node/kzg"
)

// FuzzDecodeChunk decodes a blob made of the input, cut to BlobSize bytes
// and padded with zeros. Decoding never panics, fails only with
// ErrMalformed, and whatever decodes encodes back to the same blob.
func FuzzDecodeChunk(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		var b kzg.Blob
		copy(b[:], in)
		data, err := kzg.DecodeChunk(&b)
		if err != nil {
			if !errors.Is(err, kzg.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		again, err := kzg.EncodeChunk(data)
		if err != nil {
			t.Fatal(err)
		}
		if *again != b {
			t.Fatalf("decoded %d bytes that encode to another blob", len(data))
		}
	})
}

// Seed corpus. The files under testdata/fuzz/FuzzDecodeChunk are generated
// by
//
//	go test ./kzg -run TestFuzzCorpus -write-corpus
//
// and TestFuzzCorpus checks they are current.

var writeCorpus = flag.Bool("write-corpus", false, "rewrite the generated seed corpus under testdata/fuzz")

// encodedPrefix returns the encoding of data without its trailing zeros,
// which the fuzz target puts back.
func encodedPrefix(t *testing.T, data []byte) []byte {
	t.Helper()
	b := mustEncode(t, data)
	return bytes.TrimRight(b[:], "\x00")
}

func fuzzSeeds(t *testing.T) []fuzzcorpus.Seed {
	var seeds []fuzzcorpus.Seed
	add := func(name string, in []byte) {
		seeds = append(seeds, fuzzcorpus.Seed{Target: "FuzzDecodeChunk", Name: name, Args: []any{in}})
	}
	text := []byte("DataMesh blobs are OP Stack blobs: 127 bytes to every 4 field elements.")
	add("valid-empty", []byte{})
	add("valid-one", encodedPrefix(t, []byte{0xff}))
	add("valid-text", encodedPrefix(t, text))
	add("valid-two-rounds", encodedPrefix(t, bytes.Repeat([]byte{0xa5}, 200)))
	bad := func(name string, edit func(p []byte) []byte) {
		add(name, edit(encodedPrefix(t, text)))
	}
	bad("bad-version", func(p []byte) []byte { p[1] = 1; return p })
	bad("bad-length", func(p []byte) []byte { p[2], p[3], p[4] = 0x01, 0xfb, 0xfd; return p })
	bad("bad-high-bits", func(p []byte) []byte { p[0] |= 0xc0; return p })
	bad("bad-trailing", func(p []byte) []byte { return append(append(p, make([]byte, 300)...), 7) })
	bad("bad-short-length", func(p []byte) []byte { p[4]--; return p })
	return seeds
}

func TestFuzzCorpus(t *testing.T) {
	seeds := fuzzSeeds(t)
	if *writeCorpus {
		fuzzcorpus.Write(t, seeds, true)
		return
	}
	fuzzcorpus.Check(t, seeds, "go test ./kzg -run TestFuzzCorpus -write-corpus")
}
