package nodebuilder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	edsstore "github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/exchange"
	"github.com/datamesh/mesh-node/header/gossip"
	headerstore "github.com/datamesh/mesh-node/header/store"
	"github.com/datamesh/mesh-node/header/syncer"
	"github.com/datamesh/mesh-node/p2p"
	"github.com/datamesh/mesh-node/shrex"
	"github.com/datamesh/mesh-node/shrex/edssub"
	"github.com/datamesh/mesh-node/shrex/getter"
	"github.com/datamesh/mesh-node/shrex/peers"
)

// assemble builds the services of n's mode, in start order.
func (n *Node) assemble(key crypto.PrivKey, opts Options) error {
	conf := n.Config
	var err error
	metricsAddr := conf.Metrics.Address
	if opts.MetricsAddr != "" {
		metricsAddr = opts.MetricsAddr
	}
	if metricsAddr != "" { // first to start, last to stop
		if err := n.addMetrics(metricsAddr); err != nil {
			return err
		}
	}
	if n.P2P, err = p2p.New(key, conf.p2pConfig(n.Mode), n.logger.With("service", "p2p")); err != nil {
		return fmt.Errorf("nodebuilder: p2p: %w", err)
	}
	n.add("p2p", n.P2P.Start, n.P2P.Stop)
	verify := header.VerifyOptions{TrustingPeriod: time.Duration(conf.Header.TrustingPeriod)}

	if n.Mode == Bridge {
		n.Store = core.NewStore(n.DB, conf.Store.CacheSquares)
		n.Headers = n.Store.Headers()
	} else {
		n.Headers = headerstore.New(n.DB)
	}
	if n.Server, err = exchange.NewServer(n.P2P.Host(), conf.ChainID, n.Headers); err != nil {
		return fmt.Errorf("nodebuilder: header-ex server: %w", err)
	}
	n.add("header-ex server", n.Server.Start, n.Server.Stop)

	if n.Mode == Bridge {
		if err := n.assembleBridge(); err != nil {
			return err
		}
		return n.assembleAPI()
	}

	if n.Client, err = exchange.NewClient(n.P2P.Host(), conf.ChainID,
		exchange.WithTrustedPeers(n.P2P.TrustedPeers()...),
		exchange.WithBlocker(n.P2P),
		exchange.WithVerifyOptions(verify),
		exchange.WithLogger(n.logger.With("service", "header-ex"))); err != nil {
		return fmt.Errorf("nodebuilder: header-ex client: %w", err)
	}
	n.add("header-ex client", n.Client.Start, n.Client.Stop)

	trustedHash, _ := conf.trustedHash() // checked by Validate
	trust := syncer.Trust{Hash: trustedHash, Height: conf.Header.TrustedHeight}
	so := syncer.Options{VerifyOptions: verify, ChainID: conf.ChainID, Logger: n.logger.With("service", "syncer"),
		// The DASer's fast path; it is made below, before anything starts.
		OnHead: func(h *header.ExtendedHeader) { n.DASer.OnHead(h) }}
	if opts.Sync != nil {
		opts.Sync(&so)
	}
	n.add("header store", func(ctx context.Context) error {
		_, err := n.initHeaders(ctx, trust, so)
		return err
	}, nil)
	if n.Syncer, err = syncer.New(n.Headers, n.Client, so); err != nil {
		return fmt.Errorf("nodebuilder: syncer: %w", err)
	}
	n.add("syncer", func(ctx context.Context) error {
		if err := n.Syncer.Start(ctx); err != nil {
			return err
		}
		go n.watchSyncer()
		return nil
	}, n.Syncer.Stop)

	n.addGossip(n.Syncer.Incoming)
	n.addEdsSub()
	if err := n.assembleAvailability(opts); err != nil {
		return err
	}
	return n.assembleAPI()
}

// assembleAvailability adds share exchange and availability: a light node
// samples every header through shrex; a full node fetches, stores, serves
// and announces every square.
func (n *Node) assembleAvailability(opts Options) error {
	conf := n.Config
	var err error
	n.Peers, err = peers.New(peers.Options{
		Logger:  n.logger.With("service", "shrex-peers"),
		Blocker: n.P2P,
		FullNodes: func() []peer.ID {
			return append(n.P2P.DiscoveredPeers(), n.P2P.TrustedPeers()...)
		},
	})
	if err != nil {
		return fmt.Errorf("nodebuilder: shrex peer manager: %w", err)
	}
	n.add("square announcements", n.startAnnouncements, n.stopAnnouncements)
	client, err := shrex.NewClient(n.P2P.Host(), conf.ChainID, shrex.WithLogger(n.logger.With("service", "shrex")), shrex.WithMetrics(n.shrexMetrics()))
	if err != nil {
		return fmt.Errorf("nodebuilder: shrex client: %w", err)
	}
	if n.Getter, err = getter.New(client, n.Peers, getter.Options{Logger: n.logger.With("service", "shrex-getter")}); err != nil {
		return fmt.Errorf("nodebuilder: share getter: %w", err)
	}
	dopts := das.Options{SamplesPerHeader: conf.DAS.SamplesPerHeader, SamplingWindow: time.Duration(conf.DAS.SamplingWindow),
		DB: n.DB, Logger: n.logger.With("service", "das")}
	if opts.DAS != nil {
		opts.DAS(&dopts)
	}
	if n.Mode == Light {
		if n.DASer, err = das.New(n.Headers, n.Getter, dopts); err != nil {
			return fmt.Errorf("nodebuilder: DASer: %w", err)
		}
	} else {
		n.Squares = edsstore.New(n.DB, edsstore.Options{CacheSize: conf.Store.CacheSquares, OnCorrupt: n.dropCorrupt})
		if n.Shrex, err = shrex.NewServer(n.P2P.Host(), conf.ChainID, n.Squares,
			shrex.WithNotFound(isNotFound), shrex.WithServerLogger(n.logger.With("service", "shrex")), shrex.WithServerMetrics(n.shrexMetrics())); err != nil {
			return fmt.Errorf("nodebuilder: shrex server: %w", err)
		}
		n.add("shrex server", n.Shrex.Start, n.Shrex.Stop)
		dopts.OnStored = func(h *header.ExtendedHeader) {
			if err := n.EdsSub.Publish(context.Background(), h.Height(), h.DataRoot()); err != nil {
				n.logger.Error("announce square", "height", h.Height(), "err", err)
			}
		}
		if n.DASer, err = das.NewFull(n.Headers, n.Getter, squareStore{n}, dopts); err != nil {
			return fmt.Errorf("nodebuilder: full availability: %w", err)
		}
		if err := n.addPruner(n.pruneWithIndex(n.Squares.Prune)); err != nil {
			return err
		}
	}
	n.add("das", n.DASer.Start, n.DASer.Stop)
	return nil
}

// addPruner adds the pruning of squares outside the availability window,
// unless the node is archival.
func (n *Node) addPruner(squares das.SquarePruner) error {
	if n.Config.Store.Archival {
		return nil
	}
	popts := das.PrunerOptions{Logger: n.logger.With("service", "pruner")}
	if n.pruner != nil {
		n.pruner(&popts)
	}
	p, err := das.NewPruner(n.Headers, squares, popts)
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
// localShares) or answer not found (shrex).
func (n *Node) dropCorrupt(height uint64, cause error) {
	n.corruptSquares.Add(1)
	log := n.logger.With("service", "store", "height", height)
	log.Error("corrupt square in the store: dropping it and fetching it again from peers", "err", cause)
	err := n.DB.Update(func(txn *badger.Txn) error {
		if err := n.Squares.Delete(txn, height); err != nil {
			return err
		}
		if n.BlobIndex != nil {
			return n.BlobIndex.Delete(txn, height)
		}
		return nil
	})
	if err != nil {
		log.Error("dropping the corrupt square", "err", err)
		return
	}
	n.Squares.Forget(height)
	if n.DASer != nil {
		if err := n.DASer.Invalidate(height); err != nil {
			log.Error("invalidating the corrupt square's availability", "err", err)
		}
	}
}

// squareStore is a full node's das.SquareStore: the ODS in its Badger
// database, the extended square in the store's cache.
type squareStore struct{ n *Node }

func (s squareStore) Put(ctx context.Context, h *header.ExtendedHeader, e *eds.ExtendedDataSquare) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.n.DB.Update(func(txn *badger.Txn) error { return s.n.Squares.Put(txn, h.Height(), e) }); err != nil {
		return fmt.Errorf("nodebuilder: store square %d: %w", h.Height(), err)
	}
	s.n.Squares.Cache(h.Height(), e)
	if err := s.n.BlobIndex.Index(ctx, h.Height(), e); err != nil {
		// The square is stored; the index catches up at the next start.
		s.n.logger.Error("index blobs", "height", h.Height(), "err", err)
	}
	return nil
}

func (s squareStore) Has(ctx context.Context, height uint64) (bool, error) {
	return s.n.Squares.Has(ctx, height)
}

// startAnnouncements feeds eds-sub's announcements to the peer manager,
// in a goroutine stopAnnouncements ends.
func (n *Node) startAnnouncements(context.Context) error {
	sub, err := n.EdsSub.Subscribe()
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
			n.Peers.Announced(a.Height, a.DataRoot, a.From)
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
		g, err := gossip.New(n.P2P.PubSub(), n.Config.ChainID, verify,
			gossip.WithPeerBlocker(n.P2P), gossip.WithLogger(n.logger.With("service", "header-sub")))
		if err != nil {
			return err
		}
		n.Gossip = g
		return g.Start(ctx)
	}, func(ctx context.Context) error { return n.Gossip.Stop(ctx) })
}

// initHeaders gives an empty header store its first, trusted header,
// retrying while the bootstrap peers are unreachable or have no header
// yet, until ctx ends.
func (n *Node) initHeaders(ctx context.Context, trust syncer.Trust, so syncer.Options) (*header.ExtendedHeader, error) {
	backoff := 100 * time.Millisecond
	for {
		h, err := syncer.Init(ctx, n.Headers, n.Client, trust, so)
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
	<-n.Syncer.Done()
	if err := n.Syncer.Err(); err != nil && !errors.Is(err, syncer.ErrStopped) {
		select {
		case n.fatal <- n.explain(err):
		default:
		}
	}
}

// assembleBridge adds a bridge's header-sub and core follower.
func (n *Node) assembleBridge() error {
	conf := n.Config
	var err error
	// A bridge learns headers from its core node, not from gossip: it
	// forwards another bridge's header only when it holds the same one.
	n.addGossip(n.bridgeVerify)
	n.addEdsSub()
	if n.Shrex, err = shrex.NewServer(n.P2P.Host(), conf.ChainID, n.Store,
		shrex.WithNotFound(isNotFound), shrex.WithServerLogger(n.logger.With("service", "shrex")), shrex.WithServerMetrics(n.shrexMetrics())); err != nil {
		return fmt.Errorf("nodebuilder: shrex server: %w", err)
	}
	n.add("shrex server", n.Shrex.Start, n.Shrex.Stop)

	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	if n.Follower, err = core.New(core.Options{
		RPC:           conf.Core.RPC,
		ChainID:       conf.ChainID,
		Store:         n.Store,
		MaxSquareSize: conf.Square.MaxSize,
		Logger:        n.logger.With("service", "core"),
		Metrics:       n.ingestMetrics(),
		OnHeader: func(h *header.ExtendedHeader) {
			n.logger.Info("stored extended header", "height", h.Height(), "square", h.DAH.SquareSize(), "data_root", fmt.Sprintf("%X", h.DataRoot()))
			if err := n.Gossip.Publish(ctx, h); err != nil && ctx.Err() == nil {
				n.logger.Error("publish header", "height", h.Height(), "err", err)
			}
			if err := n.EdsSub.Publish(ctx, h.Height(), h.DataRoot()); err != nil && ctx.Err() == nil {
				n.logger.Error("announce square", "height", h.Height(), "err", err)
			}
			n.indexSquare(ctx, h, n.Store)
		},
	}); err != nil {
		return fmt.Errorf("nodebuilder: core follower: %w", err)
	}
	n.add("core follower", n.Follower.Start, n.Follower.Stop)
	return n.addPruner(n.pruneWithIndex(n.Store.PruneSquares))
}

// addEdsSub adds eds-sub, made when it starts (pubsub exists once the
// p2p host has started).
func (n *Node) addEdsSub() {
	n.add("eds-sub", func(ctx context.Context) error {
		e, err := edssub.New(n.P2P.PubSub(), n.Config.ChainID, edssub.WithValidator(n.edsSubVerify),
			edssub.WithPeerBlocker(n.P2P), edssub.WithLogger(n.logger.With("service", "eds-sub")))
		if err != nil {
			return err
		}
		n.EdsSub = e
		return e.Start(ctx)
	}, func(ctx context.Context) error { return n.EdsSub.Stop(ctx) })
}

// edsSubAhead is how far above its head a node forwards square
// announcements it cannot check yet: a node a few headers behind still
// passes announcements on, and a peer cannot make it forward any height.
const edsSubAhead = 64

// edsSubVerify accepts an announcement of a square the node's header at
// that height commits to, rejects one that contradicts it, and ignores
// one it cannot check: too far ahead, or below the store.
func (n *Node) edsSubVerify(ctx context.Context, a edssub.Notification) error {
	h, err := n.Headers.GetByHeight(ctx, a.Height)
	switch {
	case err == nil:
		if !bytes.Equal(h.DataRoot(), a.DataRoot) {
			return fmt.Errorf("nodebuilder: square %X announced at height %d, whose header commits to %X", a.DataRoot, a.Height, h.DataRoot())
		}
		return nil
	case errors.Is(err, header.ErrNotFound) && a.Height > n.Headers.Height() && a.Height <= n.Headers.Height()+edsSubAhead:
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
	have, err := n.Headers.GetByHeight(ctx, h.Height())
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
