package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const sampleMetrics = `# HELP meshnode_das_header_sample_duration_seconds Time.
# TYPE meshnode_das_header_sample_duration_seconds histogram
meshnode_das_header_sample_duration_seconds_bucket{le="0.01"} 2
meshnode_das_header_sample_duration_seconds_bucket{le="0.1"} 6
meshnode_das_header_sample_duration_seconds_bucket{le="1"} 10
meshnode_das_header_sample_duration_seconds_bucket{le="+Inf"} 10
meshnode_das_header_sample_duration_seconds_sum 3.2
meshnode_das_header_sample_duration_seconds_count 10
# TYPE meshnode_shrex_requests_total counter
meshnode_shrex_requests_total{side="server",protocol="samples",status="ok"} 40
meshnode_shrex_requests_total{side="server",protocol="eds",status="ok"} 2
meshnode_shrex_requests_total{side="client",protocol="samples",status="ok"} 7
# TYPE meshnode_das_sampled_chain_head gauge
meshnode_das_sampled_chain_head 17
`

func TestParseMetrics(t *testing.T) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(sampleMetrics))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := value(fams, mShrexRequests, "side", "server"); !ok || v != 42 {
		t.Errorf("served: %v %v, want 42", v, ok)
	}
	if v, ok := value(fams, mSampledHead); !ok || v != 17 {
		t.Errorf("sampled head: %v %v, want 17", v, ok)
	}
	if _, ok := value(fams, "absent"); ok {
		t.Error("an absent series was found")
	}
	h := histogram(fams, mSampleTime)
	if h.count() != 10 || h[0.01] != 2 || h[0.1] != 6 || h[1] != 10 || len(h) != 4 {
		t.Fatalf("histogram %v", h)
	}
	// The median (rank 5) is in (0.01, 0.1], 3 of its 4 observations in:
	// 0.01 + 0.09 × 3/4.
	if q := h.quantile(0.5); math.Abs(q-0.0775) > 1e-12 {
		t.Errorf("p50 %v, want 0.0775", q)
	}
	// p90 (rank 9) is in (0.1, 1]: 0.1 + 0.9 × 3/4.
	if q := h.quantile(0.9); math.Abs(q-0.775) > 1e-12 {
		t.Errorf("p90 %v, want 0.775", q)
	}
	// p10 (rank 1) is in the first bucket, from 0.
	if q := h.quantile(0.1); math.Abs(q-0.005) > 1e-12 {
		t.Errorf("p10 %v, want 0.005", q)
	}
}

func TestHistMergeAndSub(t *testing.T) {
	inf := math.Inf(1)
	a := hist{0.1: 1, 1: 3, inf: 4}
	b := hist{0.1: 5, 1: 5, inf: 9}
	m := hist{}
	m.add(a)
	m.add(b)
	if m[0.1] != 6 || m[1] != 8 || m.count() != 13 {
		t.Fatalf("merged %v", m)
	}
	// b then a later scrape of the same node: the window's observations.
	later := hist{0.1: 7, 1: 9, inf: 14}
	d := later.sub(b)
	if d[0.1] != 2 || d[1] != 4 || d.count() != 5 {
		t.Fatalf("difference %v", d)
	}
	// The quantile beyond the last finite bucket is that bucket's bound.
	if q := (hist{1: 0, inf: 3}).quantile(0.5); q != 1 {
		t.Errorf("quantile in +Inf: %v, want 1", q)
	}
	if q := (hist{}).quantile(0.5); !math.IsNaN(q) {
		t.Errorf("empty histogram: %v, want NaN", q)
	}
}

func TestFlags(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.WriteFile(bin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	c, err := parseFlags([]string{"--mesh-node", bin, "--loadgen", bin, "--lights", "3", "--duration", "30s"}, &sb)
	if err != nil {
		t.Fatal(err)
	}
	if c.Lights != 3 || c.Fulls != 2 || c.Duration != 30*time.Second || c.MaxLag != 2 || c.Netem || c.LightProcs != 1 {
		t.Fatalf("config %+v", c)
	}
	for _, bad := range [][]string{
		{"--lights", "0"}, {"--lights", "1001"}, {"--light-gomaxprocs", "-1"}, {"--duration", "1s"}, {"--rate", "-1"}, {"--interval", "10ms"},
		{"--mesh-node", filepath.Join(dir, "missing")}, {"extra"},
	} {
		args := append([]string{"--mesh-node", bin, "--loadgen", bin}, bad...)
		if _, err := parseFlags(args, &sb); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestRemoveLeftovers leaves a work directory as a killed run would, with
// a process that runs from it listed in its pid file, and checks that the
// next run's clean-up kills the process and removes the directory.
func TestRemoveLeftovers(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, workPrefix+"killed")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// sh -c CMD NAME: NAME, the directory, is on its command line.
	cmd := exec.Command("sh", "-c", "sleep 600; exit 0", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	// A stale ID too, of a process that is not ours: left alone.
	pids := strconv.Itoa(cmd.Process.Pid) + "\n" + strconv.Itoa(os.Getpid()) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "pids"), []byte(pids), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(tmp, "other")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	// A leftover of an earlier run has long been running; this one may
	// still be between fork and exec, its command line not yet sh's
	// (removeLeftovers would then take it for another process and leave
	// it, as it should: 1 run in 5 failed so).
	deadline := time.Now().Add(10 * time.Second)
	for {
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid))
		if bytes.Contains(cl, []byte(dir)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the process's command line is %q, without %s", cl, dir)
		}
		time.Sleep(time.Millisecond)
	}
	removeLeftovers(tmp, t.Logf)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the leftover process is still running")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s: %v, want removed", dir, err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("a directory of another name was touched: %v", err)
	}
}

func TestParseCPULine(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	busy, total, err := parseCPULine("cpu  100 5 50 800 20 3 2 10 40 1")
	if err != nil {
		t.Fatal(err)
	}
	if busy != 100+5+50+3+2+10 || total != 100+5+50+800+20+3+2+10 {
		t.Fatalf("busy %d, total %d", busy, total)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5", "cpu 1 2 x 4 5", "intr 1 2 3 4 5"} {
		if _, _, err := parseCPULine(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, _, err := machineCPU(); err != nil {
		t.Logf("this machine's /proc/stat: %v", err)
	}
}
