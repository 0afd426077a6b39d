package header_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/internal/fuzzcorpus"
)

func TestBinaryRoundTrip(t *testing.T) {
	for _, h := range headertest.NewGenerator(headertest.Options{Seed: 5, Blobs: 6}).Chain(t, 3) {
		b, err := h.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got, err := header.UnmarshalExtendedHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("decoded header: %v", err)
		}
		if !bytes.Equal(got.Hash(), h.Hash()) || !got.DAH.Equals(h.DAH) || !bytes.Equal(got.DataRootTx, h.DataRootTx) {
			t.Fatal("decoded header differs")
		}
		again, err := got.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs: %v", err)
		}
		b[len(b)/2] ^= 0xFF // the result must not alias the input
		if !bytes.Equal(got.Hash(), h.Hash()) || got.Validate() != nil {
			t.Fatal("decoded header aliases its input")
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	chain := headertest.NewGenerator(headertest.Options{Seed: 6}).Chain(t, 2)
	h := chain[1]
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	// CometBFT's JSON: int64 as strings, typed public keys, Celestia's field names.
	for _, want := range []string{`"height":"2"`, `"voting_power":"10"`, `"tendermint/PubKeyEd25519"`,
		`"dah":{"row_roots":[`, `"column_roots":[`, `"validator_set":{`, `"commit":{`, `"data_root_proof":{"total":"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
	var got header.ExtendedHeader
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("decoded header: %v", err)
	}
	if err := header.Verify(chain[0], &got, header.VerifyOptions{Now: now(chain)}); err != nil {
		t.Fatalf("decoded header does not verify: %v", err)
	}
	wantBin, _ := h.MarshalBinary()
	gotBin, err := got.MarshalBinary()
	if err != nil || !bytes.Equal(gotBin, wantBin) {
		t.Fatalf("JSON round trip changed the header: %v", err)
	}
	for name, bad := range map[string]string{
		"not JSON":   `{"header":`,
		"no DAH":     strings.Replace(string(b), `"dah":`, `"dah_":`, 1),
		"bad DAH":    `{"header":{},"commit":{},"validator_set":{},"data_root_proof":{},"dah":{"row_roots":[],"column_roots":[]}}`,
		"int64 type": strings.Replace(string(b), `"height":"2"`, `"height":2`, 1),
		"too large":  `{"data_root_tx":"` + strings.Repeat("A", 3*header.MaxExtendedHeaderSize) + `"}`,
		// CometBFT's JSON decoder takes an ed25519 key of any length, and
		// CometBFT panics on it later; UnmarshalJSON must reject it.
		"short public key": strings.Replace(string(b), `"value":"`, `"value":"AAAA`, 1),
	} {
		if err := json.Unmarshal([]byte(bad), new(header.ExtendedHeader)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func TestUnmarshalRejects(t *testing.T) {
	h := headertest.NewGenerator(headertest.Options{Seed: 7}).Chain(t, 1)[0]
	good, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	field := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
	}
	// good split into its fields.
	var fields [][]byte
	for rest := good; len(rest) > 0; {
		_, _, n := protowire.ConsumeField(rest)
		if n < 0 {
			t.Fatal(protowire.ParseError(n))
		}
		fields = append(fields, rest[:n])
		rest = rest[n:]
	}
	withoutProof := bytes.Join(fields[:len(fields)-1], nil)
	for name, b := range map[string][]byte{
		"empty":          nil,
		"truncated":      good[:len(good)-1],
		"too large":      append(bytes.Clone(good), field(100, make([]byte, header.MaxExtendedHeaderSize))...),
		"missing field":  withoutProof,
		"repeated field": append(bytes.Clone(good), fields[len(fields)-1]...),
		"wire type":      append(withoutProof, protowire.AppendVarint(protowire.AppendTag(nil, 6, protowire.VarintType), 1)...),
		"bad header":     append(field(1, []byte{0xFF}), good[len(fields[0]):]...),
		"bad DAH":        bytes.Join([][]byte{fields[0], fields[1], fields[2], field(4, []byte{1, 2}), fields[4], fields[5]}, nil),
	} {
		if _, err := header.UnmarshalExtendedHeader(b); !errors.Is(err, header.ErrInvalidEncoding) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	// Unknown fields are skipped.
	if _, err := header.UnmarshalExtendedHeader(append(bytes.Clone(good), field(42, []byte("future"))...)); err != nil {
		t.Errorf("unknown field: %v", err)
	}
}

// FuzzUnmarshalExtendedHeader decodes arbitrary bytes; whatever decodes
// must validate or fail without panicking, and re-encode to bytes that
// decode to the same header. The seed corpus in
// testdata/fuzz/FuzzUnmarshalExtendedHeader is written by
// TestWriteFuzzSeeds.
func FuzzUnmarshalExtendedHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := header.UnmarshalExtendedHeader(b)
		if err != nil {
			if !errors.Is(err, header.ErrInvalidEncoding) {
				t.Fatalf("error %v does not wrap ErrInvalidEncoding", err)
			}
			return
		}
		_ = h.Validate()
		_, _ = json.Marshal(h)
		again, err := h.MarshalBinary()
		if err != nil {
			return // e.g. a DAH that decodes but does not re-encode
		}
		h2, err := header.UnmarshalExtendedHeader(again)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !bytes.Equal(h2.Hash(), h.Hash()) {
			t.Fatal("re-encoding changed the header")
		}
	})
}

// TestWriteFuzzSeeds regenerates the seed corpus of
// FuzzUnmarshalExtendedHeader when HEADER_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("HEADER_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set HEADER_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzUnmarshalExtendedHeader")
	}
	g := headertest.NewGenerator(headertest.Options{Seed: 11, Validators: 3, Blobs: 1, MaxBlobSize: 100})
	seeds := map[string][]byte{}
	for i, h := range g.Chain(t, 2) {
		b, err := h.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		seeds[fmt.Sprintf("valid_height_%d", i+1)] = b
	}
	seeds["truncated"] = seeds["valid_height_2"][:200]
	writeSeeds(t, "FuzzUnmarshalExtendedHeader", seeds)

	h := g.Must(t)
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	writeSeeds(t, "FuzzUnmarshalJSON", map[string][]byte{
		"valid_height_3": j,
		// A key of the wrong length: CometBFT's JSON decoder accepts it.
		"short_pubkey": bytes.Replace(j, []byte(`"value":"`), []byte(`"value":"AAAA`), 1),
	})
}

// writeSeeds writes seeds as the corpus files of target.
func writeSeeds(t *testing.T, target string, seeds map[string][]byte) {
	t.Helper()
	var corpus []fuzzcorpus.Seed
	for name, b := range seeds {
		corpus = append(corpus, fuzzcorpus.Seed{Target: target, Name: name, Args: []any{b}})
	}
	fuzzcorpus.Write(t, corpus, false)
}

// FuzzUnmarshalJSON decodes arbitrary JSON; whatever decodes must validate
// or fail without panicking. Its seeds (testdata/fuzz/FuzzUnmarshalJSON)
// are written by TestWriteFuzzSeeds too.
func FuzzUnmarshalJSON(f *testing.F) {
	f.Add([]byte(`{"header":{"height":"-1"},"validator_set":{"validators":[{"pub_key":{"type":"tendermint/PubKeyEd25519","value":"AA=="},"voting_power":"1"}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h header.ExtendedHeader
		if err := json.Unmarshal(b, &h); err != nil {
			return
		}
		_ = h.Validate()
		if _, err := h.MarshalBinary(); err != nil {
			t.Fatalf("decoded JSON does not encode: %v", err)
		}
	})
}
