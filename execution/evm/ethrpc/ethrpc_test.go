package ethrpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/execution/evm"
	"github.com/datamesh/mesh-node/execution/evm/ethrpc"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
)

func server(t *testing.T) *httptest.Server {
	t.Helper()
	s := newServer(t)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

// newServer returns a Server over a fresh executor, closed when t ends.
func newServer(t *testing.T) *ethrpc.Server {
	t.Helper()
	g, _, err := evm.DevGenesis(4242)
	if err != nil {
		t.Fatal(err)
	}
	x, err := evm.New(badgertest.Open(t), g, evm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.InitChain(context.Background(), time.Unix(1_700_000_000, 0), 1, "rpc-test"); err != nil {
		t.Fatal(err)
	}
	s, err := ethrpc.New(x)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func post(t *testing.T, url, body string) (int, string) {
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
	return resp.StatusCode, string(b)
}

// TestBatchAndLimits: a batch is answered call by call (an unknown
// method and bad parameters are errors of their call only), GET is
// refused, and a body over MaxRequestSize or a batch over MaxBatchItems
// is refused.
func TestBatchAndLimits(t *testing.T) {
	srv := server(t)
	_, body := post(t, srv.URL, `[
		{"jsonrpc":"2.0","id":1,"method":"net_version"},
		{"jsonrpc":"2.0","id":2,"method":"eth_chainId"},
		{"jsonrpc":"2.0","id":3,"method":"eth_blockNumber"},
		{"jsonrpc":"2.0","id":4,"method":"eth_getBalance","params":["0xnot-an-address","latest"]},
		{"jsonrpc":"2.0","id":5,"method":"eth_mining"},
		{"jsonrpc":"2.0","id":6,"method":"eth_getBlockByNumber","params":["0x99",false]},
		{"jsonrpc":"2.0","id":7,"method":"eth_getLogs","params":[{"address":"0x0000000000000000000000000000000000000001","topics":[null,["0x0000000000000000000000000000000000000000000000000000000000000001"]]}]}
	]`)
	var answers []struct {
		ID     int             `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &answers); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	want := map[int]string{1: `"4242"`, 2: `"0x1092"`, 3: `"0x0"`, 6: `null`, 7: `[]`}
	for _, a := range answers {
		switch a.ID {
		case 4, 5:
			if a.Error == nil {
				t.Errorf("call %d: no error", a.ID)
			}
		default:
			if a.Error != nil || string(a.Result) != want[a.ID] {
				t.Errorf("call %d: %s, %+v; want %s", a.ID, a.Result, a.Error, want[a.ID])
			}
		}
	}
	if len(answers) != 7 {
		t.Fatalf("%d answers", len(answers))
	}

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d", resp.StatusCode)
	}
	code, _ := post(t, srv.URL, `{"jsonrpc":"2.0","id":1,"method":"net_version","params":["`+strings.Repeat("x", ethrpc.MaxRequestSize)+`"]}`)
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d", code)
	}
	var batch bytes.Buffer
	batch.WriteString("[")
	for i := range ethrpc.MaxBatchItems + 1 {
		if i > 0 {
			batch.WriteString(",")
		}
		batch.WriteString(`{"jsonrpc":"2.0","id":1,"method":"net_version"}`)
	}
	batch.WriteString("]")
	_, body = post(t, srv.URL, batch.String())
	if !strings.Contains(body, "batch too large") {
		t.Errorf("oversized batch: %.200s", body)
	}
}

type echoAPI struct{}

func (echoAPI) Echo(s string) string { return "echo " + s }

// TestRegisterName: another namespace is served beside eth and net,
// which cannot be taken.
func TestRegisterName(t *testing.T) {
	s := newServer(t)
	for _, ns := range []string{"eth", "net"} {
		if err := s.RegisterName(ns, echoAPI{}); err == nil || !strings.Contains(err.Error(), "is taken") {
			t.Errorf("RegisterName(%q): %v, want taken", ns, err)
		}
	}
	if err := s.RegisterName("test", echoAPI{}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	if _, body := post(t, srv.URL, `{"jsonrpc":"2.0","id":1,"method":"test_echo","params":["hi"]}`); !strings.Contains(body, `"result":"echo hi"`) {
		t.Fatalf("test_echo: %s", body)
	}
}
