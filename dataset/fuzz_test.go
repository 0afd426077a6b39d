package dataset_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/internal/fuzzcorpus"
)

// partErrors are the errors DecodePart may return.
var partErrors = []error{dataset.ErrMalformedCAR, dataset.ErrWrongRoot, dataset.ErrHashMismatch, dataset.ErrUnsupportedCID, dataset.ErrTooLarge}

func isOneOf(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// FuzzDecodePart decodes arbitrary bytes as a part of the dataset whose
// root is the CID in root's bytes: decoding never panics, fails only with
// the package's part errors, and what decodes is, block after block, the
// bytes Pack would write (the header of root and each block's section).
// Its seed corpus is in testdata/fuzz/FuzzDecodePart and runs with plain
// go test.
func FuzzDecodePart(f *testing.F) {
	f.Fuzz(func(t *testing.T, part, root []byte) {
		r, err := cid.Cast(root)
		if err != nil {
			r = cid.Undef
		}
		got, err := dataset.DecodePart(part, r, 4<<20)
		if err != nil {
			if got != nil || !isOneOf(err, partErrors) {
				t.Fatalf("got (%v, %v)", got, err)
			}
			return
		}
		again, err := dataset.CARHeader(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range got {
			if b.Offset < len(again) || !bytes.Equal(part[b.Offset:b.Offset+len(b.Data)], b.Data) {
				t.Fatalf("block %s at %d does not locate its data", b.Cid, b.Offset)
			}
			again = appendUvarint(again, uint64(b.Cid.ByteLen()+len(b.Data)))
			again = append(again, b.Cid.Bytes()...)
			again = append(again, b.Data...)
		}
		if !bytes.Equal(again, part) {
			t.Fatal("the decoded blocks re-encode to other bytes")
		}
	})
}

// FuzzDecodeAnyPart decodes arbitrary bytes as a part of whichever
// dataset its header names: decoding never panics, fails only with the
// package's part errors, and what decodes looks like a CAR (the indexer's
// cheap test never turns a valid part away) and is what DecodePart decodes
// for the root found. Its seed corpus is in
// testdata/fuzz/FuzzDecodeAnyPart.
func FuzzDecodeAnyPart(f *testing.F) {
	f.Fuzz(func(t *testing.T, part []byte) {
		root, got, err := dataset.DecodeAnyPart(part, 4<<20)
		if err != nil {
			if got != nil || root.Defined() || !isOneOf(err, partErrors) {
				t.Fatalf("got (%v, %v, %v)", root, got, err)
			}
			return
		}
		if !dataset.LooksLikeCAR(part) {
			t.Fatal("a part that decodes does not look like a CAR")
		}
		want, err := dataset.DecodePart(part, root, 4<<20)
		if err != nil || len(want) != len(got) {
			t.Fatalf("DecodePart of the root found: %d blocks, %v; DecodeAnyPart gave %d", len(want), err, len(got))
		}
		for i := range got {
			if !got[i].Cid.Equals(want[i].Cid) || got[i].Offset != want[i].Offset {
				t.Fatalf("block %d differs from DecodePart's", i)
			}
		}
	})
}

// manifestErrors are the errors DecodeManifest may return.
var manifestErrors = []error{dataset.ErrMalformedCAR, dataset.ErrMalformedManifest, dataset.ErrHashMismatch, dataset.ErrUnsupportedCID, dataset.ErrTooLarge}

// FuzzDecodeManifest decodes arbitrary bytes as a manifest CAR: decoding
// never panics, fails only with the package's manifest errors, and what
// decodes is what ManifestFor writes for it (one encoding per manifest).
// Its seed corpus is in testdata/fuzz/FuzzDecodeManifest.
func FuzzDecodeManifest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, c, err := dataset.DecodeManifest(data, 4<<20)
		if err != nil {
			if c.Defined() || !isOneOf(err, manifestErrors) {
				t.Fatalf("got (%v, %v)", c, err)
			}
			return
		}
		again, c2, err := dataset.ManifestFor(m.Root, m.Size, m.Blocks, m.Parts)
		if err != nil {
			t.Fatalf("a decoded manifest does not encode: %v", err)
		}
		if !bytes.Equal(again, data) || !c2.Equals(c) {
			t.Fatal("the decoded manifest re-encodes to other bytes")
		}
	})
}

var writeCorpus = flag.Bool("write-corpus", false, "rewrite the generated seed corpus under testdata/fuzz")

// TestSeedCorpus rewrites the seed corpus with -write-corpus; otherwise it
// checks that every seed is present, so a change to the formats that
// invalidates the corpus shows up here.
func TestSeedCorpus(t *testing.T) {
	var corpus []fuzzcorpus.Seed
	part := func(name string, data, root []byte) {
		corpus = append(corpus, fuzzcorpus.Seed{Target: "FuzzDecodePart", Name: name, Args: []any{data, root}})
	}
	manifest := func(name string, data []byte) {
		corpus = append(corpus, fuzzcorpus.Seed{Target: "FuzzDecodeManifest", Name: name, Args: []any{data}})
	}

	// A one-block part (a small file) and the first part of a small
	// directory, several blocks of both codecs.
	bs := newStore()
	small, err := dataset.ImportReader(context.Background(), bs, bytes.NewReader([]byte("hello dataset\n")))
	if err != nil {
		t.Fatal(err)
	}
	fileParts, _ := packAll(t, bs, small, 1024)
	dirRoot, dirParts := smallParts(t)
	part("raw-block", fileParts[0].Data, small.Bytes())
	part("directory", dirParts[0].Data, dirRoot.Bytes())
	part("wrong-root", dirParts[0].Data, small.Bytes())
	part("truncated", dirParts[0].Data[:len(dirParts[0].Data)-3], dirRoot.Bytes())
	tampered := bytes.Clone(dirParts[0].Data)
	tampered[len(tampered)-1] ^= 0x80
	part("tampered", tampered, dirRoot.Bytes())
	part("empty", nil, small.Bytes())
	anyPart := func(name string, data []byte) {
		corpus = append(corpus, fuzzcorpus.Seed{Target: "FuzzDecodeAnyPart", Name: name, Args: []any{data}})
	}
	anyPart("raw-block", fileParts[0].Data)
	anyPart("directory", dirParts[0].Data)
	anyPart("truncated", dirParts[0].Data[:len(dirParts[0].Data)-3])
	anyPart("tampered", tampered)
	anyPart("empty", nil)

	m, _, err := dataset.ManifestFor(dirRoot, 1000, 30, sampleRefs(3))
	if err != nil {
		t.Fatal(err)
	}
	manifest("three-parts", m)
	manifest("truncated", m[:len(m)-1])
	manifest("a-part", fileParts[0].Data)
	manifest("empty", nil)
	anyPart("a-manifest", m)

	if *writeCorpus {
		fuzzcorpus.Write(t, corpus, true)
		return
	}
	fuzzcorpus.Check(t, corpus, "go test ./dataset -run TestSeedCorpus -write-corpus")
}
