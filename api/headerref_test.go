package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/filecoin-project/go-jsonrpc"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
)

// celestiaHeaderJSON returns h's JSON as celestia-node's client sends an
// ExtendedHeader back: mesh-node's JSON without the data root transaction
// and its proof (celestia-node's header has header, commit, validator_set
// and dah only).
func celestiaHeaderJSON(t *testing.T, h *header.ExtendedHeader) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(mustJSON(t, h), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "data_root_tx")
	delete(m, "data_root_proof")
	if len(m) != 4 || m["header"] == nil || m["commit"] == nil || m["validator_set"] == nil || m["dah"] == nil {
		t.Fatalf("header JSON parts %v", m)
	}
	return mustJSON(t, m)
}

// withPart returns the JSON object js with key set to value (removed when
// value is nil).
func withPart(t *testing.T, js []byte, key string, value json.RawMessage) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	if value == nil {
		delete(m, key)
	} else {
		m[key] = value
	}
	return mustJSON(t, m)
}

func TestHeaderRefJSON(t *testing.T) {
	c := newChain(t, 3, 61)
	h := c.at(2)
	celestia := celestiaHeaderJSON(t, h)
	rawOnly := withPart(t, []byte(`{}`), "header", mustJSON(t, &h.RawHeader))
	for name, js := range map[string][]byte{
		"mesh-node's":       mustJSON(t, h),
		"celestia-node's":   celestia,
		"header only":       rawOnly,
		"commit without id": withPart(t, celestia, "commit", json.RawMessage(`{"height":"2"}`)),
	} {
		var r api.HeaderRef
		if err := json.Unmarshal(js, &r); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if r.Height != 2 || !bytes.Equal(r.Hash, h.Hash()) {
			t.Errorf("%s: height %d hash %X, want 2 %X", name, r.Height, []byte(r.Hash), h.Hash())
		}
	}

	// The commit of another block: the header does not hash to it.
	otherCommit := mustJSON(t, c.at(3).Commit)
	badHeight := bytes.Replace(cmtJSON(t, &h.RawHeader), []byte(`"height":"2"`), []byte(`"height":"0"`), 1)
	for name, js := range map[string][]byte{
		"another block's commit": withPart(t, celestia, "commit", otherCommit),
		"no header":              withPart(t, celestia, "header", nil),
		"null header":            withPart(t, celestia, "header", json.RawMessage(`null`)),
		"header not an object":   withPart(t, celestia, "header", json.RawMessage(`"2"`)),
		"height 0":               withPart(t, celestia, "header", badHeight),
		"empty header":           withPart(t, celestia, "header", json.RawMessage(`{}`)),
		"not an object":          []byte(`[1,2]`),
		"a number":               []byte(`42`),
		"null":                   []byte(`null`),
	} {
		var r api.HeaderRef
		err := json.Unmarshal(js, &r)
		if !errors.Is(err, api.ErrInvalidHeaderRef) {
			t.Errorf("%s: %v, want ErrInvalidHeaderRef", name, err)
		}
		if name == "another block's commit" && (err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%X", c.at(3).Hash()))) {
			t.Errorf("%s: error %v does not name the commit's block", name, err)
		}
	}
}

// FuzzHeaderRef checks that HeaderRef's decoder never panics, wraps
// ErrInvalidHeaderRef on every failure, and returns a positive height and
// a 32-byte hash on success.
func FuzzHeaderRef(f *testing.F) {
	g := headertest.NewGenerator(headertest.Options{Seed: 62, Blobs: 1, MaxBlobSize: 64})
	for _, h := range g.Chain(f, 2) {
		js, err := json.Marshal(h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js)
		raw, err := cmtjson.Marshal(&h.RawHeader)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(`{"header":` + string(raw) + `}`))
	}
	f.Add([]byte(`{"header":{"height":"1"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r api.HeaderRef
		if err := json.Unmarshal(b, &r); err != nil {
			var syn *json.SyntaxError
			if !errors.Is(err, api.ErrInvalidHeaderRef) && !errors.As(err, &syn) {
				t.Fatalf("error %v does not wrap ErrInvalidHeaderRef", err)
			}
			return
		}
		if r.Height == 0 || len(r.Hash) != 32 {
			t.Fatalf("accepted height %d hash %X", r.Height, []byte(r.Hash))
		}
	})
}

// cmtJSON returns v in CometBFT's JSON encoding.
func cmtJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cmtjson.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// headerOnly returns {"header": h's CometBFT header in CometBFT's JSON}.
func headerOnly(t *testing.T, h *header.ExtendedHeader) []byte {
	return withPart(t, []byte(`{}`), "header", cmtJSON(t, &h.RawHeader))
}

func TestTail(t *testing.T) {
	ctx := testCtx(t)
	store := headertest.NewMemStore()
	h := newHeaders(t, store, nil)
	if _, err := h.Tail(ctx); !errors.Is(err, header.ErrNotFound) {
		t.Fatalf("empty store: %v", err)
	}
	// A node that started from a trusted header above genesis.
	later := headertest.NewGenerator(headertest.Options{Seed: 63, StartHeight: 100, Blobs: 1, MaxBlobSize: 64}).Chain(t, 3)
	if err := store.Append(ctx, later...); err != nil {
		t.Fatal(err)
	}
	got, err := api.NewHeaderModule(h).Tail(readCtx(ctx))
	if err != nil || got.Height() != 100 || !bytes.Equal(got.Hash(), later[0].Hash()) {
		t.Fatalf("Tail: %v, %v; want height 100", got, err)
	}
}

// headerShareURL serves the header and share modules over c's chain (as
// rpcURL does) and returns the URL and the header service.
func headerShareURL(t *testing.T, c *chain) (string, *api.Headers) {
	t.Helper()
	store := headertest.NewMemStore()
	if err := store.Append(testCtx(t), c.headers...); err != nil {
		t.Fatal(err)
	}
	headers := newHeaders(t, store, nil)
	shares, err := api.NewShares(api.ShareOptions{Headers: headers, Getter: squareGetter{c}})
	if err != nil {
		t.Fatal(err)
	}
	return rpcURL(t, map[string]any{"header": api.NewHeaderModule(headers), "share": api.NewShareModule(shares, api.ModuleOptions{})}), headers
}

// rpcURL serves the header and share modules over go-jsonrpc, as the
// server registers them, to calls with read permission.
func rpcURL(t *testing.T, mods map[string]any) string {
	t.Helper()
	rpc := jsonrpc.NewServer()
	for ns, m := range mods {
		rpc.Register(ns, m)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rpc.ServeHTTP(w, r.WithContext(readCtx(r.Context())))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestCelestiaShapedRequests sends the header and share modules request
// bodies as celestia-node v0.32's client sends them.
func TestCelestiaShapedRequests(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 5, 64)
	url, headers := headerShareURL(t, c)
	call := func(method, params string) rpcResp {
		t.Helper()
		_, body := post(t, url, "", callBody(method, json.RawMessage(params)))
		var r rpcResp
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("%s: %s: %v", method, body, err)
		}
		return r
	}
	heights := func(r rpcResp) []uint64 {
		t.Helper()
		if r.Error != nil {
			t.Fatalf("error %s", r.Error.Message)
		}
		var hs []*header.ExtendedHeader
		if err := json.Unmarshal(r.Result, &hs); err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for i, h := range hs {
			if !bytes.Equal(h.Hash(), c.at(h.Height()).Hash()) {
				t.Fatalf("header %d of the range is not the chain's", i)
			}
			out = append(out, h.Height())
		}
		return out
	}

	// header.GetRangeByHeight from celestia-node's header JSON, from
	// mesh-node's, and from the CometBFT header alone.
	for name, from := range map[string][]byte{
		"celestia-node's": celestiaHeaderJSON(t, c.at(2)),
		"mesh-node's":     mustJSON(t, c.at(2)),
		"header only":     headerOnly(t, c.at(2)),
	} {
		got := heights(call("header.GetRangeByHeight", fmt.Sprintf("[%s,5]", from)))
		if fmt.Sprint(got) != "[3 4]" {
			t.Errorf("%s from: heights %v, want [3 4]", name, got)
		}
	}
	// A from of another chain: both hashes in the error.
	foreign := newChain(t, 3, 65).at(2)
	r := call("header.GetRangeByHeight", fmt.Sprintf("[%s,5]", celestiaHeaderJSON(t, foreign)))
	if r.Error == nil || !strings.Contains(r.Error.Message, fmt.Sprintf("%X", foreign.Hash())) ||
		!strings.Contains(r.Error.Message, fmt.Sprintf("%X", c.at(2).Hash())) {
		t.Errorf("foreign from: %+v", r.Error)
	}
	if _, err := headers.Resolve(ctx, api.HeaderRef{Height: 2, Hash: foreign.Hash()}); !errors.Is(err, api.ErrHeaderMismatch) {
		t.Errorf("Resolve of a foreign header: %v", err)
	}
	// A from above the store's head, and a from that is not a header.
	if r := call("header.GetRangeByHeight", fmt.Sprintf("[%s,9]", celestiaHeaderJSON(t, newChain(t, 7, 66).at(7)))); r.Error == nil ||
		!strings.Contains(r.Error.Message, "not found") {
		t.Errorf("from above the head: %+v", r.Error)
	}
	for _, bad := range []string{`[{"dah":{}},5]`, `[null,5]`, `[7,5]`} {
		if r := call("header.GetRangeByHeight", bad); r.Error == nil {
			t.Errorf("GetRangeByHeight%s: %s", bad, r.Result)
		}
	}

	// header.Tail.
	r = call("header.Tail", `[]`)
	var tail header.ExtendedHeader
	if r.Error != nil || json.Unmarshal(r.Result, &tail) != nil || tail.Height() != 1 {
		t.Errorf("header.Tail: %s %+v", r.Result, r.Error)
	}

	// share.GetSamples by height, with shwap's SampleCoords.
	r = call("share.GetSamples", `[3,[{"row":1,"col":2},{"row":0,"col":0}]]`)
	if r.Error != nil {
		t.Fatalf("share.GetSamples: %s", r.Error.Message)
	}
	var samples []struct {
		Share     []byte          `json:"share"`
		Proof     json.RawMessage `json:"proof"`
		ProofType *int            `json:"proof_type"`
	}
	if err := json.Unmarshal(r.Result, &samples); err != nil || len(samples) != 2 {
		t.Fatalf("share.GetSamples result %s: %v", r.Result, err)
	}
	sq := c.square(3)
	for i, rc := range [][2]int{{1, 2}, {0, 0}} {
		if !bytes.Equal(samples[i].Share, sq.Share(rc[0], rc[1])) || samples[i].ProofType == nil || len(samples[i].Proof) < 2 {
			t.Errorf("sample %d: %+v", i, samples[i])
		}
	}
	if r := call("share.GetSamples", `[3,[{"row":0,"col":99}]]`); r.Error == nil || !strings.Contains(r.Error.Message, "index out of bounds") {
		t.Errorf("out of bounds: %+v", r.Error)
	}
}
