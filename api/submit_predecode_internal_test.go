package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"testing"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/internal/fuzzcorpus"
	"github.com/datamesh/mesh-node/share"
)

var writePredecodeCorpus = flag.Bool("write-predecode-corpus", false, "rewrite FuzzPredecodeSubmit's seed corpus under testdata/fuzz")

// jsonrpcRequest is the part of go-jsonrpc's request the fuzz target
// compares.
type jsonrpcRequest struct {
	Jsonrpc string            `json:"jsonrpc"`
	ID      json.RawMessage   `json:"id"`
	Method  string            `json:"method"`
	Params  json.RawMessage   `json:"params"`
	Meta    map[string]string `json:"meta,omitempty"`
}

// goJSONRPCBlobs decodes body as go-jsonrpc does a call's first parameter
// of type []*blob.Blob: the request, its parameter list, the parameter.
func goJSONRPCBlobs(body []byte) (jsonrpcRequest, []json.RawMessage, []*blob.Blob, error) {
	var req jsonrpcRequest
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&req); err != nil {
		return req, nil, nil, err
	}
	var ps []json.RawMessage
	if err := json.Unmarshal(req.Params, &ps); err != nil {
		return req, nil, nil, err
	}
	if len(ps) == 0 {
		return req, nil, nil, fmt.Errorf("no params")
	}
	var blobs []*blob.Blob
	if err := json.NewDecoder(bytes.NewReader(ps[0])).Decode(&blobs); err != nil {
		return req, ps, nil, err
	}
	return req, ps, blobs, nil
}

// FuzzPredecodeSubmit: whatever predecodeSubmit takes and rewrites to valid
// JSON was valid JSON, and go-jsonrpc would
// have decoded to the same call (method, id, blobs, the other
// parameters), and the rewritten request it hands go-jsonrpc is that call
// with null for the blobs. It never panics.
func FuzzPredecodeSubmit(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		rewritten, blobs, ok := predecodeSubmit(body)
		if !ok || !json.Valid(rewritten) { // the server checks the rewritten request
			return
		}
		if !json.Valid(body) {
			t.Fatalf("rewritten %q is valid JSON, the request %q is not", rewritten, body)
		}
		req, ps, want, err := goJSONRPCBlobs(body)
		if err != nil || req.Method != submitMethod {
			t.Fatalf("predecoded %q, which go-jsonrpc decodes to method %q, error %v", body, req.Method, err)
		}
		if len(blobs) != len(want) {
			t.Fatalf("%d blobs predecoded, go-jsonrpc %d", len(blobs), len(want))
		}
		for i := range want {
			a, b := blobs[i], want[i]
			if b == nil || a.Namespace != b.Namespace || !bytes.Equal(a.Data, b.Data) || a.ShareVersion != b.ShareVersion ||
				!bytes.Equal(a.Signer, b.Signer) || !bytes.Equal(a.Commitment, b.Commitment) || a.Index != b.Index {
				t.Fatalf("blob %d predecoded %+v, go-jsonrpc %+v", i, a, b)
			}
		}
		req2, ps2, none, err := goJSONRPCBlobs(rewritten)
		if err != nil || none != nil || req2.Method != req.Method || req2.Jsonrpc != req.Jsonrpc ||
			!bytes.Equal(req2.ID, req.ID) || fmt.Sprint(req2.Meta) != fmt.Sprint(req.Meta) || len(ps2) != len(ps) {
			t.Fatalf("rewritten %q decodes differently from %q (%v)", rewritten, body, err)
		}
		for i := 1; i < len(ps); i++ {
			if !bytes.Equal(ps2[i], ps[i]) {
				t.Fatalf("parameter %d rewritten from %s to %s", i, ps[i], ps2[i])
			}
		}
	})
}

func predecodeSeeds(t *testing.T) []fuzzcorpus.Seed {
	ns, err := share.NewV0Namespace([]byte("seed"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := blob.New(ns, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	one := string(enc)
	var seeds []fuzzcorpus.Seed
	add := func(name, body string) {
		seeds = append(seeds, fuzzcorpus.Seed{Target: "FuzzPredecodeSubmit", Name: name, Args: []any{[]byte(body)}})
	}
	add("submit", `{"jsonrpc":"2.0","id":1,"method":"blob.Submit","params":[[`+one+`],null]}`)
	add("submit-two-options", `{"jsonrpc":"2.0","id":"x","method":"blob.Submit","params":[[`+one+`, `+one+`],{"gas_price":0.1,"memo":"]\"["}],"meta":{"a":"b"}}`)
	add("params-first", `{"params":[[`+one+`],null],"method":"blob.Submit","id":1}`)
	add("folded-keys", `{"Method":"blob.Submit","params":[[`+one+`],null]}`)
	add("duplicate-params", `{"method":"blob.Submit","params":[[`+one+`],null],"params":[[],null]}`)
	add("escaped-method", `{"method":"blob.Submi\u0074","params":[[`+one+`],null]}`)
	add("null-blob", `{"method":"blob.Submit","params":[[null],null]}`)
	add("empty-blobs", `{"method":"blob.Submit","params":[[],null]}`)
	add("bad-blob", `{"method":"blob.Submit","params":[[{"namespace":"AAE=","data":"aGk="}],null]}`)
	add("trailing-data", `{"method":"blob.Submit","params":[[`+one+`],null]} x`)
	add("bad-options", `{"method":"blob.Submit","params":[[`+one+`],nul]}`)
	add("bad-id", `{"id":tru,"method":"blob.Submit","params":[[`+one+`],null]}`)
	add("other-method", `{"method":"blob.Get","params":[1,"AAE=","aGk="]}`)
	return seeds
}

func TestPredecodeCorpus(t *testing.T) {
	fuzzcorpus.Sync(t, predecodeSeeds(t), *writePredecodeCorpus, "go test ./api -run TestPredecodeCorpus -write-predecode-corpus")
}

// TestPredecodeSubmitTakes checks which requests the server decodes
// itself: the form go-jsonrpc's client sends (invalid JSON around the
// blobs included: the server's check of the rewritten request refuses
// it), and none whose decoding only go-jsonrpc gets right or whose
// errors are go-jsonrpc's to word.
func TestPredecodeSubmitTakes(t *testing.T) {
	for _, s := range predecodeSeeds(t) {
		body := s.Args[0].([]byte)
		_, blobs, ok := predecodeSubmit(body)
		want := map[string]int{"submit": 1, "submit-two-options": 2, "trailing-data": 1, "bad-options": 1, "bad-id": 1}[s.Name]
		if ok != (want > 0) || len(blobs) != want {
			t.Errorf("%s: predecoded %v with %d blobs, want %d blobs", s.Name, ok, len(blobs), want)
		}
	}
}
