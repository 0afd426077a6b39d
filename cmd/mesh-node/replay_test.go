package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/kzg"
)

// The replay pairs of docs/api.md (section "Requests celestia-node clients
// send"): an HTML comment
//
//	<!-- replay NODE [vary: KEY ...] -->
//
// followed by two ```json blocks, the request and the expected response.
// See that section for the rules this file implements.

// apiDoc is the API reference, relative to this package.
const apiDoc = "../../docs/api.md"

// minReplayPairs is the fewest replay pairs docs/api.md may have: fewer
// means its format changed and the replay would check little.
const minReplayPairs = 15

// heightPlaceholder stands for the height the test's blob landed at.
const heightPlaceholder = "42"

// helloCommitment is the base64 commitment of the doc's example blob
// ("hello" in namespace "example"), which the doc writes literally.
const helloNamespace = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAGV4YW1wbGU="

var replayRe = regexp.MustCompile(`^<!-- replay (light|full|bridge)(?: vary: ([^>]*?))? -->$`)

// replayPair is one request with its expected response.
type replayPair struct {
	line     int // of the comment, for messages
	node     string
	vary     []string // key patterns (path.Match); "k?" also means optional
	request  string
	response string
}

// parseReplay reads the replay pairs of the doc. A comment starting with
// "<!-- replay" that does not parse, or that is not followed by two json
// blocks, is an error.
func parseReplay(doc []byte) ([]replayPair, error) {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(doc))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	// block returns the next ```json block at or after i, skipping blank
	// lines only, and the line after it.
	block := func(i int) (string, int, error) {
		for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
			i++
		}
		if i >= len(lines) || lines[i] != "```json" {
			return "", 0, fmt.Errorf("line %d: want a ```json block", i+1)
		}
		var b strings.Builder
		for j := i + 1; j < len(lines); j++ {
			if lines[j] == "```" {
				return b.String(), j + 1, nil
			}
			b.WriteString(lines[j])
			b.WriteByte('\n')
		}
		return "", 0, fmt.Errorf("line %d: unterminated block", i+1)
	}
	var pairs []replayPair
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "<!-- replay") {
			continue
		}
		m := replayRe.FindStringSubmatch(lines[i])
		if m == nil {
			return nil, fmt.Errorf("line %d: malformed replay comment %q", i+1, lines[i])
		}
		p := replayPair{line: i + 1, node: m[1], vary: strings.Fields(m[2])}
		for _, v := range p.vary {
			if _, err := path.Match(strings.TrimSuffix(v, "?"), ""); err != nil {
				return nil, fmt.Errorf("line %d: bad vary pattern %q", i+1, v)
			}
		}
		req, next, err := block(i + 1)
		if err != nil {
			return nil, fmt.Errorf("replay at line %d: request: %w", i+1, err)
		}
		resp, next, err := block(next)
		if err != nil {
			return nil, fmt.Errorf("replay at line %d: response: %w", i+1, err)
		}
		p.request, p.response = req, resp
		pairs = append(pairs, p)
		i = next - 1
	}
	return pairs, nil
}

// decodeJSON decodes s keeping numbers as json.Number.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}

// substituteHeight returns v with every number 42 replaced by h (and, when
// strings is set, every string "42" by the decimal string of h).
func substituteHeight(v any, h uint64, strs bool) any {
	switch x := v.(type) {
	case json.Number:
		if string(x) == heightPlaceholder {
			return json.Number(strconv.FormatUint(h, 10))
		}
	case string:
		if strs && x == heightPlaceholder {
			return strconv.FormatUint(h, 10)
		}
	case []any:
		for i := range x {
			x[i] = substituteHeight(x[i], h, strs)
		}
	case map[string]any:
		for k := range x {
			x[k] = substituteHeight(x[k], h, strs)
		}
	}
	return v
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// varies reports whether key matches a vary pattern, and whether the
// matching pattern makes it optional.
func varies(vary []string, key string) (match, optional bool) {
	for _, p := range vary {
		opt := strings.HasSuffix(p, "?")
		if ok, _ := path.Match(strings.TrimSuffix(p, "?"), key); ok {
			return true, opt
		}
	}
	return false, false
}

// compareJSON appends to errs every difference between want (the doc) and
// got (the node): a missing or extra key, another type, another value
// where the value is fixed, another array length. Values under a key that
// matches vary need only have the same JSON type.
func compareJSON(at string, want, got any, vary []string, errs *[]string) {
	if jsonType(want) != jsonType(got) {
		*errs = append(*errs, fmt.Sprintf("%s: %s %s, want %s", at, jsonType(got), short(got), jsonType(want)))
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		keys := make(map[string]bool)
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range keys {
				if !yield(k) {
					return
				}
			}
		}) {
			wv, inW := w[k]
			gv, inG := g[k]
			match, optional := varies(vary, k)
			switch {
			case inW && !inG && !optional:
				*errs = append(*errs, fmt.Sprintf("%s.%s: missing", at, k))
			case !inW && inG && !optional:
				*errs = append(*errs, fmt.Sprintf("%s.%s: not documented (%s)", at, k, short(gv)))
			case inW && inG && match:
				if jsonType(wv) != jsonType(gv) {
					*errs = append(*errs, fmt.Sprintf("%s.%s: %s %s, want %s", at, k, jsonType(gv), short(gv), jsonType(wv)))
				}
			case inW && inG:
				compareJSON(at+"."+k, wv, gv, vary, errs)
			}
		}
	case []any:
		g := got.([]any)
		if len(w) != len(g) {
			*errs = append(*errs, fmt.Sprintf("%s: %d elements, want %d", at, len(g), len(w)))
			return
		}
		for i := range w {
			compareJSON(fmt.Sprintf("%s[%d]", at, i), w[i], g[i], vary, errs)
		}
	default:
		if !reflect.DeepEqual(want, got) {
			*errs = append(*errs, fmt.Sprintf("%s: %s, want %s", at, short(got), short(want)))
		}
	}
}

// short is v's JSON, cut to a readable length.
func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}

// readAPIDoc returns docs/api.md and its replay pairs, failing the test if
// there are fewer than minReplayPairs.
func readAPIDoc(t *testing.T) ([]byte, []replayPair) {
	t.Helper()
	doc, err := os.ReadFile(filepath.FromSlash(apiDoc))
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := parseReplay(doc)
	if err != nil {
		t.Fatalf("docs/api.md: %v", err)
	}
	if len(pairs) < minReplayPairs {
		t.Fatalf("docs/api.md has %d replay pairs, want at least %d: did the format change?", len(pairs), minReplayPairs)
	}
	return doc, pairs
}

// TestDocsAPI checks docs/api.md without a node: every RPC method of every
// module has a section; the replay pairs parse, are JSON-RPC requests and
// responses, and there are enough of them; the example blob's commitment
// is the one blob.New computes.
func TestDocsAPI(t *testing.T) {
	doc, pairs := readAPIDoc(t)
	text := string(doc)
	modules := map[string]any{
		"blob": &api.BlobModule{}, "header": &api.HeaderModule{}, "share": &api.ShareModule{},
		"das": &api.DASModule{}, "state": &api.StateModule{}, "p2p": &api.P2PModule{}, "node": &api.NodeModule{},
		"fraud": &api.FraudModule{}, "kzg": &api.KZGModule{}, "dataset": &api.DatasetModule{}, "blobstream": &api.BlobstreamModule{},
	}
	for ns, m := range modules {
		typ := reflect.TypeOf(m)
		for i := range typ.NumMethod() {
			name := ns + "." + typ.Method(i).Name
			if !strings.Contains(text, "\n### "+name+"\n") {
				t.Errorf("docs/api.md has no section %q", "### "+name)
			}
		}
	}

	hello := testBlob(t, "example", "hello")
	if got := base64.StdEncoding.EncodeToString(hello.Namespace[:]); got != helloNamespace {
		t.Fatalf("namespace example is %s, want %s", got, helloNamespace)
	}
	c := base64.StdEncoding.EncodeToString(hello.Commitment)
	if !strings.Contains(text, `"`+c+`"`) {
		t.Errorf("docs/api.md does not show the example blob's commitment %s", c)
	}
	kc, err := kzg.Commit(hello.Data)
	if err != nil {
		t.Fatal(err)
	}
	kzgHello := fmt.Sprintf(`"chunks":[{"commitment":"%s","versioned_hash":"%s"}]`,
		base64.StdEncoding.EncodeToString(kc[0].Commitment[:]), blob.Hex32(kc[0].VersionedHash))
	if !strings.Contains(text, kzgHello) {
		t.Errorf("docs/api.md does not show kzg.Commit's answer for the example blob, %s", kzgHello)
	}

	for _, p := range pairs {
		req, err := decodeJSON(p.request)
		if err != nil {
			t.Errorf("line %d: request: %v", p.line, err)
			continue
		}
		r, ok := req.(map[string]any)
		if !ok || r["jsonrpc"] != "2.0" || r["method"] == nil || jsonType(r["params"]) != "array" {
			t.Errorf("line %d: request is not a JSON-RPC call with params: %s", p.line, p.request)
		}
		resp, err := decodeJSON(p.response)
		if err != nil {
			t.Errorf("line %d: response: %v", p.line, err)
			continue
		}
		if o, ok := resp.(map[string]any); !ok || o["jsonrpc"] != "2.0" {
			t.Errorf("line %d: response is not a JSON-RPC response: %s", p.line, p.response)
		}
	}
}

// TestCompareJSON checks the replay's comparison: it must fail on a
// missing key, an extra key, a changed fixed value, a changed type or
// array length, and pass on changed values under varying keys.
func TestCompareJSON(t *testing.T) {
	want, _ := decodeJSON(`{"a":1,"b":"x","c":[1,2],"h":"AB","o":{"time":"t"}}`)
	vary := []string{"h", "time", "opt?"}
	for _, tc := range []struct {
		got string
		ok  bool
	}{
		{`{"a":1,"b":"x","c":[1,2],"h":"CD","o":{"time":"u"}}`, true},
		{`{"a":1,"b":"x","c":[1,2],"h":"CD","o":{"time":"u"},"opt":[]}`, true},
		{`{"a":1,"b":"x","c":[1,2],"o":{"time":"u"}}`, false},
		{`{"a":1,"b":"x","c":[1,2],"h":"CD","o":{"time":"u"},"z":0}`, false},
		{`{"a":2,"b":"x","c":[1,2],"h":"CD","o":{"time":"u"}}`, false},
		{`{"a":"1","b":"x","c":[1,2],"h":"CD","o":{"time":"u"}}`, false},
		{`{"a":1,"b":"x","c":[1],"h":"CD","o":{"time":"u"}}`, false},
		{`{"a":1,"b":"x","c":[1,2],"h":5,"o":{"time":"u"}}`, false},
		{`{"a":1,"b":"x","c":[1,2],"h":"CD","o":{}}`, false},
	} {
		got, err := decodeJSON(tc.got)
		if err != nil {
			t.Fatal(err)
		}
		var errs []string
		compareJSON("$", want, got, vary, &errs)
		if (len(errs) == 0) != tc.ok {
			t.Errorf("compare %s: errors %q, want ok=%v", tc.got, errs, tc.ok)
		}
	}
}

// TestAPIReplay sends each replay request of docs/api.md to a devnet node
// and checks the response field by field against the doc: the "hello"
// blob in namespace "example" is submitted through the light node first,
// and its height H replaces the placeholder 42.
func TestAPIReplay(t *testing.T) {
	_, pairs := readAPIDoc(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	info, _ := startTestDevnet(ctx, t)
	light, full := info.Nodes["light"], info.Nodes["full"]

	hello := testBlob(t, "example", "hello")
	var h uint64
	mustCall(ctx, t, light.RPC, light.Token, &h, "blob.Submit", []*blob.Blob{hello}, map[string]any{"max_gas_price": 0})
	if h == 0 || strconv.FormatUint(h, 10) == heightPlaceholder {
		// 42 itself would make the placeholder ambiguous: submit again.
		mustCall(ctx, t, light.RPC, light.Token, &h, "blob.Submit", []*blob.Blob{hello}, map[string]any{})
	}
	for _, n := range []string{"full", "light", "bridge"} {
		mustCall(ctx, t, info.Nodes[n].RPC, info.Nodes[n].Token, nil, "header.WaitForHeight", h)
	}
	var proof json.RawMessage
	mustCall(ctx, t, full.RPC, full.Token, &proof, "blob.GetProof", h, hello.Namespace, hello.Commitment)
	proofVal, err := decodeJSON(string(proof))
	if err != nil {
		t.Fatal(err)
	}

	for _, p := range pairs {
		req, err := decodeJSON(p.request)
		if err != nil {
			t.Fatalf("line %d: request: %v", p.line, err)
		}
		r := req.(map[string]any)
		params, _ := r["params"].([]any)
		r["params"] = substituteHeight(params, h, false)
		if r["method"] == "blob.Included" && len(params) == 4 {
			params[2] = proofVal
		}
		body, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		node := info.Nodes[p.node]
		raw := postRaw(ctx, t, node.RPC, node.Token, body)
		got, err := decodeJSON(string(raw))
		if err != nil {
			t.Fatalf("line %d: %s: response %s: %v", p.line, r["method"], raw, err)
		}
		want, err := decodeJSON(p.response)
		if err != nil {
			t.Fatalf("line %d: expected response: %v", p.line, err)
		}
		want = substituteHeight(want, h, true)
		var errs []string
		compareJSON("$", want, got, p.vary, &errs)
		if len(errs) > 0 {
			t.Errorf("docs/api.md line %d: %s to %s (H=%d): response %s differs from the doc:\n  %s",
				p.line, r["method"], p.node, h, short(got), strings.Join(errs, "\n  "))
		}
	}
}
