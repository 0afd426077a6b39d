package nodebuilder_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// startMetricsNode starts a node serving metrics on a loopback port of its
// own; it is stopped at the end of the test.
func startMetricsNode(ctx context.Context, t *testing.T, name string, mode nodebuilder.Mode, conf nodebuilder.Config) *nodebuilder.Node {
	t.Helper()
	var n *nodebuilder.Node
	// Registered before newNode stops the node, so it runs after.
	t.Cleanup(func() {
		if n != nil && n.MetricsAddr() != "" {
			t.Errorf("%s: metrics address %q after Stop", name, n.MetricsAddr())
		}
	})
	n = newNode(t, t.TempDir(), name, mode, conf, nodebuilder.Options{
		Badger:      func(o badger.Options) badger.Options { return o.WithMemTableSize(8 << 20).WithNumMemtables(2) },
		MetricsAddr: "127.0.0.1:0",
		DAS: func(o *das.Options) {
			o.RetryBackoff = 100 * time.Millisecond
			o.PollInterval = 200 * time.Millisecond
		},
	})
	if n.MetricsAddr() != "" {
		t.Errorf("%s: metrics address %q before Start", name, n.MetricsAddr())
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

// scrape returns the samples n serves at /metrics, by series as written
// in the text format: name{label="value",...} with labels sorted.
func scrape(ctx context.Context, t *testing.T, n *nodebuilder.Node) map[string]float64 {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.MetricsAddr()+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s: %s", resp.Status, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("malformed sample %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitMetrics scrapes n until every series in want is above its value, or
// ctx ends.
func waitMetrics(ctx context.Context, t *testing.T, n *nodebuilder.Node, name string, want map[string]float64) map[string]float64 {
	t.Helper()
	var got map[string]float64
	missing := func() []string {
		var m []string
		for s, min := range want {
			if v, ok := got[s]; !ok || v <= min {
				m = append(m, fmt.Sprintf("%s = %v (want > %v)", s, v, min))
			}
		}
		return m
	}
	coretest.WaitUntil(ctx, t, fmt.Sprintf("%s's metrics", name), func() bool {
		got = scrape(ctx, t, n)
		if m := missing(); len(m) > 0 {
			t.Logf("%s: waiting for %v", name, m)
			return false
		}
		return true
	})
	return got
}

// TestMetricsBridgeAndLight runs a core node, a bridge and a light node
// sampling from it, both serving metrics, and checks the series each
// scrape shows.
func TestMetricsBridgeAndLight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT chain and two nodes")
	}
	const chainID = "metrics-test"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	v, paced := fastChain(ctx, t, chainID)
	paced.delay.Store(int64(100 * time.Millisecond))

	bconf := nodeConfig(nodebuilder.Bridge, chainID)
	bconf.Core.RPC = v.RPCAddr
	bridge := startMetricsNode(ctx, t, "bridge", nodebuilder.Bridge, bconf)
	lconf := nodeConfig(nodebuilder.Light, chainID, addr(t, bridge))
	lconf.Header.TrustedHeight = 1
	light := startMetricsNode(ctx, t, "light", nodebuilder.Light, lconf)

	got := waitMetrics(ctx, t, bridge, "bridge", map[string]float64{
		"meshnode_header_height":                                                          0,
		"meshnode_bridge_blocks_ingested_total":                                           0,
		"meshnode_bridge_ingested_height":                                                 0,
		"meshnode_bridge_square_size":                                                     0,
		"meshnode_bridge_ingest_duration_seconds_count":                                   0,
		`meshnode_shrex_requests_total{protocol="samples",side="server",status="ok"}`:     0,
		`meshnode_shrex_request_duration_seconds_count{protocol="samples",side="server"}`: 0,
		`meshnode_store_size_bytes{part="lsm"}`:                                           -1,
		"meshnode_p2p_peers":                                                              0,
		`meshnode_node_info{chain_id="metrics-test",mode="bridge"}`:                       0,
		"go_goroutines":                 0,
		"process_resident_memory_bytes": 0,
	})
	if runtime.GOOS == "linux" {
		if a, r := got["meshnode_process_anon_memory_bytes"], got["process_resident_memory_bytes"]; a <= 0 || a > r {
			t.Errorf("anon memory %v bytes, want in (0, RSS %v]", a, r)
		}
		if l, ok := got["meshnode_process_lazyfree_memory_bytes"]; !ok || l < 0 || l > got["meshnode_process_anon_memory_bytes"] {
			t.Errorf("lazily freed memory %v bytes (reported: %v), want in [0, anon]", l, ok)
		}
	}
	t.Logf("bridge: height %v, %v blocks ingested, %v samples served", got["meshnode_header_height"], got["meshnode_bridge_blocks_ingested_total"],
		got[`meshnode_shrex_requests_total{protocol="samples",side="server",status="ok"}`])
	for _, s := range []string{"meshnode_das_sampled_chain_head", "meshnode_header_network_head", "meshnode_das_header_sample_duration_seconds_count"} {
		if _, ok := got[s]; ok {
			t.Errorf("bridge serves %s", s)
		}
	}

	got = waitMetrics(ctx, t, light, "light", map[string]float64{
		"meshnode_header_height":                                                      0,
		"meshnode_header_network_head":                                                0,
		"meshnode_das_sampled_chain_head":                                             0,
		"meshnode_das_network_head":                                                   0,
		"meshnode_das_sampled_total":                                                  0,
		"meshnode_das_unavailable_total":                                              -1,
		"meshnode_das_header_sample_duration_seconds_count":                           0,
		`meshnode_das_header_sample_duration_seconds_bucket{le="+Inf"}`:               0,
		`meshnode_shrex_requests_total{protocol="samples",side="client",status="ok"}`: 0,
		`meshnode_node_info{chain_id="metrics-test",mode="light"}`:                    0,
	})
	t.Logf("light: height %v, sampled head %v", got["meshnode_header_height"], got["meshnode_das_sampled_chain_head"])
	if _, ok := got["meshnode_bridge_blocks_ingested_total"]; ok {
		t.Error("light serves bridge_blocks_ingested_total")
	}
	if got["meshnode_das_sampled_chain_head"] > got["meshnode_header_height"] {
		t.Errorf("sampled head %v above the header height %v", got["meshnode_das_sampled_chain_head"], got["meshnode_header_height"])
	}

	// Only GET /metrics is served.
	for _, c := range []struct{ method, path string }{{http.MethodPost, "/metrics"}, {http.MethodGet, "/"}} {
		req, err := http.NewRequestWithContext(ctx, c.method, "http://"+light.MetricsAddr()+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("%s %s: %s", c.method, c.path, resp.Status)
		}
	}
}

func TestMetricsAddr(t *testing.T) {
	conf := nodeConfig(nodebuilder.Light, "metrics-addr", "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN")
	for _, bad := range []string{"nonsense", "127.0.0.1", ":metrics:"} {
		if _, err := nodebuilder.New(nodebuilder.Light, t.TempDir(), conf, nodebuilder.Options{MetricsAddr: bad}); err == nil || !strings.Contains(err.Error(), "metrics address") {
			t.Errorf("MetricsAddr %q: %v, want an error naming the metrics address", bad, err)
		}
	}
	n, err := nodebuilder.New(nodebuilder.Light, t.TempDir(), conf, nodebuilder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n.MetricsAddr() != "" {
		t.Errorf("metrics address %q without Options.MetricsAddr", n.MetricsAddr())
	}
	if err := n.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
