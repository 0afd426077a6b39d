package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/validator"
)

// Defaults of core init.
const (
	defaultChainID    = "mesh-devnet"
	defaultMoniker    = "mesh-node"
	defaultBlockTime  = time.Second
	defaultDevBalance = 1_000_000_000_000_000
)

func (c *cli) coreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "core",
		Short: "Run a core node: a CometBFT validator with the DataMesh application",
	}
	cmd.AddCommand(c.coreInitCmd(), c.coreStartCmd())
	return cmd
}

// initOptions are core init's settings.
type initOptions struct {
	home, chainID, moniker string
	blockTime              time.Duration
	devBalance             uint64
	force                  bool
	// accounts are funded in the genesis besides the dev account (the
	// devnet funds its nodes' keys).
	accounts []app.GenesisAccount
	// dataCommitmentWindow is the genesis data_commitment_window (0: the
	// default, 400).
	dataCommitmentWindow uint64
}

func (c *cli) coreInitCmd() *cobra.Command {
	var o initOptions
	const long = `Create a core node home for a one-validator devnet:

  config/config.toml              CometBFT config: timeout_commit = --block-time,
                                  mempool max_tx_bytes and rpc max_body_bytes
                                  raised so a 2 MiB blob fits
  config/node_key.json            P2P key (0600)
  config/priv_validator_key.json  validator consensus key, ed25519 (0600)
  data/priv_validator_state.json  validator signing state (0600)
  config/genesis.json             CometBFT genesis: the validator (power 10) and,
                                  as app_state, the DataMesh genesis: chain ID,
                                  the dev account funded with --dev-balance, the
                                  dev account as authority, default params
  keys/dev.json                   the dev account's key, in the keyring (0600)

and print the home, the chain ID, the dev account's address and its key
name ("dev"). An existing home (a config, data or
keys directory) is refused unless --force, which deletes those three
directories first, keys included.`
	cmd := c.homeCmd("core", "init", "Create a one-validator devnet home: config, keys and genesis", long, func(cmd *cobra.Command, home string) error {
		o.home = home
		dev, err := initHome(o)
		if err != nil {
			return fmt.Errorf("core init: %w", err)
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "home: %s\nchain_id: %s\ndev_account: %s\ndev_key: %s\n", home, o.chainID, dev, validator.DevKeyName)
		return err
	})
	f := cmd.Flags()
	f.StringVar(&o.chainID, "chain-id", defaultChainID, "chain ID")
	f.StringVar(&o.moniker, "moniker", defaultMoniker, "node name")
	f.DurationVar(&o.blockTime, "block-time", defaultBlockTime, "CometBFT timeout_commit: the pause after each block")
	f.Uint64Var(&o.devBalance, "dev-balance", defaultDevBalance, "genesis balance of the dev account")
	f.BoolVar(&o.force, "force", false, "delete the existing config, data and keys directories of the home first")
	return cmd
}

// initHome creates the home and returns the dev account's address; its
// errors name the flags.
func initHome(o initOptions) (tx.Address, error) {
	if o.blockTime <= 0 {
		return tx.Address{}, fmt.Errorf("--block-time %s: must be positive", o.blockTime)
	}
	dev, err := validator.Init(o.home, validator.InitOptions{ChainID: o.chainID, Moniker: o.moniker,
		BlockTime: o.blockTime, DevBalance: o.devBalance, Accounts: o.accounts, Force: o.force,
		DataCommitmentWindow: o.dataCommitmentWindow})
	if errors.Is(err, validator.ErrInitialised) {
		return tx.Address{}, fmt.Errorf("%w (use --force to delete and recreate it)", err)
	}
	return dev, err
}
