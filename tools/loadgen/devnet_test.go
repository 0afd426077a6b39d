package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startDevnet builds mesh-node from this checkout and runs `mesh-node
// devnet` in its own process with free ports, metrics on and 500 ms
// blocks; it returns the devnet's home once it prints "devnet ready" and
// stops it (SIGINT, then a wait) when the test ends.
func startDevnet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "mesh-node")
	build := exec.Command("go", "build", "-o", bin, "./cmd/mesh-node")
	build.Dir = root
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build mesh-node: %v\n%s", err, out)
	}
	home := filepath.Join(dir, "devnet")
	cmd := exec.Command(bin, "devnet", "--home", home, "--base-port", "0", "--block-time", "500ms", "--metrics")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "devnet.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start devnet: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("devnet exit: %v", err)
			}
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			t.Error("devnet did not exit within a minute of SIGINT; killed")
		}
		logf.Close()
	})
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "devnet ready" {
				ready <- nil
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- errors.New("devnet exited before it was ready")
	}()
	select {
	case err := <-ready:
		if err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "devnet.log"))
			t.Fatalf("%v\n%s", err, log)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("devnet not ready within two minutes")
	}
	return home
}

// TestDevnetLoad runs loadgen for 15 s against a devnet of its own and
// checks the report; then checks that every metric the Grafana dashboard
// queries is served by one of the devnet's nodes.
func TestDevnetLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet")
	}
	home := startDevnet(t)
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
