package validator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/validator/internal/cometconfig"
	"github.com/datamesh/mesh-node/internal/atomicfile"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state/keyring"
)

// The layout of a home, relative to its root.
const (
	// ConfigFile is CometBFT's config.toml.
	ConfigFile = "config/config.toml"
	// AppDBDir is the application's Badger directory.
	AppDBDir = "data/app.badger"
	// KeysDir is the home's account keyring.
	KeysDir = "keys"
)

// DevKeyName is the name of the dev account's key that Init puts in the
// home's keyring.
const DevKeyName = "dev"

// ValidatorPower is the voting power of every genesis validator.
const ValidatorPower = 10

// ErrInitialised is wrapped by Init's error for a home that already has a
// config, data or keys directory.
var ErrInitialised = errors.New("validator: the home is initialised")

// homeDirs are the directories Init creates under the home, and Force
// removes first.
var homeDirs = []string{"config", "data", KeysDir}

// InitOptions are what Init writes into a home.
type InitOptions struct {
	// ChainID names the new chain; unused with Genesis.
	ChainID string
	// Moniker names the node to its peers; it must not be empty.
	Moniker string
	// BlockTime is CometBFT's timeout_commit, the pause after each block;
	// it must be positive.
	BlockTime time.Duration
	// DevBalance is the dev account's genesis balance; unused with Genesis.
	DevBalance uint64
	// Accounts are funded in the genesis besides the dev account; unused
	// with Genesis.
	Accounts []app.GenesisAccount
	// DataCommitmentWindow is the genesis data_commitment_window, the
	// blocks each Blobstream data commitment covers; 0 means
	// tx.DefaultDataCommitmentWindow. Unused with Genesis.
	DataCommitmentWindow uint64
	// Force deletes the home's config, data and keys directories first,
	// keys included; without it a home that has one is refused.
	Force bool
	// Genesis, if not nil, is the genesis document (genesis.json) of an
	// existing network for the home to join: Init checks it as
	// ParseGenesisDoc does and writes it unchanged instead of making a
	// genesis. The home's new validator key is not among its validators,
	// so the node runs as a full node.
	Genesis []byte
	// PersistentPeers are the peers (id@host:port, see CheckPeer) the node
	// stays connected to: config.toml's persistent_peers.
	PersistentPeers []string
	// MaxSquareSize is the genesis params' max_square_size, a power of two
	// up to share.SquareSizeUpperBound; 0 means the default
	// (share.DefaultMaxSquareSize). Unused with Genesis.
	MaxSquareSize int
	// MaxBlobSize is the genesis params' max_blob_size, up to
	// share.MaxBlobSize; 0 means the default (2 MiB). Unused with Genesis.
	MaxBlobSize int
	// StakeOptions choose proof of authority (the default) or proof of
	// stake, the dev account bonding the validator's self-bond; unused
	// with Genesis.
	StakeOptions
}

// Init creates a home and returns the dev account's address. Without
// o.Genesis the home is a one-validator chain:
//
//	config/config.toml              CometBFT's config: timeout_commit = BlockTime,
//	                                mempool max_tx_bytes and rpc max_body_bytes
//	                                raised so a max_blob_size blob (of the
//	                                genesis's params) fits
//	config/node_key.json            P2P key (0600)
//	config/priv_validator_key.json  validator consensus key, ed25519 (0600)
//	data/priv_validator_state.json  validator signing state (0600)
//	config/blobstream_key.json      blobstream key, secp256k1 (0600): its EVM
//	                                address signs Blobstream attestations
//	config/genesis.json             CometBFT's genesis: the validator (ValidatorPower)
//	                                and, as app_state, the DataMesh genesis: the
//	                                dev account funded with DevBalance and made
//	                                the authority, Accounts, default params
//	                                (data_commitment_window 400, or
//	                                DataCommitmentWindow) but for
//	                                MaxSquareSize and MaxBlobSize, and CometBFT's block
//	                                max_bytes from it (BlockMaxBytes), the
//	                                blobstream key's EVM address registered;
//	                                with o.Consensus app.ConsensusPoS a
//	                                staking genesis instead in which the dev
//	                                account bonds the validator's self-bond
//	                                (StakeOptions), the power CometBFT's
//	                                genesis gives it
//	keys/dev.json                   the dev account's key (0600)
//
// With o.Genesis the files are the same but genesis.json is o.Genesis and
// the dev account is not funded. Directories are 0700. A home with a
// config, data or keys directory is refused with ErrInitialised, unchanged,
// unless o.Force; so are bad options and a bad o.Genesis. A failure part
// way leaves what was written so far.
func Init(home string, o InitOptions) (tx.Address, error) {
	if o.BlockTime <= 0 {
		return tx.Address{}, fmt.Errorf("validator: block time %s: must be positive", o.BlockTime)
	}
	if o.Moniker == "" {
		return tx.Address{}, errors.New("validator: no moniker (the node's name)")
	}
	if err := checkSizes(o.MaxSquareSize, o.MaxBlobSize); err != nil {
		return tx.Address{}, err
	}
	if err := o.StakeOptions.check(); err != nil {
		return tx.Address{}, err
	}
	params := genesisParams(o.MaxSquareSize, o.MaxBlobSize)
	if o.Genesis != nil {
		_, g, err := ParseGenesisDoc(o.Genesis)
		if err != nil {
			return tx.Address{}, err
		}
		params = g.Params
	}
	for _, p := range o.PersistentPeers {
		if err := CheckPeer(p); err != nil {
			return tx.Address{}, err
		}
	}
	for _, d := range homeDirs {
		p := filepath.Join(home, d)
		_, err := os.Stat(p)
		if err == nil && !o.Force {
			return tx.Address{}, fmt.Errorf("%w: %s already exists", ErrInitialised, p)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return tx.Address{}, fmt.Errorf("validator: check home: %w", err)
		}
		if err := os.RemoveAll(p); err != nil {
			return tx.Address{}, fmt.Errorf("validator: remove %s: %w", p, err)
		}
	}
	if err := makeHomeDirs(home); err != nil {
		return tx.Address{}, err
	}

	conf := newConfig(home, o.Moniker, o.BlockTime, params)
	if len(o.PersistentPeers) > 0 {
		conf.P2P.PersistentPeers = strings.Join(o.PersistentPeers, ",")
		// Peers on loopback or private addresses (a testnet) are only
		// reachable with CometBFT's checks for public networks relaxed.
		conf.P2P.AddrBookStrict = false
		conf.P2P.AllowDuplicateIP = true
	}
	k, err := newHomeKeys(conf)
	if err != nil {
		return tx.Address{}, err
	}
	if err := writeConfig(conf); err != nil {
		return tx.Address{}, err
	}
	if o.Genesis != nil {
		if err := atomicfile.Write(conf.GenesisFile(), o.Genesis, 0o600); err != nil {
			return tx.Address{}, fmt.Errorf("validator: write genesis: %w", err)
		}
		return k.dev, nil
	}
	if o.DataCommitmentWindow != 0 {
		params.DataCommitmentWindow = o.DataCommitmentWindow
	}
	g := &app.Genesis{
		ChainID:      o.ChainID,
		Authority:    k.dev,
		Accounts:     append([]app.GenesisAccount{{Address: k.dev, Balance: o.DevBalance}}, o.Accounts...),
		Params:       params,
		EVMAddresses: []app.GenesisEVMAddress{k.evm},
	}
	o.StakeOptions.apply(g, []stakeValidator{{name: o.Moniker, pub: k.pub, dev: k.dev}})
	if err := g.Validate(); err != nil {
		return tx.Address{}, err
	}
	doc, err := GenesisDoc(g, GenesisValidator{Name: o.Moniker, PubKey: k.pub})
	if err != nil {
		return tx.Address{}, err
	}
	if err := doc.SaveAs(conf.GenesisFile()); err != nil {
		return tx.Address{}, fmt.Errorf("validator: save genesis: %w", err)
	}
	return k.dev, nil
}

// makeHomeDirs creates home and its directories, 0700.
func makeHomeDirs(home string) error {
	for _, d := range append([]string{""}, homeDirs...) {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			return fmt.Errorf("validator: create home directory: %w", err)
		}
	}
	return nil
}

// newConfig returns the CometBFT config of a new home: CometBFT's
// defaults with moniker, timeout_commit = blockTime, timeout_propose
// raised by proposeAllowance for squares over 128 wide, and mempool and
// RPC size limits a blob of params' max_blob_size fits in.
func newConfig(home, moniker string, blockTime time.Duration, params tx.Params) *cfg.Config {
	conf := cfg.DefaultConfig().SetRoot(home)
	conf.Moniker = moniker
	conf.Consensus.TimeoutCommit = blockTime
	conf.Consensus.TimeoutPropose += proposeAllowance(params.MaxSquareSize)
	// A BlobTx carries blobs of up to max_blob_size with the signed
	// PayForBlobs, and broadcast_tx sends it in JSON as base64 (4/3 of its
	// size): raise CometBFT's 1 MB limits so a max_blob_size blob fits.
	conf.Mempool.MaxTxBytes = params.MaxBlobSize + 2*tx.MaxTxSize
	conf.RPC.MaxBodyBytes = 2 * int64(conf.Mempool.MaxTxBytes)
	return conf
}

// Block parts and what each costs its proposer beyond CometBFT's default
// timeout_propose (3 s), which holds a square of 128 (an 8 MiB block, 128
// parts of 64 KiB).
const (
	defaultProposeParts = 128
	perPartAllowance    = 20 * time.Millisecond
)

// proposeAllowance is the time added to timeout_propose for a chain whose
// squares can be maxSquare wide: 20 ms for each 64 KiB block part of a full
// square beyond 128 (k = 256: 512 parts, 7.68 s, so 10.68 s in all). The
// proposer builds the block, then CometBFT writes each of its own block
// parts to the consensus WAL with an fsync before handling it; on a busy
// 2-core machine a full k = 256 block took 2.8 s to build and 4.4 s to
// deliver to itself (docs/benchmarks.md). With the default, such a proposal
// missed its round, every validator prevoted nil and the height took three
// times as long. The timeout only matters when a proposer is slow or down.
func proposeAllowance(maxSquare int) time.Duration {
	parts := maxSquare * maxSquare * share.ShareSize / int(cmttypes.BlockPartSizeBytes)
	if parts <= defaultProposeParts {
		return 0
	}
	return time.Duration(parts-defaultProposeParts) * perPartAllowance
}

// writeConfig checks conf and writes it as the config.toml of its home.
func writeConfig(conf *cfg.Config) error {
	if err := conf.ValidateBasic(); err != nil {
		return fmt.Errorf("validator: CometBFT config: %w", err)
	}
	return catchPanic("write config.toml", func() {
		cfg.WriteConfigFile(filepath.Join(conf.RootDir, ConfigFile), conf)
	})
}

// homeKeys are the keys newHomeKeys made.
type homeKeys struct {
	nodeID string
	pub    crypto.PubKey // the validator's consensus key
	evm    app.GenesisEVMAddress
	dev    tx.Address
}

// newHomeKeys writes the node key, validator key and signing state, the
// blobstream key and the dev key of conf's home.
func newHomeKeys(conf *cfg.Config) (homeKeys, error) {
	nodeKey, pv, err := GenerateKeys(conf)
	if err != nil {
		return homeKeys{}, err
	}
	bsKey, err := GenerateBlobstreamKey(conf.RootDir)
	if err != nil {
		return homeKeys{}, err
	}
	dev, err := Keyring(conf.RootDir).Add(DevKeyName)
	if err != nil {
		return homeKeys{}, fmt.Errorf("validator: create dev key: %w", err)
	}
	pk, err := pv.GetPubKey()
	if err != nil {
		return homeKeys{}, fmt.Errorf("validator: validator public key: %w", err)
	}
	return homeKeys{nodeID: string(nodeKey.ID()), pub: pk, dev: dev.Address,
		evm: app.GenesisEVMAddress{PubKey: pk.Bytes(), EVMAddress: blobstream.AddressOf(bsKey.PubKey())}}, nil
}

// LoadConfig reads the home's config.toml over CometBFT's defaults and
// roots the config at home. It does not validate it; Start does.
func LoadConfig(home string) (*cfg.Config, error) {
	conf := cfg.DefaultConfig()
	if err := cometconfig.Load(filepath.Join(home, ConfigFile), conf); err != nil {
		return nil, fmt.Errorf("validator: %w", err)
	}
	return conf.SetRoot(home), nil
}

// Keyring is the home's account keyring (KeysDir).
func Keyring(home string) keyring.Keyring { return keyring.New(filepath.Join(home, KeysDir)) }

// GenerateKeys creates the node key, unless conf's node key file holds one
// already, and a new validator key and signing state, in the files conf
// names; missing directories are made 0700. The files are 0600. It refuses
// to replace a validator key file, whose loss could make the validator
// sign twice.
func GenerateKeys(conf *cfg.Config) (*p2p.NodeKey, *privval.FilePV, error) {
	if _, err := os.Stat(conf.PrivValidatorKeyFile()); err == nil {
		return nil, nil, fmt.Errorf("validator: %s already exists", conf.PrivValidatorKeyFile())
	}
	for _, f := range []string{conf.NodeKeyFile(), conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile()} {
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			return nil, nil, fmt.Errorf("validator: create key directory: %w", err)
		}
	}
	nodeKey, err := p2p.LoadOrGenNodeKey(conf.NodeKeyFile())
	if err != nil {
		return nil, nil, fmt.Errorf("validator: create node key: %w", err)
	}
	pv := privval.GenFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	if err := catchPanic("save validator key", pv.Save); err != nil {
		return nil, nil, err
	}
	return nodeKey, pv, nil
}

// GenesisValidator is a validator of a genesis: its name and consensus
// public key.
type GenesisValidator struct {
	Name   string
	PubKey crypto.PubKey
}

// GenesisDoc returns CometBFT's genesis for the DataMesh genesis g: g's
// chain ID, g as app_state, CometBFT's default consensus parameters with
// vote extensions enabled from height 1 (they carry Blobstream's
// attestation signatures) and block max_bytes BlockMaxBytes(g's
// max_square_size), the current time and vals, ValidatorPower each on a
// proof-of-authority genesis. On a proof-of-stake genesis each of vals has
// the power of its self-bond in the staking active set
// (app.Genesis.GenesisValidatorSet), and must be in it. It checks the
// document CometBFT will read, not g (app.Genesis.Validate does).
func GenesisDoc(g *app.Genesis, vals ...GenesisValidator) (*cmttypes.GenesisDoc, error) {
	var stakePower map[string]int64
	if g.IsPoS() {
		set, err := g.GenesisValidatorSet()
		if err != nil {
			return nil, fmt.Errorf("validator: genesis: %w", err)
		}
		stakePower = map[string]int64{}
		for _, v := range set {
			stakePower[string(v.PubKey)] = v.Power
		}
	}
	appState, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("validator: encode app genesis: %w", err)
	}
	doc := &cmttypes.GenesisDoc{
		ChainID:         g.ChainID,
		GenesisTime:     time.Now().UTC(),
		ConsensusParams: cmttypes.DefaultConsensusParams(),
		AppState:        appState,
	}
	doc.ConsensusParams.ABCI.VoteExtensionsEnableHeight = 1
	doc.ConsensusParams.Block.MaxBytes = BlockMaxBytes(g.Params.MaxSquareSize)
	for _, v := range vals {
		if v.PubKey == nil {
			return nil, fmt.Errorf("validator: genesis validator %q has no public key", v.Name)
		}
		power := int64(ValidatorPower)
		if stakePower != nil {
			if power = stakePower[string(v.PubKey.Bytes())]; power == 0 {
				return nil, fmt.Errorf("validator: genesis validator %q is not in the staking active set", v.Name)
			}
		}
		doc.Validators = append(doc.Validators, cmttypes.GenesisValidator{Address: v.PubKey.Address(), PubKey: v.PubKey, Power: power, Name: v.Name})
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("validator: CometBFT genesis: %w", err)
	}
	return doc, nil
}

// catchPanic runs f, turning a panic into an error: CometBFT's file helpers
// (WriteConfigFile, FilePV.Save) panic on I/O errors.
func catchPanic(what string, f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("validator: %s: %v", what, r)
		}
	}()
	f()
	return nil
}
