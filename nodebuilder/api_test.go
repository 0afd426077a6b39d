package nodebuilder_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// A light node without core.rpc serves the API, and its submitting calls
// say how to enable them rather than "method not found".
func TestLightAPIWithoutCore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const chainID = "api-test"
	chain := headertest.NewGenerator(headertest.Options{ChainID: chainID, Seed: 41}).Chain(t, 5)
	b := startTestBridge(ctx, t, chainID, memChain(ctx, t, chain))
	conf := nodeConfig(nodebuilder.Light, chainID, b.addr(t))
	conf.Header.TrustedHeight = 1
	conf.RPC.SkipAuth = true
	light := startNode(ctx, t, "light", nodebuilder.Light, conf)
	waitHeight(ctx, t, light, "light", 5)

	call := func(method string, params ...any) (json.RawMessage, string) {
		t.Helper()
		return apiCall(ctx, t, light, method, params...)
	}
	res, errMsg := call("header.LocalHead")
	if errMsg != "" || !strings.Contains(string(res), `"height":"5"`) {
		t.Fatalf("header.LocalHead: %s %s", res, errMsg)
	}
	for _, m := range []string{"state.Balance", "state.AccountAddress"} {
		if _, errMsg := call(m); !strings.Contains(errMsg, "core.rpc") {
			t.Errorf("%s without core.rpc: %q", m, errMsg)
		}
	}
	blobJSON := json.RawMessage(`{"namespace":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAGV4YW1wbGU=","data":"aGVsbG8=","share_version":0}`)
	if _, errMsg := call("blob.Submit", []json.RawMessage{blobJSON}, nil); !strings.Contains(errMsg, "core.rpc") {
		t.Errorf("blob.Submit without core.rpc: %q", errMsg)
	}
	var info api.NodeInfo
	res, errMsg = call("node.Info")
	if err := json.Unmarshal(res, &info); errMsg != "" || err != nil || info.Type != api.NodeLight {
		t.Fatalf("node.Info: %s %s", res, errMsg)
	}
	if res, errMsg := call("node.Ready"); errMsg != "" || string(res) != "true" {
		t.Fatalf("node.Ready: %s %s", res, errMsg)
	}
}

// apiCall posts one JSON-RPC call to n's API (no token: the tests skip
// auth) and returns its result, or its error message.
func apiCall(ctx context.Context, t *testing.T, n *nodebuilder.Node, method string, params ...any) (json.RawMessage, string) {
	t.Helper()
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+n.API().Addr(), bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r struct {
		Result json.RawMessage
		Error  *struct{ Message string }
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s: %s", method, raw)
	}
	if r.Error != nil {
		return nil, r.Error.Message
	}
	return r.Result, ""
}
