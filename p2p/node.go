package p2p

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// Connection manager tags of this package.
const (
	tagTrusted   = "datamesh-trusted"
	tagDiscovery = "datamesh-full"
)

// Node is one libp2p host with its DHT, gossipsub, discovery and block
// list. Create it with New, then Start it; Stop releases everything. Its
// methods are safe for concurrent use.
type Node struct {
	cfg     *parsed
	logger  *slog.Logger
	host    host.Host
	gater   *gater
	connMgr *connmgr.BasicConnMgr
	bw      *metrics.BandwidthCounter
	rcLimit rcmgr.ConcreteLimitConfig
	trusted map[peer.ID]bool
	mesh    meshWatch // gossipsub's raw tracer, for OnGraft; its own lock

	// ctx is cancelled by Stop; every goroutine of ours watches it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// startMu serialises Start, and Stop against a running Start; mu
	// guards the fields below it and is never held across network I/O.
	startMu   sync.Mutex
	started   bool
	startErr  error
	mu        sync.Mutex
	stopped   bool
	stopErr   error
	stopDone  chan struct{} // closed when the first Stop has finished
	dht       *dht.IpfsDHT
	ps        *pubsub.PubSub
	found     map[peer.ID]bool // peers found through Config.Discover and connected by us
	closeOnce sync.Once
}

// New validates cfg and builds the node's host: identity key, TCP and QUIC
// transports, connection manager, resource manager and connection gater.
// It does no network I/O and does not listen: Start does. The DHT and
// gossipsub are created by Start. A nil logger discards logs. On error
// nothing is left running.
func New(key crypto.PrivKey, cfg Config, logger *slog.Logger) (*Node, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: nil identity key", ErrInvalidConfig)
	}
	p, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{
		cfg:      p,
		logger:   logger.With("component", "p2p"),
		gater:    newGater(),
		trusted:  make(map[peer.ID]bool, len(p.bootstrap)),
		found:    make(map[peer.ID]bool),
		stopDone: make(chan struct{}),
		rcLimit:  p.Limits.ResourceLimits(),
		bw:       metrics.NewBandwidthCounter(),
	}
	self, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: identity key: %v", ErrInvalidConfig, err)
	}
	// A devnet often hands every node the same bootstrap list; a node
	// does not trust or dial itself.
	p.bootstrap = slices.DeleteFunc(p.bootstrap, func(ai peer.AddrInfo) bool { return ai.ID == self })
	for _, id := range p.blocked {
		n.gater.block(BlockedPeer{ID: id, Reason: "configured", Since: time.Now()})
	}
	for _, ai := range p.bootstrap {
		n.trusted[ai.ID] = true
	}

	n.connMgr, err = connmgr.NewConnManager(p.Limits.ConnLow, p.Limits.ConnHigh,
		connmgr.WithGracePeriod(p.Limits.ConnGrace))
	if err != nil {
		return nil, fmt.Errorf("p2p: connection manager: %w", err)
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(n.rcLimit), rcmgr.WithMetricsDisabled())
	if err != nil {
		n.connMgr.Close()
		return nil, fmt.Errorf("p2p: resource manager: %w", err)
	}
	// Trusted peers' IP addresses are allowlisted: when the limits are
	// reached they can still connect, within rcmgr's separate allowlisted
	// limits. An address that cannot be allowlisted (a DNS name) does not
	// stop the node, which still dials it; it is logged, since that peer
	// then gets no more room than any other when the limits are reached.
	allow := rcmgr.GetAllowlist(rm)
	for _, ai := range p.bootstrap {
		suffix, err := ma.NewComponent("p2p", ai.ID.String())
		if err != nil { // the ID was decoded: not expected
			n.logger.Warn("trusted peer not allowlisted in the resource manager", "peer", ai.ID.String(), "err", err)
			continue
		}
		for _, a := range ai.Addrs {
			if err := allow.Add(a.Encapsulate(suffix.Multiaddr())); err != nil {
				n.logger.Warn("trusted peer address not allowlisted in the resource manager; the peer is held to the ordinary limits on it",
					"peer", ai.ID.String(), "addr", a.String(), "err", err)
			}
		}
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.NoListenAddrs, // Start listens
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(libp2pquic.NewTransport),
		libp2p.ConnectionManager(n.connMgr),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionGater(n.gater),
		libp2p.DisableRelay(),
		// libp2p's metrics register with Prometheus's global registry;
		// the node's metrics are wired by nodebuilder.
		libp2p.DisableMetrics(),
		// The bandwidth counter is ours (BandwidthTotals and the rest),
		// not registered anywhere.
		libp2p.BandwidthReporter(n.bw),
		libp2p.WithDialTimeout(p.DialTimeout),
	}
	if p.UserAgent != "" {
		opts = append(opts, libp2p.UserAgent(p.UserAgent))
	}
	if len(p.announce) > 0 {
		announce := p.announce
		opts = append(opts, libp2p.AddrsFactory(func([]ma.Multiaddr) []ma.Multiaddr {
			return append([]ma.Multiaddr(nil), announce...)
		}))
	}
	if p.NATPortMap {
		opts = append(opts, libp2p.NATPortMap())
	}
	n.host, err = libp2p.New(opts...)
	if err != nil {
		// libp2p.New closes what it was given only on some paths; closing
		// twice is harmless for both.
		rm.Close()
		n.connMgr.Close()
		return nil, fmt.Errorf("p2p: libp2p host: %w", err)
	}
	// A connection that raced BlockPeer past the gater is closed here.
	// Conn.Close from Connected is safe: swarm dispatches the resulting
	// notifications on its own goroutine.
	n.host.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			if n.gater.isBlocked(c.RemotePeer()) {
				_ = c.Close()
			}
		},
	})
	for _, ai := range p.bootstrap {
		n.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.PermanentAddrTTL)
		n.connMgr.Protect(ai.ID, tagTrusted)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	return n, nil
}

// Start listens on the configured addresses, creates the DHT (server or
// client as Config.DHTServer says, protocol prefix "/datamesh/<network>")
// and gossipsub, dials every trusted peer in parallel (each bounded by
// Config.DialTimeout and ctx) and bootstraps the DHT. It then starts, until
// Stop, a loop that redials disconnected trusted peers, advertises
// Config.Advertise and keeps Limits.DiscoveryPeers peers found under
// Config.Discover connected.
//
// Start fails if listening on every address fails, or the DHT or gossipsub
// cannot be created; the node must then still be stopped. Unreachable
// trusted peers are not an error: each failure is logged, an error-level
// line says when none was reachable, and the loop keeps redialling them (a
// devnet's nodes start in any order). When Start returns, every trusted
// peer that could be reached within the timeout is connected.
//
// Start is idempotent: later calls return the first call's result. After
// Stop, or if Stop interrupts it, it returns ErrStopped.
func (n *Node) Start(ctx context.Context) error {
	n.startMu.Lock()
	defer n.startMu.Unlock()
	n.mu.Lock()
	stopped := n.stopped
	n.mu.Unlock()
	if stopped {
		return ErrStopped
	}
	if n.started {
		return n.startErr
	}
	n.started = true
	n.startErr = n.start(ctx)
	if n.startErr == nil && n.ctx.Err() != nil {
		n.startErr = ErrStopped // Stop was called while starting
	}
	return n.startErr
}

func (n *Node) start(ctx context.Context) error {
	// Dials end when either Start's caller or Stop gives up.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopWatch := context.AfterFunc(n.ctx, cancel)
	defer stopWatch()

	if err := n.host.Network().Listen(n.cfg.listen...); err != nil {
		return fmt.Errorf("p2p: listen on %v: %w", n.cfg.listen, err)
	}
	if got := n.host.Network().ListenAddresses(); len(got) < len(n.cfg.listen) {
		// The swarm succeeds if any address works (no IPv6, say).
		n.logger.Info("not listening on every configured address",
			"configured", multiaddrStrings(n.cfg.listen), "listening", multiaddrStrings(got))
	}
	n.logger.Info("p2p host listening",
		"peer_id", n.host.ID().String(),
		"network", n.cfg.Network,
		"user_agent", n.cfg.UserAgent,
		"dht_server", n.cfg.DHTServer,
		"listen", multiaddrStrings(n.host.Network().ListenAddresses()),
		"addrs", n.FullAddrs())

	dhtMode := dht.ModeClient
	if n.cfg.DHTServer {
		dhtMode = dht.ModeServer
	}
	kad, err := dht.New(n.host,
		dht.Mode(dhtMode),
		dht.ProtocolPrefix(protocol.ID(networkPrefix(n.cfg.Network))),
		dht.BootstrapPeersFunc(n.bootstrapPeers),
	)
	if err != nil {
		return fmt.Errorf("p2p: kad-dht: %w", err)
	}
	n.mu.Lock()
	n.dht = kad
	n.mu.Unlock()

	// StrictNoSign with WithNoAuthor: messages carry no author, sequence
	// number or signature, and incoming ones that do are rejected
	// (StrictNoSign alone still stamps From and Seqno on ours). DataMesh messages are authenticated by their content (an
	// extended header by its commit, an eds-sub notice by the data root
	// it names, checked by topic validators), so a peer signature proves
	// nothing useful, costs a signature and a key per message, and would
	// make identical content from two publishers two messages.
	// Hence the content-based message ID: the SHA-256 of the data, which
	// also de-duplicates identical messages from different publishers.
	// Flood publishing sends our own messages to every peer in the topic,
	// not only the mesh, so a message published right after a peer joined
	// is not lost before the mesh forms.
	psOpts := []pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(messageID),
		pubsub.WithFloodPublish(true),
		pubsub.WithPeerExchange(n.cfg.PeerExchange),
		pubsub.WithRawTracer(&n.mesh),
	}
	ps, err := pubsub.NewGossipSub(n.ctx, n.host, psOpts...)
	if err != nil {
		return fmt.Errorf("p2p: gossipsub: %w", err)
	}
	n.mu.Lock()
	n.ps = ps
	n.mu.Unlock()

	n.connectTrusted(ctx, true)
	if err := kad.Bootstrap(ctx); err != nil {
		n.logger.Warn("DHT bootstrap", "err", err)
	}
	n.startLoops(kad)
	return nil
}

// messageID is gossipsub's message ID: the SHA-256 of the message data.
func messageID(m *pubsubpb.Message) string {
	sum := sha256.Sum256(m.GetData())
	return string(sum[:])
}

// bootstrapPeers are the DHT's fallback when its routing table runs low: the
// trusted peers that are not blocked.
func (n *Node) bootstrapPeers() []peer.AddrInfo {
	out := make([]peer.AddrInfo, 0, len(n.cfg.bootstrap))
	for _, ai := range n.cfg.bootstrap {
		if !n.gater.isBlocked(ai.ID) {
			out = append(out, ai)
		}
	}
	return out
}

// Stop stops the loops Start started and waits for them, then closes the
// DHT, gossipsub (by cancelling its context; gossipsub offers no way to
// wait for its goroutines) and the host with its connection and resource
// managers. If ctx ends while waiting for the loops, Stop still closes
// everything and returns ctx's error. Stop is idempotent and safe before
// Start; later calls wait for the first and return its result.
func (n *Node) Stop(ctx context.Context) error {
	n.cancel() // first, so a concurrent Start gives up its dials
	first := false
	n.closeOnce.Do(func() { first = true })
	if !first {
		select {
		case <-n.stopDone:
		case <-ctx.Done():
			return ctx.Err()
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.stopErr
	}
	defer close(n.stopDone)

	// A running Start gives up promptly (its context is cancelled); wait
	// for it so that no loop starts after the wait below.
	n.startMu.Lock()
	n.mu.Lock()
	n.stopped = true
	kad := n.dht
	n.mu.Unlock()
	n.startMu.Unlock()

	var errs []error
	waited := make(chan struct{})
	go func() {
		n.wg.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("p2p: stop: waiting for discovery: %w", ctx.Err()))
	}
	if kad != nil {
		if err := kad.Close(); err != nil {
			errs = append(errs, fmt.Errorf("p2p: close DHT: %w", err))
		}
	}
	if err := n.host.Close(); err != nil {
		errs = append(errs, fmt.Errorf("p2p: close host: %w", err))
	}
	n.mu.Lock()
	n.stopErr = errors.Join(errs...)
	n.mu.Unlock()
	return n.stopErr
}

// Host returns the libp2p host, valid from New on. Protocol handlers may be
// registered on it before Start. The caller must not close it; Stop does.
func (n *Node) Host() host.Host { return n.host }

// PubSub returns the node's gossipsub router, nil until Start has
// succeeded. Consumers join topics (named with TopicID) after Start.
//
// Messages are unsigned and anonymous, and their ID is the SHA-256 of the
// data: publishing bytes already seen (within gossipsub's seen-messages
// TTL, 2 minutes by default) sends nothing. gossipsub may learn a peer's
// subscription before it can send to that peer, so a message published in
// that short window does not reach it even with flood publishing;
// consumers must not rely on one message reaching a peer that just joined
// (header-sub is followed by the next header, and header-ex fills gaps).
func (n *Node) PubSub() *pubsub.PubSub {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ps
}

// DHT returns the node's Kademlia DHT, nil until Start has succeeded. The
// caller must not close it; Stop does.
func (n *Node) DHT() *dht.IpfsDHT {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dht
}

// Network returns the network ID the node runs on.
func (n *Node) Network() string { return n.cfg.Network }

// Limits returns the connection and resource limits in force:
// Config.Limits with its defaults filled in.
func (n *Node) Limits() Limits { return n.cfg.Limits }

// TrustedPeers returns the IDs of Config.BootstrapPeers other than the
// node's own, in configuration order, without duplicates, whether or not they are blocked or connected.
// The caller owns the slice.
func (n *Node) TrustedPeers() []peer.ID {
	out := make([]peer.ID, len(n.cfg.bootstrap))
	for i, ai := range n.cfg.bootstrap {
		out[i] = ai.ID
	}
	return out
}

// IsTrusted reports whether id is one of Config.BootstrapPeers.
func (n *Node) IsTrusted(id peer.ID) bool { return n.trusted[id] }

// Info returns the node's peer ID and the addresses it advertises (empty
// before Start). The caller owns the slice.
func (n *Node) Info() peer.AddrInfo {
	return peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()}
}

// FullAddrs returns the advertised addresses with the /p2p/<id> suffix, the
// form another node's BootstrapPeers takes, for the CLI to print. Empty
// before Start.
func (n *Node) FullAddrs() []string {
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()})
	if err != nil { // only for an empty ID, which a host never has
		return nil
	}
	return multiaddrStrings(addrs)
}

func multiaddrStrings(addrs []ma.Multiaddr) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// BlockPeer adds id to the block list: its connections are closed now and
// no connection to or from it is accepted until UnblockPeer. reason (may be
// nil) is logged and kept in BlockedPeers. Blocking a peer already blocked
// keeps the first reason. A trusted peer can be blocked (a misbehaving
// bootstrap peer must not be immune); that is logged at error level, and
// it stays protected from trimming once unblocked. Blocking the node itself
// is ignored.
func (n *Node) BlockPeer(id peer.ID, reason error) {
	if id == n.host.ID() || id == "" {
		return
	}
	why := "unspecified"
	if reason != nil {
		why = reason.Error()
	}
	if n.gater.block(BlockedPeer{ID: id, Reason: why, Since: time.Now()}) {
		level := slog.LevelWarn
		if n.trusted[id] {
			level = slog.LevelError
		}
		n.logger.Log(context.Background(), level, "blocking peer", "peer", id.String(), "reason", why, "trusted", n.trusted[id])
	}
	if err := n.host.Network().ClosePeer(id); err != nil {
		n.logger.Debug("closing blocked peer's connections", "peer", id.String(), "err", err)
	}
	n.connMgr.UntagPeer(id, tagDiscovery)
	n.mu.Lock()
	delete(n.found, id)
	kad := n.dht
	n.mu.Unlock()
	if kad != nil {
		kad.RoutingTable().RemovePeer(id)
	}
}

// UnblockPeer removes id from the block list; the node may connect to it
// again (a trusted peer is redialled by the discovery loop). Unblocking a
// peer that is not blocked does nothing.
func (n *Node) UnblockPeer(id peer.ID) {
	if n.gater.unblock(id) {
		n.logger.Info("unblocked peer", "peer", id.String())
	}
}

// BlockedPeers returns the block list, oldest first. The caller owns the
// slice.
func (n *Node) BlockedPeers() []BlockedPeer { return n.gater.list() }

// IsBlocked reports whether id is on the block list.
func (n *Node) IsBlocked(id peer.ID) bool { return n.gater.isBlocked(id) }
