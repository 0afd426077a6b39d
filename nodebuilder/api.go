package nodebuilder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/fdlimit"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
	"github.com/datamesh/mesh-node/state/keyring"
)

// Files of a node's home used by the API.
const (
	// KeysDir holds the libp2p identity, the API's JWT secret and the
	// keyring of the node's transaction keys (<name>.json).
	KeysDir = "keys"
	// SecretFile is the HS256 key of the API's tokens.
	SecretFile = "keys/jwt-secret"
)

// assembleAPI adds what the JSON-RPC API serves: the header and share
// services, the state client (when core.rpc is set), the blob service with
// a commitment index on bridge and full nodes, and the server itself, last
// in the start order so that it answers only once the node runs.
func (n *Node) assembleAPI() error {
	conf := n.Config
	hopts := api.HeaderOptions{Store: n.Headers}
	if n.Syncer != nil {
		hopts.Sync = n.Syncer
		hopts.NetworkHead = func(ctx context.Context) (*header.ExtendedHeader, error) {
			local, err := n.Headers.Head(ctx)
			if err != nil {
				return nil, err
			}
			return n.Client.Head(ctx, local)
		}
	}
	var err error
	if n.HeaderService, err = api.NewHeaders(hopts); err != nil {
		return fmt.Errorf("nodebuilder: header service: %w", err)
	}

	var shares interface {
		api.ShareGetter
		blob.Getter
	}
	var avail api.Availability
	switch n.Mode {
	case Bridge:
		l := localShares{squares: n.Store}
		shares, avail = l, l
	case Full:
		// The DASer answers from its result, or fetches and stores the
		// square.
		shares, avail = localShares{squares: n.Squares, fallback: n.Getter}, n.DASer
	case Light:
		// The DASer answers from its result, or samples the header now.
		shares, avail = n.Getter, n.DASer
	}
	if n.ShareService, err = api.NewShares(api.ShareOptions{Headers: n.HeaderService, Getter: shares, Availability: avail}); err != nil {
		return fmt.Errorf("nodebuilder: share service: %w", err)
	}

	if conf.Core.RPC != "" {
		// Like the p2p identity, the transaction key is made when missing
		// (init makes it too, and prints its address to fund).
		kr := keyring.New(filepath.Join(n.Home, KeysDir))
		if _, err := ensureKey(kr, conf.State.KeyName); err != nil {
			return fmt.Errorf("nodebuilder: transaction key %q: %w", conf.State.KeyName, err)
		}
		if n.State, err = state.New(state.Options{RPC: conf.Core.RPC, Keyring: kr,
			DefaultKey: conf.State.KeyName, Logger: n.logger.With("service", "state")}); err != nil {
			return fmt.Errorf("nodebuilder: state client: %w", err)
		}
		n.add("state", n.State.Start, n.State.Stop)
	}

	bopts := blob.Options{Headers: n.HeaderService, Getter: shares, Logger: n.logger.With("service", "blob")}
	if n.State != nil {
		bopts.Submitter = n.State
	}
	if n.Mode != Light {
		var src squareSource = n.Squares
		if n.Mode == Bridge {
			src = n.Store
		}
		if n.BlobIndex, err = blob.NewIndex(blob.IndexOptions{DB: n.DB, Squares: src, IsNotFound: isNotFound,
			Logger: n.logger.With("service", "blob-index")}); err != nil {
			return fmt.Errorf("nodebuilder: commitment index: %w", err)
		}
		bopts.Index = n.BlobIndex
		n.add("blob index", n.startIndexCatchUp, n.stopIndexCatchUp)
	}
	if n.Blobs, err = blob.NewService(bopts); err != nil {
		return fmt.Errorf("nodebuilder: blob service: %w", err)
	}

	secret, err := api.LoadOrCreateSecret(filepath.Join(n.Home, SecretFile))
	if err != nil {
		return fmt.Errorf("nodebuilder: API secret: %w", err)
	}
	nodeOpts := api.NodeOptions{Mode: string(n.Mode), Version: Version, Secret: secret, Ready: n.ready}
	if n.logLevels != nil {
		nodeOpts.LogLevels = n.logLevels
	}
	nodeMod, err := api.NewNodeModule(nodeOpts)
	if err != nil {
		return fmt.Errorf("nodebuilder: node module: %w", err)
	}
	p2pMod, err := api.NewP2PModule(api.P2PDeps{Host: n.P2P.Host(), Network: n.P2P.Network(), Blocker: n.P2P,
		NAT: n.P2P, Bandwidth: n.P2P, Resources: n.P2P, PubSub: n.P2P, Pinger: n.P2P})
	if err != nil {
		return fmt.Errorf("nodebuilder: p2p module: %w", err)
	}
	wait := time.Duration(conf.RPC.BusyWait)
	if wait == 0 {
		wait = -1 // refuse at once
	}
	limiter, err := api.NewLimiter(api.HeavyOptions{EDSCalls: conf.RPC.EDSCalls, HeavyCalls: conf.RPC.HeavyCalls,
		PerCaller: conf.RPC.HeavyCallsPerToken, Wait: wait})
	if err != nil {
		return fmt.Errorf("nodebuilder: API limits: %w", err)
	}
	mods := api.Modules{
		Blob:   api.NewBlobModule(n.Blobs, api.ModuleOptions{Limiter: limiter}),
		Header: api.NewHeaderModule(n.HeaderService),
		Share:  api.NewShareModule(n.ShareService, api.ModuleOptions{Limiter: limiter}),
		P2P:    p2pMod,
		Node:   nodeMod,
	}
	if n.DASer != nil {
		mods.DAS = api.NewDASModule(n.DASer)
	}
	if n.State != nil {
		mods.State = api.NewStateModule(n.State)
	} else {
		mods.State = api.NewStateModule(noState{})
	}
	rpcLog := n.logger.With("service", "rpc")
	if n.API, err = api.NewServer(api.ServerOptions{Addr: conf.RPCAddr(), Secret: secret, SkipAuth: conf.RPC.SkipAuth,
		MaxRequestBytes: conf.RPC.MaxRequestBytes, MaxBatch: conf.RPC.MaxBatch, BodyBudget: conf.RPC.MaxBodyMemory,
		MaxConns: apiConnCap(conf.RPC.MaxConnections, rpcLog), ReadHeaderTimeout: time.Duration(conf.RPC.ReadHeaderTimeout),
		ReadTimeout: time.Duration(conf.RPC.ReadTimeout), IdleTimeout: time.Duration(conf.RPC.IdleTimeout),
		Logger: rpcLog}, mods); err != nil {
		return fmt.Errorf("nodebuilder: API server: %w", err)
	}
	n.add("rpc", n.API.Start, n.API.Stop)
	return nil
}

// Descriptor budget of the API server (docs/security.md).
const (
	// FDReserve is the open-file descriptors kept out of the API
	// server's reach for consensus, the Badger stores, libp2p and logs.
	FDReserve = 1024
	// MinAPIConns is the least rpc.max_connections, and the API's cap
	// however low the open-file limit.
	MinAPIConns = 16
)

// apiConnCap returns the API server's connection cap: configured, lowered
// to half the descriptors the soft open-file limit leaves past FDReserve
// (the other half is for libp2p's connections and streams), and never
// below MinAPIConns. It raises the soft limit to the hard limit first.
func apiConnCap(configured int, log *slog.Logger) int {
	soft, err := fdlimit.Raise()
	if err != nil {
		log.Warn("open-file limit not raised", "err", err)
	}
	return connCap(configured, soft, log)
}

func connCap(configured int, soft uint64, log *slog.Logger) int {
	if soft == 0 {
		return configured
	}
	room := uint64(0)
	if soft > FDReserve {
		room = (soft - FDReserve) / 2
	}
	if room >= uint64(configured) {
		return configured
	}
	c := max(int(room), MinAPIConns)
	log.Warn("rpc.max_connections lowered to fit the open-file limit (raise it with ulimit -n)",
		"max_connections", configured, "now", c, "open_file_limit", soft, "reserve", FDReserve)
	return c
}

// ready reports whether every service has started.
func (n *Node) ready() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.services != nil && n.started == len(n.services)
}

// indexSquare adds the blobs of the square at height to the commitment
// index; a failure is logged (the catch-up at the next start repairs it).
func (n *Node) indexSquare(ctx context.Context, h *header.ExtendedHeader, src squareSource) {
	e, err := src.EDS(ctx, h.Height())
	if err == nil {
		err = n.BlobIndex.Index(ctx, h.Height(), e)
	}
	if err != nil && ctx.Err() == nil {
		n.logger.Error("index blobs", "height", h.Height(), "err", err)
	}
}

// startIndexCatchUp indexes, in the background, the squares stored before
// the index knew them: after an upgrade, or a crash between storing a
// square and indexing it.
func (n *Node) startIndexCatchUp(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	n.indexCatchUp = func() { cancel(); wg.Wait() }
	go func() {
		defer wg.Done()
		from, err := n.squaresFrom(ctx)
		if err == nil {
			err = n.BlobIndex.CatchUp(ctx, from, n.Headers.Height())
		}
		if err != nil && ctx.Err() == nil {
			n.logger.Error("index stored squares", "err", err)
		}
	}()
	return nil
}

// squaresFrom is the lowest height whose square the node may hold.
func (n *Node) squaresFrom(ctx context.Context) (uint64, error) {
	if n.Mode == Bridge {
		return n.Store.SquaresFrom(ctx)
	}
	base, found, err := n.Squares.Base(ctx)
	if err != nil || !found {
		return n.Headers.Height() + 1, err // nothing held: nothing to catch up
	}
	return base, nil
}

func (n *Node) stopIndexCatchUp(context.Context) error {
	if n.indexCatchUp != nil {
		n.indexCatchUp()
		n.indexCatchUp = nil
	}
	return nil
}

// pruneWithIndex prunes squares and then their commitment index entries.
func (n *Node) pruneWithIndex(squares das.PruneFunc) das.PruneFunc {
	return func(ctx context.Context, below uint64) (int, error) {
		pruned, err := squares(ctx, below)
		if err != nil {
			return pruned, err
		}
		return pruned, n.BlobIndex.Prune(ctx, below)
	}
}

// ensureKey returns the key name of kr, creating it when missing.
func ensureKey(kr keyring.Keyring, name string) (keyring.Key, error) {
	k, err := kr.Get(name)
	if errors.Is(err, keyring.ErrNotFound) {
		k, err = kr.Add(name)
	}
	return k, err
}

// errNoCore answers the state calls of a node without core.rpc.
var errNoCore = errors.New("state: this node has no core node to submit to (set core.rpc in config.toml, or --core.rpc)")

// noState is the state module of a node without core.rpc: every call says
// how to enable it, instead of "method not found".
type noState struct{}

func (noState) AccountAddress(context.Context) (tx.Address, error) { return tx.Address{}, errNoCore }
func (noState) Balance(context.Context) (*state.Coin, error)       { return nil, errNoCore }
func (noState) BalanceForAddress(context.Context, tx.Address) (*state.Coin, error) {
	return nil, errNoCore
}
func (noState) Transfer(context.Context, tx.Address, state.Int, *state.TxConfig) (*state.TxResponse, error) {
	return nil, errNoCore
}
func (noState) SubmitPayForBlob(context.Context, []*share.Blob, *state.TxConfig) (*state.TxResponse, error) {
	return nil, errNoCore
}
