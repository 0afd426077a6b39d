package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// parseFlags turns the command line into a validated Config.
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg         Config
		devnet      string
		submitURL   string
		token       string
		submitName  string
		watches     []string
		sizes       string
		rateMB      float64
		allowRemote bool
		gasPrice    float64
	)
	fs.StringVar(&devnet, "devnet", "", "a devnet home: read its devnet.json for the nodes and the core RPC")
	fs.StringVar(&submitName, "submit-node", "light", "with --devnet, the nodes to submit blobs through, comma-separated (each signs with its own account)")
	fs.StringVar(&submitURL, "submit", "", "without --devnet, the RPC URL of the node to submit blobs through")
	fs.StringVar(&token, "token", "", "the --submit node's API token (write permission)")
	fs.Func("watch", "a node to sample: name=URL,token[,metricsURL] (repeatable; with --devnet, a node besides the devnet's, such as a light node in a process of its own)", func(s string) error {
		watches = append(watches, s)
		return nil
	})
	fs.StringVar(&cfg.CoreRPC, "core-rpc", "", "without --devnet, a CometBFT RPC URL for the chain head (default: the highest head of the watched nodes)")
	fs.Float64Var(&rateMB, "rate", 1, "target blob data rate in MB/s (10^6 bytes); 0: as fast as --concurrency allows")
	fs.StringVar(&sizes, "sizes", "fixed:512K", "blob sizes: fixed:SIZE, uniform:MIN-MAX or list:SIZE@WEIGHT,... (SIZE in bytes, or with K or M)")
	fs.IntVar(&cfg.Namespaces, "namespaces", 4, "number of namespaces (random, version 0) the blobs spread over")
	fs.IntVar(&cfg.Concurrency, "concurrency", 8, "blob.Submit calls in flight")
	fs.DurationVar(&cfg.Duration, "duration", 0, "how long to submit (0: until --count)")
	fs.IntVar(&cfg.Count, "count", 0, "how many blobs to submit (0: until --duration)")
	fs.Float64Var(&gasPrice, "gas-price", 0, "gas price to pay (default: the chain's minimum)")
	fs.IntVar(&cfg.Retries, "retries", 5, "retries of a submit refused as busy, by the mempool or for its sequence")
	fs.DurationVar(&cfg.Interval, "interval", time.Second, "how often to sample the nodes")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "report each node's memory growth (RSS, anonymous memory, anonymous memory in use, Go heap) after this much of the run (a soak: --duration 30m --warmup 5m); 0: off")
	fs.StringVar(&cfg.Out, "out", "loadgen", "path prefix of the report: PREFIX.json and PREFIX.png")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed of sizes, namespaces and blob data")
	fs.BoolVar(&allowRemote, "allow-remote", false, "accept non-loopback node addresses")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("loadgen: unexpected arguments %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "gas-price" {
			cfg.GasPriceSet = true
		}
	})
	cfg.GasPrice = gasPrice
	if rateMB < 0 || rateMB > 1e4 || rateMB != rateMB {
		return Config{}, fmt.Errorf("loadgen: --rate %g: must be 0 to 10000 MB/s", rateMB)
	}
	cfg.Rate = rateMB * 1e6
	var err error
	cfg.SizesSpec = sizes
	if cfg.Sizes, err = parseSizes(sizes); err != nil {
		return Config{}, err
	}
	switch {
	case devnet != "":
		if submitURL != "" || cfg.CoreRPC != "" {
			return Config{}, errors.New("loadgen: --devnet takes the submit nodes and the core RPC from devnet.json: drop --submit and --core-rpc")
		}
		core, nodes, err := loadDevnet(devnet)
		if err != nil {
			return Config{}, err
		}
		for i := range nodes {
			nodes[i].Shared = true
		}
		cfg.CoreRPC, cfg.Watch = core, nodes
		for _, name := range strings.Split(submitName, ",") {
			found := false
			for _, n := range nodes {
				if n.Name == name {
					cfg.Submit, found = append(cfg.Submit, n), true
				}
			}
			if !found {
				return Config{}, fmt.Errorf("loadgen: --submit-node %q: no node %q in devnet.json", submitName, name)
			}
		}
	default:
		cfg.Submit = []Node{{Name: "submit", RPC: submitURL, Token: token}}
	}
	for _, w := range watches {
		n, err := parseWatch(w)
		if err != nil {
			return Config{}, err
		}
		for _, o := range cfg.Watch {
			if o.Name == n.Name {
				return Config{}, fmt.Errorf("loadgen: --watch %q: a node named %q is already watched", w, n.Name)
			}
		}
		cfg.Watch = append(cfg.Watch, n)
	}
	if err := cfg.validate(allowRemote); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// run parses args, runs the load and writes the report.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	rep, err := Run(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	rep.Sizes = cfg.SizesSpec
	if err := writeTable(stdout, rep); err != nil {
		return err
	}
	if err := writeJSON(cfg.Out+".json", rep); err != nil {
		return err
	}
	if err := writePlot(cfg.Out+".png", rep); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s.json and %s.png\n", cfg.Out, cfg.Out)
	return nil
}
