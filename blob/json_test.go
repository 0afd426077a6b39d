package blob_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/internal/fuzzcorpus"
	"github.com/datamesh/mesh-node/share"
)

func TestBlobJSON(t *testing.T) {
	f := newFixture(t, 2, 2)
	b, err := f.svc.Get(ctxT(t), customHeight, nsB, f.expected(t, customHeight)[2].Commitment)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(enc, &fields); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"commitment", "data", "index", "namespace", "share_version"}; !slices.Equal(keys, want) {
		t.Fatalf("JSON fields %v, want %v", keys, want)
	}
	var back blob.Blob
	if err := json.Unmarshal(enc, &back); err != nil {
		t.Fatal(err)
	}
	sameBlob(t, &back, b)

	// A commitment that is not the data's is rejected; a missing one is
	// computed, and a missing index is -1.
	var m map[string]any
	_ = json.Unmarshal(enc, &m)
	m["commitment"] = bytes.Repeat([]byte{7}, 32)
	bad, _ := json.Marshal(m)
	if err := json.Unmarshal(bad, &back); !errors.Is(err, blob.ErrInvalidBlob) {
		t.Fatalf("mismatched commitment: %v, want ErrInvalidBlob", err)
	}
	delete(m, "commitment")
	delete(m, "index")
	partial, _ := json.Marshal(m)
	var filled blob.Blob
	if err := json.Unmarshal(partial, &filled); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(filled.Commitment, b.Commitment) || filled.Index != -1 {
		t.Fatalf("commitment %X index %d; want %X -1", filled.Commitment, filled.Index, b.Commitment)
	}

	// SubscriptionResponse and CommitmentResult shapes.
	r, _ := json.Marshal(&blob.SubscriptionResponse{Blobs: []*blob.Blob{}, Height: 3})
	if string(r) != `{"Blobs":[],"Height":3,"Header":null}` {
		t.Fatalf("SubscriptionResponse JSON %s", r)
	}
	cr, _ := json.Marshal(&blob.CommitmentResult{Height: 3})
	if string(cr) != `{"height":3,"blob":null}` {
		t.Fatalf("CommitmentResult JSON %s", cr)
	}
}

// TestSubscriptionResponseJSON checks the shape celestia-node's client
// decodes: its SubscriptionResponse has no JSON tags, so the keys are the
// Go field names, and Header is the CometBFT header in encoding/json's
// encoding (the height a number, hashes upper-case hex).
func TestSubscriptionResponseJSON(t *testing.T) {
	f := newFixture(t, 2, 2)
	h := f.headers[1]
	enc, err := json.Marshal(&blob.SubscriptionResponse{Blobs: []*blob.Blob{}, Height: h.Height(), Header: &h.RawHeader})
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Blobs  json.RawMessage
		Height json.RawMessage
		Header map[string]json.RawMessage
	}
	if err := json.Unmarshal(enc, &m); err != nil {
		t.Fatal(err)
	}
	if string(m.Blobs) != "[]" || string(m.Height) != "2" || string(m.Header["height"]) != "2" ||
		string(m.Header["chain_id"]) != `"`+h.ChainID()+`"` {
		t.Fatalf("SubscriptionResponse JSON %s", enc)
	}
	if got, want := string(m.Header["last_block_id"]), fmt.Sprintf(`"hash":"%X"`, h.LastHeader()); !strings.Contains(got, want) {
		t.Fatalf("last_block_id %s, want %s in it", got, want)
	}
	var back blob.SubscriptionResponse
	if err := json.Unmarshal(enc, &back); err != nil {
		t.Fatal(err)
	}
	if back.Header == nil || !bytes.Equal(back.Header.Hash(), h.Hash()) || back.Height != 2 {
		t.Fatalf("decoded %+v", back)
	}
	// mesh-node's earlier lower-case keys still decode (encoding/json
	// matches keys without case).
	if err := json.Unmarshal([]byte(`{"blobs":[],"height":7}`), &back); err != nil || back.Height != 7 {
		t.Fatalf("lower-case keys: %v, %+v", err, back)
	}
}

// Seeds of FuzzBlobUnmarshalJSON are generated; rewrite them with
//
//	go test ./blob -run TestFuzzCorpus -write-corpus
//
// and TestFuzzCorpus checks they are current.

var writeCorpus = flag.Bool("write-corpus", false, "rewrite the generated seed corpus under testdata/fuzz")

func fuzzSeeds(t *testing.T) []fuzzcorpus.Seed {
	var seeds []fuzzcorpus.Seed
	add := func(name string, data []byte) {
		seeds = append(seeds, fuzzcorpus.Seed{Target: "FuzzBlobUnmarshalJSON", Name: name, Args: []any{data}})
	}
	enc := func(b *blob.Blob) []byte {
		out, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	small, err := blob.New(nsA, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	add("v0-small", enc(small))
	large, err := blob.New(nsB, pattern(2000, 5))
	if err != nil {
		t.Fatal(err)
	}
	large.Index = 130
	add("v0-multi-share-indexed", enc(large))
	signed, err := blob.FromShare(nsA, []byte("signed"), share.ShareVersionOne, bytes.Repeat([]byte{0xAB}, share.SignerSize))
	if err != nil {
		t.Fatal(err)
	}
	add("v1-signer", enc(signed))
	add("no-commitment", []byte(`{"namespace":"`+b64(nsA[:])+`","data":"aGk=","share_version":0}`))
	add("wrong-commitment", []byte(`{"namespace":"`+b64(nsA[:])+`","data":"aGk=","share_version":0,"commitment":"`+b64(make([]byte, 32))+`"}`))
	add("reserved-namespace", []byte(`{"namespace":"`+b64(share.TxNamespace[:])+`","data":"aGk=","share_version":0}`))
	add("short-namespace", []byte(`{"namespace":"AAE=","data":"aGk=","share_version":0}`))
	add("empty-object", []byte(`{}`))
	add("not-json", []byte(`{"namespace":`))
	// FuzzBlobJSONFast compares the one-pass decoder with encoding/json:
	// the same inputs, and the forms on either side of the fast path's
	// edge.
	for _, s := range slices.Clone(seeds) {
		seeds = append(seeds, fuzzcorpus.Seed{Target: "FuzzBlobJSONFast", Name: s.Name, Args: s.Args})
	}
	addFast := func(name, data string) {
		seeds = append(seeds, fuzzcorpus.Seed{Target: "FuzzBlobJSONFast", Name: name, Args: []any{[]byte(data)}})
	}
	addFast("white-space-and-nulls", " {\n\t\"data\" : \"aGk=\" , \"signer\":null,\"commitment\":null } \r\n")
	addFast("folded-key", `{"Data":"aGk=","ſigner":"aGk="}`)
	addFast("duplicate-key", `{"index":1,"index":2}`)
	addFast("escaped-base64", `{"data":"aG\u0073="}`)
	addFast("numbers", `{"share_version":1.0,"index":-0}`)
	addFast("number-overflow", `{"share_version":256,"index":99999999999999999999}`)
	addFast("leading-zero", `{"index":01}`)
	addFast("null-number", `{"index":null,"share_version":null}`)
	addFast("bad-padding", `{"data":"aGk"}`)
	addFast("trailing-data", `{"data":"aGk="} x`)
	addFast("array-data", `{"data":[104,105]}`)
	return seeds
}

func b64(b []byte) string {
	out, _ := json.Marshal(b)
	return string(out[1 : len(out)-1])
}

func TestFuzzCorpus(t *testing.T) {
	if *writeCorpus {
		fuzzcorpus.Write(t, fuzzSeeds(t), true)
		return
	}
	fuzzcorpus.Check(t, fuzzSeeds(t), "go test ./blob -run TestFuzzCorpus -write-corpus")
}

// FuzzBlobUnmarshalJSON: decoding never panics, and what decodes is a
// valid blob whose encoding decodes to the same blob.
func FuzzBlobUnmarshalJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var b blob.Blob
		if err := json.Unmarshal(data, &b); err != nil {
			return
		}
		sb, err := b.ShareBlob()
		if err != nil {
			t.Fatalf("decoded an invalid blob: %v", err)
		}
		c, err := sb.Commitment()
		if err != nil || !bytes.Equal(c, b.Commitment) {
			t.Fatalf("decoded commitment %X, the data's %X (%v)", b.Commitment, c, err)
		}
		enc, err := json.Marshal(&b)
		if err != nil {
			t.Fatal(err)
		}
		var back blob.Blob
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("re-decoding %s: %v", enc, err)
		}
		if back.Namespace != b.Namespace || !bytes.Equal(back.Data, b.Data) || back.ShareVersion != b.ShareVersion ||
			!bytes.Equal(back.Signer, b.Signer) || !bytes.Equal(back.Commitment, b.Commitment) || back.Index != b.Index {
			t.Fatal("round trip changed the blob")
		}
	})
}
