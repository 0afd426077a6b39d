package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/datamesh/mesh-node/internal/freeport"
)

// The fixed ports of a light node in its own namespace (--netem): each has
// an address of its own, so they never collide.
const (
	nsP2PPort     = 2121
	nsRPCPort     = 26658
	nsMetricsPort = 9090
)

// fundAmount is what the dev account sends the bridge's key, which signs
// the load's blobs.
const fundAmount = 100_000_000_000_000

// node is one mesh-node process of the network.
type node struct {
	name    string // core, bridge, full0, light0, ...
	mode    string
	home    string
	addr    string // the IP address it listens on
	rpcPort int
	p2p     string // its first libp2p address, /.../p2p/<peer ID>
	metrics string // its /metrics URL ("" for the core node)
	proc    *proc
}

// network is a running network and what its run has measured.
type network struct {
	cfg     Config
	work    string
	procs   *procs
	logf    func(string, ...any)
	core    *node
	coreRPC string
	chainID string
	servers []*node // bridge, then full nodes
	lights  []*node
	loadgen *proc
}

// Run starts the network, measures it for cfg.Duration and stops it; it
// removes everything it made on every way out.
func Run(ctx context.Context, cfg Config, logw io.Writer) (rep *Report, err error) {
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(logw, "netbench: "+format+"\n", args...)
	}
	if cfg.Bin, err = filepath.Abs(cfg.Bin); err != nil {
		return nil, err
	}
	if cfg.Loadgen, err = filepath.Abs(cfg.Loadgen); err != nil {
		return nil, err
	}
	tmp := os.TempDir()
	unlock, err := lockRun(tmp)
	if err != nil {
		return nil, err
	}
	defer unlock()
	removeLeftovers(tmp, logf)
	if err := removeNetem(ctx); err != nil {
		logf("removing the network devices of an earlier run: %v", err)
	}
	if cfg.Netem {
		if err := checkNetem(ctx, cfg.Shape); err != nil {
			return nil, err
		}
	}
	work, err := os.MkdirTemp(tmp, workPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("netbench: %w", err)
	}
	n := &network{cfg: cfg, work: work, procs: &procs{pidFile: filepath.Join(work, "pids")}, logf: logf}
	var pids []int
	defer func() {
		logf("stopping every process")
		pids = n.pids()
		n.procs.stopAll()
		if cfg.Logs != "" {
			if cerr := copyLogs(work, cfg.Logs); cerr != nil {
				logf("copy logs: %v", cerr)
			}
		}
		if cfg.Netem {
			if nerr := removeNetem(context.Background()); nerr != nil {
				err = errors.Join(err, nerr)
			}
		}
		if rerr := os.RemoveAll(work); rerr != nil {
			err = errors.Join(err, fmt.Errorf("netbench: remove %s: %w", work, rerr))
		}
		if rep != nil {
			rep.pids = pids
		}
	}()
	logf("work directory %s", work)

	startCtx, cancel := context.WithTimeout(ctx, cfg.Startup)
	defer cancel()
	if err := n.startCore(startCtx); err != nil {
		return nil, err
	}
	if cfg.Netem { // the servers listen on its address
		if err := setupBridge(ctx); err != nil {
			return nil, err
		}
	}
	if err := n.startServers(startCtx); err != nil {
		return nil, err
	}
	if err := n.startLights(startCtx); err != nil {
		return nil, err
	}
	head, err := chainHeight(startCtx, n.coreRPC)
	if err != nil {
		return nil, err
	}
	logf("all %d light nodes up at height %d; waiting for each to sample it", cfg.Lights, head)
	if err := n.waitCaughtUp(startCtx, head); err != nil {
		return nil, err
	}
	return n.measure(ctx)
}

// pids returns the process IDs of every process started (for a test to
// check that none is left).
func (n *network) pids() []int {
	n.procs.mu.Lock()
	defer n.procs.mu.Unlock()
	var out []int
	for _, p := range n.procs.list {
		out = append(out, p.cmd.Process.Pid)
	}
	return out
}

// serverAddr is the address bridge and full nodes listen on for libp2p:
// loopback, or the Linux bridge's address, which the namespaces reach.
func (n *network) serverAddr() string {
	if n.cfg.Netem {
		return hostAddr
	}
	return "127.0.0.1"
}

func port() (int, error) {
	p, err := freeport.TCP()
	if err != nil {
		return 0, fmt.Errorf("netbench: %w", err)
	}
	return p, nil
}

func ports(k int) ([]int, error) {
	out := make([]int, k)
	for i := range out {
		p, err := port()
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// startCore makes and starts the core validator and waits for its first
// block.
func (n *network) startCore(ctx context.Context) error {
	ps, err := ports(2)
	if err != nil {
		return err
	}
	c := &node{name: "core", mode: "core", home: filepath.Join(n.work, "core"), addr: "127.0.0.1", rpcPort: ps[1]}
	if _, err := runCmd(ctx, []string{n.cfg.Bin, "core", "init", "--home", c.home, "--block-time", n.cfg.BlockTime.String()}); err != nil {
		return err
	}
	c.proc, err = n.procs.start("core", filepath.Join(n.work, "core.log"), []string{n.cfg.Bin, "core", "start", "--home", c.home,
		"--p2p.laddr", "tcp://" + hostPort("127.0.0.1", ps[0]), "--rpc.laddr", "tcp://" + hostPort("127.0.0.1", ps[1]), "--log.level", "error"})
	if err != nil {
		return err
	}
	n.core, n.coreRPC = c, "http://"+hostPort("127.0.0.1", ps[1])
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		h, err := chainHeight(ctx, n.coreRPC)
		if err == nil && h >= 1 {
			n.logf("core node at %s, height %d", n.coreRPC, h)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("netbench: core node made no block: %w (last: %v)\n%s", ctx.Err(), err, tailOf(c.proc.log))
		case <-c.proc.exited:
			return fmt.Errorf("netbench: core node exited: %v\n%s", c.proc.err, tailOf(c.proc.log))
		case <-tick.C:
		}
	}
}

// startServers makes and starts the bridge, funds its key from the dev
// account, then makes and starts the full nodes, bootstrapping from it.
func (n *network) startServers(ctx context.Context) error {
	var bootstrap []string
	for i := -1; i < n.cfg.Fulls; i++ {
		mode, name := "full", "full"+strconv.Itoa(i)
		if i < 0 {
			mode, name = "bridge", "bridge"
		}
		ps, err := ports(3)
		if err != nil {
			return err
		}
		s := &node{name: name, mode: mode, home: filepath.Join(n.work, name), addr: n.serverAddr(), rpcPort: ps[0],
			metrics: "http://" + hostPort("127.0.0.1", ps[1]) + "/metrics"}
		args := []string{n.cfg.Bin, mode, "init", "--home", s.home, "--rpc.port", strconv.Itoa(ps[0]),
			"--metrics.addr", hostPort("127.0.0.1", ps[1]), "--p2p.listen", fmt.Sprintf("/ip4/%s/tcp/%d", s.addr, ps[2]),
			"--dataset.gateway-addr=", "--dataset.bitswap=false", "--log.level", "error"}
		if mode == "bridge" {
			args = append(args, "--core.rpc", n.coreRPC)
		} else {
			args = append(args, "--chain-id", n.chainID, "--bootstrap", strings.Join(bootstrap, ","))
		}
		kv, err := runCmd(ctx, args)
		if err != nil {
			return err
		}
		if mode == "bridge" {
			n.chainID = kv["chain_id"]
			if _, err := runCmd(ctx, []string{n.cfg.Bin, "tx", "send", "--home", n.core.home, "--from", "dev", "--to", kv["account"],
				"--amount", strconv.Itoa(fundAmount), "--node", n.coreRPC}); err != nil {
				return err
			}
		}
		if s.proc, err = n.procs.start(name, filepath.Join(n.work, name+".log"), []string{n.cfg.Bin, mode, "start", "--home", s.home}); err != nil {
			return err
		}
		if s.p2p, err = s.proc.waitReady(ctx); err != nil {
			return err
		}
		n.logf("%s up: %s", name, s.p2p)
		bootstrap = append(bootstrap, s.p2p)
		n.servers = append(n.servers, s)
	}
	return nil
}

// startLights makes and starts the light nodes, cfg.Parallel at a time,
// each bootstrapping from the bridge and the full nodes.
func (n *network) startLights(ctx context.Context) error {
	var bootstrap []string
	for _, s := range n.servers {
		bootstrap = append(bootstrap, s.p2p)
	}
	n.lights = make([]*node, n.cfg.Lights)
	// The first failure stops the starts that have not finished.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, n.cfg.Parallel)
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	for i := range n.lights {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				return
			}
			if err := n.startLight(ctx, i, bootstrap); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = fmt.Errorf("netbench: starting the light nodes: %w", ctx.Err())
	}
	return first
}

func (n *network) startLight(ctx context.Context, i int, bootstrap []string) error {
	name := "light" + strconv.Itoa(i)
	l := &node{name: name, mode: "light", home: filepath.Join(n.work, name)}
	var p2pPort, metricsPort int
	if n.cfg.Netem {
		if err := setupLight(ctx, i, n.cfg.Shape); err != nil {
			return err
		}
		l.addr, l.rpcPort, p2pPort, metricsPort = lightAddr(i), nsRPCPort, nsP2PPort, nsMetricsPort
	} else {
		ps, err := ports(3)
		if err != nil {
			return err
		}
		l.addr, l.rpcPort, p2pPort, metricsPort = "127.0.0.1", ps[0], ps[1], ps[2]
	}
	l.metrics = "http://" + hostPort(l.addr, metricsPort) + "/metrics"
	if _, err := runCmd(ctx, []string{n.cfg.Bin, "light", "init", "--home", l.home, "--chain-id", n.chainID,
		"--bootstrap", strings.Join(bootstrap, ","), "--rpc.addr", l.addr, "--rpc.port", strconv.Itoa(l.rpcPort),
		"--metrics.addr", hostPort(l.addr, metricsPort), "--p2p.listen", fmt.Sprintf("/ip4/%s/tcp/%d", l.addr, p2pPort),
		"--log.level", "error"}); err != nil {
		return err
	}
	argv := []string{n.cfg.Bin, "light", "start", "--home", l.home}
	if n.cfg.Netem {
		argv = append([]string{"ip", "netns", "exec", fmt.Sprintf("%s%d", nsPrefix, i)}, argv...)
	}
	var env []string
	if n.cfg.LightProcs > 0 {
		env = append(env, fmt.Sprintf("GOMAXPROCS=%d", n.cfg.LightProcs))
	}
	var err error
	if l.proc, err = n.procs.start(name, filepath.Join(n.work, name+".log"), argv, env...); err != nil {
		return err
	}
	if l.p2p, err = l.proc.waitReady(ctx); err != nil {
		return err
	}
	n.lights[i] = l
	return nil
}

// waitCaughtUp waits until every light node has sampled up to height.
func (n *network) waitCaughtUp(ctx context.Context, height uint64) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		behind := 0
		var last error
		for _, l := range n.lights {
			fams, err := scrape(ctx, l.metrics)
			if err != nil {
				behind, last = behind+1, err
				continue
			}
			if v, ok := value(fams, mSampledHead); !ok || uint64(v) < height {
				behind++
			}
		}
		if behind == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("netbench: %d light nodes had not sampled height %d: %w (last scrape error: %v)", behind, height, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// startLoad runs tools/loadgen against the bridge's API for d.
func (n *network) startLoad(ctx context.Context, d time.Duration) error {
	bridge := n.servers[0]
	kv, err := runCmd(ctx, []string{n.cfg.Bin, "bridge", "auth", "write", "--home", bridge.home})
	if err != nil {
		return err
	}
	token := kv[""]
	if token == "" {
		return errors.New("netbench: bridge auth printed no token")
	}
	n.loadgen, err = n.procs.start("loadgen", filepath.Join(n.work, "loadgen.log"), []string{n.cfg.Loadgen,
		"--submit", "http://" + hostPort("127.0.0.1", bridge.rpcPort), "--token", token, "--core-rpc", n.coreRPC,
		"--rate", strconv.FormatFloat(n.cfg.RateMB, 'f', -1, 64), "--sizes", n.cfg.Sizes,
		"--concurrency", strconv.Itoa(n.cfg.Concurrency), "--duration", d.String(), "--out", filepath.Join(n.work, "loadgen")})
	return err
}

// loadSummary is the part of loadgen's report netbench repeats.
type loadSummary struct {
	TargetMBps     float64        `json:"target_mbps"`
	Sizes          string         `json:"sizes"`
	SubmittedBytes int64          `json:"submitted_bytes"`
	IncludedBlobs  int            `json:"included_blobs"`
	IncludedBytes  int64          `json:"included_bytes"`
	IncludedMBps   float64        `json:"included_mbps"`
	Blocks         int            `json:"blocks"`
	LatencyP50Ms   float64        `json:"submit_latency_p50_ms"`
	LatencyP99Ms   float64        `json:"submit_latency_p99_ms"`
	Errors         map[string]int `json:"errors"`
}

// loadTimeout bounds loadgen's read-back of what it submitted, after its
// load.
const loadTimeout = 3 * time.Minute

// finishLoad waits for loadgen to exit and reads its report.
func (n *network) finishLoad(ctx context.Context) (*loadSummary, error) {
	p := n.loadgen
	select {
	case <-p.exited:
	case <-time.After(loadTimeout):
		return nil, fmt.Errorf("netbench: loadgen still running %s after its load", loadTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if p.err != nil {
		return nil, fmt.Errorf("netbench: loadgen: %v\n%s", p.err, tailOf(p.log))
	}
	f, err := os.Open(filepath.Join(n.work, "loadgen.json"))
	if err != nil {
		return nil, fmt.Errorf("netbench: loadgen report: %w", err)
	}
	defer f.Close()
	var s loadSummary
	if err := json.NewDecoder(io.LimitReader(f, 64<<20)).Decode(&s); err != nil {
		return nil, fmt.Errorf("netbench: loadgen report: %w", err)
	}
	s.Sizes = n.cfg.Sizes
	return &s, nil
}

// copyLogs copies the *.log files of work into dir.
func copyLogs(work, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	logs, _ := filepath.Glob(filepath.Join(work, "*.log"))
	var errs []error
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(l)), b, 0o644)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
