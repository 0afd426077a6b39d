package validator

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cfg "github.com/cometbft/cometbft/config"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/tx"
)

// MaxTestnetValidators bounds TestnetOptions.Validators.
const MaxTestnetValidators = 100

// The ports of a testnet home, as offsets from its first port; a home's
// first port is BasePort + TestnetPortStride × (the number of homes before
// it on the same host). They follow CometBFT's defaults (26656 P2P, 26657
// RPC, 26658 ABCI, 26660 Prometheus) from BasePort 26656.
const (
	P2PPortOffset        = 0
	RPCPortOffset        = 1
	ABCIPortOffset       = 2
	PrometheusPortOffset = 4
	TestnetPortStride    = 10
)

// TestnetOptions are what Testnet writes.
type TestnetOptions struct {
	// Validators is the number of validator homes, 1–MaxTestnetValidators.
	Validators int
	ChainID    string
	// BlockTime is CometBFT's timeout_commit; below a second, CometBFT's
	// other consensus timeouts are scaled down in proportion.
	BlockTime time.Duration
	// Hosts are the validators' addresses (IP or DNS name), one per
	// validator, as the others reach them: each home listens for peers
	// on all interfaces and advertises host:port. Empty puts every
	// validator on 127.0.0.1 (one machine), listening on loopback only.
	Hosts []string
	// BasePort is the first port of the first home on each host.
	BasePort int
	// Balance funds each validator's dev key in the genesis.
	Balance uint64
	// MaxSquareSize is the genesis params' max_square_size, as
	// InitOptions.MaxSquareSize (0: the default).
	MaxSquareSize int
	// MaxBlobSize is the genesis params' max_blob_size, as
	// InitOptions.MaxBlobSize (0: the default).
	MaxBlobSize int
	// StakeOptions choose proof of authority (the default) or proof of
	// stake, each validator's dev key bonding an equal self-bond out of
	// Balance.
	StakeOptions
}

// TestnetNode is one home Testnet wrote.
type TestnetNode struct {
	// Home is the home's directory under Testnet's dir.
	Home string
	// Peer is the node's address for CometBFT's persistent_peers,
	// id@host:port.
	Peer string
	// RPC is its CometBFT RPC listen address.
	RPC string
	// Account is its dev key's address, funded in the genesis.
	Account tx.Address
}

// Testnet writes o.Validators validator homes, dir/validator0 …
// dir/validator<N-1>, each laid out as Init lays one out and started by
// Start (mesh-node core start --home), sharing one genesis: every
// validator with its blobstream key's EVM address, every home's dev key
// funded with o.Balance, validator0's dev key the authority, default
// params; on proof of authority (o.Consensus empty or app.ConsensusPoA)
// every validator with ValidatorPower, on proof of stake each dev key
// the operator of its home's validator, self-bonding o.SelfBond (equal
// stake, equal power) with the staking params o.Staking. Each home has the others as persistent
// peers and its own ports (see P2PPortOffset). The homes are written into
// a temporary directory beside dir and renamed to dir at the end, so a
// failed Testnet leaves no homes behind. dir must not exist or be empty.
func Testnet(dir string, o TestnetOptions) ([]TestnetNode, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("validator: testnet: %s exists and is not empty", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("validator: testnet: %w", err)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("validator: testnet: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("validator: testnet: %w", err)
	}
	nodes, err := writeTestnet(tmp, o)
	if err == nil {
		// Rename replaces an empty directory but not a non-empty one.
		if err = os.Remove(dir); errors.Is(err, os.ErrNotExist) {
			err = nil
		}
		if err == nil {
			err = os.Rename(tmp, dir)
		}
		if err != nil {
			err = fmt.Errorf("validator: testnet: %w", err)
		}
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	for i := range nodes {
		nodes[i].Home = filepath.Join(dir, filepath.Base(nodes[i].Home))
	}
	return nodes, nil
}

func (o TestnetOptions) check() error {
	if o.Validators < 1 || o.Validators > MaxTestnetValidators {
		return fmt.Errorf("validator: testnet of %d validators: want 1–%d", o.Validators, MaxTestnetValidators)
	}
	if o.BlockTime <= 0 {
		return fmt.Errorf("validator: block time %s: must be positive", o.BlockTime)
	}
	if err := checkSizes(o.MaxSquareSize, o.MaxBlobSize); err != nil {
		return err
	}
	if err := o.StakeOptions.check(); err != nil {
		return err
	}
	if len(o.Hosts) > 0 && len(o.Hosts) != o.Validators {
		return fmt.Errorf("validator: testnet: %d hosts for %d validators, want one each", len(o.Hosts), o.Validators)
	}
	for _, h := range o.Hosts {
		if err := CheckHost(h); err != nil {
			return err
		}
	}
	last := o.BasePort + TestnetPortStride*(o.Validators-1) + PrometheusPortOffset
	if o.BasePort < 1 || last > 65535 {
		return fmt.Errorf("validator: testnet: base port %d: the ports of %d homes must fit in 1–65535", o.BasePort, o.Validators)
	}
	return nil
}

// writeTestnet writes the homes into dir.
func writeTestnet(dir string, o TestnetOptions) ([]TestnetNode, error) {
	n := o.Validators
	confs := make([]*cfg.Config, n)
	keys := make([]homeKeys, n)
	nodes := make([]TestnetNode, n)
	onHost := map[string]int{} // homes so far on each host
	for i := range n {
		name := "validator" + strconv.Itoa(i)
		home := filepath.Join(dir, name)
		if err := makeHomeDirs(home); err != nil {
			return nil, err
		}
		params := genesisParams(o.MaxSquareSize, o.MaxBlobSize)
		conf := newConfig(home, name, o.BlockTime, params)
		scaleTimeouts(conf.Consensus, o.BlockTime, proposeAllowance(params.MaxSquareSize))
		host, p2pListen := "127.0.0.1", "127.0.0.1"
		if len(o.Hosts) > 0 {
			host, p2pListen = o.Hosts[i], "0.0.0.0"
		}
		base := o.BasePort + TestnetPortStride*onHost[host]
		onHost[host]++
		port := func(off int) string { return strconv.Itoa(base + off) }
		conf.P2P.ListenAddress = "tcp://" + p2pListen + ":" + port(P2PPortOffset)
		if len(o.Hosts) > 0 {
			conf.P2P.ExternalAddress = net.JoinHostPort(host, port(P2PPortOffset))
		}
		conf.RPC.ListenAddress = "tcp://127.0.0.1:" + port(RPCPortOffset)
		conf.ProxyApp = "tcp://127.0.0.1:" + port(ABCIPortOffset)
		conf.Instrumentation.PrometheusListenAddr = ":" + port(PrometheusPortOffset)
		// Testnet peers are on loopback or private addresses, several to
		// a host.
		conf.P2P.AddrBookStrict = false
		conf.P2P.AllowDuplicateIP = true
		k, err := newHomeKeys(conf)
		if err != nil {
			return nil, err
		}
		confs[i], keys[i] = conf, k
		nodes[i] = TestnetNode{Home: home, Peer: k.nodeID + "@" + net.JoinHostPort(host, port(P2PPortOffset)),
			RPC: conf.RPC.ListenAddress, Account: k.dev}
	}

	g := &app.Genesis{ChainID: o.ChainID, Authority: keys[0].dev, Params: genesisParams(o.MaxSquareSize, o.MaxBlobSize)}
	vals := make([]GenesisValidator, n)
	stakeVals := make([]stakeValidator, n)
	for i, k := range keys {
		g.Accounts = append(g.Accounts, app.GenesisAccount{Address: k.dev, Balance: o.Balance})
		g.EVMAddresses = append(g.EVMAddresses, k.evm)
		vals[i] = GenesisValidator{Name: confs[i].Moniker, PubKey: k.pub}
		stakeVals[i] = stakeValidator{name: confs[i].Moniker, pub: k.pub, dev: k.dev}
	}
	o.StakeOptions.apply(g, stakeVals)
	if err := g.Validate(); err != nil {
		return nil, err
	}
	doc, err := GenesisDoc(g, vals...)
	if err != nil {
		return nil, err
	}
	for i, conf := range confs {
		var peers []string
		for j, p := range nodes {
			if j != i {
				peers = append(peers, p.Peer)
			}
		}
		conf.P2P.PersistentPeers = strings.Join(peers, ",")
		if err := writeConfig(conf); err != nil {
			return nil, err
		}
		if err := doc.SaveAs(conf.GenesisFile()); err != nil {
			return nil, fmt.Errorf("validator: save genesis: %w", err)
		}
	}
	return nodes, nil
}

// scaleTimeouts scales CometBFT's consensus timeouts other than
// timeout_commit, and its gossip pauses, by blockTime / 1 s when blockTime
// is below a second (their defaults suit 1 s blocks), so that a round
// that misses a stopped validator's proposal costs a few block times.
// allowance, the part of timeout_propose newConfig added for large
// squares, is kept whole: building and delivering a block does not get
// faster with shorter blocks.
func scaleTimeouts(c *cfg.ConsensusConfig, blockTime, allowance time.Duration) {
	if blockTime >= time.Second {
		return
	}
	c.TimeoutPropose -= allowance
	defer func() { c.TimeoutPropose += allowance }()
	for _, d := range []*time.Duration{&c.TimeoutPropose, &c.TimeoutProposeDelta, &c.TimeoutPrevote,
		&c.TimeoutPrevoteDelta, &c.TimeoutPrecommit, &c.TimeoutPrecommitDelta,
		&c.PeerGossipSleepDuration, &c.PeerQueryMaj23SleepDuration} {
		*d = max(*d*blockTime/time.Second, time.Millisecond)
	}
}
