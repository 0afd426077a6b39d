package nodebuilder_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/exchange"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// benchChainOptions make blocks whose squares are all 32 wide (k = 32):
// 24 blobs of up to 20,000 bytes fill about 500 of a 32-wide square's
// 1,024 shares (never fewer than the 256 of a 16-wide one in practice).
func benchChainOptions(chainID string, start time.Time) headertest.Options {
	return headertest.Options{ChainID: chainID, Seed: 11, Blobs: 24, MaxBlobSize: 20000, StartTime: start}
}

// genBenchChain generates n headers and logs how long it took and the
// square widths. It returns the squares too, for the bridge to serve: the
// light node samples every header as it syncs, as a real one does.
func genBenchChain(b *testing.B, opts headertest.Options, n int) ([]*header.ExtendedHeader, map[uint64]*eds.ExtendedDataSquare) {
	b.Helper()
	start := time.Now()
	var c []*header.ExtendedHeader
	squares := map[uint64]*eds.ExtendedDataSquare{}
	opts.OnSquare = func(h int64, e *eds.ExtendedDataSquare) { squares[uint64(h)] = e }
	// Labelled, so that profiles can leave generation out:
	// go tool pprof -tagignore phase=generate.
	pprof.Do(context.Background(), pprof.Labels("phase", "generate"), func(context.Context) {
		c = headertest.NewGenerator(opts).Chain(b, n)
	})
	widths := map[int]int{}
	for _, h := range c {
		widths[h.DAH.SquareSize()]++
	}
	b.Logf("generated %d headers in %v; square widths (k: headers): %v", n, time.Since(start).Round(time.Millisecond), widths)
	return c, squares
}

// benchChain is a benchmark's chain and its squares, generated once per
// process (go test -count runs the benchmark function again in the same
// process).
type benchChain struct {
	once    sync.Once
	hs      []*header.ExtendedHeader
	squares map[uint64]*eds.ExtendedDataSquare
}

// get returns the chain, generating its n headers with opts on the first
// call; it fails b if that generation failed in an earlier run.
func (c *benchChain) get(b *testing.B, opts headertest.Options, n int) []*header.ExtendedHeader {
	b.Helper()
	c.once.Do(func() { c.hs, c.squares = genBenchChain(b, opts, n) })
	if c.hs == nil {
		b.Fatal("chain generation failed in an earlier run")
	}
	return c.hs
}

// lightOn starts a test bridge serving c's headers and squares and returns
// the configuration of a light node of chainID that trusts height 1 and
// syncs from it, listening on loopback TCP only.
func (c *benchChain) lightOn(ctx context.Context, b *testing.B, chainID string) nodebuilder.Config {
	b.Helper()
	bridge := startSquareBridge(ctx, b, chainID, memChain(ctx, b, c.hs), &squareMap{squares: c.squares})
	conf := nodeConfig(nodebuilder.Light, chainID, bridge.addr(b))
	conf.P2P.ListenAddresses = []string{"/ip4/127.0.0.1/tcp/0"}
	conf.Header.TrustedHeight = 1
	return conf
}

// syncChain is BenchmarkLightSync's chain.
var syncChain benchChain

const syncChainID = "bench-sync"

// BenchmarkLightSync: a fresh light node (Badger on disk, default options,
// trusting height 1) syncs a chain of 2,048 headers of 32-wide squares
// from one test bridge over loopback TCP. Each iteration is one light node,
// timed from New until its store's height is the chain's head; stopping it
// is not timed. headers/s is headers stored over the timed duration.
func BenchmarkLightSync(b *testing.B) {
	const n = 2048
	syncChain.get(b, benchChainOptions(syncChainID, time.Time{}), n)
	ctx := context.Background()
	conf := syncChain.lightOn(ctx, b, syncChainID)

	var synced time.Duration
	headers := 0
	b.ResetTimer()
	for range b.N {
		home := b.TempDir()
		start := time.Now()
		light, err := nodebuilder.New(nodebuilder.Light, home, conf, nodebuilder.Options{Logger: benchLogger()})
		if err != nil {
			b.Fatal(err)
		}
		waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		if err := light.Start(waitCtx); err != nil {
			b.Fatal(err)
		}
		waitStored(waitCtx, b, light, n)
		cancel()
		took := time.Since(start)
		b.StopTimer()
		synced += took
		headers += n
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := light.Stop(stopCtx); err != nil {
			b.Fatal(err)
		}
		cancel()
		b.StartTimer()
	}
	b.ReportMetric(float64(headers)/synced.Seconds(), "headers/s")
}

// waitStored polls n's store until it holds height h.
func waitStored(ctx context.Context, b *testing.B, n *nodebuilder.Node, h uint64) {
	b.Helper()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for n.Headers().Height() < h {
		select {
		case <-ctx.Done():
			b.Fatalf("light node at height %d, want %d: %v", n.Headers().Height(), h, ctx.Err())
		case <-tick.C:
		}
	}
}

// followChain is BenchmarkLightFollowRSS's chain.
var followChain benchChain

// BenchmarkLightFollowRSS measures a light node process's memory: the
// mesh-node binary, built into a temporary directory, runs `light start`
// (trusting height 1) against a test bridge in this process that serves
// 500 headers of 32-wide squares, then appends and publishes 400 more at
// 20 per second. /proc/<pid>/status is sampled every 100 ms until the light
// node's head, asked over header-ex, is the bridge's; then the node gets
// SIGINT and must exit 0. peak-rss-MB is VmHWM (the peak over the
// process's life, initial sync included, or the highest sample if above
// it), rss-MB the VmRSS at the end, and follow-peak-rss-MB the highest
// VmRSS sampled while following. Each is the highest over the iterations.
func BenchmarkLightFollowRSS(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc/<pid>/status")
	}
	const (
		initial = 500
		more    = 400
		rate    = 20 // headers per second
		chainID = "bench-follow"
	)
	// The build is cached by go; the chain is generated once per process
	// (go test -count calls the benchmark again).
	bin := filepath.Join(b.TempDir(), "mesh-node")
	start := time.Now()
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/datamesh/mesh-node/cmd/mesh-node").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	b.Logf("built mesh-node in %v", time.Since(start).Round(time.Millisecond))
	// The chain's last header is a block time in the past when generated:
	// none is from the future when published.
	blockTime := time.Second
	opts := benchChainOptions(chainID, time.Now().Add(-time.Duration(initial+more+1)*blockTime))
	opts.Seed, opts.BlockTime = 12, blockTime
	chain := followChain.get(b, opts, initial+more)

	var peak, final, followPeak float64
	b.ResetTimer()
	for range b.N {
		p, f, fp := followOnce(b, bin, chainID, chain, initial, rate)
		peak, final, followPeak = max(peak, p), max(final, f), max(followPeak, fp)
	}
	b.ReportMetric(peak, "peak-rss-MB")
	b.ReportMetric(final, "rss-MB")
	b.ReportMetric(followPeak, "follow-peak-rss-MB")
}

// followOnce runs one light node process through the scenario and returns
// its VmHWM, final VmRSS and highest VmRSS while following, in MB.
func followOnce(b *testing.B, bin, chainID string, chain []*header.ExtendedHeader, initial, rate int) (peak, final, followPeak float64) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bridge := startSquareBridge(ctx, b, chainID, memChain(ctx, b, chain[:initial]), &squareMap{squares: followChain.squares})

	home := b.TempDir()
	if out, err := exec.Command(bin, "light", "init", "--home", home, "--chain-id", chainID,
		"--bootstrap", bridge.addr(b), "--p2p.listen", "/ip4/127.0.0.1/tcp/0", "--rpc.port", "0", "--trusted-height", "1").CombinedOutput(); err != nil {
		b.Fatalf("light init: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "light", "start", "--home", home, "--log.level", "error")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	ids := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "peer_id: "); ok {
				ids <- id
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	// The node prints its peer ID once started, its store initialised.
	var lightID peer.ID
	select {
	case s := <-ids:
		if lightID, err = peer.Decode(s); err != nil {
			b.Fatal(err)
		}
	case err := <-exited:
		b.Fatalf("light exited before starting: %v\n%s", err, stderr.String())
	case <-ctx.Done():
		b.Fatalf("light did not start\n%s", stderr.String())
	}
	cl, err := exchange.NewClient(bridge.p2p.Host(), chainID, exchange.WithTrustedPeers(lightID))
	if err != nil {
		b.Fatal(err)
	}
	if err := cl.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer cl.Stop(context.Background())
	lightHead := func() uint64 {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		h, err := cl.Head(rctx, nil)
		if err != nil {
			return 0
		}
		return h.Height()
	}
	waitUntil := func(what string, cond func() bool) {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for !cond() {
			select {
			case <-ctx.Done():
				b.Fatalf("timed out waiting for %s\n%s", what, stderr.String())
			case err := <-exited:
				b.Fatalf("light exited while waiting for %s: %v\n%s", what, err, stderr.String())
			case <-tick.C:
			}
		}
	}
	waitUntil("the light to sync the initial chain", func() bool { return lightHead() >= uint64(initial) })
	waitUntil("the light to join header-sub", func() bool {
		for _, p := range bridge.gossip.ListPeers() {
			if p == lightID {
				return true
			}
		}
		return false
	})

	// Sample memory while the bridge publishes the rest at a steady rate.
	pid := cmd.Process.Pid
	stopSampling := make(chan struct{})
	sampled := make(chan float64, 1)
	go func() {
		hi := 0.0
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss, _, err := procStatus(pid); err == nil {
				hi = max(hi, rss)
			}
			select {
			case <-stopSampling:
				sampled <- hi
				return
			case <-tick.C:
			}
		}
	}()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	for _, h := range chain[initial:] {
		<-tick.C
		bridge.publish(ctx, b, h)
	}
	tick.Stop()
	head := uint64(len(chain))
	waitUntil(fmt.Sprintf("the light to reach height %d", head), func() bool { return lightHead() >= head })
	close(stopSampling)
	followPeak = <-sampled
	final, peak, err = procStatus(pid)
	if err != nil {
		b.Fatal(err)
	}
	// The kernel updates VmHWM lazily; a sample may be above it.
	peak = max(peak, followPeak)

	killed = true
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		b.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			b.Fatalf("light exited with %v after SIGINT\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		b.Fatalf("light did not exit within a minute of SIGINT\n%s", stderr.String())
	}
	return peak, final, followPeak
}

// procStatus returns a process's VmRSS and VmHWM in MB (10⁶ bytes).
func procStatus(pid int) (rss, hwm float64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	found := 0
	for _, line := range strings.Split(string(data), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val) // "123456 kB"
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("/proc/%d/status: %q", pid, line)
		}
		kb, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, 0, err
		}
		if key == "VmRSS" {
			rss = kb * 1024 / 1e6
		} else {
			hwm = kb * 1024 / 1e6
		}
		found++
	}
	if found != 2 {
		return 0, 0, errors.New("VmRSS or VmHWM missing from /proc/<pid>/status")
	}
	return rss, hwm, nil
}

// benchLogger logs the light node's services to stderr when MESH_TEST_LOG
// is set, like testLogger.
func benchLogger() *slog.Logger {
	if os.Getenv("MESH_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
