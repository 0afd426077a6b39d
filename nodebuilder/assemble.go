package nodebuilder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	edsstore "github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/exchange"
	"github.com/datamesh/mesh-node/header/gossip"
	headerstore "github.com/datamesh/mesh-node/header/store"
	"github.com/datamesh/mesh-node/header/syncer"
	"github.com/datamesh/mesh-node/internal/badgerdb"
	"github.com/datamesh/mesh-node/p2p"
	"github.com/datamesh/mesh-node/shrex"
	"github.com/datamesh/mesh-node/shrex/edssub"
	"github.com/datamesh/mesh-node/shrex/getter"
	"github.com/datamesh/mesh-node/shrex/peers"
)

// assemble builds the services of n's mode and lists them in start order.
// Each is built after the dependencies it is given, which in places is
// not its start order: the DASer is made before the syncer that feeds it
// new heads, the commitment index before the services that fill it. Two
// services are made when they start, because they need pubsub, which
// exists once the p2p host has started: header-sub (n.gossip) and eds-sub
// (n.edsSub). The services that publish through them start after them and
// reach them through n.
func (n *Node) assemble(key crypto.PrivKey, opts Options) error {
	metricsAddr := n.conf.Metrics.Address
	if opts.MetricsAddr != "" {
		metricsAddr = opts.MetricsAddr
	}
	if n.mode == Light && n.db.Opts().NumCompactors == 0 { // stops after every writer
		c, err := badgerdb.NewCompactor(n.db, lightCompactEvery, lightL0Tables, n.logger.With("service", "compaction"))
		if err != nil {
			return fmt.Errorf("nodebuilder: %w", err)
		}
		dirs := []string{n.db.Opts().Dir}
		if v := n.db.Opts().ValueDir; v != dirs[0] {
			dirs = append(dirs, v)
		}
		c.PageOutEvery(lightPageOutLooks, dirs...)
		n.add("compaction", c.Start, c.Stop)
	}
	if metricsAddr != "" { // first to start (after compaction), last to stop
		if err := n.addMetrics(metricsAddr); err != nil {
			return err
		}
	}
	var err error
	if n.p2p, err = p2p.New(key, n.conf.p2pConfig(n.mode), n.logger.With("service", "p2p")); err != nil {
		return fmt.Errorf("nodebuilder: p2p: %w", err)
	}
	n.add("p2p", n.p2p.Start, n.p2p.Stop)
	// The node's lifetime: what its services do on their own (publish a
	// header, announce a square) ends with it. Stop cancels it once every
	// service has stopped.
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	if n.mode == Bridge {
		return n.assembleBridge(ctx)
	}
	return n.assembleLightFull(ctx, opts)
}

// assembleBridge adds a bridge's services after p2p: header-ex server →
// header-sub → eds-sub → shrex server → core follower, which stores each
// block's header and square, publishes and announces them and indexes
// their blobs → pruner → the API's.
func (n *Node) assembleBridge(ctx context.Context) error {
	conf := n.conf
	n.coreStore = core.NewStoreCache(n.db, edsstore.Options{CacheSize: conf.Store.CacheSquares, CacheBytes: int64(conf.Store.CacheMiB) << 20})
	n.headers = n.coreStore.Headers()
	if err := n.addExchangeServer(); err != nil {
		return err
	}
	index, err := n.newBlobIndex(n.coreStore)
	if err != nil {
		return err
	}
	// A bridge learns headers from its core node, not from gossip: it
	// forwards another bridge's header only when it holds the same one.
	n.addGossip(n.bridgeVerify)
	n.addEdsSub()
	// A bridge builds every square itself, so no proof validates against
	// its store; it forwards proofs and serves fraud sync to protect its
	// peers.
	n.addFraud(ctx)
	if err := n.addShrexServer(n.coreStore); err != nil {
		return err
	}
	if n.follower, err = core.New(core.Options{
		RPC:           conf.Core.RPC,
		ChainID:       conf.ChainID,
		Store:         n.coreStore,
		MaxSquareSize: conf.Square.MaxSize,
		Logger:        n.logger.With("service", "core"),
		Metrics:       n.ingestMetrics(),
		Squares:       n.builtSquares,
		// header-sub and eds-sub have started when the follower does.
		OnHeader: func(h *header.ExtendedHeader) {
			n.logger.Info("stored extended header", "height", h.Height(), "square", h.DAH.SquareSize(), "data_root", fmt.Sprintf("%X", h.DataRoot()))
			if err := n.gossip.Publish(ctx, h); err != nil && ctx.Err() == nil {
				n.logger.Error("publish header", "height", h.Height(), "err", err)
			}
			if err := n.edsSub.Publish(ctx, h.Height(), h.DataRoot()); err != nil && ctx.Err() == nil {
				n.logger.Error("announce square", "height", h.Height(), "err", err)
			}
			indexSquare(ctx, h, n.coreStore, index, n.logger)
		},
	}); err != nil {
		return fmt.Errorf("nodebuilder: core follower: %w", err)
	}
	n.add("core follower", n.follower.Start, n.follower.Stop)
	if err := n.addPruner(n.pruneWithIndex(n.coreStore.PruneSquares, index)); err != nil {
		return err
	}
	l := localShares{squares: n.coreStore}
	return n.assembleAPI(l, l, index, n.coreStore.SquaresFrom)
}

// assembleLightFull adds a light or full node's services after p2p:
// header-ex server → header-ex client → header store, initialised from the
// trusted hash or height, or the head the bootstrap peers agree on →
// fraud, which loads the stored bad-encoding proofs and asks its peers for
// theirs before anything a proof halts starts → syncer → header-sub, whose messages the syncer verifies before they are
// forwarded → eds-sub → square announcements → (full: shrex server →
// pruner) → DASer, which samples (light) or fetches, stores, serves and
// indexes every square (full) → the API's.
func (n *Node) assembleLightFull(ctx context.Context, opts Options) error {
	conf := n.conf
	n.headers = headerstore.New(n.db)
	if err := n.addExchangeServer(); err != nil {
		return err
	}
	verify := header.VerifyOptions{TrustingPeriod: time.Duration(conf.Header.TrustingPeriod)}
	var err error
	if n.exClient, err = exchange.NewClient(n.p2p.Host(), conf.ChainID,
		exchange.WithTrustedPeers(n.p2p.TrustedPeers()...),
		exchange.WithBlocker(n.p2p),
		exchange.WithVerifyOptions(verify),
		exchange.WithLogger(n.logger.With("service", "header-ex"))); err != nil {
		return fmt.Errorf("nodebuilder: header-ex client: %w", err)
	}
	n.add("header-ex client", n.exClient.Start, n.exClient.Stop)

	// The DASer comes before the syncer, which hands it every new head.
	var index *blob.Index
	if n.mode == Full {
		// A square damaged by a power loss is dropped and fetched again
		// (dropCorrupt), so its file need not be synced before the next.
		n.squares = edsstore.New(n.db, edsstore.Options{CacheSize: conf.Store.CacheSquares, CacheBytes: int64(conf.Store.CacheMiB) << 20,
			OnCorrupt: n.dropCorrupt, UnsyncedFiles: true})
		if index, err = n.newBlobIndex(n.squares); err != nil {
			return err
		}
	}
	if err := n.newAvailability(ctx, index, opts); err != nil {
		return err
	}
	trustedHash, _ := conf.trustedHash() // checked by Validate
	trust := syncer.Trust{Hash: trustedHash, Height: conf.Header.TrustedHeight}
	so := syncer.Options{VerifyOptions: verify, ChainID: conf.ChainID, Logger: n.logger.With("service", "syncer"),
		// Held bad-encoding proofs of the new head are judged before the
		// DASer hears of it, so it never samples a block the node holds
		// a valid proof of; then the DASer's fast path.
		OnHead: func(h *header.ExtendedHeader) {
			n.fraud.HeadAdvanced(ctx, h.Height())
			n.daser.OnHead(h)
		}}
	if opts.Sync != nil {
		opts.Sync(&so)
	}
	if n.syncer, err = syncer.New(n.headers, n.exClient, so); err != nil {
		return fmt.Errorf("nodebuilder: syncer: %w", err)
	}

	n.add("header store", func(ctx context.Context) error {
		_, err := n.initHeaders(ctx, trust, so)
		return err
	}, nil)
	n.addFraud(ctx)
	n.add("syncer", func(sctx context.Context) error {
		if err := n.syncer.Start(sctx); err != nil {
			return err
		}
		n.bg.Go(n.watchSyncer)
		n.bg.Go(func() { n.resyncFraud(ctx) })
		return nil
	}, n.syncer.Stop)
	n.addGossip(n.syncer.Incoming)
	n.addEdsSub()
	n.add("square announcements", n.startAnnouncements, n.stopAnnouncements)
	if n.mode == Full {
		if err := n.addShrexServer(n.squares); err != nil {
			return err
		}
		if err := n.addPruner(n.pruneWithIndex(n.squares.Prune, index)); err != nil {
			return err
		}
	}
	n.add("das", n.daser.Start, n.daser.Stop)

	if n.mode == Full {
		// The DASer answers from its result, or fetches and stores the
		// square.
		return n.assembleAPI(localShares{squares: n.squares, fallback: n.getter}, n.daser, index, n.fullSquaresFrom)
	}
	// The DASer answers from its result, or samples the header now.
	return n.assembleAPI(n.getter, n.daser, nil, nil)
}

// newAvailability makes share exchange and availability: the peer
// manager, the share getter over shrex and the DASer. A light node samples
// every header; a full node fetches, stores (with index, its commitment
// index) and announces every square.
func (n *Node) newAvailability(ctx context.Context, index *blob.Index, opts Options) error {
	conf := n.conf
	var err error
	n.peers, err = peers.New(peers.Options{
		Logger:  n.logger.With("service", "shrex-peers"),
		Blocker: n.p2p,
		FullNodes: func() []peer.ID {
			return append(n.p2p.DiscoveredPeers(), n.p2p.TrustedPeers()...)
		},
	})
	if err != nil {
		return fmt.Errorf("nodebuilder: shrex peer manager: %w", err)
	}
	client, err := shrex.NewClient(n.p2p.Host(), conf.ChainID, shrex.WithLogger(n.logger.With("service", "shrex")), shrex.WithMetrics(n.shrexMetrics()))
	if err != nil {
		return fmt.Errorf("nodebuilder: shrex client: %w", err)
	}
	if n.getter, err = getter.New(client, n.peers, getter.Options{Logger: n.logger.With("service", "shrex-getter")}); err != nil {
		return fmt.Errorf("nodebuilder: share getter: %w", err)
	}
	dopts := das.Options{SamplesPerHeader: conf.DAS.SamplesPerHeader, SamplingWindow: time.Duration(conf.DAS.SamplingWindow),
		DB: n.db, Logger: n.logger.With("service", "das"), Halt: &n.halt, Metrics: n.dasMetrics(),
		// A full DASer's own proof: the fraud service, started before
		// the DASer, stores it, halts the node and gossips it.
		OnBadEncoding: func(p *eds.BadEncodingProof) {
			if err := n.fraud.Publish(ctx, p); err != nil && ctx.Err() == nil {
				n.logger.Error("publish the bad-encoding proof", "height", p.Height, "err", err)
			}
		}}
	if opts.DAS != nil {
		opts.DAS(&dopts)
	}
	if n.mode == Light {
		if n.daser, err = das.New(n.headers, n.getter, dopts); err != nil {
			return fmt.Errorf("nodebuilder: DASer: %w", err)
		}
		return nil
	}
	// eds-sub has started when the DASer does.
	dopts.OnStored = func(h *header.ExtendedHeader) {
		if err := n.edsSub.Publish(ctx, h.Height(), h.DataRoot()); err != nil && ctx.Err() == nil {
			n.logger.Error("announce square", "height", h.Height(), "err", err)
		}
	}
	store := squareStore{db: n.db, squares: n.squares, index: index, log: n.logger}
	if n.daser, err = das.NewFull(n.headers, n.getter, store, dopts); err != nil {
		return fmt.Errorf("nodebuilder: full availability: %w", err)
	}
	return nil
}

// addExchangeServer adds the header-ex server over n.headers.
func (n *Node) addExchangeServer() error {
	var err error
	if n.exServer, err = exchange.NewServer(n.p2p.Host(), n.conf.ChainID, n.headers,
		exchange.WithServerLogger(n.logger.With("service", "header-ex"))); err != nil {
		return fmt.Errorf("nodebuilder: header-ex server: %w", err)
	}
	n.add("header-ex server", n.exServer.Start, n.exServer.Stop)
	return nil
}

// addShrexServer adds the shrex server of squares.
func (n *Node) addShrexServer(squares shrex.Store) error {
	var err error
	if n.shrexServer, err = shrex.NewServer(n.p2p.Host(), n.conf.ChainID, squares,
		shrex.WithNotFound(isNotFound), shrex.WithServerLogger(n.logger.With("service", "shrex")), shrex.WithServerMetrics(n.shrexMetrics())); err != nil {
		return fmt.Errorf("nodebuilder: shrex server: %w", err)
	}
	n.add("shrex server", n.shrexServer.Start, n.shrexServer.Stop)
	return nil
}

// addPruner adds the pruning of squares outside the availability window,
// unless the node is archival.
func (n *Node) addPruner(squares das.SquarePruner) error {
	if n.conf.Store.Archival {
		return nil
	}
	popts := das.PrunerOptions{Window: time.Duration(n.conf.Store.AvailabilityWindow), Logger: n.logger.With("service", "pruner")}
	if n.pruner != nil {
		n.pruner(&popts)
	}
	p, err := das.NewPruner(n.headers, squares, popts)
	if err != nil {
		return fmt.Errorf("nodebuilder: pruner: %w", err)
	}
	n.add("pruner", p.Start, p.Stop)
	return nil
}

// dropCorrupt handles a square of a full node's store found corrupt when
// read (a damaged value log, a flipped bit): it is logged and counted, the
// square and its commitment-index entries are deleted in one
// transaction, and the DASer withdraws its result and fetches the square
// again from peers. Until then reads of the height go to peers (see
// localShares) or answer not found (shrex). It is n.squares's OnCorrupt
// hook: the store is made before the index and the DASer that read it, so
// it reaches them through n; both are set before anything starts.
func (n *Node) dropCorrupt(height uint64, cause error) {
	n.corruptSquares.Add(1)
	log := n.logger.With("service", "store", "height", height)
	log.Error("corrupt square in the store: dropping it and fetching it again from peers", "err", cause)
	err := n.db.Update(func(txn *badger.Txn) error {
		if err := n.squares.Delete(txn, height); err != nil {
			return err
		}
		if n.blobIndex != nil {
			return n.blobIndex.Delete(txn, height)
		}
		return nil
	})
	if err != nil {
		log.Error("dropping the corrupt square", "err", err)
		return
	}
	n.squares.Forget(height)
	if n.daser != nil {
		if err := n.daser.Invalidate(height); err != nil {
			log.Error("invalidating the corrupt square's availability", "err", err)
		}
	}
}

// squareStore is a full node's das.SquareStore: the ODS in a file of its
// own beside its Badger database (eds/store StartWrite; in the database
// when that is in memory), the extended square in the store's cache, its
// blobs in the commitment index.
type squareStore struct {
	db      *badger.DB
	squares *edsstore.Store
	index   *blob.Index
	log     *slog.Logger
}

func (s squareStore) Put(ctx context.Context, h *header.ExtendedHeader, e *eds.ExtendedDataSquare) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var w *edsstore.Write
	if s.squares.Files() {
		var err error
		if w, err = s.squares.StartWrite(h.Height(), e.ODSRows()); err != nil {
			return fmt.Errorf("nodebuilder: store square %d: %w", h.Height(), err)
		}
	}
	err := s.db.Update(func(txn *badger.Txn) error {
		if w != nil {
			return w.Commit(txn)
		}
		return s.squares.Put(txn, h.Height(), e)
	})
	if err != nil {
		if w != nil {
			err = errors.Join(err, w.Abort())
		}
		return fmt.Errorf("nodebuilder: store square %d: %w", h.Height(), err)
	}
	s.squares.Cache(h.Height(), e)
	if err := s.index.Index(ctx, h.Height(), e); err != nil {
		// The square is stored; the index catches up at the next start.
		s.log.Error("index blobs", "height", h.Height(), "err", err)
	}
	return nil
}

func (s squareStore) Has(ctx context.Context, height uint64) (bool, error) {
	return s.squares.Has(ctx, height)
}

// startAnnouncements feeds eds-sub's announcements to the peer manager,
// in a goroutine stopAnnouncements ends.
func (n *Node) startAnnouncements(context.Context) error {
	sub, err := n.edsSub.Subscribe()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	n.announcements = func() { cancel(); sub.Cancel(); <-done }
	go func() {
		defer close(done)
		for {
			a, err := sub.Next(ctx)
			if err != nil {
				return
			}
			n.peers.Announced(a.Height, a.DataRoot, a.From)
		}
	}()
	return nil
}

func (n *Node) stopAnnouncements(context.Context) error {
	if n.announcements != nil {
		n.announcements()
		n.announcements = nil
	}
	return nil
}

// addGossip adds header-sub with verify as its Verifier. It is made when
// it starts: pubsub exists once the p2p host has started.
func (n *Node) addGossip(verify gossip.Verifier) {
	n.add("header-sub", func(ctx context.Context) error {
		g, err := gossip.New(n.p2p.PubSub(), n.conf.ChainID, verify,
			gossip.WithPeerBlocker(n.p2p), gossip.WithLogger(n.logger.With("service", "header-sub")))
		if err != nil {
			return err
		}
		n.gossip = g
		return g.Start(ctx)
	}, func(ctx context.Context) error { return n.gossip.Stop(ctx) })
}

// initHeaders gives an empty header store its first, trusted header,
// retrying while the bootstrap peers are unreachable or have no header
// yet, until ctx ends.
func (n *Node) initHeaders(ctx context.Context, trust syncer.Trust, so syncer.Options) (*header.ExtendedHeader, error) {
	backoff := 100 * time.Millisecond
	for {
		h, err := syncer.Init(ctx, n.headers, n.exClient, trust, so)
		if err == nil {
			n.logger.Info("header store ready", "height", h.Height(), "hash", fmt.Sprintf("%X", h.Hash()))
			return h, nil
		}
		// Waiting cannot mend these: the operator must choose what to trust.
		if errors.Is(err, syncer.ErrTrustExpired) || errors.Is(err, syncer.ErrTrustMismatch) || errors.Is(err, exchange.ErrPeersDisagree) {
			return nil, err
		}
		n.logger.Info("waiting for bootstrap peers to serve the trusted header", "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// watchSyncer hands the syncer's fatal error, if it stops with one, to
// Fatal.
func (n *Node) watchSyncer() {
	<-n.syncer.Done()
	if err := n.syncer.Err(); err != nil && !errors.Is(err, syncer.ErrStopped) {
		select {
		case n.fatal <- n.explain(err):
		default:
		}
	}
}

// addEdsSub adds eds-sub, made when it starts (pubsub exists once the
// p2p host has started).
func (n *Node) addEdsSub() {
	n.add("eds-sub", func(ctx context.Context) error {
		e, err := edssub.New(n.p2p.PubSub(), n.conf.ChainID, edssub.WithValidator(n.edsSubVerify),
			edssub.WithPeerBlocker(n.p2p), edssub.WithLogger(n.logger.With("service", "eds-sub")))
		if err != nil {
			return err
		}
		n.edsSub = e
		return e.Start(ctx)
	}, func(ctx context.Context) error { return n.edsSub.Stop(ctx) })
}

// edsSubAhead is how far above its head a node forwards square
// announcements it cannot check yet: a node a few headers behind still
// passes announcements on, and a peer cannot make it forward any height.
const edsSubAhead = 64

// edsSubVerify accepts an announcement of a square the node's header at
// that height commits to, rejects one that contradicts it, and ignores
// one it cannot check: too far ahead, or below the store.
func (n *Node) edsSubVerify(ctx context.Context, a edssub.Notification) error {
	h, err := n.headers.GetByHeight(ctx, a.Height)
	switch {
	case err == nil:
		if !bytes.Equal(h.DataRoot(), a.DataRoot) {
			return fmt.Errorf("nodebuilder: square %X announced at height %d, whose header commits to %X", a.DataRoot, a.Height, h.DataRoot())
		}
		return nil
	case errors.Is(err, header.ErrNotFound) && a.Height > n.headers.Height() && a.Height <= n.headers.Height()+edsSubAhead:
		return nil
	case errors.Is(err, header.ErrNotFound):
		return fmt.Errorf("%w: height %d: no header to check it against", edssub.ErrIgnore, a.Height)
	default:
		return fmt.Errorf("%w: %v", edssub.ErrIgnore, err)
	}
}

// isNotFound recognises the stores' "not held" errors for shrex servers.
func isNotFound(err error) bool {
	return errors.Is(err, edsstore.ErrNotFound) || errors.Is(err, header.ErrNotFound)
}

// bridgeVerify accepts a gossiped header the bridge stores too, rejects one
// that contradicts its store and ignores one it cannot check yet.
func (n *Node) bridgeVerify(ctx context.Context, h *header.ExtendedHeader) error {
	have, err := n.headers.GetByHeight(ctx, h.Height())
	if errors.Is(err, header.ErrNotFound) {
		return fmt.Errorf("%w: height %d not stored yet", gossip.ErrIgnore, h.Height())
	}
	if err != nil {
		return fmt.Errorf("%w: %v", gossip.ErrIgnore, err)
	}
	if string(have.Hash()) != string(h.Hash()) {
		return fmt.Errorf("nodebuilder: header %d is %X, the core node committed %X", h.Height(), h.Hash(), have.Hash())
	}
	return nil
}

// addFraud adds the fraud service, made when it starts (it needs pubsub):
// it loads the stored bad-encoding proofs, setting n.halt for the lowest,
// joins fraud-sub, serves fraud sync and, before it returns, asks the
// bootstrap peers and the first peers it meets for their proofs, so that a
// node started after a proof was published starts halted. ctx is the
// node's lifetime.
func (n *Node) addFraud(ctx context.Context) {
	n.add("fraud", func(sctx context.Context) error {
		deps := fraud.Deps{Network: n.conf.ChainID, Host: n.p2p.Host(), PubSub: n.p2p.PubSub(),
			Headers: n.headers, Blocker: n.p2p, DB: n.db, Halt: &n.halt, Mesh: n.p2p}
		if n.exClient != nil { // light and full: proofs below the store's base
			deps.Fetch = n.exClient
		}
		f, err := fraud.New(deps,
			fraud.Options{Logger: n.logger.With("service", "fraud"), SyncPeers: n.p2p.TrustedPeers()})
		if err != nil {
			return err
		}
		if err := f.Start(sctx); err != nil {
			return err
		}
		n.fraud = f
		return f.Sync(sctx)
	}, func(sctx context.Context) error {
		if n.fraud == nil {
			return nil
		}
		return n.fraud.Stop(sctx)
	})
}

// resyncFraud asks peers for their proofs again once the syncer has
// caught up with the network: a proof the start-up sync brought for a
// height far above the node's head is held only for fraud.DefaultHoldTTL,
// and the peers asked then may not have had it, so a node that starts far
// behind asks again here. It returns when ctx, the node's lifetime, ends.
func (n *Node) resyncFraud(ctx context.Context) {
	if err := n.syncer.SyncWait(ctx); err != nil {
		return
	}
	if err := n.fraud.Sync(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, fraud.ErrStopped) && !errors.Is(err, fraud.ErrNotStarted) {
		n.logger.Warn("fraud sync after catching up", "err", err)
	}
}
