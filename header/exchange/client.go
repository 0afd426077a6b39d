package exchange

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/streamclient"
)

// Client errors.
var (
	// ErrInvalidResponse is wrapped when a peer's answer breaks the
	// protocol or carries a header that is invalid, of another chain, not
	// the one asked for, or that does not chain: the peer is at fault and
	// is blocked.
	ErrInvalidResponse = errors.New("exchange: invalid response")
	// ErrNoPeers is wrapped when no peer (or, where trusted peers are
	// required, no trusted peer) could be asked or answered.
	ErrNoPeers = errors.New("exchange: no peer answered")
	// ErrPeersDisagree is wrapped (by a *DisagreementError) when trusted
	// peers return different headers for the same height.
	ErrPeersDisagree = errors.New("exchange: trusted peers disagree")
	// ErrRateLimited is wrapped when a peer answered RATE_LIMITED.
	ErrRateLimited = errors.New("exchange: rate limited")
)

// DisagreementError carries the evidence of trusted peers that returned
// different headers at one height: each peer's header hash.
type DisagreementError struct {
	Height uint64
	Hashes map[peer.ID][]byte
}

func (e *DisagreementError) Error() string {
	ids := make([]peer.ID, 0, len(e.Hashes))
	for p := range e.Hashes {
		ids = append(ids, p)
	}
	slices.Sort(ids)
	s := fmt.Sprintf("%v at height %d:", ErrPeersDisagree, e.Height)
	for _, p := range ids {
		s += fmt.Sprintf(" %s has %X;", p, e.Hashes[p])
	}
	return s[:len(s)-1]
}

// Unwrap makes errors.Is(err, ErrPeersDisagree) true.
func (e *DisagreementError) Unwrap() error { return ErrPeersDisagree }

// PeerBlocker is told about peers that sent provably wrong data; it
// typically disconnects them and refuses them from then on. p2p.Node
// implements it.
type PeerBlocker interface {
	BlockPeer(id peer.ID, reason error)
}

// Client defaults.
const (
	// DefaultRequestTimeout bounds one request, from opening the stream to
	// the last byte of the response (verification is not counted): a full
	// range of 32-wide squares is about 1 MiB.
	DefaultRequestTimeout = 15 * time.Second
	// DefaultParallelism is how many requests GetVerifiedRange has in
	// flight: 8, all of a 512-header range at once, spread over peers.
	DefaultParallelism = 8
	// headPeers is how many peers Head(ctx, trusted) asks.
	headPeers = 8
	// maxAttempts bounds the peers one range chunk is asked of.
	maxAttempts = 16
)

type clientConfig struct {
	trusted     []peer.ID
	blocker     PeerBlocker
	verify      header.VerifyOptions
	chainID     string
	timeout     time.Duration
	parallelism int
	log         *slog.Logger
}

// ClientOption configures a Client; it returns an error for a value out of
// range.
type ClientOption func(*clientConfig) error

// WithTrustedPeers sets the peers whose heads and headers Head(ctx, nil)
// and GetByHeight rely on; they are also asked first by GetByHash.
func WithTrustedPeers(ids ...peer.ID) ClientOption {
	return func(c *clientConfig) error {
		for _, id := range ids {
			if err := id.Validate(); err != nil {
				return fmt.Errorf("exchange: trusted peer: %w", err)
			}
		}
		c.trusted = uniq(slices.Clone(ids))
		return nil
	}
}

// WithBlocker sets who is told of misbehaving peers; nil (the default)
// means nobody: the client then only stops asking them.
func WithBlocker(b PeerBlocker) ClientOption {
	return func(c *clientConfig) error { c.blocker = b; return nil }
}

// WithVerifyOptions sets the options of every header.Verify and
// VerifyAdjacent call. They are checked here.
func WithVerifyOptions(o header.VerifyOptions) ClientOption {
	return func(c *clientConfig) error {
		// Verify checks its options before anything else.
		if err := header.Verify(nil, nil, o); errors.Is(err, header.ErrInvalidVerifyOptions) {
			return fmt.Errorf("exchange: %w", err)
		}
		c.verify = o
		return nil
	}
}

// WithChainID sets the chain ID headers must have; it defaults to the
// network ID.
func WithChainID(id string) ClientOption {
	return func(c *clientConfig) error {
		if id == "" {
			return errors.New("exchange: empty chain ID")
		}
		c.chainID = id
		return nil
	}
}

// WithRequestTimeout sets the time limit of one request (d > 0).
func WithRequestTimeout(d time.Duration) ClientOption {
	return func(c *clientConfig) error {
		if d <= 0 {
			return fmt.Errorf("exchange: request timeout %v, want > 0", d)
		}
		c.timeout = d
		return nil
	}
}

// WithParallelism sets how many requests GetVerifiedRange has in flight
// (1..64).
func WithParallelism(n int) ClientOption {
	return func(c *clientConfig) error {
		if n < 1 || n > 64 {
			return fmt.Errorf("exchange: parallelism %d, want 1..64", n)
		}
		c.parallelism = n
		return nil
	}
}

// WithLogger sets the client's logger; the default discards.
func WithLogger(l *slog.Logger) ClientOption {
	return func(c *clientConfig) error {
		if l == nil {
			return errors.New("exchange: nil logger")
		}
		c.log = l
		return nil
	}
}

// Client fetches headers over header-ex and verifies them. Its methods are
// safe for concurrent use and may be called before Start (they then ask
// the trusted peers only); Start tracks the other peers that speak
// header-ex. Returned headers are the caller's.
type Client struct {
	host host.Host
	pid  protocol.ID
	sc   *streamclient.Client
	cfg  clientConfig
	tr   *tracker

	mu      sync.Mutex
	started bool
	stopped bool
	sub     event.Subscription
	done    chan struct{} // closed when the event loop exits
}

// NewClient returns a client for network (the chain ID, unless WithChainID
// says otherwise). It does no I/O.
func NewClient(h host.Host, network string, opts ...ClientOption) (*Client, error) {
	if h == nil {
		return nil, errors.New("exchange: NewClient needs a host")
	}
	if network == "" {
		return nil, errors.New("exchange: empty network ID")
	}
	cfg := clientConfig{
		chainID:     network,
		timeout:     DefaultRequestTimeout,
		parallelism: DefaultParallelism,
		log:         slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	cfg.trusted = slices.DeleteFunc(cfg.trusted, func(p peer.ID) bool { return p == h.ID() })
	sc := streamclient.New(h, streamclient.Config{
		Name: "exchange", Service: ServiceName, Fault: ErrInvalidResponse, Log: cfg.log,
	})
	return &Client{host: h, pid: ProtocolID(network), sc: sc, cfg: cfg, tr: newTracker()}, nil
}

// Start subscribes to the host's peer events and tracks the connected
// peers that speak header-ex, starting with those the peerstore knows. It
// is idempotent; a stopped client cannot be started again.
func (c *Client) Start(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errors.New("exchange: client stopped")
	}
	if c.started {
		return nil
	}
	sub, err := c.host.EventBus().Subscribe([]any{
		new(event.EvtPeerIdentificationCompleted),
		new(event.EvtPeerProtocolsUpdated),
		new(event.EvtPeerConnectednessChanged),
	})
	if err != nil {
		return fmt.Errorf("exchange: subscribing to peer events: %w", err)
	}
	c.started, c.sub, c.done = true, sub, make(chan struct{})
	for _, p := range c.host.Network().Peers() {
		c.consider(p)
	}
	go c.events(sub)
	return nil
}

// Stop ends peer tracking and waits for its goroutine. It is idempotent.
func (c *Client) Stop(ctx context.Context) error {
	c.mu.Lock()
	if c.stopped || !c.started {
		c.stopped = true
		c.mu.Unlock()
		return nil
	}
	c.stopped = true
	err := c.sub.Close()
	done := c.done
	c.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("exchange: stopping client: %w", ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("exchange: closing subscription: %w", err)
	}
	return nil
}

func (c *Client) events(sub event.Subscription) {
	defer close(c.done)
	for e := range sub.Out() {
		switch ev := e.(type) {
		case event.EvtPeerIdentificationCompleted:
			if slices.Contains(ev.Protocols, c.pid) {
				c.tr.add(ev.Peer)
			}
		case event.EvtPeerProtocolsUpdated:
			if slices.Contains(ev.Added, c.pid) {
				c.tr.add(ev.Peer)
			}
			if slices.Contains(ev.Removed, c.pid) {
				c.tr.remove(ev.Peer)
			}
		case event.EvtPeerConnectednessChanged:
			switch ev.Connectedness {
			case network.Connected:
				c.consider(ev.Peer)
			case network.NotConnected:
				c.tr.remove(ev.Peer)
			}
		}
	}
}

// consider tracks p if the peerstore says it speaks header-ex.
func (c *Client) consider(p peer.ID) {
	if p == c.host.ID() {
		return
	}
	if ps, err := c.host.Peerstore().SupportsProtocols(p, c.pid); err == nil && len(ps) > 0 {
		c.tr.add(p)
	}
}

// penalise blocks p for reason: it sent provably wrong data. The blocker
// is told once per peer.
func (c *Client) penalise(p peer.ID, reason error) {
	if !c.tr.block(p) {
		return
	}
	c.cfg.log.Warn("exchange: blocking peer", "peer", p, "reason", reason)
	if c.cfg.blocker != nil {
		c.cfg.blocker.BlockPeer(p, reason)
	}
}

// outcome records the result of a request to p: a peer fault blocks p; any
// other error lowers its rank.
func (c *Client) outcome(p peer.ID, err error, took time.Duration) {
	switch {
	case err == nil:
		c.tr.success(p, took)
	case errors.Is(err, ErrInvalidResponse):
		c.penalise(p, err)
	default:
		c.tr.failure(p)
	}
}

// response is what a peer answered: the headers of its OK messages, in
// order, and the status that ended the response (StatusOK if all asked
// for came).
type response struct {
	headers []*header.ExtendedHeader
	status  Status
}

// request sends req to p and reads the response, through streamclient,
// within the request timeout. want is the most headers the response may
// hold. Errors wrapping ErrInvalidResponse are p's fault. It checks the
// framing and the decoding only, not what the headers are.
func (c *Client) request(ctx context.Context, p peer.ID, req request, want int) (response, error) {
	var resp response
	err := c.sc.Do(ctx, streamclient.Request{
		Peer: p, Protocols: []protocol.ID{c.pid}, Body: frame(req.marshal()), Timeout: c.cfg.timeout, What: req,
	}, func(r *bufio.Reader, scope network.ResourceScope) (err error) {
		resp, err = readResponse(r, scope, want)
		return err
	})
	if err != nil {
		return response{}, err
	}
	return resp, nil
}

// readResponse reads Response messages until the end of r: up to want OK
// messages, and then (or instead) at most one message with another status.
// Anything else, a header that does not decode, or a stream that ends
// before want headers without a status, wraps ErrInvalidResponse. Each
// message's memory is reserved in scope while it is decoded; br's buffer
// is the caller's to reserve (streamclient does).
func readResponse(br *bufio.Reader, scope network.ResourceScope, want int) (response, error) {
	var resp response
	for {
		n, err := readLen(br, maxResponseSize)
		if errors.Is(err, io.EOF) {
			if resp.status == 0 && len(resp.headers) < want {
				return response{}, fmt.Errorf("%w: %d of %d headers and no status", ErrInvalidResponse, len(resp.headers), want)
			}
			if resp.status == 0 {
				resp.status = StatusOK
			}
			return resp, nil
		}
		if err != nil {
			return response{}, wrapFault(err)
		}
		if resp.status != 0 || len(resp.headers) == want {
			return response{}, fmt.Errorf("%w: more than %d headers, or a message after the status", ErrInvalidResponse, want)
		}
		if err := scope.ReserveMemory(n, network.ReservationPriorityMedium); err != nil {
			return response{}, fmt.Errorf("exchange: reserving %d bytes for a response: %w", n, err)
		}
		msg, err := readBody(br, n)
		scope.ReleaseMemory(n)
		if err != nil {
			return response{}, wrapFault(err)
		}
		st, body, err := unmarshalResponse(msg)
		if err != nil {
			return response{}, wrapFault(err)
		}
		if st != StatusOK {
			resp.status = st
			continue
		}
		h, err := header.UnmarshalExtendedHeader(body)
		if err != nil {
			return response{}, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
		}
		resp.headers = append(resp.headers, h)
	}
}

// wrapFault marks wire errors as the peer's fault; I/O errors stay as they
// are.
func wrapFault(err error) error {
	if errors.Is(err, ErrInvalidMessage) {
		return fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	return err
}

// statusErr returns the error of a response that ended with a status other
// than OK and NOT_FOUND.
func statusErr(p peer.ID, st Status) error {
	switch st {
	case StatusRateLimited:
		return fmt.Errorf("%w by %s", ErrRateLimited, p)
	case StatusBadRequest:
		// We only send valid requests.
		return fmt.Errorf("%w: %s answered BAD_REQUEST to a valid request", ErrInvalidResponse, p)
	}
	return fmt.Errorf("exchange: %s answered %v", p, st)
}

// checkHeader checks a single header a peer sent: valid, of our chain.
// Failures wrap ErrInvalidResponse.
func (c *Client) checkHeader(h *header.ExtendedHeader) error {
	if h.ChainID() != c.cfg.chainID {
		return fmt.Errorf("%w: %w: want %q, got %q", ErrInvalidResponse, header.ErrChainIDMismatch, c.cfg.chainID, h.ChainID())
	}
	if err := h.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	return nil
}
