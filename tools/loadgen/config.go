package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// maxDevnetJSON bounds the devnet.json read.
const maxDevnetJSON = 1 << 20

// Node is one node the load generator talks to.
type Node struct {
	Name    string `json:"name"`
	RPC     string `json:"rpc"`
	Token   string `json:"-"`
	Metrics string `json:"metrics,omitempty"` // Prometheus /metrics URL; "" if none
	// Shared is set for a devnet's nodes, which run in one process: the
	// RSS their metrics report is that process's.
	Shared bool `json:"shared,omitempty"`
}

// Config is a validated run.
type Config struct {
	Submit      []Node        // the nodes blob.Submit goes to, each with its own account; workers take them in turn
	Watch       []Node        // the nodes sampled every second
	CoreRPC     string        // CometBFT RPC for the chain head; "" to use the nodes' heads
	Rate        float64       // target blob data rate, bytes/s; 0: as fast as Concurrency allows
	Sizes       SizeDist      // blob size distribution
	SizesSpec   string        // the --sizes text Sizes was parsed from
	Namespaces  int           // number of namespaces the blobs are spread over
	Concurrency int           // submits in flight
	Duration    time.Duration // 0: until Count
	Count       int           // 0: until Duration
	GasPrice    float64       // with GasPriceSet, the gas price of every submit
	GasPriceSet bool
	Retries     int           // attempts after a busy/mempool/sequence refusal
	Interval    time.Duration // sampling interval
	Warmup      time.Duration // RSS growth is measured after this much of the run; 0: not
	Out         string        // path prefix of the JSON report and the PNG
	Seed        int64
}

// devnetFile is the part of `mesh-node devnet`'s devnet.json loadgen reads.
type devnetFile struct {
	ChainID string `json:"chain_id"`
	CoreRPC string `json:"core_rpc"`
	Nodes   map[string]struct {
		RPC     string `json:"rpc"`
		Token   string `json:"token"`
		Metrics string `json:"metrics"`
	} `json:"nodes"`
}

// readDevnet parses a devnet.json: the core RPC and the nodes, sorted by
// name (bridge, full, light).
func readDevnet(r io.Reader) (core string, nodes []Node, err error) {
	b, err := io.ReadAll(io.LimitReader(r, maxDevnetJSON+1))
	if err != nil {
		return "", nil, fmt.Errorf("loadgen: devnet.json: %w", err)
	}
	if len(b) > maxDevnetJSON {
		return "", nil, fmt.Errorf("loadgen: devnet.json: over %d bytes", maxDevnetJSON)
	}
	var f devnetFile
	if err := json.Unmarshal(b, &f); err != nil {
		return "", nil, fmt.Errorf("loadgen: devnet.json: %w", err)
	}
	if len(f.Nodes) == 0 {
		return "", nil, errors.New("loadgen: devnet.json: no nodes")
	}
	for name, n := range f.Nodes {
		if n.RPC == "" {
			return "", nil, fmt.Errorf("loadgen: devnet.json: node %q has no rpc", name)
		}
		nodes = append(nodes, Node{Name: name, RPC: n.RPC, Token: n.Token, Metrics: n.Metrics})
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return f.CoreRPC, nodes, nil
}

// loadDevnet reads <home>/devnet.json.
func loadDevnet(home string) (string, []Node, error) {
	f, err := os.Open(filepath.Join(home, "devnet.json"))
	if err != nil {
		return "", nil, fmt.Errorf("loadgen: %w (is `mesh-node devnet --home %s` running?)", err, home)
	}
	defer f.Close()
	return readDevnet(f)
}

// parseWatch parses --watch name=URL,token[,metricsURL].
func parseWatch(s string) (Node, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || rest == "" {
		return Node{}, fmt.Errorf("loadgen: --watch %q: want name=URL,token[,metricsURL]", s)
	}
	parts := strings.Split(rest, ",")
	if len(parts) > 3 {
		return Node{}, fmt.Errorf("loadgen: --watch %q: want name=URL,token[,metricsURL]", s)
	}
	n := Node{Name: name, RPC: parts[0]}
	if len(parts) > 1 {
		n.Token = parts[1]
	}
	if len(parts) > 2 {
		n.Metrics = parts[2]
	}
	return n, nil
}

// checkURL checks that u is an http(s) or ws(s) URL and, unless remote
// is allowed, that its host is a loopback address.
func checkURL(what, u string, allowRemote bool) error {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("loadgen: %s %q: %w", what, u, err)
	}
	switch p.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return fmt.Errorf("loadgen: %s %q: scheme must be http, https, ws or wss", what, u)
	}
	host := p.Hostname()
	if host == "" {
		return fmt.Errorf("loadgen: %s %q: no host", what, u)
	}
	if allowRemote || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("loadgen: %s %q is not a loopback address: pass --allow-remote to load a node you run elsewhere", what, u)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validate checks c's numbers and addresses.
func (c *Config) validate(allowRemote bool) error {
	switch {
	case c.Rate < 0:
		return fmt.Errorf("loadgen: --rate %g: must be at least 0", c.Rate)
	case c.Namespaces < 1 || c.Namespaces > 1<<16:
		return fmt.Errorf("loadgen: --namespaces %d: must be 1 to 65536", c.Namespaces)
	case c.Concurrency < 1 || c.Concurrency > 1024:
		return fmt.Errorf("loadgen: --concurrency %d: must be 1 to 1024", c.Concurrency)
	case c.Duration < 0:
		return fmt.Errorf("loadgen: --duration %s: must not be negative", c.Duration)
	case c.Count < 0:
		return fmt.Errorf("loadgen: --count %d: must not be negative", c.Count)
	case c.Duration == 0 && c.Count == 0:
		return errors.New("loadgen: give --duration, --count or both: a run is bounded")
	case c.GasPriceSet && c.GasPrice <= 0:
		return fmt.Errorf("loadgen: --gas-price %g: must be positive", c.GasPrice)
	case c.Retries < 0:
		return fmt.Errorf("loadgen: --retries %d: must not be negative", c.Retries)
	case c.Warmup < 0:
		return fmt.Errorf("loadgen: --warmup %s: must not be negative", c.Warmup)
	case c.Interval < 100*time.Millisecond:
		return fmt.Errorf("loadgen: --interval %s: must be at least 100ms", c.Interval)
	case c.Sizes == nil:
		return errors.New("loadgen: no --sizes")
	case c.Out == "":
		return errors.New("loadgen: --out must not be empty")
	}
	if len(c.Submit) == 0 || c.Submit[0].RPC == "" {
		return errors.New("loadgen: no node to submit to: give --devnet HOME or --submit URL")
	}
	for _, n := range c.Submit {
		if err := checkURL("--submit", n.RPC, allowRemote); err != nil {
			return err
		}
	}
	for _, n := range c.Watch {
		if err := checkURL("node "+n.Name, n.RPC, allowRemote); err != nil {
			return err
		}
		if n.Metrics != "" {
			if err := checkURL("node "+n.Name+" metrics", n.Metrics, allowRemote); err != nil {
				return err
			}
		}
	}
	if c.CoreRPC != "" {
		if err := checkURL("core RPC", c.CoreRPC, allowRemote); err != nil {
			return err
		}
	}
	return nil
}
