package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/internal/atomicfile"
	"github.com/datamesh/mesh-node/share"
)

// Defaults of core testnet.
const (
	defaultTestnetChainID = "mesh-testnet"
	defaultTestnetPort    = 26656
)

func (c *cli) coreTestnetCmd() *cobra.Command {
	var (
		o      validator.TestnetOptions
		output string
		hosts  []string
	)
	var stake *stakeFlags
	const long = `Write the homes of a network of N validators, DIR/validator0 ...
DIR/validator<N-1>, each laid out as core init lays out a home and run with
mesh-node core start --home DIR/validator<i>. They share one genesis: every
validator with its blobstream key's EVM address, every home's dev key
funded with --balance, validator0's dev key the authority, default params
but max_square_size --max-square-size and max_blob_size --max-blob-size
(config.toml's mempool and RPC size limits follow it). Each home's
persistent_peers are the others.

--consensus pos (the default) makes a proof-of-stake chain: each home's
dev key is its validator's operator and bonds --self-bond (equal stake,
voting power self-bond / 10^6) at 10% commission (at most 20%, changed by
at most 1 point a day), with core/staking's default params but
--unbonding-time (1m: a local network, not 21 days), --max-validators and
a 1m downtime jail. Further validators join with core init --genesis and
a create-validator transaction. --consensus poa makes the proof-of-
authority chain of earlier versions: power 10 each, changed by the
authority's update-validator transactions.

Ports: a home's first port is --base-port + 10 x (the number of homes
before it on the same host); from it, P2P +0, RPC +1, ABCI +2 (unused: the
application runs in process) and Prometheus +4 (when enabled in
config.toml). Without --hosts every home is on 127.0.0.1 and listens on
loopback only: validator<i> has P2P base+10i and RPC base+10i+1. With
--hosts h0,h1,... (one per validator, IP or DNS name) validator<i> is on
h<i>: it listens for peers on all interfaces and advertises h<i>, and homes
on distinct hosts use the same ports. RPC listens on 127.0.0.1 in every
home.

Below 1s, --block-time also scales CometBFT's other consensus timeouts
down in proportion. DIR must not exist or be empty; the homes are written
into a temporary directory beside it and renamed at the end, so a failed
run leaves nothing. Prints the chain ID and each validator's home, peer
address (id@host:port), RPC address and dev account.`
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Write the homes of an N-validator network: keys, one genesis, peers and ports",
		Long:  long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if output == "" {
				return errors.New("core testnet: --output is required")
			}
			if err := checkSizes(o.MaxSquareSize, o.MaxBlobSize); err != nil {
				return fmt.Errorf("core testnet: %w", err)
			}
			if o.StakeOptions, err = stake.options(cmd); err != nil {
				return fmt.Errorf("core testnet: %w", err)
			}
			for _, h := range hosts {
				o.Hosts = append(o.Hosts, strings.TrimSpace(h))
			}
			nodes, err := validator.Testnet(output, o)
			if err != nil {
				return fmt.Errorf("core testnet: %w", err)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "chain_id: %s\nvalidators: %d\n", o.ChainID, len(nodes))
			for i, n := range nodes {
				fmt.Fprintf(&b, "validator%d_home: %s\nvalidator%d_peer: %s\nvalidator%d_rpc: %s\nvalidator%d_account: %s\n",
					i, n.Home, i, n.Peer, i, n.RPC, i, n.Account)
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), b.String())
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Validators, "validators", 4, fmt.Sprintf("number of validators, 1-%d", validator.MaxTestnetValidators))
	f.StringVarP(&output, "output", "o", "", "directory to write the homes into; must not exist or be empty (required)")
	f.StringVar(&o.ChainID, "chain-id", defaultTestnetChainID, "chain ID")
	f.StringSliceVar(&hosts, "hosts", nil, "the validators' hosts, one per validator (IP or DNS name); default all 127.0.0.1")
	f.IntVar(&o.BasePort, "base-port", defaultTestnetPort, "first port of the first home on each host")
	f.DurationVar(&o.BlockTime, "block-time", defaultBlockTime, "CometBFT timeout_commit: the pause after each block")
	f.Uint64Var(&o.Balance, "balance", defaultDevBalance, "genesis balance of each validator's dev account")
	f.IntVar(&o.MaxSquareSize, "max-square-size", share.DefaultMaxSquareSize, maxSquareSizeUsage)
	f.IntVar(&o.MaxBlobSize, "max-blob-size", tx.DefaultParams().MaxBlobSize, maxBlobSizeUsage)
	stake = addStakeFlags(cmd, app.ConsensusPoS)
	return cmd
}

func (c *cli) coreExportGenesisCmd() *cobra.Command {
	var output string
	const long = `Print the genesis document of the home's network: the home's
config/genesis.json (genesis_file in config.toml), checked and unchanged,
byte for byte. It is the genesis the node started from, not a snapshot of
its current state, and it is what a node joining the network needs:
core init --genesis FILE --peers .... With --output it is written to FILE
(0600, atomically) instead.`
	cmd := c.homeCmd("core", "export-genesis", "Print the network's genesis document, for nodes that join it", long, func(cmd *cobra.Command, home string) error {
		conf, err := validator.LoadConfig(home)
		if err != nil {
			return fmt.Errorf("core export-genesis: %w (is %s initialised? run mesh-node core init)", err, home)
		}
		data, err := validator.ReadGenesisFile(conf.GenesisFile())
		if err != nil {
			return fmt.Errorf("core export-genesis: %w", err)
		}
		if output != "" {
			if err := atomicfile.Write(output, data, 0o600); err != nil {
				return fmt.Errorf("core export-genesis: %w", err)
			}
			return nil
		}
		_, err = cmd.OutOrStdout().Write(data)
		return err
	})
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the genesis to this file instead of standard output")
	return cmd
}
