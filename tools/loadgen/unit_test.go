package main

import (
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSizes(t *testing.T) {
	good := []struct {
		in       string
		min, max int
		mean     float64
	}{
		{"fixed:512K", 512 << 10, 512 << 10, 512 << 10},
		{"fixed:100", 100, 100, 100},
		{"uniform:1K-3K", 1024, 3072, 2048},
		{"fixed:1.5M", 3 << 19, 3 << 19, 3 << 19},
		{"list:100@3,200", 100, 200, 125},
	}
	for _, c := range good {
		d, err := parseSizes(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if d.Min() != c.min || d.Max() != c.max || d.Mean() != c.mean {
			t.Fatalf("%s: min %d max %d mean %g", c.in, d.Min(), d.Max(), d.Mean())
		}
	}
	for _, bad := range []string{"", "fixed", "fixed:", "fixed:0", "fixed:-5", "fixed:65M", "fixed:NaN", "fixed:abc",
		"uniform:3K-1K", "uniform:1K", "list:100@0", "list:100@-1", "list:100@x", "list:", "gauss:1K", "fixed:1e300"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestSizeDraws(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	u, _ := parseSizes("uniform:10-20")
	l, _ := parseSizes("list:1@1,2@3")
	var ones int
	const n = 20000
	for range n {
		if v := u.Draw(r); v < 10 || v > 20 {
			t.Fatalf("uniform draw %d out of range", v)
		}
		switch l.Draw(r) {
		case 1:
			ones++
		case 2:
		default:
			t.Fatal("list draw not in the list")
		}
	}
	// Weight 1 of 4: expect 25%; 20,000 draws put 3 sigma at about 0.9%.
	if f := float64(ones) / n; math.Abs(f-0.25) > 0.015 {
		t.Fatalf("list weight: %.3f of draws are size 1, want 0.25", f)
	}
}

func TestPacer(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := newPacer(1000, t0) // 1000 bytes/s
	if d := p.reserve(500, t0); d != 0 {
		t.Fatalf("first reservation waits %s", d)
	}
	if d := p.reserve(500, t0); d != 500*time.Millisecond {
		t.Fatalf("second waits %s, want 500ms", d)
	}
	if d := p.reserve(1000, t0.Add(100*time.Millisecond)); d != 900*time.Millisecond {
		t.Fatalf("third waits %s, want 900ms", d)
	}
	// Idle for 10 s: at most one second of catch-up burst.
	now := t0.Add(12 * time.Second)
	var burst int
	for p.reserve(100, now) == 0 {
		burst += 100
		if burst > 10000 {
			t.Fatal("pacer let a 10 s backlog through at once")
		}
	}
	if burst < 1000 || burst > 1100 {
		t.Fatalf("catch-up burst %d bytes, want about one second's 1000", burst)
	}
	if d := newPacer(0, t0).reserve(1<<30, t0); d != 0 {
		t.Fatalf("unlimited pacer waits %s", d)
	}
}

func TestPercentile(t *testing.T) {
	var xs []time.Duration
	for i := 100; i >= 1; i-- {
		xs = append(xs, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(xs, 50); p != 50*time.Millisecond {
		t.Fatalf("p50 %s", p)
	}
	if p := percentile(xs, 99); p != 99*time.Millisecond {
		t.Fatalf("p99 %s", p)
	}
	if p := percentile(xs, 100); p != 100*time.Millisecond {
		t.Fatalf("p100 %s", p)
	}
	if xs[0] != 100*time.Millisecond {
		t.Fatal("percentile sorted its input")
	}
	if p := percentile(nil, 50); p != 0 {
		t.Fatalf("empty p50 %s", p)
	}
	if p := percentile([]time.Duration{7}, 99); p != 7 {
		t.Fatalf("one-value p99 %s", p)
	}
}

func TestBinThroughputAndLag(t *testing.T) {
	t0 := time.Unix(0, 0)
	blocks := []blockBytes{
		{Time: t0.Add(-time.Second), Bytes: 1e6},           // before start: bin 0
		{Time: t0.Add(500 * time.Millisecond), Bytes: 1e6}, // bin 0
		{Time: t0.Add(2500 * time.Millisecond), Bytes: 3e6},
		{Time: t0.Add(time.Hour), Bytes: 4e6}, // after: last bin
	}
	got := binThroughput(blocks, t0, time.Second, 3)
	want := []float64{2, 0, 7}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("bins %v, want %v", got, want)
		}
	}
	if binThroughput(blocks, t0, time.Second, 0) != nil {
		t.Fatal("zero bins")
	}
	if mbps(5e6, 2*time.Second) != 2.5 || mbps(1, 0) != 0 {
		t.Fatal("mbps")
	}
	if lag(10, 7) != 3 || lag(10, 12) != 0 {
		t.Fatal("lag")
	}
}

func TestSummarize(t *testing.T) {
	u := func(v uint64) *uint64 { return &v }
	f := func(v float64) *float64 { return &v }
	samples := []Sample{
		{ChainHead: 10, Nodes: map[string]NodeSample{
			"light": {HeaderHead: u(10), SampledHead: u(8), RSS: f(5e7)},
			"full":  {HeaderHead: u(9), SampledHead: u(9), StoredHead: u(9)},
			"own":   {HeaderHead: u(10), SampledHead: u(10), RSS: f(4e7)}}},
		{ChainHead: 12, Nodes: map[string]NodeSample{
			"light": {HeaderHead: u(11), SampledHead: u(12), RSS: f(6e7)},
			"full":  {HeaderHead: u(12), SampledHead: u(7), StoredHead: u(7)},
			"own":   {HeaderHead: u(12), SampledHead: u(11), RSS: f(3e7)}}},
	}
	nodes := []Node{{Name: "full", Shared: true}, {Name: "light", Shared: true}, {Name: "own"}}
	samples[1].T = 300
	got := summarize(nodes, map[string]string{"full": "full", "light": "light", "own": "light"}, samples, 0, 0)
	if got[0].MaxStoredLag != 5 || got[0].MaxHeaderLag != 1 || got[0].MaxRSSBytes != 0 || !strings.HasPrefix(got[0].RSSSource, "unavailable") {
		t.Fatalf("full: %+v", got[0])
	}
	if got[1].MaxSampledLag != 2 || got[1].MeanSampledLag != 1 || got[1].MaxStoredLag != -1 || got[1].MaxRSSBytes != 6e7 ||
		!strings.HasPrefix(got[1].RSSSource, "process") {
		t.Fatalf("light: %+v", got[1])
	}
	if got[2].MaxSampledLag != 1 || got[2].MaxRSSBytes != 4e7 || got[2].RSSSource != "node process" {
		t.Fatalf("own: %+v", got[2])
	}
	if got[2].RSSGrowthPct != 0 || got[2].RSSAtWarmupBytes != 0 {
		t.Fatalf("growth without --warmup: %+v", got[2])
	}
	// With a warm-up of 100 s only the second sample counts: 30 MB at
	// the warm-up, nothing after it above that.
	got = summarize(nodes, map[string]string{"full": "full", "light": "light", "own": "light"}, samples, 100, 400)
	if got[2].RSSAtWarmupBytes != 3e7 || got[2].MaxRSSAfterBytes != 3e7 || got[2].RSSGrowthPct != 0 ||
		got[1].RSSAtWarmupBytes != 6e7 || got[0].RSSAtWarmupBytes != 0 {
		t.Fatalf("warm-up: %+v", got)
	}
	samples = append(samples, Sample{T: 400, ChainHead: 13, Nodes: map[string]NodeSample{"own": {RSS: f(3.3e7)}}})
	got = summarize(nodes, map[string]string{"own": "light"}, samples, 100, 400)
	if g := got[2].RSSGrowthPct; g < 9.99 || g > 10.01 {
		t.Fatalf("growth %v, want 10%%", g)
	}
	if got[2].MaxAnonBytes != 0 || got[2].AnonGrowthPct != 0 || got[2].MaxHeapBytes != 0 {
		t.Fatalf("anon or heap growth without those series: %+v", got[2])
	}
	// Anonymous memory and the Go heap are followed on their own: RSS
	// grows 50% (mapped files), RssAnon 5%, the heap shrinks.
	samples = []Sample{
		{T: 10, Nodes: map[string]NodeSample{"own": {RSS: f(1e9), AnonRSS: f(4e8), HeapInuse: f(2e8)}}},
		{T: 300, Nodes: map[string]NodeSample{"own": {RSS: f(2e9), AnonRSS: f(5e8), HeapInuse: f(3e8)}}},
		{T: 600, Nodes: map[string]NodeSample{"own": {RSS: f(3e9), AnonRSS: f(5.25e8), HeapInuse: f(2.5e8)}}},
		{T: 900, Nodes: map[string]NodeSample{"own": {RSS: f(2.5e9)}}},
	}
	got = summarize([]Node{{Name: "own"}}, map[string]string{"own": "full"}, samples, 300, 900)
	if n := got[0]; n.RSSGrowthPct != 50 || n.AnonGrowthPct != 5 || n.HeapGrowthPct != 0 ||
		n.MaxAnonBytes != 5.25e8 || n.MaxHeapBytes != 3e8 || n.AnonAtWarmupBytes != 5e8 || n.HeapAtWarmupBytes != 3e8 {
		t.Fatalf("anon and heap: %+v", n)
	}
	// Anonymous memory in use is RssAnon less LazyFree, only where both
	// were reported: RssAnon grows 50% with lazily freed pages, in use 2%.
	samples = []Sample{
		{T: 300, Nodes: map[string]NodeSample{"own": {AnonRSS: f(1e9), LazyFree: f(0)}}},
		{T: 600, Nodes: map[string]NodeSample{"own": {AnonRSS: f(1.5e9), LazyFree: f(4.8e8)}}},
		{T: 700, Nodes: map[string]NodeSample{"own": {AnonRSS: f(1.6e9)}}},
	}
	got = summarize([]Node{{Name: "own"}}, map[string]string{"own": "bridge"}, samples, 300, 900)
	if n := got[0]; n.AnonGrowthPct != 60 || n.InUseAtWarmupBytes != 1e9 || n.MaxInUseAfterBytes != 1.02e9 || n.InUseGrowthPct < 1.99 || n.InUseGrowthPct > 2.01 {
		t.Fatalf("anon in use: %+v", n)
	}
	// The trend compares the medians of the first and last warm-up-long
	// windows: a flat sawtooth has none, though its peak against the
	// sample at the warm-up is +100%; a steady rise from 130 to 190 MB has
	// one (medians 144.5 and 175 MB).
	samples = nil
	for i := 0; i <= 90; i++ {
		saw, rise := []float64{100e6, 150e6, 200e6}[i%3], 100e6+float64(i)*1e6
		samples = append(samples, Sample{T: float64(i * 10), Nodes: map[string]NodeSample{"own": {RSS: f(saw), HeapInuse: f(rise)}}})
	}
	got = summarize([]Node{{Name: "own"}}, map[string]string{"own": "light"}, samples, 300, 900)
	if n := got[0]; n.RSSGrowthPct != 100 || n.RSSTrendPct != 0 || n.HeapTrendPct < 21 || n.HeapTrendPct > 21.2 {
		t.Fatalf("trend: %+v", n)
	}
	got = summarize([]Node{{Name: "own"}}, map[string]string{"own": "light"}, samples, 300, 800)
	if n := got[0]; n.HeapTrendPct != 0 {
		t.Fatalf("trend of a load under three warm-ups: %+v", n)
	}
}

func TestClassify(t *testing.T) {
	for msg, kind := range map[string]string{
		"state: broadcast: mempool is full":             errMempool,
		"server busy":                                   errBusy,
		"429 Too Many Requests":                         errBusy,
		"account sequence mismatch, expected 5, got 4":  errSequence,
		"context deadline exceeded":                     errTimeout,
		"blob: over size limit":                         errTooLarge,
		"state: transaction failed: code 11 out of gas": errTxFailed,
		"something else":                                errOther,
	} {
		if got := classify(errors.New(msg)); got != kind {
			t.Errorf("%q: %s, want %s", msg, got, kind)
		}
	}
	if !retryable(errMempool) || retryable(errOther) || retryable(errTooLarge) {
		t.Fatal("retryable")
	}
}

func TestParseExposition(t *testing.T) {
	in := `# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 1.234e+08
meshnode_shrex_requests_total{side="server",protocol="sample",status="ok"} 42
meshnode_header_height 17 1700000000000
`
	m, err := parseExposition(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if m["process_resident_memory_bytes"] != 1.234e8 || m["meshnode_shrex_requests_total"] != 42 || m["meshnode_header_height"] != 17 {
		t.Fatalf("%v", m)
	}
	for _, bad := range []string{"x{a=\"b\" 1\n", "x\n", "x abc\n"} {
		if _, err := parseExposition(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

const devnetJSON = `{
  "chain_id": "mesh-devnet",
  "core_rpc": "http://127.0.0.1:26657",
  "nodes": {
    "light":  {"rpc": "http://127.0.0.1:26660", "token": "tl", "p2p": ["/ip4/127.0.0.1/tcp/1"], "home": "/h/light", "metrics": "http://127.0.0.1:26666/metrics"},
    "bridge": {"rpc": "http://127.0.0.1:26658", "token": "tb", "home": "/h/bridge", "gateway": "http://127.0.0.1:26667"},
    "full":   {"rpc": "http://127.0.0.1:26659", "token": "tf"}
  },
  "accounts": {"dev": "mesh1x"}
}`

func TestReadDevnet(t *testing.T) {
	core, nodes, err := readDevnet(strings.NewReader(devnetJSON))
	if err != nil {
		t.Fatal(err)
	}
	if core != "http://127.0.0.1:26657" || len(nodes) != 3 || nodes[0].Name != "bridge" || nodes[2].Name != "light" ||
		nodes[2].Token != "tl" || nodes[2].Metrics != "http://127.0.0.1:26666/metrics" || nodes[1].Metrics != "" {
		t.Fatalf("%s %+v", core, nodes)
	}
	for _, bad := range []string{"", "{", `{"nodes":{}}`, `{"nodes":{"x":{"token":"t"}}}`, `[]`} {
		if _, _, err := readDevnet(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, _, err := readDevnet(io.MultiReader(strings.NewReader(`{"a":"`), strings.NewReader(strings.Repeat("x", maxDevnetJSON)))); err == nil {
		t.Error("oversized devnet.json accepted")
	}
}

func TestParseFlags(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "devnet.json"), []byte(devnetJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseFlags([]string{"--devnet", home, "--rate", "2.5", "--sizes", "uniform:1K-2K", "--duration", "10s", "--gas-price", "0.004"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Submit) != 1 || cfg.Submit[0].Name != "light" || cfg.Rate != 2.5e6 || !cfg.Watch[0].Shared || len(cfg.Watch) != 3 || !cfg.GasPriceSet ||
		cfg.GasPrice != 0.004 || cfg.CoreRPC == "" || cfg.SizesSpec != "uniform:1K-2K" {
		t.Fatalf("%+v", cfg)
	}
	cfg, err = parseFlags([]string{"--submit", "http://localhost:1", "--token", "t", "--watch", "a=http://[::1]:2,tok,http://127.0.0.1:3/metrics", "--count", "5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GasPriceSet || len(cfg.Watch) != 1 || cfg.Watch[0].Metrics != "http://127.0.0.1:3/metrics" || cfg.Count != 5 {
		t.Fatalf("%+v", cfg)
	}
	// A light node in a process of its own, watched beside a devnet's.
	cfg, err = parseFlags([]string{"--devnet", home, "--watch", "light2=http://127.0.0.1:4,tok,http://127.0.0.1:5/metrics", "--count", "1"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Watch) != 4 || cfg.Watch[3].Name != "light2" || cfg.Watch[3].Shared || !cfg.Watch[0].Shared {
		t.Fatalf("%+v", cfg.Watch)
	}
	if _, err := parseFlags([]string{"--devnet", home, "--watch", "light=http://127.0.0.1:4,tok", "--count", "1"}, io.Discard); err == nil {
		t.Fatal("a --watch named like a devnet node was accepted")
	}
	base := []string{"--submit", "http://127.0.0.1:1", "--duration", "5s"}
	for name, extra := range map[string][]string{
		"negative rate":        {"--rate", "-1"},
		"NaN rate":             {"--rate", "NaN"},
		"zero namespaces":      {"--namespaces", "0"},
		"negative namespaces":  {"--namespaces", "-3"},
		"zero concurrency":     {"--concurrency", "0"},
		"negative duration":    {"--duration", "-1s"},
		"negative count":       {"--count", "-1"},
		"zero gas price":       {"--gas-price", "0"},
		"negative retries":     {"--retries", "-1"},
		"short interval":       {"--interval", "1ms"},
		"negative warm-up":     {"--warmup", "-1s"},
		"bad sizes":            {"--sizes", "fixed:0"},
		"remote submit":        {"--submit", "http://10.0.0.1:26658"},
		"remote host name":     {"--submit", "http://example.com:26658"},
		"remote watch":         {"--watch", "x=http://192.168.1.2:1,t"},
		"remote metrics":       {"--watch", "x=http://127.0.0.1:1,t,http://8.8.8.8/metrics"},
		"remote core":          {"--core-rpc", "http://1.2.3.4:26657"},
		"bad scheme":           {"--submit", "ftp://127.0.0.1:1"},
		"bad watch":            {"--watch", "nourl"},
		"stray argument":       {"extra"},
		"empty out":            {"--out", ""},
		"devnet with --submit": {"--devnet", home},
	} {
		if _, err := parseFlags(append(append([]string{}, base...), extra...), io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := parseFlags([]string{"--submit", "http://127.0.0.1:1"}, io.Discard); err == nil {
		t.Error("unbounded run accepted")
	}
	cfg, err = parseFlags([]string{"--devnet", home, "--submit-node", "light,full", "--count", "1"}, io.Discard)
	if err != nil || len(cfg.Submit) != 2 || cfg.Submit[1].Name != "full" || cfg.Submit[1].Token != "tf" {
		t.Fatalf("--submit-node light,full: %+v %v", cfg.Submit, err)
	}
	if _, err := parseFlags([]string{"--devnet", home, "--submit-node", "light,core", "--count", "1"}, io.Discard); err == nil {
		t.Error("unknown --submit-node accepted")
	}
	if _, err := parseFlags([]string{"--devnet", t.TempDir(), "--count", "1"}, io.Discard); err == nil {
		t.Error("missing devnet.json accepted")
	}
	if _, err := parseFlags([]string{"--submit", "http://10.0.0.1:26658", "--count", "1", "--allow-remote"}, io.Discard); err != nil {
		t.Errorf("--allow-remote: %v", err)
	}
}

func TestWritePlotAndReport(t *testing.T) {
	u := func(v uint64) *uint64 { return &v }
	f := func(v float64) *float64 { return &v }
	rep := &Report{IncludedMBps: 1.5, Throughput: []float64{1, 2, 1.5},
		Nodes: []NodeSummary{{Name: "light", Mode: "light", RSSSource: "process (shared by every devnet node)"}, {Name: "full", Mode: "full"}},
		Samples: []Sample{
			{T: 0, ChainHead: 3, Nodes: map[string]NodeSample{"light": {HeaderHead: u(3), SampledHead: u(2), RSS: f(1e8)}, "full": {HeaderHead: u(3), SampledHead: u(3), StoredHead: u(3)}}},
			{T: 1, ChainHead: 4, Nodes: map[string]NodeSample{"light": {HeaderHead: u(4), SampledHead: u(4), RSS: f(1.1e8)}, "full": {HeaderHead: u(4), SampledHead: u(3), StoredHead: u(3)}}},
		}, Errors: map[string]int{"mempool": 2}}
	dir := t.TempDir()
	png := filepath.Join(dir, "r.png")
	if err := writePlot(png, rep); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(png)
	if err != nil || len(b) < 1000 || string(b[1:4]) != "PNG" {
		t.Fatalf("png: %d bytes, %v", len(b), err)
	}
	var sb strings.Builder
	if err := writeTable(&sb, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "mempool=2") || !strings.Contains(sb.String(), "light") {
		t.Fatalf("table:\n%s", sb.String())
	}
	if strings.Contains(sb.String(), "growth") {
		t.Fatalf("a growth table without --warmup:\n%s", sb.String())
	}
	rep.WarmupSeconds = 300
	rep.Nodes[0].RSSAtWarmupBytes, rep.Nodes[0].MaxRSSAfterBytes, rep.Nodes[0].RSSGrowthPct = 1e8, 1.05e8, 5
	sb.Reset()
	if err := writeTable(&sb, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "MB at 300 s") || !strings.Contains(sb.String(), "100, 105, +5.0%") {
		t.Fatalf("table with --warmup:\n%s", sb.String())
	}
	if err := writeJSON(filepath.Join(dir, "r.json"), rep); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyBudget(t *testing.T) {
	r := &runner{}
	if got := r.verifyBudget(); got != time.Minute {
		t.Fatalf("nothing submitted: %s", got)
	}
	r.ok = []submitted{{size: 30_000_000}, {size: 20_000_000}}
	if got := r.verifyBudget(); got != 70*time.Second {
		t.Fatalf("50 MB submitted: %s, want 1m10s", got)
	}
}
