package eds_test

// Fuzz targets for the decoders of samples, IDs, namespace data and
// bad-encoding proofs. Beyond "no panic, errors wrap the sentinel, decoding
// round-trips", each checks soundness against a fixed square: whatever
// decodes and verifies must be what the square holds.

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"slices"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/internal/fuzzcorpus"
	"github.com/datamesh/mesh-node/share"
)

// fuzzFixture holds the squares the fuzz targets check against.
type fuzzFixture struct {
	// e is a 2×2 square laid out as [10 20; 20 tail padding], dah its
	// header.
	e   *eds.ExtendedDataSquare
	dah *eds.DataAvailabilityHeader
	// honest is the header of a random 2×2 square, bad that of the same
	// square with share (badRow, badCol) corrupted, and evidence Repair's
	// answer for it.
	honest, bad    *eds.DataAvailabilityHeader
	badRow, badCol int
	evidence       *eds.ErrByzantineData
}

func newFuzzFixture(tb testing.TB) *fuzzFixture {
	tb.Helper()
	f := &fuzzFixture{badRow: 0, badCol: 3}
	f.e, f.dah = runsSquare(tb, 2, run{0x10, 1}, run{0x20, 2})
	_, f.honest, _ = square(tb, 77, 2)
	var flat [][]byte
	f.bad, flat = corrupted(tb, 2, f.badRow, f.badCol)
	_, err := eds.Repair(f.bad, flat)
	if !errors.As(err, &f.evidence) {
		tb.Fatalf("fixture: %v", err)
	}
	return f
}

// fuzzIndex maps a fuzz byte to an index in [-1, w].
func fuzzIndex(b byte, w int) int { return int(b)%(w+2) - 1 }

// fuzzNamespace maps a fuzz byte to a namespace: v0(b), except 0xFE for
// tail padding and 0xFF for the parity namespace.
func fuzzNamespace(b byte) share.Namespace {
	switch b {
	case 0xFE:
		return share.TailPaddingNamespace
	case 0xFF:
		return share.ParitySharesNamespace
	}
	return v0(b)
}

func FuzzUnmarshalSample(f *testing.F) {
	fx := newFuzzFixture(f)
	w := fx.e.Width()
	f.Fuzz(func(t *testing.T, data []byte, row, col byte) {
		s, err := eds.UnmarshalSample(data)
		if err != nil {
			if s != nil || !errors.Is(err, eds.ErrInvalidSample) {
				t.Fatalf("got (%v, %v)", s, err)
			}
			return
		}
		enc, err := s.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded a sample that does not encode: %v", err)
		}
		if len(enc) > len(data) {
			t.Fatalf("canonical encoding (%d bytes) longer than the input (%d)", len(enc), len(data))
		}
		again, err := eds.UnmarshalSample(enc)
		if err != nil || !bytes.Equal(again.Share, s.Share) || again.Axis != s.Axis || !equalProofs(again.Proof, s.Proof) {
			t.Fatalf("round trip: %v", err)
		}
		r, c := fuzzIndex(row, w), fuzzIndex(col, w)
		err = s.Verify(fx.dah, r, c)
		if err == nil && !bytes.Equal(s.Share, fx.e.Share(r, c)) {
			t.Fatalf("verified a share that is not the one at (%d, %d)", r, c)
		}
		if err != nil && !errors.Is(err, eds.ErrInvalidSample) {
			t.Fatal(err)
		}
	})
}

func FuzzUnmarshalIDs(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(name string, id interface{ MarshalBinary() ([]byte, error) }, err error) {
			if err != nil {
				if !errors.Is(err, eds.ErrInvalidID) {
					t.Fatalf("%s: %v", name, err)
				}
				return
			}
			enc, err := id.MarshalBinary()
			if err != nil || !bytes.Equal(enc, data) {
				t.Fatalf("%s: round trip gives (%x, %v)", name, enc, err)
			}
		}
		e, err := eds.UnmarshalEdsID(data)
		check("EdsID", e, err)
		r, err := eds.UnmarshalRowID(data)
		check("RowID", r, err)
		if err == nil {
			checkValidate(t, r.Validate, r.Row)
		}
		s, err := eds.UnmarshalSampleID(data)
		check("SampleID", s, err)
		if err == nil {
			checkValidate(t, s.Validate, max(s.Row, s.Col))
		}
		n, err := eds.UnmarshalRowNamespaceDataID(data)
		check("RowNamespaceDataID", n, err)
		if err == nil {
			checkValidate(t, n.Validate, n.Row)
		}
	})
}

// checkValidate checks that an ID whose largest index is i validates
// against a width w exactly when i < w.
func checkValidate(t *testing.T, validate func(width int) error, i int) {
	t.Helper()
	for _, w := range []int{2, 256, 1024} {
		if err := validate(w); (err == nil) != (i < w) {
			t.Fatalf("index %d, width %d: %v", i, w, err)
		}
	}
}

func FuzzUnmarshalRowNamespaceData(f *testing.F) {
	fx := newFuzzFixture(f)
	w := fx.e.Width()
	f.Fuzz(func(t *testing.T, data []byte, nsByte, row byte) {
		d, err := eds.UnmarshalRowNamespaceData(data)
		if err != nil {
			if d != nil || !errors.Is(err, eds.ErrInvalidNamespaceData) {
				t.Fatalf("got (%v, %v)", d, err)
			}
			return
		}
		enc, err := d.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded data that does not encode: %v", err)
		}
		if len(enc) > len(data) {
			t.Fatalf("canonical encoding (%d bytes) longer than the input (%d)", len(enc), len(data))
		}
		again, err := eds.UnmarshalRowNamespaceData(enc)
		if err != nil || !slices.EqualFunc(again.Shares, d.Shares, bytes.Equal) || !equalProofs(again.Proof, d.Proof) {
			t.Fatalf("round trip: %v", err)
		}
		ns, r := fuzzNamespace(nsByte), fuzzIndex(row, w)
		err = d.Verify(fx.dah, ns, r)
		if err != nil {
			if !errors.Is(err, eds.ErrInvalidNamespaceData) {
				t.Fatal(err)
			}
			return
		}
		// Verified: the shares are all the row's shares of ns.
		want, werr := fx.e.RowNamespaceData(ns, r)
		if werr != nil {
			t.Fatalf("verified data the square cannot produce: %v", werr)
		}
		if !slices.EqualFunc(d.Shares, want.Shares, bytes.Equal) {
			t.Fatalf("verified %d shares of %s in row %d, the square has %d", len(d.Shares), ns, r, len(want.Shares))
		}
	})
}

func FuzzUnmarshalBadEncodingProof(f *testing.F) {
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := eds.UnmarshalBadEncodingProof(data)
		if err != nil {
			if p != nil || !errors.Is(err, eds.ErrInvalidBadEncodingProof) {
				t.Fatalf("got (%v, %v)", p, err)
			}
			return
		}
		enc, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded a proof that does not encode: %v", err)
		}
		if len(enc) > len(data) {
			t.Fatalf("canonical encoding (%d bytes) longer than the input (%d)", len(enc), len(data))
		}
		again, err := eds.UnmarshalBadEncodingProof(enc)
		if err != nil || !equalBEFP(again, p) {
			t.Fatalf("round trip: %v", err)
		}
		if err := p.Validate(fx.honest); err == nil {
			t.Fatalf("proof of bad encoding for an honest square: %s %d", p.Axis, p.Index)
		} else if !errors.Is(err, eds.ErrInvalidBadEncodingProof) {
			t.Fatal(err)
		}
		// Only the row and the column through the corrupted cell are
		// badly encoded.
		if err := p.Validate(fx.bad); err == nil && !(p.Axis == eds.Row && p.Index == fx.badRow || p.Axis == eds.Col && p.Index == fx.badCol) {
			t.Fatalf("proof of bad encoding for %s %d, which is a codeword", p.Axis, p.Index)
		}
	})
}

// Seed corpus. The files under testdata/fuzz for the targets above are
// generated by
//
//	go test ./eds -run TestFuzzCorpus -write-corpus
//
// and TestFuzzCorpus checks they are current. (FuzzUnmarshalDAH's seeds
// are written by hand.)

var writeCorpus = flag.Bool("write-corpus", false, "rewrite the generated seed corpus under testdata/fuzz")

func fuzzSeeds(t *testing.T) []fuzzcorpus.Seed {
	fx := newFuzzFixture(t)
	var seeds []fuzzcorpus.Seed
	add := func(target, name string, args ...any) {
		seeds = append(seeds, fuzzcorpus.Seed{Target: target, Name: name, Args: args})
	}
	enc := func(m interface{ MarshalBinary() ([]byte, error) }) []byte {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	for _, rc := range [][2]int{{0, 0}, {0, 1}, {1, 1}, {0, 3}, {3, 0}, {2, 3}} {
		for _, axis := range axes {
			s, err := fx.e.Sample(rc[0], rc[1], axis)
			if err != nil {
				t.Fatal(err)
			}
			add("FuzzUnmarshalSample", fmt.Sprintf("cell-%d-%d-%s", rc[0], rc[1], axis), enc(s), byte(rc[0]+1), byte(rc[1]+1))
		}
	}
	s, _ := fx.e.Sample(1, 0, eds.Col)
	add("FuzzUnmarshalSample", "edge-empty", []byte{}, byte(1), byte(1))
	add("FuzzUnmarshalSample", "edge-share-only", appendBytesField(nil, 1, shareMsg(s.Share)), byte(2), byte(1))
	add("FuzzUnmarshalSample", "edge-axis-2", appendVarintField(enc(s), 3, 2), byte(2), byte(1))

	ns1, _ := share.NewV0Namespace([]byte{0x20})
	for name, id := range map[string]interface{ MarshalBinary() ([]byte, error) }{
		"eds":       eds.EdsID{Height: 1},
		"row":       eds.RowID{Height: 1 << 40, Row: 3},
		"sample":    eds.SampleID{Height: 7, Row: 1, Col: 1023},
		"namespace": eds.RowNamespaceDataID{Height: 7, Row: 2, Namespace: ns1},
	} {
		add("FuzzUnmarshalIDs", "valid-"+name, enc(id))
	}
	add("FuzzUnmarshalIDs", "edge-zero-height", make([]byte, eds.EdsIDSize))
	add("FuzzUnmarshalIDs", "edge-nine-bytes", []byte{0, 0, 0, 0, 0, 0, 0, 1, 0})

	for _, b := range []byte{0x05, 0x10, 0x15, 0x20, 0xFE} {
		for row := 0; row < 3; row++ {
			d, err := fx.e.RowNamespaceData(fuzzNamespace(b), row)
			if err != nil {
				t.Fatal(err)
			}
			add("FuzzUnmarshalRowNamespaceData", fmt.Sprintf("ns%02x-row%d", b, row), enc(d), b, byte(row+1))
		}
	}
	add("FuzzUnmarshalRowNamespaceData", "edge-empty", []byte{}, byte(0x10), byte(1))
	add("FuzzUnmarshalRowNamespaceData", "edge-parity", appendBytesField(nil, 2, []byte{0x28, 0x01}), byte(0xFF), byte(1))

	p, err := eds.NewBadEncodingProof(headerHash, 5, fx.evidence)
	if err != nil {
		t.Fatal(err)
	}
	add("FuzzUnmarshalBadEncodingProof", "evidence", enc(p))
	e77, _, _ := square(t, 77, 2)
	add("FuzzUnmarshalBadEncodingProof", "honest-row-0", enc(honestProof(t, e77, eds.Row, 0, []int{0, 1}, eds.Col)))
	add("FuzzUnmarshalBadEncodingProof", "honest-col-3", enc(honestProof(t, e77, eds.Col, 3, []int{1, 3}, eds.Row)))
	add("FuzzUnmarshalBadEncodingProof", "edge-empty", []byte{})
	add("FuzzUnmarshalBadEncodingProof", "edge-hash-only", appendBytesField(nil, 1, headerHash))
	return seeds
}

func TestFuzzCorpus(t *testing.T) {
	if *writeCorpus {
		fuzzcorpus.Write(t, fuzzSeeds(t), true)
		return
	}
	fuzzcorpus.Check(t, fuzzSeeds(t), "go test ./eds -run TestFuzzCorpus -write-corpus")
}
