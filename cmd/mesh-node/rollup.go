package main

import (
	"errors"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/rollup/node"
)

func (c *cli) rollupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollup",
		Short: "Run a rollup on DataMesh",
	}
	cmd.AddCommand(c.rollupRunCmd(), c.rollupNewCmd())
	return cmd
}

func (c *cli) rollupRunCmd() *cobra.Command {
	var o node.Config
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a built-in kv, wasm or evm rollup node against a DataMesh node's API",
		Long: `Run a rollup node with a built-in executor (--vm kv, wasm or evm) against any
DataMesh node's API (--da.url, --da.token). With --sequencer it makes blocks
and posts them through that node; otherwise it follows the chain of
--genesis FILE (the sequencer's <home>/genesis.json), reading namespace data
with proofs from --da.url and the headers it trusts from --header.url
(default --da.url: normally the user's own light node).

On first start it writes <home>/genesis.json (copied from --genesis for a
follower); a sequencer generates <home>/sequencer.key (0600), the chain ID
(--chain-id, default <vm>-<first 4 bytes of the sequencer key, hex>) and the
namespace (--namespace, default the first 10 bytes of SHA-256 of the chain ID
as a version-0 namespace), and starts at the DataMesh head; an evm sequencer
funds a development account whose hex private key it writes to
<home>/dev.key. A later start reads these files. The state (executor, rollup
store, transaction index) is one Badger database in <home>/data.

It serves JSON-RPC over HTTP POST at --rpc.addr: rollup_submitTx,
rollup_txStatus, rollup_status, rollup_getBlock and rollup_query; an evm node
serves the Ethereum JSON-RPC (eth_*, net_version) there, with the rollup_*
methods beside it. SIGINT or SIGTERM stops it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := c.homeOf(cmd, "rollup")
			if err != nil {
				return err
			}
			if o.VM == "" {
				return errors.New("rollup run: --vm is required: kv, wasm or evm")
			}
			o.Home = home
			o.Out = cmd.OutOrStdout()
			o.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return node.Run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.VM, "vm", "", "executor: kv, wasm or evm (required)")
	f.StringVar(&o.DAURL, "da.url", "", "URL of the DataMesh node's API: blobs are posted and namespace data read there (required)")
	f.StringVar(&o.DAToken, "da.token", "", "auth token of --da.url")
	f.StringVar(&o.HeaderURL, "header.url", "", "URL of the trusted node whose headers the follower checks data against (default --da.url)")
	f.StringVar(&o.HeaderToken, "header.token", "", "auth token of --header.url (default --da.token when --header.url is not set)")
	f.StringVar(&o.RPCAddr, "rpc.addr", "127.0.0.1:8545", "HOST:PORT of the rollup's JSON-RPC")
	f.BoolVar(&o.Sequencer, "sequencer", false, "make and post blocks (otherwise follow)")
	f.StringVar(&o.Genesis, "genesis", "", "genesis file to copy into the home (a follower's first start)")
	f.StringVar(&o.Namespace, "namespace", "", "namespace, 29 bytes hex or a version-0 ID of at most 10 bytes hex (a sequencer's first start)")
	f.StringVar(&o.ChainID, "chain-id", "", "chain ID (a sequencer's first start; default <vm>-<key prefix>)")
	f.DurationVar(&o.BlockTime, "block-time", time.Second, "how often the sequencer makes a block")
	return cmd
}
