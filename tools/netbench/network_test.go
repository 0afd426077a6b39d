package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// buildBins builds mesh-node from this checkout and tools/loadgen into a
// temporary directory.
func buildBins(t *testing.T) (meshNode, loadgen string) {
	t.Helper()
	dir := t.TempDir()
	meshNode, loadgen = filepath.Join(dir, "mesh-node"), filepath.Join(dir, "loadgen")
	for _, b := range []struct{ dir, out, goflags string }{
		{"../..", meshNode, ""}, // the main module builds with its own go.mod
		{"../loadgen", loadgen, "-mod=mod"},
	} {
		cmd := exec.Command("go", "build", "-o", b.out, ".")
		if b.dir == "../.." {
			cmd.Args = []string{"go", "build", "-o", b.out, "./cmd/mesh-node"}
		}
		cmd.Dir = b.dir
		cmd.Env = append(os.Environ(), "GOFLAGS="+b.goflags)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", b.out, err, out)
		}
	}
	return meshNode, loadgen
}

// runNetwork runs netbench with cfg and checks the report: every light
// node within its lag bound, sampled headers and their timing, the load
// included, the servers measured; and that nothing it started is left.
func runNetwork(t *testing.T, cfg Config) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var logs bytes.Buffer
	rep, err := Run(ctx, cfg, &logs)
	t.Logf("netbench log:\n%s", logs.String())
	if err != nil {
		t.Fatalf("netbench: %v", err)
	}
	var table strings.Builder
	if err := writeTable(&table, rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())

	// Nothing left: no process, no work directory.
	if len(rep.pids) != 1+1+cfg.Fulls+cfg.Lights+1 { // core, bridge, fulls, lights, loadgen
		t.Errorf("%d processes started, want %d", len(rep.pids), 1+1+cfg.Fulls+cfg.Lights+1)
	}
	for _, pid := range rep.pids {
		cl, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err == nil && bytes.Contains(cl, []byte(rep.WorkDir)) {
			t.Errorf("process %d is still running: %q", pid, cl)
		}
	}
	if _, err := os.Stat(rep.WorkDir); !os.IsNotExist(err) {
		t.Errorf("work directory %s: %v, want removed", rep.WorkDir, err)
	}

	if len(rep.LightNodes) != cfg.Lights || len(rep.Servers) != 1+cfg.Fulls {
		t.Fatalf("%d light nodes and %d servers reported", len(rep.LightNodes), len(rep.Servers))
	}
	if !rep.AllWithinLag || rep.NotWithin != 0 {
		t.Errorf("%d light nodes ran more than %d blocks behind: %+v", rep.NotWithin, rep.MaxLagAllowed, rep.LightNodes)
	}
	blocks := rep.ChainEnd - rep.ChainStart
	if blocks < 5 {
		t.Fatalf("chain %d → %d: too few blocks", rep.ChainStart, rep.ChainEnd)
	}
	for _, l := range rep.LightNodes {
		// Each light node samples each new block; the last ones of the
		// window may still be in flight.
		if l.HeadersSampled == 0 || l.HeadersSampled+cfg.MaxLag+1 < blocks || l.EndRSSMB <= 0 || l.CPUCores <= 0 || l.ScrapeErrors != 0 {
			t.Errorf("%s: %+v (chain advanced %d blocks)", l.Name, l, blocks)
		}
	}
	if rep.LightCPUCores <= 0 || rep.MachineBusy <= 0 || rep.MachineBusy > 1 {
		t.Errorf("light nodes' CPU %v cores, machine %v busy", rep.LightCPUCores, rep.MachineBusy)
	}
	if rep.SampleP50Ms <= 0 || rep.SampleP99Ms < rep.SampleP50Ms {
		t.Errorf("sampling time p50 %v ms, p99 %v ms", rep.SampleP50Ms, rep.SampleP99Ms)
	}
	for _, s := range rep.Servers {
		if s.CPUCores <= 0 || s.EndRSSMB <= 0 || s.ScrapeErrors != 0 {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
	if rep.Servers[0].ShrexServedPerSec <= 0 {
		t.Errorf("the bridge served no shrex requests: %+v", rep.Servers[0])
	}
	if rep.Load == nil || rep.Load.IncludedBytes <= 0 || rep.Load.IncludedBytes != rep.Load.SubmittedBytes {
		t.Errorf("load: %+v", rep.Load)
	}
	return rep
}

// TestNetwork runs 3 light nodes for 30 s on loopback.
func TestNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a network of processes")
	}
	meshNode, loadgen := buildBins(t)
	runNetwork(t, Config{Bin: meshNode, Loadgen: loadgen, Lights: 3, Fulls: 2, Duration: 30 * time.Second,
		Startup: 3 * time.Minute, BlockTime: time.Second, RateMB: 1, Sizes: "fixed:256K", Concurrency: 4,
		Interval: 2 * time.Second, MaxLag: 2, Parallel: 4, Out: filepath.Join(t.TempDir(), "r.json")})
}

// TestNetworkNetem runs 2 light nodes in network namespaces behind tc
// netem (50 ms round trip, 20 Mbit/s each way); on a kernel without netem,
// behind a 20 Mbit/s token bucket alone (--netem-delay 0). It skips where
// network namespaces cannot be made.
func TestNetworkNetem(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a network of processes")
	}
	shape := netemShape{delay: "25ms", rate: "20mbit"}
	if err := checkNetem(context.Background(), shape); err != nil {
		t.Logf("netem: %v", err)
		shape.delay = "0"
		if err := checkNetem(context.Background(), shape); err != nil {
			t.Skipf("no network namespaces or shaping here: %v", err)
		}
		t.Log("no netem in this kernel: the links are shaped to 20 Mbit/s without delay")
	}
	meshNode, loadgen := buildBins(t)
	rep := runNetwork(t, Config{Bin: meshNode, Loadgen: loadgen, Lights: 2, Fulls: 2, Duration: 30 * time.Second,
		Startup: 3 * time.Minute, BlockTime: time.Second, RateMB: 1, Sizes: "fixed:256K", Concurrency: 4,
		Interval: 2 * time.Second, MaxLag: 2, Parallel: 2, Netem: true, Shape: shape,
		Out: filepath.Join(t.TempDir(), "r.json")})
	// Every header's samples cross the 50 ms round trip at least once.
	if !shape.rateOnly() && rep.SampleP50Ms < 50 {
		t.Errorf("sampling time p50 %v ms behind a 50 ms round trip", rep.SampleP50Ms)
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), nsPrefix) {
		t.Errorf("namespaces left: %s", out)
	}
	out, err = exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), bridgeDev) || strings.Contains(string(out), " "+vethHost) {
		t.Errorf("network devices left: %s", out)
	}
}
