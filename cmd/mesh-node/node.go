package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/nodebuilder"
)

// nodeModes are the modes nodebuilder runs, each with init and start.
var nodeModes = []struct {
	mode        nodebuilder.Mode
	short, long string
}{
	{nodebuilder.Bridge, "Run a bridge node: follow a core node, store and serve extended headers and squares",
		`A bridge node follows a core node's RPC, rebuilds each block's data square,
extends it, checks it against the block's data root transaction, builds and
verifies the extended header, stores header and square together in Badger
under <home>/data, serves headers and squares over libp2p (header-ex,
shrex), publishes and announces each new one (header-sub, eds-sub), indexes
its blobs by commitment, and serves the JSON-RPC API (26658). Its home
defaults to $MESH_HOME, else ~/.mesh-node-bridge.`},
	{nodebuilder.Full, "Run a full node: sync headers, fetch, verify, store and serve every square",
		`A full node syncs extended headers over libp2p from its bootstrap peers
and any other node serving them, verifying every one against the validator
signatures of the header before it, follows new headers by gossip, fetches
(or rebuilds) every block's square from peers, verifies it against the
header, stores, serves and announces it, indexes its blobs by commitment,
and stops on proof of bad encoding. It serves the JSON-RPC API (26658). Its
home defaults to $MESH_HOME, else ~/.mesh-node-full.`},
	{nodebuilder.Light, "Run a light node: sync and verify headers and sample every block, on a laptop",
		`A light node syncs extended headers over libp2p from its bootstrap peers
and any other node serving them, verifying every one against the validator
signatures of the header before it, follows new headers by gossip, samples
16 random cells of every block with proofs, and serves the JSON-RPC API
(26658). It stores headers and sampling results only. Its home defaults to
$MESH_HOME, else ~/.mesh-node-light.`},
}

func (c *cli) nodeCmds() []*cobra.Command {
	var cmds []*cobra.Command
	for _, m := range nodeModes {
		cmd := &cobra.Command{Use: string(m.mode), Short: m.short, Long: m.long}
		cmd.AddCommand(c.nodeInitCmd(m.mode), c.nodeStartCmd(m.mode), c.resetStoreCmd(m.mode), c.authCmd(m.mode))
		cmds = append(cmds, cmd)
	}
	return cmds
}

func (c *cli) nodeInitCmd(mode nodebuilder.Mode) *cobra.Command {
	var (
		chainID, trustedHash string
		trustedHeight        uint64
		bootstrap, listen    []string
		force                bool
		flags                configFlags
	)
	long := `Write <home>/config.toml with every setting, and create the node's libp2p
identity (<home>/keys/p2p-key). An existing config.toml is kept unless
--force is given; the identity is never replaced.`
	if mode == nodebuilder.Bridge {
		long += `

The chain ID is --chain-id, or, when it is empty, the chain ID the core node
at --core.rpc reports (init then needs that node to be reachable).`
	} else {
		long += `

--chain-id and at least one --bootstrap peer (a bridge's address, as bridge
start prints it) are required. The node starts from the header named by
--trusted-hash, else the one at --trusted-height, else the head its
bootstrap peers agree on.`
	}
	cmd := c.homeCmd(string(mode), "init", "Write the "+string(mode)+" node's config.toml and p2p identity", long, func(cmd *cobra.Command, home string) error {
		path := filepath.Join(home, nodebuilder.ConfigFile)
		if _, err := os.Stat(path); err == nil && !force {
			return fmt.Errorf("%s init: %s exists (use --force to overwrite)", mode, path)
		}
		conf := nodebuilder.DefaultConfig(mode)
		if chainID != "" && flags.network != "" && chainID != flags.network {
			return fmt.Errorf("%s init: --chain-id %q and --p2p.network %q differ (they name the same thing)", mode, chainID, flags.network)
		}
		conf.ChainID = chainID
		if conf.ChainID == "" {
			conf.ChainID = flags.network
		}
		flags.apply(cmd, &conf)
		conf.P2P.BootstrapPeers = append(conf.P2P.BootstrapPeers, bootstrap...)
		if len(listen) > 0 {
			conf.P2P.ListenAddresses = listen
		}
		if mode == nodebuilder.Bridge {
			if conf.ChainID == "" {
				id, err := coreChainID(cmd.Context(), conf.Core.RPC)
				if err != nil {
					return fmt.Errorf("bridge init: learn the chain ID from %s (or pass --chain-id): %w", conf.Core.RPC, err)
				}
				conf.ChainID = id
			}
		} else {
			conf.Header.TrustedHash = trustedHash
			conf.Header.TrustedHeight = trustedHeight
		}
		if err := conf.Validate(mode); err != nil {
			return fmt.Errorf("%s init: %w", mode, err)
		}
		ii, err := nodebuilder.Init(home, conf)
		if err != nil {
			return fmt.Errorf("%s init: %w", mode, err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "home: %s\nconfig: %s\nchain_id: %s\npeer_id: %s\naccount: %s\n", home, path, conf.ChainID, ii.PeerID, ii.Account)
		if mode == nodebuilder.Bridge {
			fmt.Fprintf(cmd.OutOrStdout(), "core_rpc: %s\n", conf.Core.RPC)
		}
		return nil
	})
	flags.register(cmd, mode, true)
	f := cmd.Flags()
	if mode == nodebuilder.Bridge {
		f.StringVar(&chainID, "chain-id", "", "chain ID to follow (default: the one the core node reports)")
	} else {
		f.StringVar(&chainID, "chain-id", "", "chain ID to follow (required)")
		f.StringVar(&trustedHash, "trusted-hash", "", "hex hash of a header to trust and start from")
		f.Uint64Var(&trustedHeight, "trusted-height", 0, "height to start from when there is no --trusted-hash (the bootstrap peers must agree on it)")
	}
	f.StringSliceVar(&bootstrap, "bootstrap", nil, "multiaddr of a bootstrap peer, ending /p2p/<peer ID> (repeatable)")
	f.StringSliceVar(&listen, "p2p.listen", nil, "libp2p listen multiaddrs (default TCP and QUIC on port 2121)")
	f.BoolVar(&force, "force", false, "overwrite an existing config.toml")
	return cmd
}

func (c *cli) resetStoreCmd(mode nodebuilder.Mode) *cobra.Command {
	const long = `Delete <home>/data: the node's headers, squares, sampling results and
bad-encoding proofs (so this is how an operator clears a halt). config.toml
and keys/ stay. The node must be stopped. A light or full node's
next start initialises its header store again from header.trusted_hash or
header.trusted_height, else from the head its bootstrap peers agree on: this
is how a node whose stored head is older than the trusting period is
re-initialised.`
	short := "Delete the " + string(mode) + " node's database, keeping its config and keys"
	return c.homeCmd(string(mode), "reset-store", short, long, func(cmd *cobra.Command, home string) error {
		dir, err := nodebuilder.ResetStore(home)
		if err != nil {
			return fmt.Errorf("%s reset-store: %w", mode, err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "removed: %s\n", dir)
		return nil
	})
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

func (c *cli) nodeStartCmd(mode nodebuilder.Mode) *cobra.Command {
	var (
		flags       configFlags
		newIdentity bool
		pprofAddr   string
	)
	long := `Lock the home (<home>/lock: a second process is refused), open the node's
Badger database (<home>/data), start its services in order, the JSON-RPC API
last (rpc.address:rpc.port, 26658), print its peer ID and addresses, then run
until SIGINT or SIGTERM, which stops every service in reverse order and
closes the database. Flags override config.toml for this run.

Start refuses, changing nothing, a damaged keys/p2p-key; a missing one
while data/ holds a store (restore it, or pass --new-identity to start
under a new peer ID); and a store of another chain than chain_id.`
	if mode == nodebuilder.Bridge {
		long += `

The bridge resumes from its last stored height and follows the core node:
every block becomes a verified extended header stored with its original
square, served over header-ex and published on header-sub. --core.rpc
overrides config.toml for this run.`
	} else {
		long += `

The node initialises its header store on the first start (see init), then
syncs to the network head in parallel ranges, verifying every header, and
follows gossip. A restart resumes from the stored head. A node whose newest
header is older than header.trusting_period stops with an error that says
how to re-initialise.`
	}
	cmd := c.homeCmd(string(mode), "start", "Run the "+string(mode)+" node until interrupted", long, func(cmd *cobra.Command, home string) error {
		conf, err := nodebuilder.LoadConfig(home, mode)
		if err != nil {
			return fmt.Errorf("%s start: %w", mode, err)
		}
		if err := flags.checkNetwork(cmd, conf); err != nil {
			return fmt.Errorf("%s start: %w", mode, err)
		}
		flags.apply(cmd, &conf)
		if err := conf.Validate(mode); err != nil {
			return fmt.Errorf("%s start: %w", mode, err)
		}
		logger, levels, err := nodeLogger(cmd.ErrOrStderr(), conf.Log.Level)
		if err != nil {
			return fmt.Errorf("%s start: %w", mode, err)
		}
		if pprofAddr != "" {
			addr, stop, err := servePprof(pprofAddr)
			if err != nil {
				return fmt.Errorf("%s start: %w", mode, err)
			}
			defer func() { _ = stop() }()
			fmt.Fprintf(cmd.OutOrStdout(), "pprof: http://%s/debug/pprof/\n", addr)
		}
		n, err := nodebuilder.New(mode, home, conf, nodebuilder.Options{Logger: logger, LogLevels: levels, NewIdentity: newIdentity})
		if err != nil {
			return fmt.Errorf("%s start: %w", mode, err)
		}
		if mode == nodebuilder.Light && c.setMemoryLimit != nil && c.getenv("GOMEMLIMIT") == "" {
			// A light node runs on laptops: let the garbage collector
			// work harder rather than let the heap grow to twice its
			// live size (GOMEMLIMIT overrides).
			c.setMemoryLimit(lightMemoryLimit)
		}
		if err := runNode(cmd.Context(), cmd.OutOrStdout(), n); err != nil {
			return fmt.Errorf("%s start: %w", mode, err)
		}
		return nil
	})
	flags.register(cmd, mode, false)
	cmd.Flags().StringVar(&pprofAddr, "pprof", "", "serve Go's runtime profiles of this process at this loopback address (host:port, /debug/pprof/)")
	cmd.Flags().BoolVar(&newIdentity, "new-identity", false, "create keys/p2p-key if it is missing although data/ holds a store (the node starts under a new peer ID)")
	return cmd
}

// lightMemoryLimit is the Go runtime's soft memory limit in a light node
// process. Its live heap is a few tens of MB; the limit keeps the
// garbage collector from letting the heap double beyond that.
const lightMemoryLimit = 64 << 20

// runNode starts n, prints its identity and runs it until ctx ends or a
// service fails, then stops it.
func runNode(ctx context.Context, out io.Writer, n *nodebuilder.Node) (err error) {
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = errors.Join(err, n.Stop(stopCtx))
	}()
	if err := n.Start(ctx); err != nil {
		return err
	}
	id, addrs := n.Info()
	fmt.Fprintf(out, "peer_id: %s\n", id)
	for _, a := range addrs {
		fmt.Fprintf(out, "address: %s\n", a)
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-n.Fatal():
		return err
	}
}
