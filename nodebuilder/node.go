package nodebuilder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/dataset/serve"
	dsstore "github.com/datamesh/mesh-node/dataset/store"
	edsstore "github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/exchange"
	"github.com/datamesh/mesh-node/header/gossip"
	"github.com/datamesh/mesh-node/header/syncer"
	"github.com/datamesh/mesh-node/internal/badgerdb"
	"github.com/datamesh/mesh-node/internal/logging"
	"github.com/datamesh/mesh-node/p2p"
	"github.com/datamesh/mesh-node/shrex"
	"github.com/datamesh/mesh-node/shrex/edssub"
	"github.com/datamesh/mesh-node/shrex/getter"
	"github.com/datamesh/mesh-node/shrex/peers"
	"github.com/datamesh/mesh-node/state"
)

// service is one step of a node's start order.
type service struct {
	name  string
	start func(context.Context) error
	stop  func(context.Context) error
}

// Node is an assembled node: the services of its mode (services lists
// them in start order) and what they share. Only those of its mode are
// set; the tests read them through export_test.go.
type Node struct {
	mode Mode
	home string
	conf Config

	// Every mode.
	db       *badger.DB
	p2p      *p2p.Node
	headers  header.Store
	exServer *exchange.Server // header-ex
	// gossip (header-sub) and edsSub need pubsub, which exists once the
	// p2p host has started: they are made when they start, before the
	// services that publish through them.
	gossip *gossip.Gossip
	edsSub *edssub.EdsSub
	// shrexServer serves squares: bridge and full nodes.
	shrexServer *shrex.Server
	// halt is the halting rule: the lowest block the node holds a valid
	// bad-encoding proof of. The fraud service sets it; the DASer and the
	// API modules read it. fraud, made when it starts (it needs pubsub),
	// gossips, syncs and stores the proofs.
	halt  fraud.Halt
	fraud *fraud.Service

	// Bridge only: the core node's blocks, stored with their squares.
	coreStore *core.Store
	follower  *core.Follower

	// Light and full only: header-ex client and syncer; share exchange
	// and availability, that is the peers that announced each square,
	// the getter over them, and the DASer (sampling on a light node,
	// whole squares on a full node, which keeps them in squares).
	exClient *exchange.Client
	syncer   *syncer.Syncer
	peers    *peers.Manager
	getter   *getter.Getter
	daser    *das.DASer
	squares  *edsstore.Store

	// The JSON-RPC API and the services behind it. stateClient is nil
	// without core.rpc; blobIndex is nil on a light node.
	headerService *api.Headers
	shareService  *api.Shares
	stateClient   *state.Client
	blobs         *blob.Service
	blobIndex     *blob.Index
	// datasetIndex and datasetBlocks are the dataset index, written with
	// blobIndex, and the read-only blockstore over it (bridge and full
	// nodes; nil on a light node).
	datasetIndex  *dsstore.Index
	datasetBlocks *dsstore.Blockstore
	// datasetPins holds the blocks of the dataset.pin datasets (bridge
	// and full), copied before each prune; datasetBlocks reads it first.
	datasetPins *dsstore.Pins
	// datasetSquares are the squares the dataset blockstore reads parts
	// from (the core store's or the square store's).
	datasetSquares squareSource
	// datasetCatalog is what the dataset API reads: the index, then what
	// the pins recorded.
	datasetCatalog *dsstore.Catalog
	// datasetHTTP serves the datasets' gateway and routing endpoint (nil
	// without dataset.gateway_address, and on a light node).
	datasetHTTP *serve.HTTP
	apiServer   *api.Server

	logger   *slog.Logger
	services []service
	metrics  *nodeMetrics // nil unless Options.MetricsAddr is set

	announcements func() // stops the announcement loop
	pruner        func(*das.PrunerOptions)
	builtSquares  core.Squares      // Options.Squares
	logLevels     *logging.LevelVar // nil unless Options.LogLevels is set
	startTimeout  time.Duration

	corruptSquares atomic.Uint64 // stored squares found corrupt and dropped

	mu       sync.Mutex
	started  int // services started
	dbClosed bool
	unlock   func() error // releases the home lock
	fatal    chan error
	cancel   context.CancelFunc // of the node's lifetime context
	// bg tracks the node's own goroutines (watchSyncer, resyncFraud):
	// Stop waits for them before it closes the database.
	bg sync.WaitGroup
}

// Options are what a node takes besides its home and configuration.
type Options struct {
	// Logger receives every service's logs; nil discards them.
	Logger *slog.Logger
	// LogLevels, if set, are the levels Logger's handler reads
	// (logging.NewVarHandler): the API's node.LogLevelSet changes them.
	// Without it node.LogLevelSet fails.
	LogLevels *logging.LevelVar
	// Badger, if set, adjusts the database options (tests use small
	// memory tables).
	Badger func(badger.Options) badger.Options
	// Sync, if set, adjusts the syncer's options.
	Sync func(*syncer.Options)
	// DAS, if set, adjusts the DASer's options.
	DAS func(*das.Options)
	// StartTimeout bounds the start of each service; zero means
	// DefaultStartTimeout.
	StartTimeout time.Duration
	// Pruner, if set, adjusts the square pruner's options (tests move its
	// clock).
	Pruner func(*das.PrunerOptions)
	// NewIdentity lets the node create keys/p2p-key when it is missing
	// although <home>/data holds a store, starting under a new peer ID.
	// Without it that start is refused (ErrIdentityMissing): a lost key is
	// restored, not silently replaced.
	NewIdentity bool
	// MetricsAddr, if set, overrides the configuration's metrics.address:
	// the host:port the node serves Prometheus metrics on, at GET /metrics
	// (port 0 picks one: see Node.MetricsAddr).
	MetricsAddr string
	// Squares, for a bridge, hands its core follower the squares the
	// validator it follows built, when both run in one process (the
	// devnet: validator.Node with validator.Options.SquareHandOff); see
	// core.Options.Squares. Nil: the bridge builds every square. Other
	// modes ignore it.
	Squares core.Squares
}

// DefaultStartTimeout bounds each service's start. The longest wait is a
// light or full node's first header, which needs a bootstrap peer that
// has it; after this long the node gives up, naming that service, rather
// than hang.
const DefaultStartTimeout = 5 * time.Minute

// ErrStartTimeout is wrapped when a service does not start within the
// start timeout; the error names the service.
var ErrStartTimeout = errors.New("nodebuilder: start timed out")

// A light node's Badger settings: see New.
const (
	// lightMemTableSize: Badger's largest transaction is 15% of it (629
	// KB), which holds the largest header (k = 512: 2,048 DAH roots, about
	// 190 KB, with its commit and validator set) with room to spare.
	lightMemTableSize   = 4 << 20
	lightBlockCacheSize = 16 << 20
	// lightValueThreshold: values larger than this go to Badger's value
	// log, written once and never compacted. Headers (10 to 190 KB) do:
	// kept in the tables, every compaction rewrote them, and its table
	// builders took the heap from 20 to 75 MB for seconds at a time
	// (250 MB when headers arrive fast: BenchmarkLightBadgerHeaderWrites).
	lightValueThreshold = 1 << 10
	// Light nodes open Badger with no compactors of its own: each wakes
	// every 50 ms to look for work, whether there is any or not, and two
	// (Badger's minimum above none) were 40 of an idle light node's 84
	// wake-ups a second. A badgerdb.Compactor looks at level 0 every
	// lightCompactEvery instead and compacts once it holds more than
	// lightL0Tables tables (a memtable flush each: hours apart when
	// following the chain, about one in 10 s in a fast sync), between
	// Badger's own trigger (5) and the count at which writes wait (15).
	lightCompactors   = 0
	lightCompactEvery = 5 * time.Second
	lightL0Tables     = 8
	// lightPageOutLooks: every this many looks (30 s) the same loop asks
	// the kernel to drop the resident pages of the store's mapped files
	// (badgerdb.PageOut), so that a light node's RSS does not grow with
	// the headers it stores.
	lightPageOutLooks = 6
)

// New assembles a node of mode from home and conf (which it validates). It
// locks the home (ErrHomeLocked while another process or node has it),
// opens the database and loads or creates the p2p identity; it does no
// network I/O. It refuses, changing nothing in the home, a damaged
// identity (p2p.ErrBadIdentity), a missing one on a home whose store has
// data (ErrIdentityMissing, unless opts.NewIdentity) and a store of
// another chain than conf.ChainID (ErrChainMismatch). Call Start, then Stop, which also closes the database and
// releases the lock.
func New(mode Mode, home string, conf Config, opts Options) (*Node, error) {
	if err := conf.Validate(mode); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{mode: mode, home: home, conf: conf, logger: logger, fatal: make(chan error, 1), startTimeout: opts.StartTimeout, pruner: opts.Pruner, builtSquares: opts.Squares}
	n.logLevels = opts.LogLevels
	if n.startTimeout <= 0 {
		n.startTimeout = DefaultStartTimeout
	}
	unlock, err := lockHome(home)
	if err != nil {
		return nil, err
	}
	n.unlock = unlock
	// The identity and the chain are checked before anything is written:
	// a refused start leaves the home as it was.
	keyPath := filepath.Join(home, KeyFile)
	key, err := p2p.LoadIdentity(keyPath)
	missingKey := errors.Is(err, fs.ErrNotExist)
	if err != nil && !missingKey {
		return nil, errors.Join(fmt.Errorf("nodebuilder: p2p identity: %w", err), unlock())
	}
	if missingKey && !opts.NewIdentity {
		if err := checkNoStore(home, mode); err != nil {
			return nil, errors.Join(err, unlock())
		}
	}
	bopts := badgerdb.Options(filepath.Join(home, DataDir))
	if mode == Light {
		// A light node stores headers and sampling results only (about
		// 13 KB a header at k = 32, 92 KB at k = 256). Badger allocates
		// each memtable's arena whole (its size plus 30%) and maps its
		// write-ahead log, both resident once written; it keeps up to
		// five memtables of 64 MB and a 256 MB block cache by default: a
		// following light node measured 160 MB resident with those, and,
		// following a k = 256 chain, a sawtooth of 92-161 MB with 16 MB
		// memtables, as each filled and the next was allocated while it
		// was flushed. Two 4 MB memtables (a flush every 45 headers of
		// k = 256), a 16 MB block cache and no compactors, the node's own
		// compaction loop instead (see lightCompactors and
		// docs/benchmarks.md).
		bopts = lightBadger(bopts)
	}
	if opts.Badger != nil {
		bopts = opts.Badger(bopts)
	}
	if n.db, err = badgerdb.Open(bopts); err != nil {
		if errors.Is(err, badgerdb.ErrDamaged) {
			err = fmt.Errorf("%w; restore %s from a backup, or move it aside (or delete it: mesh-node %s reset-store) and start again to sync anew", err, bopts.Dir, mode)
		}
		return nil, errors.Join(fmt.Errorf("nodebuilder: open %s: %w", bopts.Dir, err), unlock())
	}
	recordChain, err := n.checkChain()
	if err != nil {
		return nil, errors.Join(err, n.db.Close(), unlock())
	}
	if missingKey {
		if key, err = p2p.LoadOrCreateIdentity(keyPath); err != nil {
			return nil, errors.Join(fmt.Errorf("nodebuilder: p2p identity: %w", err), n.db.Close(), unlock())
		}
	}
	if recordChain != nil {
		if err := recordChain(); err != nil {
			return nil, errors.Join(err, n.db.Close(), unlock())
		}
	}
	if err := n.assemble(key, opts); err != nil {
		return nil, errors.Join(err, n.db.Close(), unlock())
	}
	return n, nil
}

// lightBadger is o with a light node's settings (see New). The value
// threshold stays below the largest transaction, as Badger requires. A
// memtable's write-ahead log that an unclean stop left behind is replayed
// into a memtable of the size it was written with, which may be larger
// (an earlier version's 16 MB): Badger panics when one overflows. Its
// log file is twice that size.
func lightBadger(o badger.Options) badger.Options {
	size := int64(lightMemTableSize)
	if logs, err := filepath.Glob(filepath.Join(o.Dir, "*.mem")); err == nil {
		for _, l := range logs {
			if fi, err := os.Stat(l); err == nil && fi.Size()/2 > size {
				size = fi.Size() / 2
			}
		}
	}
	return o.WithMemTableSize(size).WithNumMemtables(2).WithBlockCacheSize(lightBlockCacheSize).
		WithNumCompactors(lightCompactors).WithValueThreshold(lightValueThreshold)
}

func (n *Node) add(name string, start, stop func(context.Context) error) {
	n.services = append(n.services, service{name: name, start: start, stop: stop})
}

// Start starts the services in order. On an error it stops those it
// started, in reverse, and returns the error naming the service. ctx
// bounds the start only (a light node's start waits for its bootstrap
// peers to agree on a head); the services run until Stop.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started > 0 || n.dbClosed {
		return errors.New("nodebuilder: node already started")
	}
	for i, s := range n.services {
		if s.start != nil {
			if err := n.startOne(ctx, s); err != nil {
				n.started = i
				stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				return errors.Join(fmt.Errorf("nodebuilder: start %s: %w", s.name, n.explain(err)), n.stopLocked(stopCtx))
			}
		}
		n.started = i + 1
	}
	return nil
}

// startOne starts s within the start timeout. A start that does not
// return by then (a service ignoring its context) is abandoned with
// ErrStartTimeout; if it later succeeds, it is stopped again.
func (n *Node) startOne(ctx context.Context, s service) error {
	sctx, cancel := context.WithTimeout(ctx, n.startTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.start(sctx) }()
	select {
	case err := <-done:
		if err != nil && sctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return fmt.Errorf("%w after %v: %w", ErrStartTimeout, n.startTimeout, err)
		}
		return err
	case <-sctx.Done():
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	// Give a service that honours its context a moment to say why.
	grace := time.NewTimer(time.Second)
	defer grace.Stop()
	select {
	case err := <-done:
		if err == nil {
			return nil
		}
		return fmt.Errorf("%w after %v: %w", ErrStartTimeout, n.startTimeout, err)
	case <-grace.C:
	}
	if s.stop != nil {
		go func() {
			if err := <-done; err == nil {
				_ = s.stop(context.Background())
			}
		}()
	}
	return fmt.Errorf("%w: it did not return within %v", ErrStartTimeout, n.startTimeout)
}

// Stop stops the started services in reverse order and closes the
// database; it returns every error, each naming its service. It is
// idempotent.
func (n *Node) Stop(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stopLocked(ctx)
}

func (n *Node) stopLocked(ctx context.Context) error {
	var errs []error
	for i := n.started - 1; i >= 0; i-- {
		if s := n.services[i]; s.stop != nil {
			if err := s.stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("nodebuilder: stop %s: %w", s.name, err))
			}
		}
	}
	n.started = 0
	if n.cancel != nil {
		n.cancel()
	}
	n.bg.Wait()
	n.services = nil // a stopped node is not restarted
	if !n.dbClosed {
		n.dbClosed = true
		if err := n.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("nodebuilder: close the database: %w", err))
		}
		if err := n.unlock(); err != nil {
			errs = append(errs, fmt.Errorf("nodebuilder: release the home lock: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Fatal delivers the error that ended a service the node cannot run
// without (the syncer, when the node's newest header is older than the
// trusting period, say). The caller stops the node.
func (n *Node) Fatal() <-chan error { return n.fatal }

// Info returns the node's peer ID and the full multiaddrs other nodes use
// to reach it (to give them as bootstrap peers).
func (n *Node) Info() (peerID string, addrs []string) {
	return n.p2p.Host().ID().String(), n.p2p.FullAddrs()
}

// APIAddr returns the address the JSON-RPC server listens on while it
// runs (with the port chosen for rpc.port 0), or "" when it does not. The
// CLI's devnet, which picks free ports, hands it to clients.
func (n *Node) APIAddr() string { return n.apiServer.Addr() }

// explain adds to an expired-trust error what the operator does about it.
func (n *Node) explain(err error) error {
	if !errors.Is(err, syncer.ErrTrustExpired) {
		return err
	}
	return fmt.Errorf("%w; to re-initialise, stop the node, run mesh-node %s reset-store --home %s (it removes %s), then set header.trusted_hash to the hash of a recent header from a node you trust (or run mesh-node %s init --force --home %s with --trusted-hash and your --chain-id and --bootstrap peers)",
		err, n.mode, n.home, filepath.Join(n.home, DataDir), n.mode, n.home)
}
