package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	cfg "github.com/cometbft/cometbft/config"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/dgraph-io/badger/v4"
	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/cmd/mesh-node/internal/cometconfig"
	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// appDBDir is the application's Badger directory under the home.
const appDBDir = "data/app.badger"

// startOptions are core start's settings.
type startOptions struct {
	home, p2pAddr, rpcAddr, logLevel string
}

func (c *cli) coreStartCmd() *cobra.Command {
	var o startOptions
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Run the core node until interrupted",
		Long: `Run the core node of the home made by core init: open the application's
Badger state (<home>/data/app.badger), build the DataMesh application and
run an in-process CometBFT node with it, configured by
<home>/config/config.toml (P2P 26656 and RPC 26657 by default). SIGINT or
SIGTERM stops the node and closes its databases.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := c.home(cmd)
			if err != nil {
				return err
			}
			o.home = home
			if err := runCore(cmd, o); err != nil {
				return fmt.Errorf("core start: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.p2pAddr, "p2p.laddr", "", "P2P listen address, overriding config.toml (e.g. tcp://0.0.0.0:26656)")
	f.StringVar(&o.rpcAddr, "rpc.laddr", "", "RPC listen address, overriding config.toml (e.g. tcp://127.0.0.1:26657)")
	f.StringVar(&o.logLevel, "log.level", "info", "log level: debug, info, error or none")
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

// coreNode is a running core node: CometBFT with the DataMesh application.
type coreNode struct {
	node   *node.Node
	conf   *cfg.Config
	db     *badger.DB
	dbs    *cometDBs
	logger *slog.Logger
}

// launchCore starts the core node of o.home, logging to w.
func launchCore(w io.Writer, o startOptions) (_ *coreNode, err error) {
	conf := cfg.DefaultConfig()
	if err := cometconfig.Load(filepath.Join(o.home, "config", "config.toml"), conf); err != nil {
		return nil, fmt.Errorf("%w (is %s initialised? run mesh-node core init)", err, o.home)
	}
	conf.SetRoot(o.home)
	if o.p2pAddr != "" {
		conf.P2P.ListenAddress = o.p2pAddr
	}
	if o.rpcAddr != "" {
		conf.RPC.ListenAddress = o.rpcAddr
	}
	if err := conf.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("CometBFT config: %w", err)
	}
	logger, slogger, err := newLoggers(w, o.logLevel)
	if err != nil {
		return nil, err
	}
	pv, err := loadFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	if err != nil {
		return nil, err
	}
	nodeKey, err := p2p.LoadNodeKey(conf.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("load node key: %w", err)
	}

	db, err := nodebuilder.OpenBadger(badger.DefaultOptions(filepath.Join(o.home, appDBDir)).WithLogger(nil))
	if err != nil {
		return nil, fmt.Errorf("open application database: %w", err)
	}
	c := &coreNode{conf: conf, db: db, dbs: &cometDBs{}, logger: slogger.With("module", "core-start")}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.close(false))
		}
	}()
	a, err := app.New(db, slogger.With("module", "app"))
	if err != nil {
		return nil, fmt.Errorf("load application state: %w", err)
	}
	n, err := node.NewNode(conf, pv, nodeKey, proxy.NewLocalClientCreator(a),
		node.DefaultGenesisDocProviderFunc(conf), provider(c.dbs, cfg.DefaultDBProvider),
		node.DefaultMetricsProvider(conf.Instrumentation), logger)
	if err != nil {
		return nil, fmt.Errorf("create CometBFT node: %w", err)
	}
	if err := n.Start(); err != nil {
		return nil, fmt.Errorf("start CometBFT node: %w", err)
	}
	c.node = n
	c.logger.Info("core node started", "home", o.home, "chain_id", n.GenesisDoc().ChainID,
		"p2p", conf.P2P.ListenAddress, "rpc", conf.RPC.ListenAddress)
	return c, nil
}

// rpcURL is the node's CometBFT RPC as an http URL.
func (c *coreNode) rpcURL() string {
	return "http://" + strings.TrimPrefix(c.conf.RPC.ListenAddress, "tcp://")
}

// stop stops the node and closes its databases.
func (c *coreNode) stop() error {
	c.logger.Info("stopping core node")
	if err := c.node.Stop(); err != nil {
		return errors.Join(fmt.Errorf("stop CometBFT node: %w", err), c.close(false))
	}
	c.node.Wait()
	return c.close(true)
}

// close closes the databases the node left open (all of them unless it
// ran and stopped).
func (c *coreNode) close(nodeStopped bool) error {
	err := c.dbs.closeRest(nodeStopped)
	if cerr := c.db.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close application database: %w", cerr))
	}
	return err
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

// loadFilePV loads the validator key and signing state. privval.LoadFilePV
// exits the process on a bad file; this returns an error instead.
func loadFilePV(keyPath, statePath string) (*privval.FilePV, error) {
	keyJSON, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("read validator key: %w", err)
	}
	var k privval.FilePVKey
	if err := cmtjson.Unmarshal(keyJSON, &k); err != nil {
		return nil, fmt.Errorf("decode validator key %s: %w", keyPath, err)
	}
	if k.PrivKey == nil {
		return nil, fmt.Errorf("validator key %s: no priv_key", keyPath)
	}
	stateJSON, err := os.ReadFile(statePath)
	if err != nil {
		return nil, fmt.Errorf("read validator state: %w", err)
	}
	var st privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(stateJSON, &st); err != nil {
		return nil, fmt.Errorf("decode validator state %s: %w", statePath, err)
	}
	pv := privval.NewFilePV(k.PrivKey, keyPath, statePath)
	pv.LastSignState.Height = st.Height
	pv.LastSignState.Round = st.Round
	pv.LastSignState.Step = st.Step
	pv.LastSignState.Signature = st.Signature
	pv.LastSignState.SignBytes = st.SignBytes
	return pv, nil
}

// cometDBs opens CometBFT's databases through cfg.DefaultDBProvider and
// remembers them, to close the ones the node does not: in CometBFT v0.38,
// Node.OnStop closes the block, state and evidence stores but not the
// transaction index ("tx_index"), and a node that failed to build or start
// closes none.
type cometDBs struct {
	mu      sync.Mutex
	closers []namedCloser
}

type namedCloser struct {
	id string
	io.Closer
}

// provider returns a cfg.DBProvider. It is generic so that this package
// need not import cometbft-db to name the database type.
func provider[D io.Closer](c *cometDBs, open func(*cfg.DBContext) (D, error)) func(*cfg.DBContext) (D, error) {
	return func(ctx *cfg.DBContext) (D, error) {
		d, err := open(ctx)
		if err != nil {
			return d, fmt.Errorf("open CometBFT database %s: %w", ctx.ID, err)
		}
		c.mu.Lock()
		c.closers = append(c.closers, namedCloser{ctx.ID, d})
		c.mu.Unlock()
		return d, nil
	}
}

// closeRest closes the databases the node has not closed: all of them if
// nodeStopped is false (the node never ran), else those Node.OnStop leaves
// open. Call it after the node stopped, if it ran.
func (c *cometDBs) closeRest(nodeStopped bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, d := range c.closers {
		if nodeStopped && (d.id == "blockstore" || d.id == "state" || d.id == "evidence") {
			continue
		}
		if err := d.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close CometBFT database %s: %w", d.id, err))
		}
	}
	c.closers = nil
	return errors.Join(errs...)
}
