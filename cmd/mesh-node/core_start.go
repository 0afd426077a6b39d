package main

import (
	"fmt"
	"io"
	"log/slog"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/core/validator"
)

// startOptions are core start's settings.
type startOptions struct {
	home, p2pAddr, rpcAddr, logLevel string
	// squareHandOff: validator.Options.SquareHandOff, for a bridge in the
	// same process (the devnet).
	squareHandOff bool
	// retainBlocks: validator.Options.RetainBlocks (--retain-blocks).
	retainBlocks int64
}

// retainBlocksUsage is --retain-blocks's help, of core start and devnet.
const retainBlocksUsage = "keep only the last N blocks in CometBFT's block and state stores, deleting older ones' data (0: keep every block); headers, commits and validator sets within the evidence max age are kept, and a bridge following the node must stay within N blocks of its head"

func (c *cli) coreStartCmd() *cobra.Command {
	var o startOptions
	const long = `Run the core node of the home made by core init: open the application's
Badger state (<home>/data/app.badger), build the DataMesh application and
run an in-process CometBFT node with it, configured by
<home>/config/config.toml (P2P 26656 and RPC 26657 by default). SIGINT or
SIGTERM stops the node and closes its databases. --retain-blocks N bounds
the disk the node takes: it keeps only the last N blocks.`
	cmd := c.homeCmd("core", "start", "Run the core node until interrupted", long, func(cmd *cobra.Command, home string) error {
		o.home = home
		if err := runCore(cmd, o); err != nil {
			return fmt.Errorf("core start: %w", err)
		}
		return nil
	})
	f := cmd.Flags()
	f.StringVar(&o.p2pAddr, "p2p.laddr", "", "P2P listen address, overriding config.toml (e.g. tcp://0.0.0.0:26656)")
	f.StringVar(&o.rpcAddr, "rpc.laddr", "", "RPC listen address, overriding config.toml (e.g. tcp://127.0.0.1:26657)")
	f.StringVar(&o.logLevel, "log.level", "info", "log level: debug, info, error or none")
	f.Int64Var(&o.retainBlocks, "retain-blocks", 0, retainBlocksUsage)
	return cmd
}

// runCore runs the node until cmd's context ends.
func runCore(cmd *cobra.Command, o startOptions) error {
	n, err := launchCore(cmd.ErrOrStderr(), o)
	if err != nil {
		return err
	}
	<-cmd.Context().Done()
	return n.stop()
}

// coreNode is a running core node and the logger of this command.
type coreNode struct {
	*validator.Node
	logger *slog.Logger
}

// launchCore starts the core node of o.home, logging to w.
func launchCore(w io.Writer, o startOptions) (*coreNode, error) {
	if o.retainBlocks < 0 {
		return nil, fmt.Errorf("--retain-blocks %d: want 0 (keep every block) or more", o.retainBlocks)
	}
	conf, err := validator.LoadConfig(o.home)
	if err != nil {
		return nil, fmt.Errorf("%w (is %s initialised? run mesh-node core init)", err, o.home)
	}
	if o.p2pAddr != "" {
		conf.P2P.ListenAddress = o.p2pAddr
	}
	if o.rpcAddr != "" {
		conf.RPC.ListenAddress = o.rpcAddr
	}
	logger, slogger, err := newLoggers(w, o.logLevel)
	if err != nil {
		return nil, err
	}
	n, err := validator.Start(conf, validator.Options{Logger: logger, AppLogger: slogger.With("module", "app"), SquareHandOff: o.squareHandOff, RetainBlocks: o.retainBlocks})
	if err != nil {
		return nil, err
	}
	c := &coreNode{Node: n, logger: slogger.With("module", "core-start")}
	c.logger.Info("core node started", "home", o.home, "chain_id", n.ChainID(),
		"p2p", conf.P2P.ListenAddress, "rpc", conf.RPC.ListenAddress)
	return c, nil
}

// stop stops the node and closes its databases.
func (c *coreNode) stop() error {
	c.logger.Info("stopping core node")
	return c.Stop()
}

// newLoggers returns CometBFT's logger and a slog logger for the
// application and this command, both writing to w at level.
func newLoggers(w io.Writer, level string) (cmtlog.Logger, *slog.Logger, error) {
	if level == "none" {
		return cmtlog.NewNopLogger(), slog.New(slog.DiscardHandler), nil
	}
	opt, err := cmtlog.AllowLevel(level)
	if err != nil {
		return nil, nil, fmt.Errorf("--log.level: %w", err)
	}
	var sl slog.Level
	if err := sl.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("--log.level: %w", err)
	}
	sw := cmtlog.NewSyncWriter(w)
	return cmtlog.NewFilter(cmtlog.NewTMLogger(sw), opt),
		slog.New(slog.NewTextHandler(sw, &slog.HandlerOptions{Level: sl})), nil
}
