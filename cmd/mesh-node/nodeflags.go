package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/internal/logging"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// configFlags are the settings of config.toml that init writes and start
// overrides for one run. Only flags given on the command line change the
// configuration.
type configFlags struct {
	network, coreRPC, rpcAddr, logLevel, metricsAddr, gatewayAddr string
	rpcPort                                                       int
	availabilityWindow                                            time.Duration
	skipAuth, archival, bitswap                                   bool
}

func (o *configFlags) register(cmd *cobra.Command, mode nodebuilder.Mode, init bool) {
	f := cmd.Flags()
	def := nodebuilder.DefaultConfig(mode)
	verb := "overriding config.toml for this run"
	if init {
		verb = "written to config.toml"
	}
	f.StringVar(&o.network, "p2p.network", "", "network (chain) ID; it prefixes every libp2p protocol ("+verb+")")
	coreHelp := "CometBFT RPC of a core node to submit transactions to (blob.Submit, state.*)"
	if mode == nodebuilder.Bridge {
		coreHelp = "CometBFT RPC of the core node to follow"
	}
	f.StringVar(&o.coreRPC, "core.rpc", def.Core.RPC, coreHelp+" ("+verb+")")
	f.StringVar(&o.rpcAddr, "rpc.addr", def.RPC.Address, "JSON-RPC listen address ("+verb+")")
	f.IntVar(&o.rpcPort, "rpc.port", def.RPC.Port, "JSON-RPC listen port ("+verb+")")
	f.BoolVar(&o.skipAuth, "rpc.skip-auth", false, "serve the JSON-RPC API without tokens, every caller an admin ("+verb+")")
	if mode != nodebuilder.Light {
		f.BoolVar(&o.archival, "archival", false, "keep every square instead of pruning those older than the availability window ("+verb+")")
		f.DurationVar(&o.availabilityWindow, "availability-window", time.Duration(def.Store.AvailabilityWindow), "keep squares this long, then prune them, unless archival ("+verb+")")
		f.BoolVar(&o.bitswap, "dataset.bitswap", def.Dataset.Bitswap, "serve the indexed datasets' blocks to IPFS peers over bitswap ("+verb+")")
		f.StringVar(&o.gatewayAddr, "dataset.gateway-addr", def.Dataset.GatewayAddress, "serve the datasets' IPFS gateway and delegated routing on host:port; empty: off ("+verb+")")
	}
	f.StringVar(&o.logLevel, "log.level", def.Log.Level, "log level, optionally per module: info,das=debug,shrex=error ("+verb+")")
	f.StringVar(&o.metricsAddr, "metrics.addr", "", "serve Prometheus metrics on host:port, e.g. 127.0.0.1:9090; empty: off ("+verb+")")
}

// apply sets the flags given on cmd's command line in c.
func (o *configFlags) apply(cmd *cobra.Command, c *nodebuilder.Config) {
	set := cmd.Flags().Changed
	if set("core.rpc") {
		c.Core.RPC = o.coreRPC
	}
	if set("rpc.addr") {
		c.RPC.Address = o.rpcAddr
	}
	if set("rpc.port") {
		c.RPC.Port = o.rpcPort
	}
	if set("rpc.skip-auth") {
		c.RPC.SkipAuth = o.skipAuth
	}
	if set("archival") {
		c.Store.Archival = o.archival
	}
	if set("availability-window") {
		c.Store.AvailabilityWindow = nodebuilder.Duration(o.availabilityWindow)
	}
	if set("dataset.bitswap") {
		c.Dataset.Bitswap = o.bitswap
	}
	if set("dataset.gateway-addr") {
		c.Dataset.GatewayAddress = o.gatewayAddr
	}
	if set("log.level") {
		c.Log.Level = o.logLevel
	}
	if set("metrics.addr") {
		c.Metrics.Address = o.metricsAddr
	}
}

// checkNetwork refuses a --p2p.network that is not the chain the home was
// initialised for: its stored headers are of that chain.
func (o *configFlags) checkNetwork(cmd *cobra.Command, c nodebuilder.Config) error {
	if cmd.Flags().Changed("p2p.network") && o.network != c.ChainID {
		return fmt.Errorf("--p2p.network %q: this home is initialised for %q (init a new home for another network)", o.network, c.ChainID)
	}
	return nil
}

// nodeLogger returns the logger of a bridge, full or light node writing to
// w at level, a config.toml log.level ("info,das=debug,shrex=error"), and
// the levels it reads, which node.LogLevelSet changes. go-log's records
// (go-jsonrpc's and libp2p's) go to it too, process-wide.
func nodeLogger(w io.Writer, level string) (*slog.Logger, *logging.LevelVar, error) {
	l, err := logging.ParseLevels(level)
	if err != nil {
		return nil, nil, fmt.Errorf("log.level: %w", err)
	}
	v := logging.NewLevelVar(l)
	h := logging.NewVarHandler(w, v, false)
	logging.RouteGoLog(h)
	return slog.New(h), v, nil
}
