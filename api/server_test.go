package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/core/tx"
)

// methodPerms is every method the server registers with the permission it
// requires (celestia-node's). TestPermissions fails for a registered
// method missing here, so a method cannot be added without deciding its
// permission.
var methodPerms = map[string]api.Permission{
	"blob.Submit":             api.PermWrite,
	"blob.Get":                api.PermRead,
	"blob.GetAll":             api.PermRead,
	"blob.GetProof":           api.PermRead,
	"blob.GetCommitmentProof": api.PermRead,
	"blob.Included":           api.PermRead,
	"blob.Subscribe":          api.PermRead,
	"blob.SubscribeFrom":      api.PermRead,
	"blob.GetByCommitment":    api.PermRead,
	"blob.GetKZG":             api.PermRead,
	"blob.OpenKZG":            api.PermRead,
	"blob.GetKZGCells":        api.PermRead,

	"state.AccountAddress":    api.PermRead,
	"state.Balance":           api.PermRead,
	"state.BalanceForAddress": api.PermRead,
	"state.Transfer":          api.PermWrite,
	"state.SubmitPayForBlob":  api.PermWrite,
	"state.Params":            api.PermRead,

	// celestia-node v0.32.1's perm tags (nodebuilder/state/state.go)
	"state.Delegate":                  api.PermWrite,
	"state.Undelegate":                api.PermWrite,
	"state.BeginRedelegate":           api.PermWrite,
	"state.CancelUnbondingDelegation": api.PermWrite,
	"state.WithdrawDelegatorReward":   api.PermWrite,
	"state.QueryDelegationRewards":    api.PermRead,
	"state.QueryDelegation":           api.PermRead,
	"state.QueryUnbonding":            api.PermRead,
	"state.QueryRedelegations":        api.PermRead,

	"das.SamplingStats": api.PermRead,
	"das.WaitCatchUp":   api.PermRead,

	"p2p.Info":             api.PermAdmin,
	"p2p.Peers":            api.PermAdmin,
	"p2p.PeerInfo":         api.PermAdmin,
	"p2p.Connect":          api.PermAdmin,
	"p2p.ClosePeer":        api.PermAdmin,
	"p2p.Connectedness":    api.PermAdmin,
	"p2p.BlockPeer":        api.PermAdmin,
	"p2p.UnblockPeer":      api.PermAdmin,
	"p2p.ListBlockedPeers": api.PermAdmin,

	"p2p.Network":              api.PermAdmin,
	"p2p.NATStatus":            api.PermAdmin,
	"p2p.Protect":              api.PermAdmin,
	"p2p.Unprotect":            api.PermAdmin,
	"p2p.IsProtected":          api.PermAdmin,
	"p2p.BandwidthStats":       api.PermAdmin,
	"p2p.BandwidthForPeer":     api.PermAdmin,
	"p2p.BandwidthForProtocol": api.PermAdmin,
	"p2p.ResourceState":        api.PermAdmin,
	"p2p.PubSubPeers":          api.PermAdmin,
	"p2p.PubSubTopics":         api.PermAdmin,
	"p2p.Ping":                 api.PermAdmin,
	"p2p.ConnectionState":      api.PermAdmin,

	"node.Info":              api.PermAdmin,
	"node.Ready":             api.PermRead,
	"node.AuthNew":           api.PermAdmin,
	"node.AuthNewWithExpiry": api.PermAdmin,
	"node.AuthVerify":        api.PermAdmin,
	"node.LogLevelSet":       api.PermAdmin,
}

// registered lists the RPC methods of the module types: go-jsonrpc
// registers every exported method of the value.
func registered() []string {
	mods := map[string]any{
		"blob": &api.BlobModule{}, "state": &api.StateModule{}, "das": &api.DASModule{},
		"p2p": &api.P2PModule{}, "node": &api.NodeModule{},
	}
	var out []string
	for ns, m := range mods {
		t := reflect.TypeOf(m)
		for i := range t.NumMethod() {
			out = append(out, ns+"."+t.Method(i).Name)
		}
	}
	slices.Sort(out)
	return out
}

// paramsFor returns valid parameters of method.
func paramsFor(t *testing.T, method string, e *env) json.RawMessage {
	t.Helper()
	commit := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	blobJSON := fmt.Sprintf(`{"namespace":%q,"data":"aGVsbG8=","share_version":0}`, exampleNS)
	addr := tx.Address{9}.String()
	id := e.host.String()
	p := map[string]string{
		"blob.Submit":             `[[` + blobJSON + `],null]`,
		"blob.Get":                fmt.Sprintf(`[1,%q,%q]`, exampleNS, commit),
		"blob.GetAll":             fmt.Sprintf(`[1,[%q]]`, exampleNS),
		"blob.GetProof":           fmt.Sprintf(`[1,%q,%q]`, exampleNS, commit),
		"blob.GetCommitmentProof": fmt.Sprintf(`[1,%q,%q]`, exampleNS, commit),
		"blob.Included":           fmt.Sprintf(`[1,%q,[],%q]`, exampleNS, commit),
		"blob.Subscribe":          fmt.Sprintf(`[%q]`, exampleNS),
		"blob.SubscribeFrom":      fmt.Sprintf(`[%q,5]`, exampleNS),
		"blob.GetByCommitment":    fmt.Sprintf(`[%q]`, commit),
		"blob.GetKZG":             fmt.Sprintf(`[1,%q,%q]`, exampleNS, commit),
		"blob.OpenKZG":            fmt.Sprintf(`[1,%q,%q,0,"0x%064x"]`, exampleNS, commit, 7),
		"blob.GetKZGCells":        fmt.Sprintf(`[1,%q,%q,0,[0,5]]`, exampleNS, commit),

		"state.AccountAddress": `[]`,
		"state.Balance":        `[]`,
		"state.Params":         `[]`,

		"state.Delegate":                  fmt.Sprintf(`[%q,"10",null]`, addr),
		"state.Undelegate":                fmt.Sprintf(`[%q,"10",null]`, addr),
		"state.BeginRedelegate":           fmt.Sprintf(`[%q,%q,"10",null]`, addr, addr),
		"state.CancelUnbondingDelegation": fmt.Sprintf(`[%q,"10","5",null]`, addr),
		"state.WithdrawDelegatorReward":   fmt.Sprintf(`[%q,null]`, addr),
		"state.QueryDelegationRewards":    fmt.Sprintf(`[%q]`, addr),
		"state.QueryDelegation":           fmt.Sprintf(`[%q]`, addr),
		"state.QueryUnbonding":            fmt.Sprintf(`[%q]`, addr),
		"state.QueryRedelegations":        fmt.Sprintf(`[%q,%q]`, addr, addr),
		"state.BalanceForAddress":         fmt.Sprintf(`[%q]`, addr),
		"state.Transfer":                  fmt.Sprintf(`[%q,"10",{"gas":100000}]`, addr),
		"state.SubmitPayForBlob":          `[[` + blobJSON + `],{}]`,

		"das.SamplingStats": `[]`,
		"das.WaitCatchUp":   `[]`,

		"p2p.Info":             `[]`,
		"p2p.Peers":            `[]`,
		"p2p.PeerInfo":         fmt.Sprintf(`[%q]`, id),
		"p2p.Connect":          fmt.Sprintf(`[{"ID":%q,"Addrs":[]}]`, id),
		"p2p.ClosePeer":        fmt.Sprintf(`[%q]`, id),
		"p2p.Connectedness":    fmt.Sprintf(`[%q]`, id),
		"p2p.BlockPeer":        fmt.Sprintf(`[%q]`, id),
		"p2p.UnblockPeer":      fmt.Sprintf(`[%q]`, id),
		"p2p.ListBlockedPeers": `[]`,

		"p2p.Network":              `[]`,
		"p2p.NATStatus":            `[]`,
		"p2p.Protect":              fmt.Sprintf(`[%q,"tag"]`, id),
		"p2p.Unprotect":            fmt.Sprintf(`[%q,"tag"]`, id),
		"p2p.IsProtected":          fmt.Sprintf(`[%q,"tag"]`, id),
		"p2p.BandwidthStats":       `[]`,
		"p2p.BandwidthForPeer":     fmt.Sprintf(`[%q]`, id),
		"p2p.BandwidthForProtocol": `["/ipfs/ping/1.0.0"]`,
		"p2p.ResourceState":        `[]`,
		"p2p.PubSubPeers":          `["/datamesh/api-test/header-sub/v0.1.0"]`,
		"p2p.PubSubTopics":         `[]`,
		"p2p.Ping":                 fmt.Sprintf(`[%q]`, id),
		"p2p.ConnectionState":      fmt.Sprintf(`[%q]`, id),

		"node.Info":              `[]`,
		"node.Ready":             `[]`,
		"node.AuthNew":           `[["read"]]`,
		"node.AuthNewWithExpiry": `[["read"],3600000000000]`,
		"node.AuthVerify":        `["not-a-token"]`,
		"node.LogLevelSet":       `["das","debug"]`,
	}[method]
	if p == "" {
		t.Fatalf("no parameters for %s", method)
	}
	return json.RawMessage(p)
}

func TestPermissions(t *testing.T) {
	reg := registered()
	for _, m := range reg {
		if _, ok := methodPerms[m]; !ok {
			t.Errorf("%s is registered but has no permission in methodPerms", m)
		}
	}
	for m := range methodPerms {
		if !slices.Contains(reg, m) {
			t.Errorf("methodPerms lists %s, which is not registered", m)
		}
	}

	e := newEnv(t, api.ServerOptions{})
	tokens := map[string][]api.Permission{
		"none":  {},
		"read":  api.PermsFor(api.PermRead),
		"write": api.PermsFor(api.PermWrite),
		"admin": api.PermsFor(api.PermAdmin),
		// a token with write alone may not read
		"write-only": {api.PermWrite},
	}
	channel := map[string]bool{"blob.Subscribe": true, "blob.SubscribeFrom": true}
	for _, m := range reg {
		need := methodPerms[m]
		params := paramsFor(t, m, e)
		for name, perms := range tokens {
			tok := token(t, perms)
			allowed := slices.Contains(perms, need)
			check := func(via string, r rpcResp) {
				denied := r.Error != nil && strings.HasPrefix(r.Error.Message, "missing permission to invoke")
				if denied == allowed {
					t.Errorf("%s over %s with a %s token: allowed=%v, response error %+v", m, via, name, allowed, r.Error)
				}
				if denied {
					_, short, _ := strings.Cut(m, ".")
					want := fmt.Sprintf("missing permission to invoke '%s' (need '%s')", short, need)
					if r.Error.Message != want {
						t.Errorf("%s: error %q, want %q", m, r.Error.Message, want)
					}
				}
			}
			check("websocket", callWS(t, e.ws, tok, m, params))
			if !channel[m] {
				check("http", callHTTP(t, e.http, tok, m, params))
			}
		}
		// Without a token, the request never reaches the method.
		status, _ := post(t, e.http, "", callBody(m, params))
		if status != http.StatusUnauthorized {
			t.Errorf("%s without a token: status %d, want 401", m, status)
		}
	}
}

func TestUnauthorized(t *testing.T) {
	e := newEnv(t, api.ServerOptions{})
	body := callBody("node.Ready", json.RawMessage(`[]`))

	other, err := api.NewToken(bytes.Repeat([]byte{1}, 32), api.PermsFor(api.PermAdmin), 0)
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"Allow": []string{"read", "write", "admin"}}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"Allow": []string{"read"}}).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"Allow": []string{"read"},
		"exp": time.Now().Add(-time.Minute).Unix()}).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		"missing": "", "other secret": other, "alg none": none, "HS512": hs512, "expired": expired, "garbage": "abc.def.ghi",
	} {
		if status, _ := post(t, e.http, tok, body); status != http.StatusUnauthorized {
			t.Errorf("%s token over HTTP: status %d, want 401", name, status)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, resp, err := dialWS(ctx, e.ws, tok)
		cancel()
		if err == nil {
			c.Close()
			t.Errorf("%s token: WebSocket handshake succeeded", name)
		} else if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s token: WebSocket handshake: %v, want 401", name, err)
		}
	}

	// Another scheme than Bearer is refused even with a valid token.
	req, err := http.NewRequest(http.MethodPost, e.http, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Basic "+token(t, api.PermsFor(api.PermAdmin)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic scheme: status %d, want 401", resp.StatusCode)
	}

	// A token that expires later works now.
	later, err := api.NewToken(testSecret, api.PermsFor(api.PermRead), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r := callHTTP(t, e.http, later, "node.Ready", json.RawMessage(`[]`)); r.Error != nil || string(r.Result) != "true" {
		t.Errorf("unexpired token: %+v %s", r.Error, r.Result)
	}
}

func TestSkipAuth(t *testing.T) {
	e := newEnv(t, api.ServerOptions{SkipAuth: true})
	for _, m := range []string{"node.Info", "state.Balance", "blob.Submit"} {
		r := callHTTP(t, e.http, "", m, paramsFor(t, m, e))
		if r.Error != nil {
			t.Errorf("%s with auth skipped: %s", m, r.Error.Message)
		}
	}
	// A token, even a bad one, does not matter.
	if r := callHTTP(t, e.http, "garbage", "node.Info", json.RawMessage(`[]`)); r.Error != nil {
		t.Errorf("node.Info with a bad token and auth skipped: %s", r.Error.Message)
	}
	if _, err := api.NewServer(api.ServerOptions{}, api.Modules{}); err == nil {
		t.Error("NewServer without a secret and with auth on succeeded")
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, api.ServerOptions{MaxRequestBytes: 4096})
	tok := token(t, api.PermsFor(api.PermWrite))
	data := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 8000))
	params := json.RawMessage(fmt.Sprintf(`[[{"namespace":%q,"data":%q,"share_version":0}],null]`, exampleNS, data))
	status, body := post(t, e.http, tok, callBody("blob.Submit", params))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413 (body %s)", status, body)
	}
	var r rpcResp
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if r.Error == nil || r.Error.Message != "api: request body exceeds the limit of 4096 bytes" {
		t.Errorf("error %+v", r.Error)
	}
	// A small call still works.
	if r := callHTTP(t, e.http, tok, "node.Ready", json.RawMessage(`[]`)); r.Error != nil {
		t.Errorf("small call: %s", r.Error.Message)
	}

	// Over a WebSocket, a message over the limit (gorilla sends it in
	// frames of at most 4 KiB, so the limit is crossed by a continuation
	// frame) closes the connection without an answer.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := dialWS(ctx, e.ws, tok)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// The server may close the connection while the message is written.
	if err := c.WriteMessage(websocket.TextMessage, callBody("blob.Submit", params)); err != nil {
		t.Logf("write: %v", err)
	} else if _, msg, err := c.ReadMessage(); err == nil {
		t.Errorf("answer to a WebSocket message over the limit: %s", msg)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("connection left open after a message over the limit")
	}
	if r := callWS(t, e.ws, tok, "node.Ready", json.RawMessage(`[]`)); r.Error != nil || string(r.Result) != "true" {
		t.Errorf("small WebSocket call: %+v %s", r.Error, r.Result)
	}
}

func TestBatch(t *testing.T) {
	e := newEnv(t, api.ServerOptions{MaxBatch: 3})
	tok := token(t, api.PermsFor(api.PermRead))
	batch := func(n int) []byte {
		var reqs []string
		for i := range n {
			reqs = append(reqs, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"node.Ready","params":[]}`, i+1))
		}
		return []byte("[" + strings.Join(reqs, ",") + "]")
	}
	status, body := post(t, e.http, tok, batch(2))
	var rs []rpcResp
	if err := json.Unmarshal(body, &rs); err != nil {
		t.Fatalf("status %d, body %s: %v", status, body, err)
	}
	if len(rs) != 2 {
		t.Fatalf("%d responses to a batch of 2", len(rs))
	}
	for i, r := range rs {
		if r.Error != nil || string(r.Result) != "true" || r.ID != float64(i+1) {
			t.Errorf("response %d: %+v", i, r)
		}
	}

	status, body = post(t, e.http, tok, batch(4))
	var r rpcResp
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("status %d, body %s: %v", status, body, err)
	}
	if status != http.StatusBadRequest || r.Error == nil || r.Error.Message != "api: batch of 4 requests exceeds the limit of 3" {
		t.Errorf("batch of 4: status %d, %s", status, body)
	}
}

func TestJSONShapes(t *testing.T) {
	e := newEnv(t, api.ServerOptions{})
	tok := token(t, api.PermsFor(api.PermAdmin))

	status, body := post(t, e.http, tok,
		[]byte(`{"jsonrpc":"2.0","id":1,"method":"blob.GetAll","params":[42,["`+exampleNS+`"]]}`))
	if status != http.StatusOK {
		t.Fatalf("blob.GetAll: status %d: %s", status, body)
	}
	e.blob.mu.Lock()
	height, nss := e.blob.height, e.blob.namespaces
	e.blob.mu.Unlock()
	if height != 42 || len(nss) != 1 || nss[0] != exampleNamespace(t) {
		t.Errorf("service saw height %d namespaces %v", height, nss)
	}
	var r rpcResp
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	var blobs []map[string]any
	if err := json.Unmarshal(r.Result, &blobs); err != nil {
		t.Fatal(err)
	}
	if len(blobs) != 1 || blobs[0]["namespace"] != exampleNS || blobs[0]["data"] != "aGVsbG8=" {
		t.Errorf("blobs %s", r.Result)
	}

	for _, m := range []string{"blob.Get", "blob.GetByCommitment"} {
		r := callHTTP(t, e.http, tok, m, paramsFor(t, m, e))
		if r.Error == nil || r.Error.Message != "blob: not found" {
			t.Errorf("%s: error %+v, want exactly \"blob: not found\"", m, r.Error)
		}
	}

	r = callHTTP(t, e.http, tok, "node.Info", json.RawMessage(`[]`))
	if string(r.Result) != `{"type":"Bridge","api_version":"v0.2.2"}` {
		t.Errorf("node.Info: %s", r.Result)
	}

	r = callHTTP(t, e.http, tok, "node.AuthNew", json.RawMessage(`[["read","write"]]`))
	var newTok string
	if err := json.Unmarshal(r.Result, &newTok); err != nil {
		t.Fatalf("node.AuthNew: %s: %v", r.Result, err)
	}
	perms, err := api.VerifyToken(testSecret, newTok)
	if err != nil || !slices.Equal(perms, []api.Permission{"read", "write"}) {
		t.Errorf("AuthNew's token: %v %v", perms, err)
	}
	r = callHTTP(t, e.http, tok, "node.AuthVerify", json.RawMessage(fmt.Sprintf(`[%q]`, newTok)))
	if string(r.Result) != `["read","write"]` {
		t.Errorf("node.AuthVerify: %s %+v", r.Result, r.Error)
	}

	r = callHTTP(t, e.http, tok, "state.AccountAddress", json.RawMessage(`[]`))
	if string(r.Result) != fmt.Sprintf("%q", e.state.addr.String()) {
		t.Errorf("state.AccountAddress: %s", r.Result)
	}
	r = callHTTP(t, e.http, tok, "state.Balance", json.RawMessage(`[]`))
	if string(r.Result) != `{"denom":"umesh","amount":"12345"}` {
		t.Errorf("state.Balance: %s", r.Result)
	}
	r = callHTTP(t, e.http, tok, "p2p.Info", json.RawMessage(`[]`))
	var info peer.AddrInfo
	if err := json.Unmarshal(r.Result, &info); err != nil || info.ID != e.host {
		t.Errorf("p2p.Info: %s: %v", r.Result, err)
	}
	r = callHTTP(t, e.http, tok, "das.SamplingStats", json.RawMessage(`[]`))
	var st map[string]any
	if err := json.Unmarshal(r.Result, &st); err != nil || st["head_of_sampled_chain"] != float64(9) {
		t.Errorf("das.SamplingStats: %s: %v", r.Result, err)
	}

	// An invalid blob is refused before the service.
	r = callHTTP(t, e.http, tok, "blob.Submit", json.RawMessage(`[[null],null]`))
	if r.Error == nil || !strings.Contains(r.Error.Message, "blob: invalid blob") {
		t.Errorf("blob.Submit of null: %+v", r.Error)
	}
}

func TestPanicRecovered(t *testing.T) {
	e := newEnv(t, api.ServerOptions{})
	e.das.panicStats = true
	tok := token(t, api.PermsFor(api.PermRead))
	// A server fault, not the client's: HTTP 500.
	status, body := post(t, e.http, tok, callBody("das.SamplingStats", json.RawMessage(`[]`)))
	var r rpcResp
	if err := json.Unmarshal(body, &r); err != nil || status != http.StatusInternalServerError ||
		r.Error == nil || !strings.Contains(r.Error.Message, "panic") {
		t.Errorf("panicking method: status %d, %s, %v", status, body, err)
	}
	if r := callHTTP(t, e.http, tok, "node.Ready", json.RawMessage(`[]`)); r.Error != nil {
		t.Errorf("after a panic: %s", r.Error.Message)
	}
}

func TestMethodNotPost(t *testing.T) {
	e := newEnv(t, api.ServerOptions{})
	req, err := http.NewRequest(http.MethodGet, e.http, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(t, api.PermsFor(api.PermRead)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d", resp.StatusCode)
	}
}

func TestStartStop(t *testing.T) {
	srv, err := api.NewServer(api.ServerOptions{Addr: "127.0.0.1:0", Secret: testSecret}, api.Modules{})
	if err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != "" {
		t.Errorf("Addr before Start: %q", srv.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Errorf("second Start: %v", err)
	}
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := srv.Start(ctx); err == nil {
		t.Error("Start after Stop succeeded")
	}
}
