package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/header/headertest"
)

// openRPC returns the parsed OpenRPC document and its methods by name.
func openRPC(t *testing.T) (map[string]any, map[string]map[string]any) {
	t.Helper()
	b, err := api.OpenRPC("v-test")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	methods := map[string]map[string]any{}
	for _, m := range doc["methods"].([]any) {
		m := m.(map[string]any)
		methods[m["name"].(string)] = m
	}
	return doc, methods
}

func TestOpenRPCDocument(t *testing.T) {
	first, err := api.OpenRPC("v-test")
	if err != nil {
		t.Fatal(err)
	}
	again, err := api.OpenRPC("v-test")
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("two generations differ (%v)", err)
	}
	doc, methods := openRPC(t)
	if doc["openrpc"] != "1.2.6" {
		t.Errorf("openrpc %v", doc["openrpc"])
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] == "" || info["version"] != "v-test" {
		t.Errorf("info %v", info)
	}
	if len(methods) == 0 {
		t.Fatal("no methods")
	}
	perms := []string{"read", "write", "admin"}
	for name, m := range methods {
		ns, meth, ok := strings.Cut(name, ".")
		if !ok || ns == "" || meth == "" {
			t.Errorf("method name %q", name)
		}
		if _, ok := m["params"].([]any); !ok {
			t.Errorf("%s: no params", name)
		}
		res, _ := m["result"].(map[string]any)
		if res["name"] == nil || res["schema"] == nil {
			t.Errorf("%s: result %v", name, m["result"])
		}
		if s, _ := m["summary"].(string); s == "" {
			t.Errorf("%s: no summary", name)
		}
		if p, _ := m["x-permission"].(string); !slices.Contains(perms, p) {
			t.Errorf("%s: x-permission %v", name, m["x-permission"])
		}
	}
	// Every $ref resolves.
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				if _, ok := schemas[strings.TrimPrefix(r, "#/components/schemas/")]; !ok {
					t.Errorf("unresolved $ref %s", r)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	if p := methods["blob.Submit"]; p["x-permission"] != "write" || len(p["params"].([]any)) != 2 ||
		p["params"].([]any)[0].(map[string]any)["name"] != "blobs" {
		t.Errorf("blob.Submit: %v", p)
	}
	if p := methods["blob.Subscribe"]; p["x-subscription"] != true {
		t.Errorf("blob.Subscribe is not marked as a subscription: %v", p)
	}
}

// validate reports where v breaks schema s, resolving $refs in schemas.
// An object whose schema lists properties must have no other key (unless
// additionalProperties allows it): every field of a response is described.
func validate(schemas map[string]any, s map[string]any, v any, path string) []string {
	if r, ok := s["$ref"].(string); ok {
		return validate(schemas, schemas[strings.TrimPrefix(r, "#/components/schemas/")].(map[string]any), v, path)
	}
	if alts, ok := s["anyOf"].([]any); ok {
		var all []string
		for _, alt := range alts {
			errs := validate(schemas, alt.(map[string]any), v, path)
			if len(errs) == 0 {
				return nil
			}
			all = append(all, errs...)
		}
		return all
	}
	var types []string
	switch ty := s["type"].(type) {
	case string:
		types = []string{ty}
	case []any:
		for _, x := range ty {
			types = append(types, x.(string))
		}
	}
	var kind string
	switch x := v.(type) {
	case nil:
		kind = "null"
	case bool:
		kind = "boolean"
	case float64:
		kind = "number"
		if x == float64(int64(x)) {
			kind = "integer"
		}
	case string:
		kind = "string"
	case []any:
		kind = "array"
	case map[string]any:
		kind = "object"
	}
	if len(types) > 0 && !slices.Contains(types, kind) && !(kind == "integer" && slices.Contains(types, "number")) {
		return []string{fmt.Sprintf("%s: %s, want %v", path, kind, types)}
	}
	var errs []string
	switch x := v.(type) {
	case string:
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(x) {
			errs = append(errs, fmt.Sprintf("%s: %q does not match %s", path, x, p))
		}
		if e, ok := s["enum"].([]any); ok && !slices.Contains(e, any(x)) {
			errs = append(errs, fmt.Sprintf("%s: %q not in %v", path, x, e))
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, it := range x {
				errs = append(errs, validate(schemas, items, it, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case map[string]any:
		props, hasProps := s["properties"].(map[string]any)
		extra, _ := s["additionalProperties"].(map[string]any)
		for k, val := range x {
			switch {
			case props[k] != nil:
				errs = append(errs, validate(schemas, props[k].(map[string]any), val, path+"."+k)...)
			case extra != nil:
				errs = append(errs, validate(schemas, extra, val, path+"."+k)...)
			case hasProps:
				errs = append(errs, fmt.Sprintf("%s: field %q is not in the schema", path, k))
			}
		}
		req, _ := s["required"].([]any)
		for _, k := range req {
			if _, ok := x[k.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required field %q missing", path, k))
			}
		}
	}
	return errs
}

// The schemas describe what a running server answers and accepts: each
// field of real responses is in its method's result schema, and the
// parameters the server accepts match the params schemas.
func TestOpenRPCSchemasDescribeResponses(t *testing.T) {
	doc, methods := openRPC(t)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	check := func(method string, v any, schema any) {
		t.Helper()
		for _, e := range validate(schemas, schema.(map[string]any), v, method) {
			t.Error(e)
		}
	}
	checkResult := func(method string, raw json.RawMessage) {
		t.Helper()
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s: %s: %v", method, raw, err)
		}
		check(method, v, methods[method]["result"].(map[string]any)["schema"])
	}
	checkParams := func(method string, raw json.RawMessage) {
		t.Helper()
		var vs []any
		if err := json.Unmarshal(raw, &vs); err != nil {
			t.Fatal(err)
		}
		ps := methods[method]["params"].([]any)
		if len(vs) != len(ps) {
			t.Fatalf("%s: %d params, the document has %d", method, len(vs), len(ps))
		}
		for i, p := range ps {
			p := p.(map[string]any)
			check(fmt.Sprintf("%s(%s)", method, p["name"]), vs[i], p["schema"])
		}
	}

	e := newEnv(t, api.ServerOptions{})
	tok := token(t, api.PermsFor(api.PermAdmin))
	for _, m := range []string{"blob.GetAll", "blob.Submit", "state.Balance", "state.AccountAddress", "state.Params",
		"das.SamplingStats", "node.Info", "node.AuthVerify", "p2p.Info", "p2p.Peers", "p2p.Network"} {
		params := paramsFor(t, m, e)
		if m == "node.AuthVerify" {
			params = json.RawMessage(fmt.Sprintf("[%q]", tok))
		}
		checkParams(m, params)
		r := callHTTP(t, e.http, tok, m, params)
		if r.Error != nil {
			t.Fatalf("%s: %+v", m, r.Error)
		}
		checkResult(m, r.Result)
	}

	// The header module over a generated chain, on a server of its own.
	ctx := testCtx(t)
	c := newChain(t, 3, 7)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, c.headers...); err != nil {
		t.Fatal(err)
	}
	srv := api.StartServer(t, api.ServerOptions{SkipAuth: true},
		api.Modules{Header: api.NewHeaderModule(newHeaders(t, store, nil))})
	url := "http://" + srv.Addr()
	for m, params := range map[string]string{"header.GetByHeight": `[2]`, "header.LocalHead": `[]`,
		"header.SyncState": `[]`, "header.Tail": `[]`} {
		checkParams(m, json.RawMessage(params))
		r := callHTTP(t, url, "", m, json.RawMessage(params))
		if r.Error != nil {
			t.Fatalf("%s: %+v", m, r.Error)
		}
		checkResult(m, r.Result)
	}

	// The validator is not vacuous: a field the schema lacks is caught.
	var h map[string]any
	r := callHTTP(t, url, "", "header.GetByHeight", json.RawMessage(`[2]`))
	if err := json.Unmarshal(r.Result, &h); err != nil {
		t.Fatal(err)
	}
	h["undocumented"] = 1
	if errs := validate(schemas, methods["header.GetByHeight"]["result"].(map[string]any)["schema"].(map[string]any), h, "h"); len(errs) == 0 {
		t.Error("a field missing from the schema went unnoticed")
	}
}
