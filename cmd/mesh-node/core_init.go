package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/share"
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
	cmd.AddCommand(c.coreInitCmd(), c.coreStartCmd(), c.coreTestnetCmd(), c.coreExportGenesisCmd())
	return cmd
}

// initOptions are core init's settings.
type initOptions struct {
	home, chainID, moniker string
	blockTime              time.Duration
	devBalance             uint64
	force                  bool
	// genesis and peers join an existing network (--genesis, --peers).
	genesis string
	peers   []string
	// accounts are funded in the genesis besides the dev account (the
	// devnet funds its nodes' keys).
	accounts []app.GenesisAccount
	// dataCommitmentWindow is the genesis data_commitment_window (0: the
	// default, 400).
	dataCommitmentWindow uint64
	// maxSquareSize and maxBlobSize are the genesis max_square_size and
	// max_blob_size (--max-square-size, --max-blob-size).
	maxSquareSize, maxBlobSize int
	// stake chooses proof of authority or stake (--consensus ...).
	stake validator.StakeOptions
}

func (c *cli) coreInitCmd() *cobra.Command {
	var o initOptions
	var stake *stakeFlags
	const long = `Create a core node home for a one-validator devnet:

  config/config.toml              CometBFT config: timeout_commit = --block-time,
                                  mempool max_tx_bytes and rpc max_body_bytes
                                  raised so a --max-blob-size blob fits
  config/node_key.json            P2P key (0600)
  config/priv_validator_key.json  validator consensus key, ed25519 (0600)
  data/priv_validator_state.json  validator signing state (0600)
  config/genesis.json             CometBFT genesis: the validator (power 10) and,
                                  as app_state, the DataMesh genesis: chain ID,
                                  the dev account funded with --dev-balance, the
                                  dev account as authority, default params but
                                  max_square_size --max-square-size and
                                  max_blob_size --max-blob-size; CometBFT's
                                  block max_bytes fits a full square of that
                                  size (see docs/cli.md)
  keys/dev.json                   the dev account's key, in the keyring (0600)

With --consensus pos the genesis is a proof-of-stake one instead: the dev
account is the validator's operator and bonds --self-bond of its balance
(power self-bond / 10^6), with --unbonding-time and --max-validators as in
core testnet. The default, --consensus poa, is the proof-of-authority
devnet: power 10, the dev account the authority.

Prints the home, the chain ID, the dev account's address and its key
name ("dev"). An existing home (a config, data or
keys directory) is refused unless --force, which deletes those three
directories first, keys included.

With --genesis FILE and --peers id@host:port,... the home joins an existing
network instead (made by core testnet, say): genesis.json is a copy of FILE
(export it from any node with core export-genesis), persistent_peers are
--peers, and the dev key is made but not funded. The new validator key is
not in the genesis, so the node runs as a full node: it syncs the chain and
serves its RPC but does not vote. On a proof-of-stake network it becomes a
validator once its dev account, funded by a transfer, sends a
create-validator transaction with config/priv_validator_key.json's public
key (see docs/staking.md). --chain-id, --dev-balance, --max-square-size,
--max-blob-size and the staking flags do not apply.`
	cmd := c.homeCmd("core", "init", "Create a one-validator devnet home: config, keys and genesis", long, func(cmd *cobra.Command, home string) error {
		o.home = home
		for _, name := range []string{"chain-id", "dev-balance", "max-square-size", "max-blob-size", "consensus", "self-bond", "unbonding-time", "max-validators"} {
			if o.genesis != "" && cmd.Flags().Changed(name) {
				return fmt.Errorf("core init: --%s makes a new chain; --genesis joins one", name)
			}
		}
		if o.genesis == "" {
			var err error
			if o.stake, err = stake.options(cmd); err != nil {
				return fmt.Errorf("core init: %w", err)
			}
		}
		dev, chainID, err := initHome(o)
		if err != nil {
			return fmt.Errorf("core init: %w", err)
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "home: %s\nchain_id: %s\ndev_account: %s\ndev_key: %s\n", home, chainID, dev, validator.DevKeyName)
		return err
	})
	f := cmd.Flags()
	f.StringVar(&o.chainID, "chain-id", defaultChainID, "chain ID")
	f.StringVar(&o.moniker, "moniker", defaultMoniker, "node name")
	f.DurationVar(&o.blockTime, "block-time", defaultBlockTime, "CometBFT timeout_commit: the pause after each block")
	f.Uint64Var(&o.devBalance, "dev-balance", defaultDevBalance, "genesis balance of the dev account")
	f.BoolVar(&o.force, "force", false, "delete the existing config, data and keys directories of the home first")
	f.IntVar(&o.maxSquareSize, "max-square-size", share.DefaultMaxSquareSize, maxSquareSizeUsage)
	f.IntVar(&o.maxBlobSize, "max-blob-size", tx.DefaultParams().MaxBlobSize, maxBlobSizeUsage)
	f.StringVar(&o.genesis, "genesis", "", "join the network of this genesis.json as a full node (needs --peers)")
	f.StringSliceVar(&o.peers, "peers", nil, "with --genesis: the network's nodes to connect to, id@host:port,...")
	stake = addStakeFlags(cmd, app.ConsensusPoA)
	return cmd
}

// initHome creates the home and returns the dev account's address and
// the chain ID; its errors name the flags.
func initHome(o initOptions) (tx.Address, string, error) {
	if o.blockTime <= 0 {
		return tx.Address{}, "", fmt.Errorf("--block-time %s: must be positive", o.blockTime)
	}
	if o.genesis == "" {
		if err := checkSizes(o.maxSquareSize, o.maxBlobSize); err != nil {
			return tx.Address{}, "", err
		}
	}
	opts := validator.InitOptions{ChainID: o.chainID, Moniker: o.moniker,
		BlockTime: o.blockTime, DevBalance: o.devBalance, Accounts: o.accounts, Force: o.force,
		DataCommitmentWindow: o.dataCommitmentWindow, StakeOptions: o.stake}
	if o.genesis == "" {
		opts.MaxSquareSize, opts.MaxBlobSize = o.maxSquareSize, o.maxBlobSize
	}
	switch {
	case o.genesis != "" && len(o.peers) == 0:
		return tx.Address{}, "", errors.New("--genesis needs --peers: the nodes of the network to join")
	case o.genesis == "" && len(o.peers) > 0:
		return tx.Address{}, "", errors.New("--peers needs --genesis: a new chain has no peers")
	case o.genesis != "":
		data, err := validator.ReadGenesisFile(o.genesis)
		if err != nil {
			return tx.Address{}, "", fmt.Errorf("--genesis: %w", err)
		}
		doc, _, err := validator.ParseGenesisDoc(data)
		if err != nil {
			return tx.Address{}, "", fmt.Errorf("--genesis: %w", err)
		}
		for _, p := range o.peers {
			if err := validator.CheckPeer(p); err != nil {
				return tx.Address{}, "", fmt.Errorf("--peers: %w", err)
			}
		}
		opts.ChainID, opts.Genesis, opts.PersistentPeers = doc.ChainID, data, o.peers
	}
	dev, err := validator.Init(o.home, opts)
	if errors.Is(err, validator.ErrInitialised) {
		return tx.Address{}, "", fmt.Errorf("%w (use --force to delete and recreate it)", err)
	}
	return dev, opts.ChainID, err
}

// maxSquareSizeUsage is the help of --max-square-size.
var maxSquareSizeUsage = fmt.Sprintf("the genesis max_square_size: the largest original square width, a power of two from 1 to %d", share.SquareSizeUpperBound)

// maxBlobSizeUsage is the help of --max-blob-size.
var maxBlobSizeUsage = fmt.Sprintf("the genesis max_blob_size: the largest blob, in bytes, 1 to %d", share.MaxBlobSize)

// checkSizes checks a --max-square-size and a --max-blob-size.
func checkSizes(k, blobSize int) error {
	if k < 1 || k > share.SquareSizeUpperBound || !share.IsPowerOfTwo(k) {
		return fmt.Errorf("--max-square-size %d: want a power of two from 1 to %d", k, share.SquareSizeUpperBound)
	}
	if blobSize < 1 || blobSize > share.MaxBlobSize {
		return fmt.Errorf("--max-blob-size %d: want 1 to %d bytes", blobSize, share.MaxBlobSize)
	}
	return nil
}

// stakeFlags are the proof-of-stake flags of core init and core testnet.
type stakeFlags struct {
	consensus     string
	selfBond      uint64
	unbonding     time.Duration
	maxValidators uint32
}

// addStakeFlags adds --consensus (default consensus), --self-bond,
// --unbonding-time and --max-validators to cmd.
func addStakeFlags(cmd *cobra.Command, consensus string) *stakeFlags {
	s, f := &stakeFlags{}, cmd.Flags()
	p := validator.NetworkStakingParams()
	f.StringVar(&s.consensus, "consensus", consensus, `how the validator set is chosen: "pos" (proof of stake: each validator's dev key bonds --self-bond) or "poa" (proof of authority: power 10 each, changed by the authority)`)
	f.Uint64Var(&s.selfBond, "self-bond", validator.DefaultSelfBond, "with --consensus pos: each genesis validator's self-bond, out of its dev account's balance (10^6 a unit of voting power)")
	f.DurationVar(&s.unbonding, "unbonding-time", time.Duration(p.UnbondingTime)*time.Second, "with --consensus pos: how long undelegated stake stays slashable before it returns (whole seconds)")
	f.Uint32Var(&s.maxValidators, "max-validators", p.MaxValidators, "with --consensus pos: the size of the active set")
	return s
}

// options returns the flags as validator.StakeOptions; cmd says which
// were set, so that staking flags with --consensus poa are refused.
func (s *stakeFlags) options(cmd *cobra.Command) (validator.StakeOptions, error) {
	switch s.consensus {
	case app.ConsensusPoA:
		for _, name := range []string{"self-bond", "unbonding-time", "max-validators"} {
			if cmd.Flags().Changed(name) {
				return validator.StakeOptions{}, fmt.Errorf("--%s applies to --consensus pos only", name)
			}
		}
		return validator.StakeOptions{Consensus: app.ConsensusPoA}, nil
	case app.ConsensusPoS:
	default:
		return validator.StakeOptions{}, fmt.Errorf("--consensus %q: want pos or poa", s.consensus)
	}
	if s.unbonding < 0 || s.unbonding%time.Second != 0 {
		return validator.StakeOptions{}, fmt.Errorf("--unbonding-time %s: want whole seconds, 0 or more", s.unbonding)
	}
	p := validator.NetworkStakingParams()
	p.UnbondingTime = int64(s.unbonding / time.Second)
	p.MaxValidators = s.maxValidators
	if err := p.Validate(); err != nil {
		return validator.StakeOptions{}, fmt.Errorf("--unbonding-time, --max-validators: %w", err)
	}
	if s.selfBond < p.PowerReduction {
		return validator.StakeOptions{}, fmt.Errorf("--self-bond %d: below %d, one unit of voting power", s.selfBond, p.PowerReduction)
	}
	return validator.StakeOptions{Consensus: app.ConsensusPoS, Staking: &p, SelfBond: s.selfBond}, nil
}
