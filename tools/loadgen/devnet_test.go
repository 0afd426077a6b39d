package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/internal/devnetproc"
)

// TestDevnetLoad runs loadgen for 15 s against a devnet of its own and
// checks the report; then checks that every metric the Grafana dashboard
// queries is served by one of the devnet's nodes.
func TestDevnetLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet")
	}
	// A devnet built from this checkout, in a process of its own, with
	// metrics on and 500 ms blocks.
	home := devnetproc.Run(t, "../..", "--block-time", "500ms", "--metrics").Home
	out := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr strings.Builder
	err := run(ctx, []string{"--devnet", home, "--rate", "2", "--sizes", "uniform:64K-512K", "--namespaces", "3", "--submit-node", "light,full",
		"--concurrency", "4", "--duration", "15s", "--out", out}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("loadgen: %v\n%s", err, stderr.String())
	}
	t.Logf("\n%s", stdout.String())
	rep := readReport(t, out+".json")
	if rep.IncludedBytes <= 0 || rep.IncludedBlobs <= 0 || rep.Blocks <= 0 || rep.IncludedMBps <= 0 {
		t.Fatalf("nothing included: %+v", rep)
	}
	for _, n := range rep.Notes {
		if strings.HasPrefix(n, "inclusion check incomplete") {
			t.Fatalf("report note: %s", n)
		}
	}
	if rep.IncludedBytes != rep.SubmittedBytes || rep.Errors[errMissing] != 0 {
		t.Fatalf("included %d of %d submitted bytes, %d blobs missing", rep.IncludedBytes, rep.SubmittedBytes, rep.Errors[errMissing])
	}
	if rep.LatencyP50Ms <= 0 || rep.LatencyP99Ms < rep.LatencyP50Ms {
		t.Fatalf("latency p50 %g p99 %g", rep.LatencyP50Ms, rep.LatencyP99Ms)
	}
	if len(rep.Samples) < 10 {
		t.Fatalf("%d samples in a 15 s run", len(rep.Samples))
	}
	modes := map[string]NodeSummary{}
	for _, n := range rep.Nodes {
		modes[n.Mode] = n
	}
	light, full, bridge := modes["light"], modes["full"], modes["bridge"]
	if light.MaxHeaderLag < 0 || light.MaxSampledLag < 0 || full.MaxStoredLag < 0 || bridge.MaxStoredLag < 0 {
		t.Fatalf("lags not measured: %+v", rep.Nodes)
	}
	if light.MaxRSSBytes <= 0 || !strings.HasPrefix(light.RSSSource, "process") {
		t.Fatalf("light RSS: %+v", light)
	}
	png, err := os.ReadFile(out + ".png")
	if err != nil || len(png) < 1000 || string(png[1:4]) != "PNG" {
		t.Fatalf("png: %d bytes, %v", len(png), err)
	}

	// Every metric the dashboard queries is served by some node.
	_, nodes, err := loadDevnet(home)
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, n := range nodes {
		if n.Metrics == "" {
			t.Fatalf("node %s has no metrics URL", n.Name)
		}
		m, err := scrape(ctx, http.DefaultClient, n.Metrics)
		if err != nil {
			t.Fatal(err)
		}
		for name := range m {
			served[name] = true
		}
	}
	for _, name := range dashboardMetrics(t) {
		if !served[name] {
			t.Errorf("the dashboard queries %s, which no devnet node serves", name)
		}
	}
}

func readReport(t *testing.T, path string) *Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(fmt.Errorf("report: %w", err))
	}
	return &rep
}
