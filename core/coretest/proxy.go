package coretest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// RPCProxy forwards to a core node's RPC (its websocket too) and counts
// what passes: each path under /mesh/, each JSON-RPC method of a POST,
// "/websocket" upgrades. With HideMesh it answers every /mesh/ path with a
// plain 404, as a core node without the binary routes (core/meshrpc)
// would; those requests are counted as "hidden:" and the path.
type RPCProxy struct {
	// URL is the proxy's RPC address (http://127.0.0.1:port).
	URL string

	mu     sync.Mutex
	counts map[string]int
}

// NewRPCProxy starts a proxy in front of target (a node's RPCAddr),
// closed when t ends.
func NewRPCProxy(t testing.TB, target string, hideMesh bool) *RPCProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &RPCProxy{counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/mesh/") && hideMesh:
			p.add("hidden:" + r.URL.Path)
			http.NotFound(w, r)
			return
		case r.Method == http.MethodPost && r.URL.Path == "/":
			// The whole call is read to find its method: tests send
			// small transactions.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			var call struct {
				Method string `json:"method"`
			}
			if json.Unmarshal(body, &call) == nil {
				p.add("json:" + call.Method)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		default:
			p.add(r.URL.Path)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *RPCProxy) add(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[key]++
}

// Count is how many requests of key passed: a path ("/mesh/v1/block",
// "/websocket"), "json:" and a JSON-RPC method, or "hidden:" and a /mesh/
// path refused.
func (p *RPCProxy) Count(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[key]
}
