package ethrpc_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/execution/evm"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/rollup"
	rollrpc "github.com/datamesh/mesh-node/rollup/rpc"
	"github.com/datamesh/mesh-node/share"
)

// TestRollupErrorCodes: an EVM node serves rollup/rpc's API beside
// eth_* with go-ethereum's server; bad input gets the code and message
// rollup/rpc's own Server (the kv and wasm nodes') answers with: -32602
// for a malformed transaction or hash, -32001 for a missing block.
func TestRollupErrorCodes(t *testing.T) {
	g, _, err := evm.DevGenesis(4242)
	if err != nil {
		t.Fatal(err)
	}
	db := badgertest.Open(t)
	x, err := evm.New(db, g, evm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.InitChain(context.Background(), time.Unix(1_700_000_000, 0), 1, "rpc-test"); err != nil {
		t.Fatal(err)
	}
	seed := sha256.Sum256([]byte("ethrpc rollup test"))
	ns, err := share.NewV0Namespace([]byte("ethrpc"))
	if err != nil {
		t.Fatal(err)
	}
	rg := &rollup.Genesis{ChainID: "rpc-test", Namespace: ns, Sequencer: ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey),
		DAStartHeight: 1, InitialHeight: 1, Time: time.Unix(1_700_000_000, 0).UTC()}
	st, err := rollup.OpenStore(db, rg)
	if err != nil {
		t.Fatal(err)
	}
	api, err := rollrpc.NewAPI(rollrpc.Config{Store: st, DB: db, Mempool: x, Submit: x.SubmitTx,
		Status: func() rollrpc.Status { return rollrpc.Status{Role: "sequencer", ChainID: rg.ChainID} }})
	if err != nil {
		t.Fatal(err)
	}
	eth := newServer(t)
	if err := eth.RegisterName("rollup", api); err != nil {
		t.Fatal(err)
	}
	own, err := rollrpc.NewServer(api, nil)
	if err != nil {
		t.Fatal(err)
	}
	ethSrv, ownSrv := httptest.NewServer(eth), httptest.NewServer(own)
	t.Cleanup(ethSrv.Close)
	t.Cleanup(ownSrv.Close)

	type rpcErr struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	call := func(url, method string, params ...any) *rpcErr {
		t.Helper()
		p, err := json.Marshal(params)
		if err != nil {
			t.Fatal(err)
		}
		_, body := post(t, url, `{"jsonrpc":"2.0","id":1,"method":"`+method+`","params":`+string(p)+`}`)
		var resp struct {
			Error *rpcErr `json:"error"`
		}
		if err := json.Unmarshal([]byte(body), &resp); err != nil {
			t.Fatalf("%s: %v: %s", method, err, body)
		}
		return resp.Error
	}
	for _, c := range []struct {
		method string
		param  any
		code   int
	}{
		{"rollup_submitTx", hex.EncodeToString([]byte("not an evm transaction")), rollrpc.CodeInvalidParams},
		{"rollup_submitTx", "", rollrpc.CodeInvalidParams},
		{"rollup_txStatus", "abcd", rollrpc.CodeInvalidParams},
		{"rollup_getBlock", 1 << 40, rollrpc.CodeNotFound},
	} {
		got, want := call(ethSrv.URL, c.method, c.param), call(ownSrv.URL, c.method, c.param)
		if got == nil || want == nil || *got != *want || got.Code != c.code {
			t.Errorf("%s(%v): EVM node %+v, rollup server %+v; want code %d", c.method, c.param, got, want, c.code)
		}
	}
	// A param that does not decode: go-ethereum words its own message,
	// with the same code.
	if got := call(ethSrv.URL, "rollup_submitTx", "zz"); got == nil || got.Code != rollrpc.CodeInvalidParams {
		t.Errorf("rollup_submitTx(zz): %+v, want code %d", got, rollrpc.CodeInvalidParams)
	}
	// A valid call still answers.
	if got := call(ethSrv.URL, "rollup_status"); got != nil {
		t.Errorf("rollup_status: %+v", got)
	}
}
