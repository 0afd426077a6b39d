package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/gorilla/websocket"
	"github.com/ipfs/go-cid"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/internal/freeport"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/share"
)

// startTestDevnet runs mesh-node devnet in a temporary home on free ports
// and returns devnet.json once it prints "devnet ready"; the devnet is
// stopped at cleanup, which checks that it stopped cleanly.
func startTestDevnet(ctx context.Context, t testing.TB) (devnetInfo, string) {
	t.Helper()
	home := t.TempDir()
	info, _ := runTestDevnet(ctx, t, home, "--base-port", "0")
	return info, home
}

// runTestDevnet runs mesh-node devnet on home with args and returns
// devnet.json once it prints "devnet ready", and a function that stops the
// devnet and checks that it stopped cleanly (also run at cleanup).
func runTestDevnet(ctx context.Context, t testing.TB, home string, args ...string) (devnetInfo, func()) {
	t.Helper()
	pr, pw := io.Pipe()
	devCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		root := newRootCmd(func(string) string { return "" })
		root.SetOut(pw)
		root.SetErr(io.Discard)
		root.SetArgs(append([]string{"devnet", "--home", home, "--block-time", "200ms", "--log.level", "none"}, args...))
		err := root.ExecuteContext(devCtx)
		pw.CloseWithError(fmt.Errorf("devnet exited: %v", err))
		done <- err
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("devnet: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if sc.Text() == "devnet ready" {
				ready <- nil
				_, _ = io.Copy(io.Discard, pr)
				return
			}
		}
		ready <- fmt.Errorf("devnet output ended before it was ready: %v", sc.Err())
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("devnet not ready:", ctx.Err())
	}
	b, err := os.ReadFile(filepath.Join(home, devnetFile))
	if err != nil {
		t.Fatal(err)
	}
	var info devnetInfo
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatalf("devnet.json: %v\n%s", err, b)
	}
	for _, m := range []string{"bridge", "full", "light"} {
		n := info.Nodes[m]
		if !strings.HasPrefix(n.RPC, "http://127.0.0.1:") || n.Token == "" || len(n.P2P) == 0 {
			t.Fatalf("devnet.json: node %s: %+v", m, n)
		}
		if m == "light" {
			if n.Gateway != "" {
				t.Fatalf("devnet.json: the light node has a gateway %q", n.Gateway)
			}
			continue
		}
		checkGateway(ctx, t, m, n.Gateway)
	}
	if info.ChainID != devnetChainID || !strings.HasPrefix(info.CoreRPC, "http://127.0.0.1:") {
		t.Fatalf("devnet.json: %+v", info)
	}
	return info, stop
}

// checkGateway checks that url is a node's dataset gateway and delegated
// router on loopback: it answers a providers query (none, for a CID of no
// dataset) and a gateway request for that CID (404).
func checkGateway(ctx context.Context, t testing.TB, mode, url string) {
	t.Helper()
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("devnet.json: %s gateway %q", mode, url)
	}
	c, err := cid.V1Builder{Codec: cid.Raw, MhType: 0x12}.Sum([]byte("in no dataset"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, accept string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s gateway: %v", mode, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(body)
	}
	if status, body := get("/routing/v1/providers/"+c.String(), "application/json"); status != http.StatusOK || !strings.Contains(body, `"Providers"`) {
		t.Fatalf("%s gateway: providers: %d %.300s", mode, status, body)
	}
	if status, body := get("/ipfs/"+c.String()+"?format=raw", "application/vnd.ipld.raw"); status != http.StatusNotFound {
		t.Fatalf("%s gateway: unknown CID: %d %.300s, want 404", mode, status, body)
	}
}

// postRaw posts body to url with token (none if empty) and returns the
// response body; the status must be 200.
func postRaw(ctx context.Context, t testing.TB, url, token string, body []byte) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", body, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: HTTP %d: %s", body, resp.StatusCode, raw)
	}
	return raw
}

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// rpcCall posts one JSON-RPC request and returns its result or error.
func rpcCall(ctx context.Context, t testing.TB, url, token, method string, params ...any) (json.RawMessage, *rpcError) {
	t.Helper()
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		t.Fatal(err)
	}
	return rpcPost(ctx, t, url, token, body)
}

func rpcPost(ctx context.Context, t testing.TB, url, token string, body []byte) (json.RawMessage, *rpcError) {
	t.Helper()
	raw := postRaw(ctx, t, url, token, body)
	var r struct {
		JSONRPC string          `json:"jsonrpc"`
		Result  json.RawMessage `json:"result"`
		Error   *rpcError       `json:"error"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || r.JSONRPC != "2.0" {
		t.Fatalf("POST %s: response %s: %v", body, raw, err)
	}
	return r.Result, r.Error
}

// mustCall is rpcCall that fails the test on a JSON-RPC error and decodes
// the result into out (if not nil).
func mustCall(ctx context.Context, t testing.TB, url, token string, out any, method string, params ...any) {
	t.Helper()
	res, rerr := rpcCall(ctx, t, url, token, method, params...)
	if rerr != nil {
		t.Fatalf("%s: error %d: %s", method, rerr.Code, rerr.Message)
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			t.Fatalf("%s: result %s: %v", method, res, err)
		}
	}
}

// wantRPCError calls method and checks that it fails with a message
// containing want.
func wantRPCError(ctx context.Context, t testing.TB, url, token, want, method string, params ...any) {
	t.Helper()
	res, rerr := rpcCall(ctx, t, url, token, method, params...)
	if rerr == nil || !strings.Contains(rerr.Message, want) {
		t.Fatalf("%s: result %s, error %+v; want an error containing %q", method, res, rerr, want)
	}
}

func testBlob(t testing.TB, id, data string) *blob.Blob {
	t.Helper()
	ns, err := share.NewV0Namespace([]byte(id))
	if err != nil {
		t.Fatal(err)
	}
	b, err := blob.New(ns, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDevnetJSONRPC drives a devnet through JSON-RPC alone: blobs in two
// namespaces submitted through the light node come back byte-equal from
// the full node, with a proof the full node says is included; errors for
// a wrong commitment and a far-future height; the next blob through
// blob.Subscribe over WebSocket; a read-only token cannot submit.
func TestDevnetJSONRPC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	info, home := startTestDevnet(ctx, t)
	light, full := info.Nodes["light"], info.Nodes["full"]

	b1, b2 := testBlob(t, "example", "hello"), testBlob(t, "second", strings.Repeat("DataMesh ", 200))
	var height uint64
	mustCall(ctx, t, light.RPC, light.Token, &height, "blob.Submit", []*blob.Blob{b1, b2}, map[string]any{"max_gas_price": 0})
	if height == 0 {
		t.Fatal("blob.Submit returned height 0")
	}

	// The full node reaches the height, then serves both blobs.
	mustCall(ctx, t, full.RPC, full.Token, nil, "header.WaitForHeight", height)
	var got []*blob.Blob
	mustCall(ctx, t, full.RPC, full.Token, &got, "blob.GetAll", height, []share.Namespace{b1.Namespace, b2.Namespace})
	if len(got) != 2 {
		t.Fatalf("blob.GetAll: %d blobs, want 2", len(got))
	}
	for i, want := range []*blob.Blob{b1, b2} {
		g := got[i]
		if g.Namespace != want.Namespace || !bytes.Equal(g.Data, want.Data) || !bytes.Equal(g.Commitment, want.Commitment) || g.ShareVersion != 0 || g.Index < 0 {
			t.Fatalf("blob.GetAll[%d] = %+v, want %+v at an index >= 0", i, g, want)
		}
	}

	var proof json.RawMessage
	mustCall(ctx, t, full.RPC, full.Token, &proof, "blob.GetProof", height, b1.Namespace, b1.Commitment)
	var included bool
	mustCall(ctx, t, full.RPC, full.Token, &included, "blob.Included", height, b1.Namespace, proof, b1.Commitment)
	if !included {
		t.Fatalf("blob.Included = false for the proof %s", proof)
	}

	wrong := bytes.Repeat([]byte{7}, 32)
	wantRPCError(ctx, t, full.RPC, full.Token, "blob: not found", "blob.Get", height, b1.Namespace, wrong)
	wantRPCError(ctx, t, light.RPC, light.Token, "given height is from the future", "header.GetByHeight", height+1_000_000)
	wantRPCError(ctx, t, full.RPC, full.Token, "from the future", "blob.GetAll", height+1_000_000, []share.Namespace{b1.Namespace})

	// blob.Subscribe over WebSocket delivers the next blob of the namespace.
	wsURL := "ws" + strings.TrimPrefix(light.RPC, "http")
	hdr := http.Header{"Authorization": []string{"Bearer " + light.Token}}
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL, hdr)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", wsURL, err, resp)
	}
	defer conn.Close()
	if err := conn.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "blob.Subscribe", "params": []any{b1.Namespace}}); err != nil {
		t.Fatal(err)
	}
	next := testBlob(t, "example", "the next blob")
	var nextHeight uint64
	mustCall(ctx, t, light.RPC, light.Token, &nextHeight, "blob.Submit", []*blob.Blob{next}, map[string]any{})
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(deadline)
	}
	for found := false; !found; {
		var msg struct {
			ID     any               `json:"id"`
			Method string            `json:"method"`
			Params []json.RawMessage `json:"params"`
			Error  *rpcError         `json:"error"`
		}
		if err := conn.ReadJSON(&msg); err != nil {
			t.Fatalf("blob.Subscribe: read: %v", err)
		}
		if msg.Error != nil {
			t.Fatalf("blob.Subscribe: %+v", msg.Error)
		}
		if msg.Method != "xrpc.ch.val" || len(msg.Params) != 2 {
			continue // the subscription's own response (the channel ID)
		}
		var r blob.SubscriptionResponse
		if err := json.Unmarshal(msg.Params[1], &r); err != nil {
			t.Fatalf("blob.Subscribe: value %s: %v", msg.Params[1], err)
		}
		for _, b := range r.Blobs {
			if bytes.Equal(b.Commitment, next.Commitment) {
				if r.Height != nextHeight || !bytes.Equal(b.Data, next.Data) {
					t.Fatalf("blob.Subscribe: blob at %d (%q), submitted at %d", r.Height, b.Data, nextHeight)
				}
				// celestia-node's keys, and the height's CometBFT header.
				if r.Header == nil || r.Header.Height != int64(nextHeight) || !bytes.Contains(msg.Params[1], []byte(`"Header":{`)) {
					t.Fatalf("blob.Subscribe: value without the header of height %d: %s", nextHeight, msg.Params[1])
				}
				found = true
			}
		}
	}

	// A read-only token reads but cannot submit.
	var raw json.RawMessage
	mustCall(ctx, t, light.RPC, light.Token, &raw, "node.AuthNew", []string{"read"})
	readToken := decodeToken(t, raw)
	mustCall(ctx, t, light.RPC, readToken, nil, "header.LocalHead")
	wantRPCError(ctx, t, light.RPC, readToken, "missing permission", "blob.Submit", []*blob.Blob{b1}, map[string]any{})

	// The CLI of the README's quick start, against the light node's home
	// (URL from its config.toml, an admin token from its secret), and
	// with --url and --token.
	lightHome := filepath.Join(home, "light")
	out := mustRun(ctx, t, "blob", "submit", "--home", lightHome, "6578616d706c65", "from the CLI")
	h, c := field(t, out, "height"), field(t, out, "commitment")
	out = mustRun(ctx, t, "blob", "get-all", "--home", lightHome, h, "6578616d706c65")
	if !strings.Contains(out, "data: from the CLI") || !strings.Contains(out, "commitment: "+c) {
		t.Fatalf("blob get-all:\n%s", out)
	}
	out = mustRun(ctx, t, "blob", "get", "--url", light.RPC, "--token", light.Token, h, "6578616d706c65", c)
	if field(t, out, "data") != "from the CLI" {
		t.Fatalf("blob get:\n%s", out)
	}
	if out := mustRun(ctx, t, "header", "head", "--home", lightHome); field(t, out, "height") == "" {
		t.Fatal("header head printed no height")
	}
	mustRun(ctx, t, "header", "get", "--home", lightHome, h)
	mustRun(ctx, t, "share", "available", "--home", lightHome, h)
	mustRun(ctx, t, "das", "stats", "--home", lightHome)
	wantErr(ctx, t, "missing permission", "blob", "submit", "--url", light.RPC, "--token", readToken, "6578616d706c65", "x")
	// blob.Submit's options from the flags: the chain's minimum gas price
	// is 1, and the node has no key "nosuch".
	wantErr(ctx, t, "gas price", "blob", "submit", "--home", lightHome, "--max-gas-price", "0.5", "6578616d706c65", "x")
	wantErr(ctx, t, "nosuch", "blob", "submit", "--home", lightHome, "--key-name", "nosuch", "6578616d706c65", "x")
	out = mustRun(ctx, t, "blob", "submit", "--home", lightHome, "--gas-price", "2", "6578616d706c65", "priced")
	if field(t, out, "height") == "" {
		t.Fatalf("blob submit --gas-price 2:\n%s", out)
	}

	// A blob one byte over the chain's max_blob_size: the light node
	// refuses it before signing, so its account does not change.
	maxSize := tx.DefaultParams().MaxBlobSize
	over := filepath.Join(t.TempDir(), "over.bin")
	if err := os.WriteFile(over, bytes.Repeat([]byte{'a'}, maxSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	core, err := rpchttp.New(info.CoreRPC, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	before := balance(ctx, t, core, info.Accounts["light"])
	wantErr(ctx, t, fmt.Sprintf("blob: over size limit: blob 0 is %d bytes, the chain's max_blob_size is %d", maxSize+1, maxSize),
		"blob", "submit", "--home", lightHome, "6578616d706c65", "@"+over)
	if after := balance(ctx, t, core, info.Accounts["light"]); after != before {
		t.Fatalf("light account after an oversized blob: %+v, want %+v (nothing posted)", after, before)
	}

	// blob submit --kzg: the light node signs the commitments and proofs
	// in, and the versioned hashes printed are those of the commitments
	// the block includes.
	kzgData := []byte("from the CLI, with KZG")
	out = mustRun(ctx, t, "blob", "submit", "--home", lightHome, "--kzg", "6578616d706c65", string(kzgData))
	kzgHeight, err := strconv.ParseInt(field(t, out, "height"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	wantVersionedHashes(t, strings.Fields(field(t, out, "versioned_hashes")), includedPFB(ctx, t, core, kzgHeight, kzgData), kzgData)
	// kzg commit, through the light node, gives them before submitting.
	if got := mustRun(ctx, t, "kzg", "commit", "--home", lightHome, string(kzgData)); field(t, got, "versioned_hashes") != field(t, out, "versioned_hashes") {
		t.Fatalf("kzg commit printed\n%s\nblob submit --kzg\n%s", got, out)
	}
	if out := mustRun(ctx, t, "blob", "submit", "--home", lightHome, "6578616d706c65", "without KZG"); strings.Contains(out, "versioned_hashes") {
		t.Fatalf("blob submit without --kzg printed:\n%s", out)
	}
}

// decodeToken reads node.AuthNew's result: a JSON string holding the token,
// or its base64 when the result is bytes (celestia-node's []byte).
func decodeToken(t testing.TB, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("node.AuthNew: %s: %v", raw, err)
	}
	if strings.Count(s, ".") == 2 {
		return s
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("node.AuthNew: %s is neither a JWT nor base64", raw)
	}
	return string(b)
}

// freeBasePort returns a port from which n consecutive TCP and UDP ports
// on 127.0.0.1 are reserved for this test binary: the environment of a
// test that needs a fixed --base-port.
func freeBasePort(t *testing.T, n int) int {
	t.Helper()
	base, err := freeport.Range(n, true)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// With a --base-port, the nodes' libp2p addresses in devnet.json are the
// same after a restart (a light node bootstrapped from them keeps working);
// --metrics serves each node's metrics at its port, and the bridge and
// full node their dataset gateways at theirs; a second devnet on a
// home in use is refused in words; the devnet keeps edits to config.toml
// other than its wiring.
func TestDevnetRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	home := t.TempDir()
	base := freeBasePort(t, devnetPorts)
	baseArg := strconv.Itoa(base)
	first, stop := runTestDevnet(ctx, t, home, "--base-port", baseArg, "--metrics")

	wantErr(ctx, t, "devnet: a devnet is already running on this home ("+home+")", "devnet", "--home", home, "--base-port", "0", "--log.level", "none")

	for i, m := range []string{"bridge", "full", "light"} {
		n := first.Nodes[m]
		want := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/", base+libp2pPort+i)
		if !slices.ContainsFunc(n.P2P, func(a string) bool { return strings.HasPrefix(a, want) }) {
			t.Errorf("%s: p2p %v, want an address %s...", m, n.P2P, want)
		}
		if want := fmt.Sprintf("http://127.0.0.1:%d/metrics", base+metricsPort+i); n.Metrics != want {
			t.Fatalf("%s: metrics %q, want %q", m, n.Metrics, want)
		}
		if want := fmt.Sprintf("http://127.0.0.1:%d", base+gatewayPort+i); m != "light" && n.Gateway != want {
			t.Fatalf("%s: gateway %q, want %q", m, n.Gateway, want)
		}
		resp, err := http.Get(n.Metrics)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "# TYPE ") {
			t.Fatalf("GET %s: %d %v\n%.300s", n.Metrics, resp.StatusCode, err, body)
		}
	}
	stop()

	// An edit to a key the devnet does not wire survives the restart.
	lightHome := filepath.Join(home, "light")
	conf, err := nodebuilder.ReadConfig(lightHome)
	if err != nil {
		t.Fatal(err)
	}
	conf.RPC.MaxBatch = 7
	if err := nodebuilder.WriteConfig(lightHome, conf); err != nil {
		t.Fatal(err)
	}

	second, _ := runTestDevnet(ctx, t, home, "--base-port", baseArg)
	for _, m := range []string{"bridge", "full", "light"} {
		a, b := first.Nodes[m], second.Nodes[m]
		if !slices.Equal(a.P2P, b.P2P) {
			t.Errorf("%s: p2p %v after the restart, %v before", m, b.P2P, a.P2P)
		}
		if b.Metrics != "" {
			t.Errorf("%s: metrics %q without --metrics", m, b.Metrics)
		}
	}
	if conf, err := nodebuilder.ReadConfig(lightHome); err != nil || conf.RPC.MaxBatch != 7 {
		t.Fatalf("light config.toml after the restart: max_batch %d, %v; want the edited 7", conf.RPC.MaxBatch, err)
	}
	// The restarted light node, bootstrapped from the same addresses,
	// follows the chain.
	light := second.Nodes["light"]
	h := headOf(ctx, t, light.RPC, light.Token, "header.NetworkHead")
	mustCall(ctx, t, light.RPC, light.Token, nil, "header.WaitForHeight", h+1)
}

// headOf returns the height of the header method (header.LocalHead or
// header.NetworkHead) answers at url.
func headOf(ctx context.Context, t testing.TB, url, token, method string) uint64 {
	t.Helper()
	var head struct {
		Header struct {
			Height string `json:"height"`
		} `json:"header"`
	}
	mustCall(ctx, t, url, token, &head, method)
	h, err := strconv.ParseUint(head.Header.Height, 10, 64)
	if err != nil {
		t.Fatalf("%s height %q: %v", method, head.Header.Height, err)
	}
	return h
}
