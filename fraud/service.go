package fraud

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/peerlimit"
	"github.com/datamesh/mesh-node/internal/streamclient"
	"github.com/datamesh/mesh-node/internal/streamserver"
	"github.com/datamesh/mesh-node/internal/topic"
)

// Errors.
var (
	// ErrInvalidProof is wrapped by the reason a peer is blocked for a
	// proof: one that does not decode, is too large, names another header
	// than the one the node stores at its height, or fails Validate. It is
	// also wrapped by Publish for a proof it cannot encode.
	ErrInvalidProof = errors.New("fraud: invalid proof")
	// ErrNotStarted is returned by Publish and Sync before Start or after
	// Stop.
	ErrNotStarted = errors.New("fraud: not started")
	// ErrStopped is returned by Start and Subscribe after Stop: a Service
	// is not restarted.
	ErrStopped = errors.New("fraud: stopped")
	// ErrInvalidOption is wrapped by New for dependencies or options it
	// cannot use.
	ErrInvalidOption = errors.New("fraud: invalid option")
)

// Headers is the node's verified header store, as fraud reads it:
// header.Store has these methods. Proofs are validated only against the
// headers it returns (see the package documentation).
type Headers interface {
	// GetByHeight returns the stored header at height, or an error
	// wrapping header.ErrNotFound.
	GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error)
	// Height returns the height of the store's head, 0 when it is empty.
	Height() uint64
	// Tail returns the store's lowest header, its base, or an error
	// wrapping header.ErrNotFound when it is empty. It is read only to
	// tell a proof below the base (see HeaderFetcher) from a store that
	// lost a header.
	Tail(ctx context.Context) (*header.ExtendedHeader, error)
}

// HeaderFetcher gets a header the store does not hold, below its base,
// from the node's trusted peers: header/exchange's Client has this method
// (it asks every trusted peer, requires them to agree, and checks that the
// header Validates). The Service checks the header again (Validate, its
// height) and trusts it no further than that: see the package
// documentation, "Proofs below the store's base".
type HeaderFetcher interface {
	// GetByHeight returns the header at height, or an error.
	GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error)
}

// PeerBlocker is told about peers that sent invalid proofs. p2p.Node
// implements it. BlockPeer must not block: it is called from the topic
// validator.
type PeerBlocker interface {
	BlockPeer(id peer.ID, reason error)
}

// ServiceName is the libp2p resource-manager service of fraud-sync streams.
const ServiceName = "datamesh.fraud"

// Defaults of Options.
const (
	// DefaultMaxAhead is how far above the store's head a proof is held
	// for its header rather than dropped: as far as eds-sub forwards
	// announcements; a node a few headers behind still keeps the proofs
	// it cannot check yet, and a peer cannot make it keep proofs for any
	// height it likes.
	DefaultMaxAhead = 64
	// DefaultPeerRate and DefaultPeerBurst bound the proof messages one
	// peer may send on the topic: an honest peer forwards each distinct
	// proof once, and a bad block has few; a message over the limit is
	// dropped unread.
	DefaultPeerRate  = 1.0
	DefaultPeerBurst = 8
	// DefaultHoldPerPeer and DefaultHoldTotal bound the proofs held for
	// their header: a few per sender, a few dozen in all.
	// DefaultHoldTTL is how long one is held: far longer than a node
	// within DefaultMaxAhead of the network head takes to catch up.
	DefaultHoldPerPeer = 4
	DefaultHoldTotal   = 32
	DefaultHoldTTL     = 10 * time.Minute
	// DefaultInvalidCacheSize is how many messages found invalid by
	// Validate are remembered by hash, so that a copy from another peer
	// costs a hash, not a validation.
	DefaultInvalidCacheSize = 1024
	// DefaultMaxStoredProofs bounds the stored entries Start reads: the
	// lowest heights first, so the proof the node halts on among them.
	DefaultMaxStoredProofs = 64
	// DefaultPollInterval is how often the store's head is read to
	// release held proofs.
	DefaultPollInterval = time.Second
	// DefaultValidatorTimeout bounds judging one message: a store read
	// and a validation of about 1–2 ms at k = 128, or the wait for the
	// validation of another proof of the same height.
	DefaultValidatorTimeout = 10 * time.Second
	// DefaultSyncPeerCount is how many peers besides the bootstrap peers
	// Sync asks; DefaultSyncTimeout bounds it.
	DefaultSyncPeerCount = 3
	DefaultSyncTimeout   = 5 * time.Second
	// DefaultResyncInterval is the least time between two background
	// syncs (see Options.ResyncInterval).
	DefaultResyncInterval = 30 * time.Second
	// DefaultMaxFetches bounds the headers fetched at once through
	// Deps.Fetch (one per height at most, since a height is checked once
	// at a time); a proof that finds them all busy is dropped without
	// blame. DefaultFetchTimeout bounds one fetch: the trusted peers'
	// answers to one header-ex request.
	DefaultMaxFetches   = 2
	DefaultFetchTimeout = 5 * time.Second
	// DefaultServeRate and DefaultServeBurst are each peer's token bucket
	// for fraud-sync requests: a node asks once at start and rarely
	// after.
	DefaultServeRate  = 1.0
	DefaultServeBurst = 4
	// SubscriptionBuffer is the buffer of a Subscribe channel. A
	// subscriber that lets it fill misses proofs (they are logged).
	SubscriptionBuffer = 16
)

// Server limits of fraud sync.
const (
	serveStreamsPerPeer = 2
	serveReadTimeout    = 5 * time.Second  // the request is written at once
	serveWriteTimeout   = 30 * time.Second // 1 MiB at about 300 kbit/s
	liarCacheSize       = 4096             // senders remembered as blocked
)

// Deps are what a Service works with. All but Blocker, DB and Fetch are
// required.
type Deps struct {
	// Network is the network ID of the topic and protocol IDs.
	Network string
	Host    host.Host
	// PubSub is the node's gossipsub; it exists once the p2p host has
	// started, so the node makes the Service then.
	PubSub *pubsub.PubSub
	// Headers is the node's verified header store.
	Headers Headers
	// Blocker is told about peers that sent invalid proofs; nil only logs
	// them.
	Blocker PeerBlocker
	// DB keeps the valid proofs under the key prefix "fraud/"; nil keeps
	// them in memory only.
	DB *badger.DB
	// Halt is set by every valid proof.
	Halt *Halt
	// Fetch gets the header of a proof below the store's base from the
	// node's trusted peers; nil ignores such proofs. A light node that
	// starts from a recent trusted header needs it to learn of a proof
	// published before it started.
	Fetch HeaderFetcher
	// Mesh tells the Service which peers join its gossipsub mesh of the
	// topic, so that it asks each for the proofs it holds (see the package
	// documentation, "Mesh peers"); p2p.Node implements it. nil asks
	// nobody then: a proof forwarded just before the mesh formed may be
	// missed until something else (Sync, a background sync) asks.
	Mesh MeshWatcher
}

// MeshWatcher reports the peers gossipsub adds to the node's mesh of a
// topic. p2p.Node implements it.
type MeshWatcher interface {
	// OnGraft calls fn, which must not block, with every peer added to
	// the mesh of topic from now on, until stop is called.
	OnGraft(topic string, fn func(peer.ID)) (stop func())
}

// Options tune a Service. The zero value takes every default.
type Options struct {
	// Logger receives warnings and the halt; nil discards.
	Logger *slog.Logger
	// MaxMessageSize bounds a proof message and a fraud-sync response
	// frame: see DefaultMaxMessageSize.
	MaxMessageSize int
	// MaxAhead: see DefaultMaxAhead.
	MaxAhead uint64
	// PeerRate and PeerBurst: see DefaultPeerRate.
	PeerRate  float64
	PeerBurst int
	// HoldPerPeer, HoldTotal and HoldTTL: see DefaultHoldPerPeer.
	HoldPerPeer int
	HoldTotal   int
	HoldTTL     time.Duration
	// InvalidCacheSize: see DefaultInvalidCacheSize.
	InvalidCacheSize int
	// MaxStoredProofs: see DefaultMaxStoredProofs.
	MaxStoredProofs int
	// PollInterval: see DefaultPollInterval.
	PollInterval time.Duration
	// ValidatorTimeout: see DefaultValidatorTimeout.
	ValidatorTimeout time.Duration
	// SyncPeers are the peers Sync always asks: the bootstrap peers.
	SyncPeers []peer.ID
	// SyncPeerCount and SyncTimeout: see DefaultSyncPeerCount.
	SyncPeerCount int
	SyncTimeout   time.Duration
	// ResyncInterval is the least time between two background syncs,
	// which the Service runs after it dropped a proof message for a
	// reason other than its content (a sender over its rate or already
	// blocked, no room to hold it, a validation that ran out of time):
	// gossipsub drops later copies of a message it has seen, so without
	// them a peer could keep a valid proof from the node by sending it in
	// a copy the node refuses. Zero means DefaultResyncInterval; a
	// negative value disables them.
	ResyncInterval time.Duration
	// MaxFetches and FetchTimeout: see DefaultMaxFetches.
	MaxFetches   int
	FetchTimeout time.Duration
	// ServeRate and ServeBurst: see DefaultServeRate.
	ServeRate  float64
	ServeBurst int
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() (Options, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defInt(&o.MaxMessageSize, DefaultMaxMessageSize)
	defInt(&o.PeerBurst, DefaultPeerBurst)
	defInt(&o.HoldPerPeer, DefaultHoldPerPeer)
	defInt(&o.HoldTotal, DefaultHoldTotal)
	defInt(&o.InvalidCacheSize, DefaultInvalidCacheSize)
	defInt(&o.MaxStoredProofs, DefaultMaxStoredProofs)
	defInt(&o.SyncPeerCount, DefaultSyncPeerCount)
	defInt(&o.ServeBurst, DefaultServeBurst)
	defInt(&o.MaxFetches, DefaultMaxFetches)
	defDur(&o.HoldTTL, DefaultHoldTTL)
	defDur(&o.PollInterval, DefaultPollInterval)
	defDur(&o.ValidatorTimeout, DefaultValidatorTimeout)
	defDur(&o.SyncTimeout, DefaultSyncTimeout)
	defDur(&o.ResyncInterval, DefaultResyncInterval)
	defDur(&o.FetchTimeout, DefaultFetchTimeout)
	if o.MaxAhead == 0 {
		o.MaxAhead = DefaultMaxAhead
	}
	if o.PeerRate == 0 {
		o.PeerRate = DefaultPeerRate
	}
	if o.ServeRate == 0 {
		o.ServeRate = DefaultServeRate
	}
	switch {
	case o.MaxMessageSize < 0, o.PeerBurst < 0, o.HoldPerPeer < 0, o.HoldTotal < 0, o.InvalidCacheSize < 0,
		o.MaxStoredProofs < 0, o.SyncPeerCount < 0, o.ServeBurst < 0, o.MaxFetches < 0:
		return o, fmt.Errorf("%w: a negative limit", ErrInvalidOption)
	case o.HoldTTL < 0, o.PollInterval < 0, o.ValidatorTimeout < 0, o.SyncTimeout < 0, o.FetchTimeout < 0:
		return o, fmt.Errorf("%w: a negative duration", ErrInvalidOption)
	case !(o.PeerRate > 0) || !(o.ServeRate > 0):
		return o, fmt.Errorf("%w: rates %v and %v, want > 0", ErrInvalidOption, o.PeerRate, o.ServeRate)
	}
	return o, nil
}

// Stats count what became of the proofs a Service judged.
type Stats struct {
	// Received counts the proof messages judged from other peers, on the
	// topic and in fraud-sync responses.
	Received uint64
	// Valid counts the proofs that became valid: judged, loaded at Start
	// and published by the node.
	Valid uint64
	// Invalid counts the proofs whose sender was blocked for them.
	Invalid uint64
	// Ignored counts the messages dropped without blame: duplicates, too
	// far ahead, over a rate, no room to hold them, refused because their
	// sender was already blocked, or that could not be checked.
	Ignored uint64
	// Held counts the proofs held for their header; Holding is how many
	// are held now.
	Held    uint64
	Holding int
	// Validations counts the calls of BadEncodingProof.Validate.
	Validations uint64
	// Resyncs counts the background syncs.
	Resyncs uint64
	// Fetches counts the headers asked of Deps.Fetch, whatever the
	// outcome.
	Fetches uint64
	// MeshPulls counts the fraud-sync requests to peers that joined the
	// node's mesh of the topic (Deps.Mesh), whatever the outcome.
	MeshPulls uint64
}

// Service gossips, syncs, stores and validates bad-encoding proofs, and
// sets the node's Halt. Its methods are safe for concurrent use.
type Service struct {
	deps   Deps
	opts   Options
	log    *slog.Logger
	pid    protocol.ID
	topic  *topic.Topic
	server *streamserver.Server
	client *streamclient.Client
	rate   *peerlimit.Limiter // proof messages per peer on the topic
	serveL *peerlimit.Limiter // fraud-sync requests per peer

	ctx      context.Context // cancelled by Stop
	cancel   context.CancelFunc
	loopDone chan struct{} // closed when run returns; made by Start
	wake     chan struct{} // tells run there is something to gossip
	fetches  chan struct{} // a slot per fetch in flight (MaxFetches)
	pullWake chan struct{} // tells pullMesh there are new mesh peers
	pullDone chan struct{} // closed when pullMesh returns; made by Start
	stopMesh func()        // ends the Deps.Mesh watch

	// releaseMu serialises the releases of held proofs (the poll and
	// HeadAdvanced), so that HeadAdvanced returns only once a release
	// the poll had begun is over.
	releaseMu sync.Mutex

	life  sync.Mutex // serialises Start and Stop
	state int        // stateNew, stateStarted, stateStopped; under mu

	mu         sync.Mutex
	judge      *judge
	changed    chan struct{} // closed and replaced when a check ends
	proofs     []stored      // valid proofs, in key order
	subs       map[*subscriber]struct{}
	waiters    map[*waiter]struct{} // topic validators waiting for held proofs
	stats      Stats
	trouble    bool // a message was dropped for a reason other than its content
	lastResync time.Time
	hdrCache   map[uint64]cachedHeader // see headerAt
	hdrOrder   []uint64
	releasing  bool                 // a release has taken proofs out of the holds and judges them
	toGossip   [][]byte             // valid proofs HeadAdvanced left to run to gossip
	meshNew    map[peer.ID]struct{} // peers grafted into the topic's mesh, not asked yet
}

const (
	stateNew = iota
	stateStarted
	stateStopped
)

// New returns a Service for deps. It does no I/O: Start loads the stored
// proofs and joins the network.
func New(deps Deps, opts Options) (*Service, error) {
	switch {
	case deps.Network == "":
		return nil, fmt.Errorf("%w: empty network", ErrInvalidOption)
	case deps.Host == nil || deps.PubSub == nil || deps.Headers == nil || deps.Halt == nil:
		return nil, fmt.Errorf("%w: Host, PubSub, Headers and Halt are required", ErrInvalidOption)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		deps:   deps,
		opts:   opts,
		log:    opts.Logger,
		pid:    ProtocolID(deps.Network),
		rate:   peerlimit.New(1<<30, opts.PeerRate, opts.PeerBurst, opts.Now),
		serveL: peerlimit.New(serveStreamsPerPeer, opts.ServeRate, opts.ServeBurst, opts.Now),
		ctx:    ctx,
		cancel: cancel,
		judge: newJudge(judgeLimits{
			maxAhead: opts.MaxAhead, holdPerPeer: opts.HoldPerPeer, holdTotal: opts.HoldTotal,
			holdTTL: opts.HoldTTL, invalid: opts.InvalidCacheSize, liars: liarCacheSize,
		}),
		changed:  make(chan struct{}),
		wake:     make(chan struct{}, 1),
		fetches:  make(chan struct{}, opts.MaxFetches),
		pullWake: make(chan struct{}, 1),
		meshNew:  map[peer.ID]struct{}{},
		subs:     map[*subscriber]struct{}{},
		waiters:  map[*waiter]struct{}{},
		hdrCache: map[uint64]cachedHeader{},
	}
	s.topic = topic.New(deps.PubSub, topic.Config{
		Name: "fraud", ID: TopicID(deps.Network), Validate: s.validate,
		Timeout: opts.ValidatorTimeout, Log: s.log,
		ErrNotStarted: ErrNotStarted, ErrStopped: ErrStopped,
	})
	s.server = streamserver.New("fraud", deps.Host, s.log, streamserver.Protocol{ID: s.pid, Serve: s.serve})
	s.client = streamclient.New(deps.Host, streamclient.Config{
		Name: "fraud", Service: ServiceName, Fault: ErrInvalidMessage, Log: s.log,
	})
	return s, nil
}

// Start loads the stored proofs, setting the Halt for the lowest, then
// registers the fraud-sync server and joins the topic. Calling it again is
// a no-op; after Stop it returns ErrStopped. The node calls Sync next,
// before any service a proof halts.
func (s *Service) Start(ctx context.Context) error {
	s.life.Lock()
	defer s.life.Unlock()
	switch s.getState() {
	case stateStarted:
		return nil
	case stateStopped:
		return ErrStopped
	}
	loaded, err := loadProofs(s.deps.DB, s.opts.MaxStoredProofs, s.log)
	if err != nil {
		return err
	}
	for _, st := range loaded {
		s.add(st)
	}
	if err := s.server.Start(); err != nil {
		return fmt.Errorf("fraud: starting the sync server: %w", err)
	}
	// Watched before the topic is joined: joining grafts the peers
	// already known to be on it.
	s.stopMesh = func() {}
	if s.deps.Mesh != nil {
		s.stopMesh = s.deps.Mesh.OnGraft(s.topic.ID(), s.grafted)
	}
	if err := s.topic.Start(ctx); err != nil {
		s.stopMesh()
		if serr := s.server.Stop(ctx); serr != nil {
			s.log.Warn("fraud: stopping the sync server", "err", serr)
		}
		return err
	}
	s.mu.Lock()
	s.state = stateStarted
	s.mu.Unlock()
	s.loopDone, s.pullDone = make(chan struct{}), make(chan struct{})
	go s.run()
	go s.pullMesh()
	return nil
}

// Stop leaves the topic, removes the fraud-sync handler, ends Sync calls,
// closes every Subscribe channel and waits for the Service's goroutine
// (which releases held proofs and runs background syncs), or for ctx. It
// is idempotent.
func (s *Service) Stop(ctx context.Context) error {
	s.life.Lock()
	defer s.life.Unlock()
	s.mu.Lock()
	started := s.state == stateStarted
	s.state = stateStopped
	for sub := range s.subs {
		s.closeSubLocked(sub)
	}
	s.mu.Unlock()
	s.cancel()
	if !started {
		return nil
	}
	s.stopMesh()
	errs := []error{s.topic.Stop(ctx), s.server.Stop(ctx)}
	for _, done := range []chan struct{}{s.loopDone, s.pullDone} {
		select {
		case <-done:
		case <-ctx.Done():
			return errors.Join(append(errs, fmt.Errorf("fraud: stop: %w", ctx.Err()))...)
		}
	}
	return errors.Join(errs...)
}

func (s *Service) getState() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Topic returns the topic ID the Service uses.
func (s *Service) Topic() string { return s.topic.ID() }

// Publish spreads a proof the node found itself: it stores it, sets the
// Halt and gossips it in the form with k shares (the first k shares it
// proves), which keeps a proof of a 256-wide square within the message
// limit. p must have been validated against the verified header of its
// height: Publish does not validate it again. It returns ErrNotStarted
// unless the Service is started, an error wrapping ErrInvalidProof for a
// proof it cannot encode within MaxMessageSize, and pubsub's error if
// gossiping fails (the proof is stored and the Halt set by then). p is
// not modified; the Service keeps its own copy.
func (s *Service) Publish(ctx context.Context, p *eds.BadEncodingProof) error {
	if s.getState() != stateStarted {
		return ErrNotStarted
	}
	if p == nil || p.Height == 0 {
		return fmt.Errorf("%w: no proof, or height 0", ErrInvalidProof)
	}
	data, err := compact(p).MarshalBinary()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if len(data) > s.opts.MaxMessageSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidProof, len(data), s.opts.MaxMessageSize)
	}
	own, err := eds.UnmarshalBadEncodingProof(data) // the Service's own copy
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	s.accept(stored{proof: own, data: data})
	if err := s.topic.Publish(ctx, data); err != nil {
		return fmt.Errorf("fraud: publishing the proof of height %d: %w", p.Height, err)
	}
	return nil
}

// compact returns p with its first k proven shares only, where 2k is the
// axis width, or p itself if it has no more than k. Any k shares of the
// axis decode it, so the proof validates as well.
func compact(p *eds.BadEncodingProof) *eds.BadEncodingProof {
	k, n := len(p.Shares)/2, 0
	for _, sh := range p.Shares {
		if sh != nil {
			n++
		}
	}
	if n <= k {
		return p
	}
	c := *p
	c.Shares = make([]*eds.Sample, len(p.Shares))
	for i, kept := 0, 0; kept < k; i++ {
		if p.Shares[i] != nil {
			c.Shares[i] = p.Shares[i]
			kept++
		}
	}
	return &c
}

// Get returns the valid proofs the node holds, lowest height first (then
// by axis and index). Partial results are impossible; the error is for
// future stores. The proofs are shared: the caller must not modify them.
func (s *Service) Get(context.Context) ([]*eds.BadEncodingProof, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*eds.BadEncodingProof, len(s.proofs))
	for i, st := range s.proofs {
		out[i] = st.proof
	}
	return out, nil
}

// Stats returns the counts so far.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Holding = s.judge.held()
	return st
}

// subscriber is one Subscribe channel.
type subscriber struct {
	ch   chan *eds.BadEncodingProof
	skip string      // key of the proof delivered first, not delivered again
	stop func() bool // stops closing the channel when the context ends
}

// Subscribe returns a channel that receives every proof that becomes valid
// after the call (from the topic, fraud sync, a held proof released, the
// node's own Publish, or Start's load), each (height, axis, index) once.
// If the node is already halted, the proof it halts on comes first. The
// channel is buffered (SubscriptionBuffer); the Service never waits for a
// subscriber, and a proof that finds the buffer full is dropped for that
// subscriber (and logged). It is closed when ctx ends or the Service
// stops. It returns ErrStopped after Stop. The proofs are shared: the
// receiver must not modify them.
func (s *Service) Subscribe(ctx context.Context) (<-chan *eds.BadEncodingProof, error) {
	sub := &subscriber{ch: make(chan *eds.BadEncodingProof, SubscriptionBuffer)}
	s.mu.Lock()
	if s.state == stateStopped {
		s.mu.Unlock()
		return nil, ErrStopped
	}
	if p := s.deps.Halt.Proof(); p != nil {
		sub.ch <- p
		sub.skip = string(befpKey(p))
	}
	s.subs[sub] = struct{}{}
	sub.stop = context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.closeSubLocked(sub)
	})
	s.mu.Unlock()
	return sub.ch, nil
}

func (s *Service) closeSubLocked(sub *subscriber) {
	if _, ok := s.subs[sub]; ok {
		delete(s.subs, sub)
		sub.stop()
		close(sub.ch)
	}
}

// add records a valid proof in memory, unless one of its key is there,
// and hands it to the subscribers; it reports whether it was new.
func (s *Service) add(st stored) bool {
	key := string(befpKey(st.proof))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.judge.accepted(st.proof.Height)
	i, found := slices.BinarySearchFunc(s.proofs, key, func(e stored, k string) int {
		return bytes.Compare(befpKey(e.proof), []byte(k))
	})
	if found {
		return false
	}
	s.proofs = slices.Insert(s.proofs, i, st)
	s.stats.Valid++
	if s.deps.Halt.Set(st.proof) {
		s.log.Error("fraud: halting: a block is proven badly encoded; sampling, fetching and transactions stop",
			"height", st.proof.Height, "header", fmt.Sprintf("%X", st.proof.HeaderHash), "axis", st.proof.Axis, "index", st.proof.Index)
	}
	for sub := range s.subs {
		if sub.skip == key {
			continue
		}
		select {
		case sub.ch <- st.proof:
		default:
			s.log.Warn("fraud: a subscriber's buffer is full; it misses a proof", "height", st.proof.Height)
		}
	}
	return true
}

// accept stores a valid proof, then records it (add).
func (s *Service) accept(st stored) {
	if err := saveProof(s.deps.DB, st); err != nil {
		// The node halts all the same; only a restart would forget.
		s.log.Error("fraud: the proof is valid but could not be stored", "height", st.proof.Height, "err", err)
	}
	s.add(st)
}

// run releases held proofs as the store's head reaches them (the poll,
// a fallback for HeadAdvanced), gossips the proofs HeadAdvanced found
// valid, and starts the background syncs, until Stop.
func (s *Service) run() {
	defer close(s.loopDone)
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
			s.gossipLeft()
			continue
		case <-t.C:
		}
		s.releaseHeld(s.ctx, func(data []byte) { s.gossip(s.ctx, data) })
		s.gossipLeft()
		s.maybeResync()
	}
}

// gossip publishes the encoding of a proof that became valid other than
// through the topic.
func (s *Service) gossip(ctx context.Context, data []byte) {
	if err := s.topic.Publish(ctx, data); err != nil {
		s.log.Warn("fraud: gossiping a proof", "err", err)
	}
}

func (s *Service) setTrouble() {
	s.mu.Lock()
	s.trouble = true
	s.mu.Unlock()
}

// maybeResync runs a background sync if a message was dropped for a reason
// other than its content since the last one, at most once every
// ResyncInterval. Held proofs wait while it runs (SyncTimeout at most).
func (s *Service) maybeResync() {
	if s.opts.ResyncInterval < 0 {
		return
	}
	now := s.opts.Now()
	s.mu.Lock()
	if !s.trouble || (!s.lastResync.IsZero() && now.Sub(s.lastResync) < s.opts.ResyncInterval) {
		s.mu.Unlock()
		return
	}
	s.trouble, s.lastResync = false, now
	s.stats.Resyncs++
	s.mu.Unlock()
	s.sync(s.ctx)
}

// verdict is the outcome of judging one message.
type verdict int

const (
	verdictIgnore verdict = iota // dropped without blame
	verdictAccept                // valid: stored, forwarded, halting
	verdictReject                // invalid: its sender blocked
	verdictHeld                  // kept until the store reaches its height
)

// validate is the topic validator.
func (s *Service) validate(ctx context.Context, from peer.ID, data []byte, own bool) topic.Result {
	if own {
		// Publish, a sync or a released hold: already valid.
		return topic.Accept
	}
	// A proof held for its header is judged when the store reaches its
	// height (HeadAdvanced, or the poll); the validator waits for that
	// verdict, so that gossipsub forwards the message itself once it is
	// valid. Returning Ignore instead would mark the message seen: with
	// the content-based message IDs of p2p, the node could then never
	// gossip those bytes again, and its peers would not hear of the
	// proof from it.
	w := s.addWaiter(data)
	defer s.dropWaiter(w)
	v := s.consider(ctx, from, data, true)
	if v == verdictHeld {
		wctx, cancel := context.WithTimeout(ctx, s.opts.ValidatorTimeout/2)
		select {
		case v = <-w.verdict:
		case <-wctx.Done():
			// Still held: a later release publishes it (new peers
			// only) and the background sync reaches the rest.
			v = verdictIgnore
			s.setTrouble()
		case <-s.ctx.Done():
			v = verdictIgnore
		}
		cancel()
	}
	switch v {
	case verdictAccept:
		return topic.Accept
	case verdictReject:
		return topic.Reject
	}
	return topic.Ignore
}

// waiter is a topic validator waiting for the verdict on a held proof.
type waiter struct {
	sum     [32]byte
	verdict chan verdict // buffered: the release never blocks
}

// addWaiter registers a validator of data.
func (s *Service) addWaiter(data []byte) *waiter {
	w := &waiter{sum: sha256.Sum256(data), verdict: make(chan verdict, 1)}
	s.mu.Lock()
	s.waiters[w] = struct{}{}
	s.mu.Unlock()
	return w
}

func (s *Service) dropWaiter(w *waiter) {
	s.mu.Lock()
	delete(s.waiters, w)
	s.mu.Unlock()
}

// tellWaiters hands v, the verdict on a released proof, to the validators
// waiting for it, and reports whether there were any: then gossipsub
// forwards the message when the validator returns.
func (s *Service) tellWaiters(data []byte, v verdict) bool {
	sum := sha256.Sum256(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	told := false
	for w := range s.waiters {
		if w.sum == sum {
			select {
			case w.verdict <- v:
			default:
			}
			told = true
		}
	}
	return told
}

// consider judges a proof message from a peer, in the order of the package
// documentation. gossip says it came on the topic (and is subject to the
// sender's rate).
func (s *Service) consider(ctx context.Context, from peer.ID, data []byte, gossip bool) verdict {
	s.mu.Lock()
	s.stats.Received++
	liar := s.judge.isLiar(from)
	s.mu.Unlock()
	if liar {
		// Blocked already; what it sent before the connection closed is
		// refused unread.
		s.ignored(true)
		return verdictReject
	}
	if gossip {
		ok, release := s.rate.Admit(from)
		release()
		if !ok {
			s.ignored(true)
			return verdictIgnore
		}
	}
	if len(data) > s.opts.MaxMessageSize {
		return s.lied(from, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidProof, len(data), s.opts.MaxMessageSize))
	}
	height, headerHash, err := peekProof(data)
	if err != nil {
		return s.lied(from, fmt.Errorf("%w: %w", ErrInvalidProof, err))
	}
	if height == 0 {
		return s.lied(from, fmt.Errorf("%w: height 0", ErrInvalidProof))
	}
	return s.judgeProof(ctx, candidate{from: from, data: data, height: height, headerHash: headerHash, synced: !gossip})
}

// ignored counts a message dropped without blame; trouble says the reason
// was not its content, which calls for a background sync.
func (s *Service) ignored(trouble bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Ignored++
	s.trouble = s.trouble || trouble
}

// lied blocks from for reason, an invalid proof.
func (s *Service) lied(from peer.ID, reason error) verdict {
	s.mu.Lock()
	s.judge.liar(from)
	s.stats.Invalid++
	s.mu.Unlock()
	s.log.Info("fraud: blocking a peer that sent an invalid proof", "peer", from, "err", reason)
	if s.deps.Blocker != nil {
		s.deps.Blocker.BlockPeer(from, reason)
	}
	return verdictReject
}

// judgeProof runs the judge's screen on a decoded proof, waiting while
// another proof of its height is checked, then checks it if the judge says
// so.
func (s *Service) judgeProof(ctx context.Context, c candidate) verdict {
	for {
		now := s.opts.Now()
		s.mu.Lock()
		// The head is read under mu: a proof held here after the store
		// moved past its height would escape a HeadAdvanced that ran
		// in between.
		head := s.deps.Headers.Height()
		if s.judge.isLiar(c.from) {
			// Blocked while this proof waited: refused like the rest.
			s.stats.Ignored++
			s.mu.Unlock()
			return verdictReject
		}
		st := s.judge.screen(c, head, now)
		changed := s.changed
		if st == stepHeld {
			s.stats.Held++
		}
		s.mu.Unlock()
		switch st {
		case stepCheck:
			return s.check(ctx, c)
		case stepBusy:
			select {
			case <-changed:
				continue
			case <-ctx.Done():
			case <-s.ctx.Done():
			}
			s.ignored(true)
			return verdictIgnore
		case stepNoRoom:
			s.ignored(true)
			return verdictIgnore
		case stepHeld:
			// Counted as ignored, like every message not checked on
			// arrival; Stats.Held counts it too.
			s.ignored(false)
			return verdictHeld
		}
		s.ignored(false)
		return verdictIgnore
	}
}

// check checks c against the header of its height (the stored one, or
// for a height below the store's base the one Deps.Fetch brings, see
// headerFor): the header hash, then (unless the message is known invalid)
// the proof's full decoding and Validate against the header's DAH. The
// judge's screen returned stepCheck for it, so no other proof of its
// height is checked meanwhile.
func (s *Service) check(ctx context.Context, c candidate) (v verdict) {
	defer func() {
		s.mu.Lock()
		s.judge.done(c.height, v == verdictAccept)
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}()
	h, hash, fetched, err := s.headerFor(ctx, c.height)
	if err != nil {
		// Below the store's base with nothing to fetch it from, a
		// fetch that failed or brought a header that does not
		// Validate, or a store failure: nothing to check it against,
		// nobody to blame. But for the first, the header may come
		// later, and gossipsub drops later copies as seen: trouble.
		s.log.Debug("fraud: no header to check a proof against", "height", c.height, "from", c.from, "err", err)
		s.ignored(fetched || !errors.Is(err, header.ErrNotFound))
		return verdictIgnore
	}
	if !bytes.Equal(hash, c.headerHash) {
		whose := "stored"
		if fetched {
			whose = "trusted peers'"
		}
		return s.lied(c.from, fmt.Errorf("%w: header %X at height %d, the %s header is %X", ErrInvalidProof, c.headerHash, c.height, whose, hash))
	}
	sum := sha256.Sum256(c.data)
	s.mu.Lock()
	known := s.judge.knownInvalid(sum)
	s.mu.Unlock()
	if known {
		return s.lied(c.from, fmt.Errorf("%w: a message already found invalid", ErrInvalidProof))
	}
	p, err := eds.UnmarshalBadEncodingProof(c.data)
	if err == nil {
		s.mu.Lock()
		s.stats.Validations++
		s.mu.Unlock()
		err = p.Validate(h.DAH)
	}
	if err != nil {
		s.mu.Lock()
		s.judge.invalidMessage(sum)
		s.mu.Unlock()
		return s.lied(c.from, fmt.Errorf("%w: %w", ErrInvalidProof, err))
	}
	s.log.Info("fraud: received a valid bad-encoding proof", "height", p.Height, "axis", p.Axis, "index", p.Index, "from", c.from)
	s.accept(stored{proof: p, data: bytes.Clone(c.data)})
	return verdictAccept
}
