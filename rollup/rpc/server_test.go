package rpc_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/execution/kv"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/rollup"
	"github.com/datamesh/mesh-node/rollup/rpc"
	"github.com/datamesh/mesh-node/share"
)

// downDA refuses every submit: the sequencer's blocks stay unposted
// (soft) until the test marks them posted.
type downDA struct{}

func (downDA) Submit(context.Context, share.Namespace, [][]byte) (uint64, error) {
	return 0, errors.New("DataMesh unreachable")
}

type local struct {
	db    *badger.DB
	exec  *kv.Executor
	store *rollup.Store
	seq   *rollup.Sequencer
	url   string
}

// newLocal runs a kv sequencer that never posts, with its Server on
// httptest, over the Badger database at dir.
func newLocal(t *testing.T, dir string) *local {
	t.Helper()
	s := sha256.Sum256([]byte("rpc test"))
	key := ed25519.NewKeyFromSeed(s[:])
	ns, err := share.NewV0Namespace([]byte("rpctest"))
	if err != nil {
		t.Fatal(err)
	}
	g := &rollup.Genesis{ChainID: "rpc-test", Namespace: ns, Sequencer: key.Public().(ed25519.PublicKey),
		DAStartHeight: 1, InitialHeight: 1, Time: time.Unix(1700000000, 0).UTC()}
	db := badgertest.OpenAt(t, dir)
	exec, err := kv.New(db, kv.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := rollup.OpenStore(db, g)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := rollup.NewSequencer(rollup.SequencerConfig{Genesis: g, Key: key, Executor: exec, Store: st, DA: downDA{},
		BlockTime: time.Hour, RetryMin: time.Hour, RetryMax: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := seq.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := seq.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	query := func(ctx context.Context, q []byte) (json.RawMessage, uint64, []byte, error) {
		kq, err := kv.DecodeQuery(q)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("%w: %w", rpc.ErrInvalidParams, err)
		}
		a, err := exec.Query(ctx, kq)
		if err != nil {
			return nil, 0, nil, err
		}
		b, err := json.Marshal(a)
		return b, a.Height, a.StateRoot, err
	}
	results := func(ctx context.Context, h uint64) (json.RawMessage, error) {
		res, _, err := exec.Results(ctx, h)
		if err != nil {
			return nil, err
		}
		return json.Marshal(res)
	}
	api, err := rpc.NewAPI(rpc.Config{Store: st, DB: db, Mempool: exec, Submit: exec.SubmitTx, Query: query, Results: results,
		Status: func() rpc.Status {
			s := seq.Status()
			return rpc.Status{Role: "sequencer", ChainID: g.ChainID, Height: s.Height, StateRoot: s.StateRoot, Unposted: s.Unposted}
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := rpc.NewServer(api, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &local{db: db, exec: exec, store: st, seq: seq, url: hs.URL}
}

// post sends body and returns the status code and the answer.
func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

type answer struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// call calls method and decodes the result into out, or returns the
// error's code and message.
func call(t *testing.T, url, method string, out any, params ...any) (int, string) {
	t.Helper()
	if params == nil {
		params = []any{}
	}
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
	if err != nil {
		t.Fatal(err)
	}
	code, body := post(t, url, string(b))
	if code != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", method, code, body)
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("%s: %s: %v", method, body, err)
	}
	if a.Error != nil {
		return a.Error.Code, a.Error.Message
	}
	if err := json.Unmarshal(a.Result, out); err != nil {
		t.Fatal(err)
	}
	return 0, ""
}

func txStatus(t *testing.T, url string, hash []byte) rpc.TxStatus {
	t.Helper()
	var s rpc.TxStatus
	if code, msg := call(t, url, "rollup_txStatus", &s, hex.EncodeToString(hash)); code != 0 {
		t.Fatalf("txStatus: %d %s", code, msg)
	}
	return s
}

// A transaction is pending in the mempool, soft once in a block, and
// included once the block is marked posted; the index survives a
// restart; a query's proof verifies against the block's state root and
// an older height is refused.
func TestTxLifecycleAndQuery(t *testing.T) {
	dir := t.TempDir()
	n := newLocal(t, dir)
	tx := []byte(`{"type":"set","key":"foo","value":"bar"}`)
	var hash rpc.Bytes
	if code, msg := call(t, n.url, "rollup_submitTx", &hash, "0x"+hex.EncodeToString(tx)); code != 0 {
		t.Fatalf("submitTx: %d %s", code, msg)
	}
	if s := txStatus(t, n.url, hash); s.State != rpc.StatePending {
		t.Fatalf("after submit: %+v, want pending", s)
	}
	if s := txStatus(t, n.url, rpc.TxHash([]byte("never sent"))); s.State != rpc.StateUnknown {
		t.Fatalf("a transaction never sent: %+v, want unknown", s)
	}
	b, err := n.seq.ProduceBlock(t.Context())
	if err != nil || b == nil {
		t.Fatalf("produce: %v, %v", b, err)
	}
	if s := txStatus(t, n.url, hash); s.State != rpc.StateSoft || s.Height != 1 || s.DAHeight != 0 {
		t.Fatalf("in block 1, unposted: %+v, want soft at height 1", s)
	}
	if err := n.store.MarkPosted([]uint64{1}, 42); err != nil {
		t.Fatal(err)
	}
	if s := txStatus(t, n.url, hash); s.State != rpc.StateIncluded || s.Height != 1 || s.DAHeight != 42 {
		t.Fatalf("posted at DA height 42: %+v, want included", s)
	}

	var blk rpc.BlockInfo
	if code, msg := call(t, n.url, "rollup_getBlock", &blk, 1); code != 0 {
		t.Fatalf("getBlock: %d %s", code, msg)
	}
	if blk.DAHeight != 42 || len(blk.Txs) != 1 || !bytes.Equal(blk.Txs[0], tx) || !bytes.Equal(blk.StateRoot, b.Header.StateRoot) {
		t.Fatalf("block 1: %+v", blk)
	}
	if d, err := rollup.DecodeBlock(blk.Raw); err != nil || d.Header.Height != 1 {
		t.Fatalf("block 1 raw: %v", err)
	}
	var results []struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(blk.Results, &results); err != nil || len(results) != 1 || results[0].Error != "" {
		t.Fatalf("block 1 results %s: %v; want one success", blk.Results, err)
	}

	// A second block, so that height 1 is no longer the latest state.
	if code, msg := call(t, n.url, "rollup_submitTx", &hash, hex.EncodeToString([]byte(`{"type":"set","key":"baz","value":"qux"}`))); code != 0 {
		t.Fatalf("submitTx: %d %s", code, msg)
	}
	if _, err := n.seq.ProduceBlock(t.Context()); err != nil {
		t.Fatal(err)
	}
	q := hex.EncodeToString([]byte(`{"type":"get","key":"foo"}`))
	var res rpc.QueryResult
	if code, msg := call(t, n.url, "rollup_query", &res, q, 2); code != 0 {
		t.Fatalf("query at 2: %d %s", code, msg)
	}
	b2, err := n.store.Block(2)
	if err != nil {
		t.Fatal(err)
	}
	var a kv.Answer
	if err := json.Unmarshal(res.Answer, &a); err != nil {
		t.Fatal(err)
	}
	if res.Height != 2 || !bytes.Equal(res.StateRoot, b2.Block.Header.StateRoot) || !a.Found || a.Value != "bar" {
		t.Fatalf("query: height %d root %X, answer %+v", res.Height, []byte(res.StateRoot), a)
	}
	if err := kv.Verify(b2.Block.Header.StateRoot, "foo", &a); err != nil {
		t.Fatal(err)
	}
	if code, msg := call(t, n.url, "rollup_query", &res, q, 1); code != rpc.CodeNotFound || !strings.Contains(msg, "only the latest state") {
		t.Fatalf("query at 1: %d %q, want %d: only the latest state", code, msg, rpc.CodeNotFound)
	}
	var absent rpc.QueryResult
	if code, msg := call(t, n.url, "rollup_query", &absent, hex.EncodeToString([]byte(`{"type":"get","key":"nope"}`))); code != 0 {
		t.Fatalf("query nope: %d %s", code, msg)
	}
	var na kv.Answer
	if err := json.Unmarshal(absent.Answer, &na); err != nil || na.Found || kv.Verify(absent.StateRoot, "nope", &na) != nil {
		t.Fatalf("absent key: %+v, %v", na, err)
	}

	// The index is in the database: a new API over it answers the same.
	first := rpc.TxHash(tx)
	if err := n.seq.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := n.db.Close(); err != nil {
		t.Fatal(err)
	}
	again := newLocal(t, dir)
	if s := txStatus(t, again.url, first); s.State != rpc.StateIncluded || s.Height != 1 || s.DAHeight != 42 {
		t.Fatalf("after a restart: %+v, want included at 1, DA height 42", s)
	}
}

// Bad requests get JSON-RPC errors or HTTP statuses, never a panic.
func TestServerRejectsBadRequests(t *testing.T) {
	n := newLocal(t, t.TempDir())
	var ignored json.RawMessage
	for _, c := range []struct {
		method string
		params []any
		code   int
		want   string
	}{
		{"rollup_submitTx", []any{hex.EncodeToString([]byte(`{"type":"jump"}`))}, rpc.CodeInvalidParams, "rollup rpc: invalid params"},
		{"rollup_submitTx", []any{"not hex"}, rpc.CodeInvalidParams, "not hex"},
		{"rollup_submitTx", []any{""}, rpc.CodeInvalidParams, "transaction of 0 bytes"},
		{"rollup_submitTx", nil, rpc.CodeInvalidParams, "0 params, want 1 to 1"},
		{"rollup_txStatus", []any{"abcd"}, rpc.CodeInvalidParams, "hash of 2 bytes, want 32"},
		{"rollup_getBlock", []any{9}, rpc.CodeNotFound, "block 9"},
		{"rollup_getBlock", []any{-1}, rpc.CodeInvalidParams, "param 0"},
		{"rollup_query", []any{hex.EncodeToString([]byte(`{"type":"set"}`))}, rpc.CodeInvalidParams, "invalid params"},
		{"rollup_status", []any{1}, rpc.CodeInvalidParams, "1 params, want 0 to 0"},
		{"eth_chainId", nil, rpc.CodeMethodNotFound, `no method "eth_chainId"`},
	} {
		code, msg := call(t, n.url, c.method, &ignored, c.params...)
		if code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("%s %v: %d %q, want %d %q", c.method, c.params, code, msg, c.code, c.want)
		}
	}

	resp, err := http.Get(n.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	if code, _ := post(t, n.url, `{"jsonrpc":"2.0","id":1,"method":"rollup_submitTx","params":["`+strings.Repeat("00", rpc.MaxRequestSize/2)+`"]}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a request over MaxRequestSize: HTTP %d, want 413", code)
	}
	for _, c := range []struct{ body, want string }{
		{`{"jsonrpc":`, `"code":-32700`},
		{`[1,`, `"code":-32700`},
		{`[]`, `"code":-32600`},
		{"[" + strings.TrimSuffix(strings.Repeat(`{"jsonrpc":"2.0","id":1,"method":"rollup_status"},`, rpc.MaxBatchItems+1), ",") + "]", "batch of 101 calls"},
		{`{"jsonrpc":"1.0","id":1,"method":"rollup_status"}`, `"code":-32600`},
		{`{"jsonrpc":"2.0","id":1,"method":"rollup_status","params":{"a":1}}`, "params must be an array"},
		{`[{"jsonrpc":"2.0","id":1,"method":"rollup_status"},{"jsonrpc":"2.0","id":2,"method":"nope"},7]`, `"id":2,"error":{"code":-32601`},
	} {
		code, body := post(t, n.url, c.body)
		if code != http.StatusOK || !strings.Contains(string(body), c.want) {
			t.Errorf("%.60s: HTTP %d %s, want %s", c.body, code, body, c.want)
		}
	}
	// A notification is executed and not answered.
	code, body := post(t, n.url, `{"jsonrpc":"2.0","method":"rollup_submitTx","params":["`+hex.EncodeToString([]byte(`{"type":"set","key":"n","value":"1"}`))+`"]}`)
	if code != http.StatusNoContent || len(body) != 0 {
		t.Errorf("notification: HTTP %d %s, want 204 and no body", code, body)
	}
	txs, err := n.exec.GetTxs(t.Context())
	if err != nil || len(txs) != 1 {
		t.Errorf("the notification's transaction: %d in the mempool, %v", len(txs), err)
	}
}
