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
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/internal/atomicfile"
	"github.com/datamesh/mesh-node/internal/freeport"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state/keyring"
)

// Devnet defaults.
const (
	devnetChainID     = "mesh-devnet"
	devnetBasePort    = 26656
	devnetNodeBalance = 1_000_000_000_000
	// devnetDataCommitmentWindow is the devnet genesis's
	// data_commitment_window: a Blobstream attestation every 10 blocks, so
	// that one is there within seconds (core init keeps the default, 400).
	devnetDataCommitmentWindow = 10
	// DevnetFile is the file the devnet describes itself in.
	devnetFile = "devnet.json"
)

// The devnet's ports, as offsets from --base-port: core P2P and RPC, then
// for bridge, full and light (in devnetModes order, i = 0, 1, 2) the API
// at apiPort+i, libp2p at libp2pPort+i (TCP and QUIC on the same number)
// and, with --metrics, Prometheus at metricsPort+i; the dataset gateway of
// bridge and full at gatewayPort+i.
const (
	corePort    = 0
	coreRPCPort = 1
	apiPort     = 2
	libp2pPort  = 5
	metricsPort = 8
	gatewayPort = 11
	devnetPorts = 13
)

// errDevnetRunning is returned by a devnet started on a home another
// devnet holds.
var errDevnetRunning = errors.New("a devnet is already running on this home")

// devnetInfo is devnet.json: how to reach each node.
type devnetInfo struct {
	ChainID string                   `json:"chain_id"`
	CoreRPC string                   `json:"core_rpc"`
	Nodes   map[string]devnetNodeRef `json:"nodes"`
	// Accounts are the funded keys: the dev account (the core home's
	// keyring) and each node's own key, which signs its blob.Submit.
	Accounts map[string]string `json:"accounts"`
}

type devnetNodeRef struct {
	RPC   string   `json:"rpc"`
	Token string   `json:"token"`
	P2P   []string `json:"p2p"`
	Home  string   `json:"home"`
	// Metrics is the node's Prometheus endpoint, with --metrics.
	Metrics string `json:"metrics,omitempty"`
	// Gateway is the base URL of the node's dataset gateway (/ipfs/) and
	// delegated routing endpoint (/routing/v1/): bridge and full.
	Gateway string `json:"gateway,omitempty"`
}

type devnetOptions struct {
	home      string
	basePort  int
	blockTime time.Duration
	logLevel  string
	metrics   bool
	pprof     string
	// maxSquareSize is the genesis max_square_size of a new home;
	// maxSquareSizeSet says --max-square-size was given, which a home
	// made with another value refuses.
	maxSquareSize    int
	maxSquareSizeSet bool
	// maxBlobSize is the genesis max_blob_size of a new home.
	maxBlobSize int
	// retainBlocks: the core node's --retain-blocks.
	retainBlocks int64
	// fullWindow, if not 0, is the full node's store.availability_window
	// (--full.availability-window), written to its config.toml.
	fullWindow time.Duration
}

func (c *cli) devnetCmd() *cobra.Command {
	var o devnetOptions
	cmd := &cobra.Command{
		Use:   "devnet",
		Short: "Run a core validator, a bridge, a full and a light node in one process",
		Long: `Run a whole DataMesh network on loopback in this process: a core validator
(one-validator chain "` + devnetChainID + `", --block-time per block, a Blobstream
attestation every ` + strconv.Itoa(devnetDataCommitmentWindow) + ` blocks), a bridge
following it (taking the square of each block from the validator instead
of building it again), and a full and a light node syncing from the
bridge. Each
node's key is funded in the genesis, and each node's JSON-RPC API submits
blobs through the core node. The command prints each node's RPC URL and an
admin token and writes them to <home>/devnet.json:

  {"chain_id": ..., "core_rpc": URL,
   "nodes": {"bridge"|"full"|"light": {"rpc": URL, "token": T, "p2p": [multiaddr], "home": DIR,
                                       "metrics": URL (with --metrics),
                                       "gateway": URL (bridge and full)}},
   "accounts": {"dev"|"bridge"|"full"|"light": address}}

The homes are <home>/core, <home>/bridge, <home>/full and <home>/light
(<home> is --home, else $MESH_HOME, else ~/.mesh-node-devnet); a second run
resumes the same chain, and a second devnet on a home in use is refused.
Each start rewrites the keys of the nodes' config.toml that wire the devnet
(chain_id, core.rpc, p2p.listen_addresses, p2p.bootstrap_peers, rpc.port,
dataset.gateway_address, the bridge's square.max_size, log.level) and keeps
the others as they are in the file.

Ports, from --base-port N: core P2P N, core RPC N+1; the APIs of bridge,
full and light N+2, N+3, N+4 (26658, 26659, 26660 by default); their libp2p
ports N+5, N+6, N+7 (TCP and QUIC), so their addresses in devnet.json
survive a restart; with --metrics their Prometheus /metrics N+8, N+9, N+10;
the dataset gateways (and delegated routing) of bridge and full N+11, N+12.
--base-port 0 picks free ports (libp2p ones change on every run).

--max-square-size (default 128) is the chain's max_square_size, set in the
genesis on the first run; CometBFT's block max_bytes is derived from it
(32 MiB squares of 256 fit; 512 is capped at CometBFT's 100 MiB blocks) and
the bridge's square.max_size follows the genesis on every run. Giving it on
a later run with another value than the home's chain has is an error.
--max-blob-size (default 2 MiB) is the genesis max_blob_size, set on the
first run; the core node's mempool and RPC size limits follow it. SIGINT
stops every node, in reverse order, and closes their databases.

The devnet's disk grows with every block: the core node keeps every
block, and bridge and full node every square for 7 days and 1 hour.
--retain-blocks N makes the core node keep only its last N blocks (for
this run), --full.availability-window D the full node keep squares for D
(written to its config.toml); the bridge's store.availability_window and
store.archival are in its config.toml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := c.homeOf(cmd, "devnet")
			if err != nil {
				return err
			}
			o.home = home
			o.maxSquareSizeSet = cmd.Flags().Changed("max-square-size")
			var pprofAddr string
			if o.pprof != "" {
				addr, stop, err := servePprof(o.pprof)
				if err != nil {
					return fmt.Errorf("devnet: %w", err)
				}
				defer stop()
				pprofAddr = addr
			}
			d, err := startDevnet(cmd.Context(), cmd.ErrOrStderr(), o)
			if err != nil {
				return fmt.Errorf("devnet: %w", err)
			}
			out := cmd.OutOrStdout()
			if pprofAddr != "" {
				fmt.Fprintf(out, "pprof: http://%s/debug/pprof/\n", pprofAddr)
			}
			fmt.Fprintf(out, "chain_id: %s\ncore_rpc: %s\n", d.info.ChainID, d.info.CoreRPC)
			for _, m := range []string{"bridge", "full", "light"} {
				n := d.info.Nodes[m]
				fmt.Fprintf(out, "%s_rpc: %s\n%s_token: %s\n", m, n.RPC, m, n.Token)
				if n.Metrics != "" {
					fmt.Fprintf(out, "%s_metrics: %s\n", m, n.Metrics)
				}
				if n.Gateway != "" {
					fmt.Fprintf(out, "%s_gateway: %s\n", m, n.Gateway)
				}
			}
			fmt.Fprintf(out, "devnet_json: %s\ndevnet ready\n", filepath.Join(home, devnetFile))
			<-cmd.Context().Done()
			if err := d.stop(); err != nil {
				return fmt.Errorf("devnet: stop: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.basePort, "base-port", devnetBasePort, fmt.Sprintf("first of the %d ports the devnet listens on (0: free ports)", devnetPorts))
	f.BoolVar(&o.metrics, "metrics", false, "serve the bridge's, full and light node's Prometheus metrics (ports base+8, +9, +10)")
	f.StringVar(&o.pprof, "pprof", "", "serve Go's runtime profiles of the devnet's process at this loopback address (host:port, /debug/pprof/)")
	f.DurationVar(&o.blockTime, "block-time", defaultBlockTime, "the core node's pause after each block (set on the first run)")
	f.IntVar(&o.maxSquareSize, "max-square-size", share.DefaultMaxSquareSize, maxSquareSizeUsage+" (set on the first run)")
	f.IntVar(&o.maxBlobSize, "max-blob-size", tx.DefaultParams().MaxBlobSize, maxBlobSizeUsage+" (set on the first run)")
	f.StringVar(&o.logLevel, "log.level", "error", "log level of the nodes: debug, info, warn, error or none")
	f.Int64Var(&o.retainBlocks, "retain-blocks", 0, "the core node's: "+retainBlocksUsage)
	f.DurationVar(&o.fullWindow, "full.availability-window", 0, "the full node's store.availability_window: keep squares this long (0: as its config.toml says, by default 7 days and 1 hour)")
	return cmd
}

// devnet is a running devnet.
type devnet struct {
	core   *coreNode
	nodes  []*nodebuilder.Node // bridge, full, light
	info   devnetInfo
	unlock func() error // releases the home's lock
}

// stop stops the nodes in reverse order, then the core node, and releases
// the home.
func (d *devnet) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	for i := len(d.nodes) - 1; i >= 0; i-- {
		errs = append(errs, d.nodes[i].Stop(ctx))
	}
	if d.core != nil {
		errs = append(errs, d.core.stop())
	}
	if d.unlock != nil {
		errs = append(errs, d.unlock())
	}
	return errors.Join(errs...)
}

// port returns the devnet's port at offset i: base+i, or a free TCP port
// for core and API ports with --base-port 0.
func (o devnetOptions) port(i int) (int, error) {
	if o.basePort != 0 {
		return o.basePort + i, nil
	}
	p, err := freeport.TCP()
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return p, nil
}

// libp2pAddrs returns the listen addresses of the i-th node: TCP and QUIC
// on base+libp2pPort+i, or on ports the host picks with --base-port 0.
func (o devnetOptions) libp2pAddrs(i int) []string {
	port := 0
	if o.basePort != 0 {
		port = o.basePort + libp2pPort + i
	}
	return []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port), fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", port)}
}

// metricsAddr returns where the i-th node serves its metrics with
// --metrics ("" without): base+metricsPort+i, or a port the node picks.
func (o devnetOptions) metricsAddr(i int) string {
	if !o.metrics {
		return ""
	}
	port := 0
	if o.basePort != 0 {
		port = o.basePort + metricsPort + i
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// gatewayAddr returns where the i-th node serves its datasets' gateway:
// base+gatewayPort+i, or a port the node picks with --base-port 0.
func (o devnetOptions) gatewayAddr(i int) string {
	port := 0
	if o.basePort != 0 {
		port = o.basePort + gatewayPort + i
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// nodeConfig returns mode's configuration for this run: the home's
// config.toml when there is one, so that edits to it survive, else the
// defaults, with the keys that wire the devnet set for this run.
func (o devnetOptions) nodeConfig(home string, mode nodebuilder.Mode, i int, coreRPC string, bootstrap []string, rpcPort, maxSquareSize int) (nodebuilder.Config, error) {
	conf, err := nodebuilder.LoadConfig(home, mode)
	if errors.Is(err, os.ErrNotExist) {
		conf, err = nodebuilder.DefaultConfig(mode), nil
	}
	if err != nil {
		return conf, err
	}
	conf.ChainID = devnetChainID
	conf.Core.RPC = coreRPC
	conf.P2P.ListenAddresses = o.libp2pAddrs(i)
	conf.P2P.BootstrapPeers = bootstrap
	conf.RPC.Port = rpcPort
	if mode == nodebuilder.Bridge {
		conf.Square.MaxSize = maxSquareSize
	}
	if mode != nodebuilder.Light { // a light node serves no datasets
		conf.Dataset.GatewayAddress = o.gatewayAddr(i)
	}
	if mode == nodebuilder.Full && o.fullWindow != 0 {
		conf.Store.AvailabilityWindow = nodebuilder.Duration(o.fullWindow)
	}
	conf.Log.Level = o.logLevel
	return conf, nil
}

var devnetModes = []nodebuilder.Mode{nodebuilder.Bridge, nodebuilder.Full, nodebuilder.Light}

// startDevnet initialises the homes on the first run and starts every
// node; on an error it stops what it started.
func startDevnet(ctx context.Context, logs io.Writer, o devnetOptions) (_ *devnet, err error) {
	if o.basePort < 0 || o.basePort > 65535-(devnetPorts-1) {
		return nil, fmt.Errorf("--base-port %d: want 0 or a port up to %d", o.basePort, 65535-(devnetPorts-1))
	}
	if err := checkSizes(o.maxSquareSize, o.maxBlobSize); err != nil {
		return nil, err
	}
	// The nodes share one logger, and so one set of levels: node.LogLevelSet
	// on any of them changes all three.
	logger, levels, err := nodeLogger(logs, o.logLevel)
	if err != nil {
		return nil, err
	}
	unlock, err := nodebuilder.LockHome(o.home)
	if errors.Is(err, nodebuilder.ErrHomeLocked) {
		return nil, fmt.Errorf("%w (%s): stop it first, or give another --home", errDevnetRunning, o.home)
	}
	if err != nil {
		return nil, err
	}
	d := &devnet{info: devnetInfo{ChainID: devnetChainID, Nodes: map[string]devnetNodeRef{}}, unlock: unlock}
	defer func() {
		if err != nil {
			err = errors.Join(err, d.stop())
		}
	}()
	if d.info.Accounts, err = initDevnet(o); err != nil {
		return nil, err
	}
	maxSquare, err := devnetMaxSquareSize(o)
	if err != nil {
		return nil, err
	}

	ports := make([]int, apiPort+len(devnetModes))
	for i := range ports {
		if ports[i], err = o.port(i); err != nil {
			return nil, err
		}
	}
	coreLevel := o.logLevel
	if coreLevel == "warn" {
		coreLevel = "error" // CometBFT has no warn level
	}
	if d.core, err = launchCore(logs, startOptions{home: filepath.Join(o.home, "core"), logLevel: coreLevel,
		p2pAddr: "tcp://127.0.0.1:" + strconv.Itoa(ports[0]), rpcAddr: "tcp://127.0.0.1:" + strconv.Itoa(ports[1]),
		squareHandOff: true, retainBlocks: o.retainBlocks}); err != nil {
		return nil, fmt.Errorf("core node: %w", err)
	}
	d.info.CoreRPC = d.core.RPCURL()
	if err := waitFirstBlock(ctx, d.core.RPCURL()); err != nil {
		return nil, err
	}

	var bootstrap []string
	for i, mode := range devnetModes {
		home := filepath.Join(o.home, string(mode))
		conf, err := o.nodeConfig(home, mode, i, d.core.RPCURL(), bootstrap, ports[apiPort+i], maxSquare)
		if err != nil {
			return nil, fmt.Errorf("%s node: %w", mode, err)
		}
		// config.toml says how this run is wired (mesh-node blob ... --home
		// <home>/light reads it); the metrics address is for this run only.
		if _, err := nodebuilder.Init(home, conf); err != nil {
			return nil, fmt.Errorf("%s node: %w", mode, err)
		}
		nopts := nodebuilder.Options{Logger: logger.With("node", string(mode)), MetricsAddr: o.metricsAddr(i), LogLevels: levels}
		if mode == nodebuilder.Bridge {
			// The bridge takes the squares the validator built instead of
			// building each again.
			nopts.Squares = d.core
		}
		n, err := nodebuilder.New(mode, home, conf, nopts)
		if err != nil {
			return nil, fmt.Errorf("%s node: %w", mode, err)
		}
		d.nodes = append(d.nodes, n)
		if err := n.Start(ctx); err != nil {
			d.nodes = d.nodes[:len(d.nodes)-1]
			return nil, errors.Join(fmt.Errorf("%s node: %w", mode, err), n.Stop(context.Background()))
		}
		_, addrs := n.Info()
		bootstrap = append(bootstrap, addrs...)
		secret, err := api.LoadOrCreateSecret(filepath.Join(home, nodebuilder.SecretFile))
		if err != nil {
			return nil, fmt.Errorf("%s node: %w", mode, err)
		}
		token, err := api.NewToken(secret, api.AllPerms(), 0)
		if err != nil {
			return nil, fmt.Errorf("%s node: %w", mode, err)
		}
		ref := devnetNodeRef{RPC: "http://" + n.APIAddr(), Token: token, P2P: addrs, Home: home}
		if a := n.MetricsAddr(); a != "" {
			ref.Metrics = "http://" + a + "/metrics"
		}
		ref.Gateway = n.DatasetGatewayURL()
		d.info.Nodes[string(mode)] = ref
	}
	b, err := json.MarshalIndent(d.info, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(o.home, devnetFile), append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", devnetFile, err)
	}
	return d, nil
}

// initDevnet creates, on the first run, each node's key and the core home
// with those keys funded; it returns the funded accounts.
func initDevnet(o devnetOptions) (map[string]string, error) {
	accounts := map[string]string{}
	var funded []app.GenesisAccount
	for _, mode := range devnetModes {
		kr := keyring.New(filepath.Join(o.home, string(mode), nodebuilder.KeysDir))
		k, err := kr.Get(nodebuilder.DefaultKeyName)
		if errors.Is(err, keyring.ErrNotFound) {
			k, err = kr.Add(nodebuilder.DefaultKeyName)
		}
		if err != nil {
			return nil, fmt.Errorf("%s node key: %w", mode, err)
		}
		accounts[string(mode)] = k.Address.String()
		funded = append(funded, app.GenesisAccount{Address: k.Address, Balance: devnetNodeBalance})
	}
	coreHome := filepath.Join(o.home, "core")
	if _, err := os.Stat(filepath.Join(coreHome, "config", "genesis.json")); errors.Is(err, os.ErrNotExist) {
		if _, _, err := initHome(initOptions{home: coreHome, chainID: devnetChainID, moniker: "devnet", blockTime: o.blockTime,
			devBalance: defaultDevBalance, accounts: funded, dataCommitmentWindow: devnetDataCommitmentWindow,
			maxSquareSize: o.maxSquareSize, maxBlobSize: o.maxBlobSize}); err != nil {
			return nil, fmt.Errorf("core home: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("core home: %w", err)
	}
	dev, err := validator.Keyring(coreHome).Get(validator.DevKeyName)
	if err != nil {
		return nil, fmt.Errorf("core home: %w", err)
	}
	accounts["dev"] = dev.Address.String()
	return accounts, nil
}

// devnetMaxSquareSize returns the max_square_size of the core home's
// genesis, and an error if --max-square-size asked for another one.
func devnetMaxSquareSize(o devnetOptions) (int, error) {
	data, err := validator.ReadGenesisFile(filepath.Join(o.home, "core", "config", "genesis.json"))
	if err != nil {
		return 0, fmt.Errorf("core home: %w", err)
	}
	_, g, err := validator.ParseGenesisDoc(data)
	if err != nil {
		return 0, fmt.Errorf("core home: %w", err)
	}
	k := g.Params.MaxSquareSize
	if o.maxSquareSizeSet && o.maxSquareSize != k {
		return 0, fmt.Errorf("--max-square-size %d: the chain of %s has max_square_size %d, set when it was made (give another --home for a new chain)", o.maxSquareSize, o.home, k)
	}
	return k, nil
}

// waitFirstBlock waits until the core node at url has committed a block,
// which the bridge needs to start.
func waitFirstBlock(ctx context.Context, url string) error {
	client, err := rpchttp.New(url, "/websocket")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := client.Status(ctx)
		if err == nil && st.SyncInfo.LatestBlockHeight >= 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("core node at %s made no block within a minute (last error: %v)", url, err)
		case <-tick.C:
		}
	}
}
