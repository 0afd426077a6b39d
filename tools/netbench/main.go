package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if err := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Config is a validated run.
type Config struct {
	Bin         string        // mesh-node binary
	Loadgen     string        // tools/loadgen binary
	Lights      int           // light nodes
	Fulls       int           // full nodes
	LightProcs  int           // GOMAXPROCS of each light node process; 0: Go's default
	Duration    time.Duration // measured run, after every node is up and has caught up
	Startup     time.Duration // bound on starting the network and the light nodes' catch-up
	BlockTime   time.Duration // the core node's block time
	RateMB      float64       // blob load, MB/s; 0: no load
	Sizes       string        // loadgen --sizes
	Concurrency int           // loadgen --concurrency
	Interval    time.Duration // how often the light nodes are scraped
	MaxLag      uint64        // blocks behind the head a light node may run
	Parallel    int           // light nodes started at once
	Netem       bool          // light nodes in network namespaces behind tc netem
	Shape       netemShape    // with Netem, each direction of each light node's link
	Out         string        // path of the JSON report
	Logs        string        // directory the nodes' logs are copied to at the end; "" = not kept
}

func parseFlags(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("netbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	fs.StringVar(&c.Bin, "mesh-node", "bin/mesh-node", "the mesh-node binary every node runs")
	fs.StringVar(&c.Loadgen, "loadgen", "bin/loadgen", "the tools/loadgen binary that puts blobs on the chain")
	fs.IntVar(&c.Lights, "lights", 100, "light nodes (1 to 1000)")
	fs.IntVar(&c.Fulls, "fulls", 2, "full nodes (0 to 10)")
	fs.IntVar(&c.LightProcs, "light-gomaxprocs", 1, "GOMAXPROCS of each light node process (0: Go's default, one per core); 1 suits many light nodes sharing a machine: each wakes fewer threads")
	fs.DurationVar(&c.Duration, "duration", 3*time.Minute, "how long to measure, once every node is up and has caught up")
	fs.DurationVar(&c.Startup, "startup-timeout", 5*time.Minute, "bound on starting the nodes and the light nodes' first catch-up")
	fs.DurationVar(&c.BlockTime, "block-time", 3*time.Second, "the core node's block time (3s: Celestia mainnet's; 104 processes on 2 cores keep up with 3 s blocks, not with 1 s)")
	fs.Float64Var(&c.RateMB, "rate", 1, "blob load in MB/s (10^6 bytes), through the bridge's API; 0: no load")
	fs.StringVar(&c.Sizes, "sizes", "fixed:256K", "loadgen --sizes: blob sizes")
	fs.IntVar(&c.Concurrency, "concurrency", 4, "loadgen --concurrency: submits in flight")
	fs.DurationVar(&c.Interval, "interval", 2*time.Second, "how often every node is scraped")
	fs.Uint64Var(&c.MaxLag, "max-lag", 2, "blocks behind the head a light node's sampled head may run")
	fs.IntVar(&c.Parallel, "parallel", 8, "light nodes started at once")
	fs.BoolVar(&c.Netem, "netem", false, "put each light node in a network namespace behind tc netem (needs root)")
	fs.StringVar(&c.Shape.delay, "netem-delay", "25ms", "with --netem: delay of each direction of a light node's link (half the round trip); 0: shape the rate alone (tbf; for kernels without netem)")
	fs.StringVar(&c.Shape.rate, "netem-rate", "20mbit", "with --netem: rate of each direction of a light node's link")
	fs.StringVar(&c.Out, "out", "netbench.json", "path of the JSON report")
	fs.StringVar(&c.Logs, "logs", "", "copy the nodes' logs into this directory at the end (default: deleted with the homes)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("netbench: unexpected arguments %q", fs.Args())
	}
	return c, c.validate()
}

func (c Config) validate() error {
	switch {
	case c.Lights < 1 || c.Lights > 1000:
		return fmt.Errorf("netbench: --lights %d: want 1 to 1000", c.Lights)
	case c.LightProcs < 0 || c.LightProcs > 256:
		return fmt.Errorf("netbench: --light-gomaxprocs %d: want 0 to 256", c.LightProcs)
	case c.Fulls < 0 || c.Fulls > 10:
		return fmt.Errorf("netbench: --fulls %d: want 0 to 10", c.Fulls)
	case c.Duration < 5*time.Second || c.Duration > 24*time.Hour:
		return fmt.Errorf("netbench: --duration %s: want 5s to 24h", c.Duration)
	case c.Startup < 10*time.Second || c.Startup > time.Hour:
		return fmt.Errorf("netbench: --startup-timeout %s: want 10s to 1h", c.Startup)
	case c.BlockTime <= 0 || c.BlockTime > time.Minute:
		return fmt.Errorf("netbench: --block-time %s: want more than 0, at most 1m", c.BlockTime)
	case c.RateMB < 0 || c.RateMB > 1000 || c.RateMB != c.RateMB:
		return fmt.Errorf("netbench: --rate %g: want 0 to 1000 MB/s", c.RateMB)
	case c.Concurrency < 1 || c.Concurrency > 256:
		return fmt.Errorf("netbench: --concurrency %d: want 1 to 256", c.Concurrency)
	case c.Interval < 500*time.Millisecond || c.Interval > time.Minute:
		return fmt.Errorf("netbench: --interval %s: want 500ms to 1m", c.Interval)
	case c.Parallel < 1 || c.Parallel > 100:
		return fmt.Errorf("netbench: --parallel %d: want 1 to 100", c.Parallel)
	case c.Out == "":
		return errors.New("netbench: --out must not be empty")
	case c.Netem && (c.Shape.delay == "" || c.Shape.rate == ""):
		return errors.New("netbench: --netem-delay and --netem-rate must not be empty")
	}
	for _, p := range []string{c.Bin, c.Loadgen} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("netbench: %w (make bench-network builds bin/mesh-node and bin/loadgen)", err)
		}
	}
	return nil
}

// runMain parses args, runs the network and writes the report.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	rep, err := Run(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if err := writeTable(stdout, rep); err != nil {
		return err
	}
	if err := writeJSON(cfg.Out, rep); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", cfg.Out)
	return nil
}
