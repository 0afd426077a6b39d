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
	dsstore "github.com/datamesh/mesh-node/dataset/store"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/fraud"
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

// shareGetter is what the share and blob services read shares through: a
// bridge or full node's own squares, or a light node's getter.
type shareGetter interface {
	api.ShareGetter
	blob.Getter
}

// assembleAPI adds, after the node's other services, what the JSON-RPC API
// serves: the header and share services over shares and avail, the state
// client when core.rpc is set, the blob service with index (nil on a light
// node), the dataset servers (bridge and full) and the server itself, last in the start order so that it answers
// only once the node runs. squaresFrom (nil with no index) is the lowest
// height whose square the node may hold, for the index's catch-up.
func (n *Node) assembleAPI(shares shareGetter, avail api.Availability, index *blob.Index, squaresFrom func(context.Context) (uint64, error)) error {
	if err := n.newHeaderAndShareServices(shares, avail); err != nil {
		return err
	}
	if err := n.addState(); err != nil {
		return err
	}
	if err := n.addBlobService(shares, index, squaresFrom); err != nil {
		return err
	}
	if err := n.addDatasetServing(); err != nil {
		return err
	}
	return n.addRPC()
}

// newHeaderAndShareServices makes the API's header service over the
// header store (with the syncer and the network head on light and full
// nodes) and its share service over shares and avail.
func (n *Node) newHeaderAndShareServices(shares api.ShareGetter, avail api.Availability) error {
	hopts := api.HeaderOptions{Store: n.headers}
	if n.syncer != nil {
		hopts.Sync = n.syncer
		headers, client := n.headers, n.exClient
		hopts.NetworkHead = func(ctx context.Context) (*header.ExtendedHeader, error) {
			local, err := headers.Head(ctx)
			if err != nil {
				return nil, err
			}
			return client.Head(ctx, local)
		}
	}
	var err error
	if n.headerService, err = api.NewHeaders(hopts); err != nil {
		return fmt.Errorf("nodebuilder: header service: %w", err)
	}
	if n.shareService, err = api.NewShares(api.ShareOptions{Headers: n.headerService, Getter: shares, Availability: avail}); err != nil {
		return fmt.Errorf("nodebuilder: share service: %w", err)
	}
	return nil
}

// addState adds the state client, which signs and submits the node's
// transactions, when core.rpc is set.
func (n *Node) addState() error {
	conf := n.conf
	if conf.Core.RPC == "" {
		return nil
	}
	// Like the p2p identity, the transaction key is made when missing
	// (init makes it too, and prints its address to fund).
	kr := keyring.New(filepath.Join(n.home, KeysDir))
	if _, err := ensureKey(kr, conf.State.KeyName); err != nil {
		return fmt.Errorf("nodebuilder: transaction key %q: %w", conf.State.KeyName, err)
	}
	var err error
	if n.stateClient, err = state.New(state.Options{RPC: conf.Core.RPC, Keyring: kr,
		DefaultKey: conf.State.KeyName, Logger: n.logger.With("service", "state")}); err != nil {
		return fmt.Errorf("nodebuilder: state client: %w", err)
	}
	n.add("state", n.stateClient.Start, n.stateClient.Stop)
	return nil
}

// newBlobIndex makes the commitment index of a bridge or full node, over
// the squares of src, with the dataset index as its extension: parts and
// manifests are indexed as their blobs are, in the same transactions, and
// pruned with them.
func (n *Node) newBlobIndex(src squareSource) (*blob.Index, error) {
	n.datasetSquares = src
	var err error
	if n.datasetIndex, err = dsstore.NewIndex(dsstore.Options{DB: n.db, Logger: n.logger.With("service", "dataset-index")}); err != nil {
		return nil, fmt.Errorf("nodebuilder: dataset index: %w", err)
	}
	popts := dsstore.PinOptions{DB: n.db, Index: n.datasetIndex, Logger: n.logger.With("service", "dataset-pins")}
	for i, s := range n.conf.Dataset.Pin {
		root, err := dsstore.ParseRoot(s)
		if err != nil {
			return nil, fmt.Errorf("nodebuilder: dataset.pin[%d]: %w", i, err)
		}
		popts.Roots = append(popts.Roots, root)
	}
	if n.datasetPins, err = dsstore.NewPins(popts); err != nil {
		return nil, fmt.Errorf("nodebuilder: dataset pins: %w", err)
	}
	if n.blobIndex, err = blob.NewIndex(blob.IndexOptions{DB: n.db, Squares: src, IsNotFound: isNotFound,
		Extension: n.datasetIndex, Logger: n.logger.With("service", "blob-index")}); err != nil {
		return nil, fmt.Errorf("nodebuilder: commitment index: %w", err)
	}
	return n.blobIndex, nil
}

// addBlobService makes the blob service over shares, submitting through
// the state client if there is one and looking commitments up in index if
// it is not nil, in which case it adds the index's catch-up.
func (n *Node) addBlobService(shares blob.Getter, index *blob.Index, squaresFrom func(context.Context) (uint64, error)) error {
	bopts := blob.Options{Headers: n.headerService, Getter: shares, Logger: n.logger.With("service", "blob")}
	if n.stateClient != nil {
		bopts.Submitter = n.stateClient
	}
	if index != nil {
		bopts.Index = index
		n.addIndexCatchUp(index, squaresFrom)
	}
	var err error
	if n.blobs, err = blob.NewService(bopts); err != nil {
		return fmt.Errorf("nodebuilder: blob service: %w", err)
	}
	if n.datasetIndex != nil {
		// The dataset blockstore reads parts from the node's own
		// original squares, a whole namespace at a height at a time.
		if n.datasetBlocks, err = dsstore.NewBlockstore(n.datasetIndex, localParts{squares: n.datasetSquares},
			dsstore.BlockstoreOptions{Pins: n.datasetPins, Logger: n.logger.With("service", "dataset-blocks")}); err != nil {
			return fmt.Errorf("nodebuilder: dataset blockstore: %w", err)
		}
		if n.datasetCatalog, err = dsstore.NewCatalog(n.datasetIndex, n.datasetPins); err != nil {
			return fmt.Errorf("nodebuilder: dataset catalog: %w", err)
		}
	}
	return nil
}

// nodeType is how the API's node.Info names mode.
func nodeType(mode Mode) api.NodeType {
	switch mode {
	case Bridge:
		return api.NodeBridge
	case Full:
		return api.NodeFull
	case Light:
		return api.NodeLight
	}
	return 0 // refused by api.NewNodeModule
}

// addRPC adds the JSON-RPC server, with a module per service the node
// has.
func (n *Node) addRPC() error {
	conf := n.conf
	secret, err := api.LoadOrCreateSecret(filepath.Join(n.home, SecretFile))
	if err != nil {
		return fmt.Errorf("nodebuilder: API secret: %w", err)
	}
	nodeOpts := api.NodeOptions{Type: nodeType(n.mode), Version: Version, Secret: secret, Ready: n.ready}
	if n.logLevels != nil {
		nodeOpts.LogLevels = n.logLevels
	}
	nodeMod, err := api.NewNodeModule(nodeOpts)
	if err != nil {
		return fmt.Errorf("nodebuilder: node module: %w", err)
	}
	p2pMod, err := api.NewP2PModule(api.P2PDeps{Host: n.p2p.Host(), Network: n.p2p.Network(), Blocker: n.p2p,
		NAT: n.p2p, Bandwidth: n.p2p, Resources: n.p2p, PubSub: n.p2p, Pinger: n.p2p})
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
	// Every module that serves data or submits transactions obeys the
	// halting rule; header, p2p, node, kzg and blobstream keep serving.
	mo := api.ModuleOptions{Limiter: limiter, Halt: &n.halt}
	// Tuple roots need headers only: every mode serves them. The
	// attestations come from core, when the node has core.rpc.
	bsDeps := api.BlobstreamDeps{Headers: n.headerService, Shares: n.shareService, Blobs: n.blobs}
	if n.stateClient != nil {
		bsDeps.Attestations = n.stateClient
	}
	bsMod, err := api.NewBlobstreamModule(bsDeps, mo)
	if err != nil {
		return fmt.Errorf("nodebuilder: blobstream module: %w", err)
	}
	mods := api.Modules{
		Blob:       api.NewBlobModule(n.blobs, mo),
		Header:     api.NewHeaderModule(n.headerService),
		Share:      api.NewShareModule(n.shareService, mo),
		P2P:        p2pMod,
		Node:       nodeMod,
		Fraud:      api.NewFraudModule(fraudProofs{n}),
		KZG:        api.NewKZGModule(mo),
		Blobstream: bsMod,
	}
	if n.daser != nil {
		mods.DAS = api.NewDASModule(n.daser, mo)
	}
	if n.datasetBlocks != nil {
		mods.Dataset = api.NewDatasetModule(n.datasetCatalog, n.datasetBlocks, mo)
	} else {
		mods.Dataset = api.NewDatasetModule(nil, nil, mo) // answers that there is no index
	}
	if n.stateClient != nil {
		mods.State = api.NewStateModule(n.stateClient, mo)
	} else {
		mods.State = api.NewStateModule(noState{}, mo)
	}
	rpcLog := n.logger.With("service", "rpc")
	if n.apiServer, err = api.NewServer(api.ServerOptions{Addr: conf.RPCAddr(), Secret: secret, SkipAuth: conf.RPC.SkipAuth,
		MaxRequestBytes: conf.RPC.MaxRequestBytes, MaxBatch: conf.RPC.MaxBatch, BodyBudget: conf.RPC.MaxBodyMemory,
		MaxConns: apiConnCap(conf.RPC.MaxConnections, rpcLog), ReadHeaderTimeout: time.Duration(conf.RPC.ReadHeaderTimeout),
		ReadTimeout: time.Duration(conf.RPC.ReadTimeout), IdleTimeout: time.Duration(conf.RPC.IdleTimeout),
		Logger: rpcLog}, mods); err != nil {
		return fmt.Errorf("nodebuilder: API server: %w", err)
	}
	n.add("rpc", n.apiServer.Start, n.apiServer.Stop)
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

// indexSquare adds the blobs of the square at height to index; a failure
// is logged (the catch-up at the next start repairs it).
func indexSquare(ctx context.Context, h *header.ExtendedHeader, src squareSource, index *blob.Index, log *slog.Logger) {
	e, err := src.EDS(ctx, h.Height())
	if err == nil {
		err = index.Index(ctx, h.Height(), e)
	}
	if err != nil && ctx.Err() == nil {
		log.Error("index blobs", "height", h.Height(), "err", err)
	}
}

// addIndexCatchUp adds the indexing, in the background, of the squares
// stored before index knew them (after an upgrade, or a crash between
// storing a square and indexing it): from squaresFrom to the header
// store's height.
func (n *Node) addIndexCatchUp(index *blob.Index, squaresFrom func(context.Context) (uint64, error)) {
	var stop func() // set by start, called by stop; the node serialises both
	n.add("blob index", func(context.Context) error {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		stop = func() { cancel(); wg.Wait() }
		go func() {
			defer wg.Done()
			from, err := squaresFrom(ctx)
			if err == nil {
				err = index.CatchUp(ctx, from, n.headers.Height())
			}
			if err != nil && ctx.Err() == nil {
				n.logger.Error("index stored squares", "err", err)
			}
		}()
		return nil
	}, func(context.Context) error {
		if stop != nil {
			stop()
			stop = nil
		}
		return nil
	})
}

// fullSquaresFrom is the lowest height whose square a full node may hold.
func (n *Node) fullSquaresFrom(ctx context.Context) (uint64, error) {
	base, found, err := n.squares.Base(ctx)
	if err != nil || !found {
		return n.headers.Height() + 1, err // nothing held: nothing to catch up
	}
	return base, nil
}

// pruneWithIndex copies the blocks of the pinned datasets out of the
// squares (syncPins), then prunes squares and then their entries in index,
// and records the height it pruned below (for the datasets' "not found"
// errors).
// A failure to pin (the context, the database) prunes nothing.
func (n *Node) pruneWithIndex(squares das.PruneFunc, index *blob.Index) das.PruneFunc {
	return func(ctx context.Context, below uint64) (int, error) {
		if err := n.syncPins(ctx); err != nil {
			return 0, err
		}
		pruned, err := squares(ctx, below)
		if err != nil {
			return pruned, err
		}
		if err := index.Prune(ctx, below); err != nil {
			return pruned, err
		}
		if n.datasetIndex == nil {
			return pruned, nil
		}
		return pruned, n.datasetIndex.MarkPruned(ctx, below)
	}
}

// syncPins copies into Badger the blocks of the dataset.pin datasets not
// all copied yet (dsstore.Pins.Sync over the node's dataset blockstore)
// and drops those removed from dataset.pin, even when none is left. The pruner calls it before each prune, at its start
// and then every hour: while a pin's parts are in the squares they are
// served from there, and they are copied before the squares go. A dataset
// whose blocks are not all indexed yet is copied as far as it goes and
// completed by a later prune's sync.
func (n *Node) syncPins(ctx context.Context) error {
	if n.datasetPins == nil || n.datasetBlocks == nil {
		return nil
	}
	complete, err := n.datasetPins.Sync(ctx, n.datasetBlocks)
	if err != nil {
		return fmt.Errorf("nodebuilder: dataset.pin: %w", err)
	}
	if len(n.datasetPins.Roots()) == 0 {
		return nil
	}
	n.logger.Info("pinned datasets", "complete", complete, "pinned", len(n.datasetPins.Roots()))
	return nil
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
func (noState) Params(context.Context) (tx.Params, error) { return tx.Params{}, errNoCore }

// fraudProofs is the fraud module's backend: the node's fraud service,
// which is made when it starts (it needs pubsub), before the API server.
type fraudProofs struct{ n *Node }

func (f fraudProofs) Get(ctx context.Context) ([]*eds.BadEncodingProof, error) {
	if f.n.fraud == nil {
		return nil, fraud.ErrNotStarted
	}
	return f.n.fraud.Get(ctx)
}

func (f fraudProofs) Subscribe(ctx context.Context) (<-chan *eds.BadEncodingProof, error) {
	if f.n.fraud == nil {
		return nil, fraud.ErrNotStarted
	}
	return f.n.fraud.Subscribe(ctx)
}
