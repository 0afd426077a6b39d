package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/dgraph-io/badger/v4"
	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
)

// bridgeDBDir is the bridge's Badger directory (headers and squares) under
// its home.
const bridgeDBDir = "data"

// bridgeConfigFile is the bridge's configuration under its home.
const bridgeConfigFile = "config.toml"

// bridgeConfig is <home>/config.toml of a bridge. bridge init writes every
// field; bridge start reads it, and its flags override it for one run.
type bridgeConfig struct {
	Core struct {
		// RPC is the CometBFT RPC address of the core node to follow.
		RPC string `toml:"rpc"`
		// ChainID is the chain the bridge follows; a core node of another
		// chain is refused.
		ChainID string `toml:"chain_id"`
	} `toml:"core"`
	Square struct {
		// MaxSize is the chain's maximum original square width.
		MaxSize int `toml:"max_size"`
	} `toml:"square"`
	Store struct {
		// CacheSquares is how many recently used extended squares are kept
		// in memory.
		CacheSquares int `toml:"cache_squares"`
	} `toml:"store"`
}

func defaultBridgeConfig() bridgeConfig {
	var c bridgeConfig
	c.Core.RPC = "http://127.0.0.1:26657"
	c.Square.MaxSize = share.DefaultMaxSquareSize
	c.Store.CacheSquares = 16
	return c
}

func (c bridgeConfig) validate() error {
	switch {
	case c.Core.RPC == "":
		return errors.New("core.rpc is empty")
	case c.Core.ChainID == "":
		return errors.New("core.chain_id is empty")
	case c.Square.MaxSize < 1 || c.Square.MaxSize > share.SquareSizeUpperBound || !share.IsPowerOfTwo(c.Square.MaxSize):
		return fmt.Errorf("square.max_size %d is not a power of two up to %d", c.Square.MaxSize, share.SquareSizeUpperBound)
	case c.Store.CacheSquares < 0:
		return fmt.Errorf("store.cache_squares %d is negative", c.Store.CacheSquares)
	}
	return nil
}

func loadBridgeConfig(home string) (bridgeConfig, error) {
	c := defaultBridgeConfig()
	path := filepath.Join(home, bridgeConfigFile)
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return c, fmt.Errorf("read %s (is the home initialised? run mesh-node bridge init): %w", path, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		return c, fmt.Errorf("%s: unknown key %s", path, undecoded[0])
	}
	if err := c.validate(); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (c *cli) bridgeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bridge",
		Short: "Run a bridge node: follow a core node, build and store extended headers and squares",
		Long: `A bridge node follows a core node's RPC, rebuilds each block's data square,
extends it, checks it against the block's data root transaction, builds and
verifies the extended header, and stores header and square together in
Badger under <home>/data. Its home defaults to $MESH_HOME, else
~/.mesh-node-bridge.`,
	}
	cmd.AddCommand(c.bridgeInitCmd(), c.bridgeStartCmd())
	return cmd
}

func (c *cli) bridgeInitCmd() *cobra.Command {
	var rpc, chainID string
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write the bridge's config.toml with every default",
		Long: `Write <home>/config.toml with every setting. The chain ID is --chain-id, or,
when it is empty, the chain ID the core node at --core.rpc reports (init then
needs that node to be reachable). An existing config.toml is kept unless
--force is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := c.homeOf(cmd, "bridge")
			if err != nil {
				return err
			}
			path := filepath.Join(home, bridgeConfigFile)
			if _, err := os.Stat(path); err == nil && !force {
				return fmt.Errorf("bridge init: %s exists (use --force to overwrite)", path)
			}
			conf := defaultBridgeConfig()
			conf.Core.RPC = rpc
			conf.Core.ChainID = chainID
			if conf.Core.ChainID == "" {
				id, err := coreChainID(cmd.Context(), rpc)
				if err != nil {
					return fmt.Errorf("bridge init: learn the chain ID from %s (or pass --chain-id): %w", rpc, err)
				}
				conf.Core.ChainID = id
			}
			if err := conf.validate(); err != nil {
				return fmt.Errorf("bridge init: %w", err)
			}
			if err := writeBridgeConfig(path, conf); err != nil {
				return fmt.Errorf("bridge init: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "home: %s\nconfig: %s\nchain_id: %s\ncore_rpc: %s\n", home, path, conf.Core.ChainID, conf.Core.RPC)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&rpc, "core.rpc", defaultBridgeConfig().Core.RPC, "RPC address of the core node to follow")
	f.StringVar(&chainID, "chain-id", "", "chain ID to follow (default: the one the core node reports)")
	f.BoolVar(&force, "force", false, "overwrite an existing config.toml")
	return cmd
}

// coreChainID asks the core node at rpc for its chain ID.
func coreChainID(ctx context.Context, rpc string) (string, error) {
	client, err := rpchttp.New(rpc, "/websocket")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := client.Status(ctx)
	if err != nil {
		return "", err
	}
	return st.NodeInfo.Network, nil
}

// writeBridgeConfig writes conf to path through a temporary file, so a
// crash leaves the old file or the new one, never half of one.
func writeBridgeConfig(path string, conf bridgeConfig) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.toml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if err := toml.NewEncoder(tmp).Encode(conf); err != nil {
		tmp.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (c *cli) bridgeStartCmd() *cobra.Command {
	var rpc, logLevel string
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Follow the core node until interrupted",
		Long: `Open the bridge's Badger database (<home>/data), resume from its last stored
height and follow the core node: every block becomes a verified extended
header stored together with its original square. --core.rpc overrides
config.toml for this run. SIGINT or SIGTERM stops the bridge after the
height it is storing and closes the database.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := c.homeOf(cmd, "bridge")
			if err != nil {
				return err
			}
			conf, err := loadBridgeConfig(home)
			if err != nil {
				return fmt.Errorf("bridge start: %w", err)
			}
			if rpc != "" {
				conf.Core.RPC = rpc
			}
			_, logger, err := newLoggers(cmd.ErrOrStderr(), logLevel)
			if err != nil {
				return fmt.Errorf("bridge start: %w", err)
			}
			if err := runBridge(cmd.Context(), home, conf, logger); err != nil {
				return fmt.Errorf("bridge start: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&rpc, "core.rpc", "", "RPC address of the core node, overriding config.toml")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, error or none")
	return cmd
}

// runBridge follows the core node until ctx ends.
func runBridge(ctx context.Context, home string, conf bridgeConfig, logger *slog.Logger) (err error) {
	opts := badger.DefaultOptions(filepath.Join(home, bridgeDBDir)).WithLogger(nil)
	db, err := badger.Open(opts)
	if err != nil {
		return fmt.Errorf("open %s (is another bridge using this home?): %w", opts.Dir, err)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", opts.Dir, cerr)
		}
	}()
	store := core.NewStore(db, conf.Store.CacheSquares)
	f, err := core.New(core.Options{
		RPC:           conf.Core.RPC,
		ChainID:       conf.Core.ChainID,
		Store:         store,
		MaxSquareSize: conf.Square.MaxSize,
		Logger:        logger,
		OnHeader: func(h *header.ExtendedHeader) {
			logger.Info("stored extended header", "height", h.Height(), "square", h.DAH.SquareSize(), "data_root", fmt.Sprintf("%X", h.DataRoot()))
		},
	})
	if err != nil {
		return err
	}
	if err := f.Start(ctx); err != nil {
		return err
	}
	logger.Info("bridge following", "core_rpc", conf.Core.RPC, "chain_id", conf.Core.ChainID, "home", home)
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return f.Stop(stopCtx)
}
