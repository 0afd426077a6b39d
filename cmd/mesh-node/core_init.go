package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/tx"
)

// Defaults of core init.
const (
	defaultChainID    = "mesh-devnet"
	defaultMoniker    = "mesh-node"
	defaultBlockTime  = time.Second
	defaultDevBalance = 1_000_000_000_000_000
	devKeyName        = "dev"
	validatorPower    = 10
)

// homeDirs returns the directories core init creates under the home, and
// --force removes first.
func homeDirs() []string { return []string{"config", "data", keysDir} }

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
}

func (c *cli) coreInitCmd() *cobra.Command {
	var o initOptions
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a one-validator devnet home: config, keys and genesis",
		Long: `Create a core node home for a one-validator devnet:

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
directories first, keys included.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := c.home(cmd)
			if err != nil {
				return err
			}
			o.home = home
			dev, err := initHome(o)
			if err != nil {
				return fmt.Errorf("core init: %w", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "home: %s\nchain_id: %s\ndev_account: %s\ndev_key: %s\n", home, o.chainID, dev, devKeyName)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.chainID, "chain-id", defaultChainID, "chain ID")
	f.StringVar(&o.moniker, "moniker", defaultMoniker, "node name")
	f.DurationVar(&o.blockTime, "block-time", defaultBlockTime, "CometBFT timeout_commit: the pause after each block")
	f.Uint64Var(&o.devBalance, "dev-balance", defaultDevBalance, "genesis balance of the dev account")
	f.BoolVar(&o.force, "force", false, "delete the existing config, data and keys directories of the home first")
	return cmd
}

// initHome creates the home and returns the dev account's address.
func initHome(o initOptions) (tx.Address, error) {
	if o.blockTime <= 0 {
		return tx.Address{}, fmt.Errorf("--block-time %s: must be positive", o.blockTime)
	}
	for _, d := range homeDirs() {
		p := filepath.Join(o.home, d)
		_, err := os.Stat(p)
		if err == nil && !o.force {
			return tx.Address{}, fmt.Errorf("%s already exists: the home %s is initialised (use --force to delete and recreate it)", p, o.home)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return tx.Address{}, fmt.Errorf("check home: %w", err)
		}
		if err := os.RemoveAll(p); err != nil {
			return tx.Address{}, fmt.Errorf("--force: remove %s: %w", p, err)
		}
	}
	for _, d := range append([]string{""}, homeDirs()...) {
		if err := os.MkdirAll(filepath.Join(o.home, d), 0o700); err != nil {
			return tx.Address{}, fmt.Errorf("create home directory: %w", err)
		}
	}

	conf := cfg.DefaultConfig().SetRoot(o.home)
	conf.Moniker = o.moniker
	conf.Consensus.TimeoutCommit = o.blockTime
	params := tx.DefaultParams()
	// A BlobTx carries blobs of up to max_blob_size with the signed
	// PayForBlobs, and broadcast_tx sends it in JSON as base64 (4/3 of its
	// size): raise CometBFT's 1 MB limits so a max_blob_size blob fits.
	conf.Mempool.MaxTxBytes = params.MaxBlobSize + 2*tx.MaxTxSize
	conf.RPC.MaxBodyBytes = 2 * int64(conf.Mempool.MaxTxBytes)
	if err := conf.ValidateBasic(); err != nil {
		return tx.Address{}, fmt.Errorf("CometBFT config: %w", err)
	}
	if err := catchPanic("write config.toml", func() {
		cfg.WriteConfigFile(filepath.Join(o.home, "config", "config.toml"), conf)
	}); err != nil {
		return tx.Address{}, err
	}
	if _, err := p2p.LoadOrGenNodeKey(conf.NodeKeyFile()); err != nil {
		return tx.Address{}, fmt.Errorf("create node key: %w", err)
	}
	pv := privval.GenFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	if err := catchPanic("save validator key", pv.Save); err != nil {
		return tx.Address{}, err
	}
	dev, err := openKeyring(o.home).Add(devKeyName)
	if err != nil {
		return tx.Address{}, fmt.Errorf("create dev key: %w", err)
	}

	g := &app.Genesis{
		ChainID:   o.chainID,
		Authority: dev.Address,
		Accounts:  append([]app.GenesisAccount{{Address: dev.Address, Balance: o.devBalance}}, o.accounts...),
		Params:    params,
	}
	if err := g.Validate(); err != nil {
		return tx.Address{}, err
	}
	appState, err := json.Marshal(g)
	if err != nil {
		return tx.Address{}, fmt.Errorf("encode app genesis: %w", err)
	}
	pk, err := pv.GetPubKey()
	if err != nil {
		return tx.Address{}, fmt.Errorf("validator public key: %w", err)
	}
	doc := &cmttypes.GenesisDoc{
		ChainID:         o.chainID,
		GenesisTime:     time.Now().UTC(),
		ConsensusParams: cmttypes.DefaultConsensusParams(),
		Validators:      []cmttypes.GenesisValidator{{Address: pk.Address(), PubKey: pk, Power: validatorPower, Name: o.moniker}},
		AppState:        appState,
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return tx.Address{}, fmt.Errorf("CometBFT genesis: %w", err)
	}
	if err := doc.SaveAs(conf.GenesisFile()); err != nil {
		return tx.Address{}, fmt.Errorf("save genesis: %w", err)
	}
	return dev.Address, nil
}

// catchPanic runs f, turning a panic into an error: CometBFT's file helpers
// (WriteConfigFile, FilePV.Save) panic on I/O errors.
func catchPanic(what string, f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %v", what, r)
		}
	}()
	f()
	return nil
}
