package gossip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/topic"
)

// TopicID returns the header-sub topic of network:
// /datamesh/<network>/header-sub/v0.1.0.
func TopicID(network string) string {
	return "/datamesh/" + network + "/header-sub/v0.1.0"
}

// Errors.
var (
	// ErrIgnore is what a Verifier wraps to have a message dropped (not
	// forwarded) without penalising the peer that sent it: a header already
	// known, or one that cannot be judged yet.
	ErrIgnore = errors.New("gossip: ignore header")
	// ErrInvalidMessage is wrapped when a message is not a valid header of
	// our chain: too large, undecodable, failing Validate or of another
	// chain. Its sender is reported to the PeerBlocker.
	ErrInvalidMessage = errors.New("gossip: invalid header message")
	// ErrNotStarted is returned by Publish before Start or after Stop.
	ErrNotStarted = errors.New("gossip: not started")
	// ErrStopped is returned by Start after Stop: a Gossip is not restarted.
	ErrStopped = errors.New("gossip: stopped")
	// ErrInvalidOption is wrapped by New for an option it cannot use.
	ErrInvalidOption = errors.New("gossip: invalid option")
)

// PeerBlocker is told about peers that sent an invalid header. p2p.Node
// implements it. BlockPeer must not block: it is called from the validator.
type PeerBlocker interface {
	BlockPeer(id peer.ID, reason error)
}

// Verifier decides what happens to a header received from another peer. It
// is given a header that passed Validate and is of the configured chain; it
// must not modify it. It returns nil to accept the header (it is forwarded),
// an error wrapping ErrIgnore to drop it, or another error to reject it and
// report the sender. It is called concurrently for different messages.
type Verifier func(ctx context.Context, h *header.ExtendedHeader) error

// DefaultValidatorTimeout bounds one call of the Verifier: long enough for
// a syncer to verify and append one header on a slow disk, short enough
// that a stuck store does not pile up gossipsub's validation queue.
const DefaultValidatorTimeout = 30 * time.Second

type config struct {
	topic.Options
	chainID string
}

// Option configures a Gossip.
type Option func(*config) error

// shared is the Option of an option header-sub and eds-sub share.
func shared(o topic.Option) Option {
	return func(c *config) error { return o.Apply(ErrInvalidOption, &c.Options) }
}

// WithPeerBlocker sets who is told about peers that sent invalid headers.
// Without it, they are only logged (and penalised by gossipsub's scoring).
func WithPeerBlocker(b PeerBlocker) Option { return shared(topic.WithPeerBlocker(b)) }

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return shared(topic.WithLogger(l)) }

// WithChainID sets the chain ID headers must carry. The default is the
// network name given to New.
func WithChainID(id string) Option {
	return func(c *config) error {
		if id == "" {
			return fmt.Errorf("%w: empty chain ID", ErrInvalidOption)
		}
		c.chainID = id
		return nil
	}
}

// WithValidatorTimeout bounds each Verifier call (default
// DefaultValidatorTimeout). A Verifier that runs out of time ignores the
// message.
func WithValidatorTimeout(d time.Duration) Option { return shared(topic.WithValidatorTimeout(d)) }

// Gossip is a node's header-sub endpoint. Its methods are safe for
// concurrent use.
type Gossip struct {
	t      *topic.Topic
	verify Verifier
	cfg    config
}

// New returns a Gossip for network's topic on ps that hands headers to
// verify. It does no network I/O: Start joins the topic.
func New(ps *pubsub.PubSub, network string, verify Verifier, opts ...Option) (*Gossip, error) {
	switch {
	case ps == nil:
		return nil, fmt.Errorf("%w: nil PubSub", ErrInvalidOption)
	case network == "":
		return nil, fmt.Errorf("%w: empty network", ErrInvalidOption)
	case verify == nil:
		return nil, fmt.Errorf("%w: nil Verifier", ErrInvalidOption)
	}
	cfg := config{chainID: network, Options: topic.Options{Timeout: DefaultValidatorTimeout, Log: slog.New(slog.DiscardHandler)}}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	g := &Gossip{verify: verify, cfg: cfg}
	g.t = topic.New(ps, topic.Config{
		Name: "gossip", ID: TopicID(network), Validate: g.validate,
		Timeout: cfg.Timeout, Log: cfg.Log,
		ErrNotStarted: ErrNotStarted, ErrStopped: ErrStopped,
	})
	return g, nil
}

// Topic returns the topic ID the Gossip uses.
func (g *Gossip) Topic() string { return g.t.ID() }

// ListPeers returns the peers known to be subscribed to the topic, nil
// unless the Gossip is started.
func (g *Gossip) ListPeers() []peer.ID { return g.t.ListPeers() }

// Start registers the topic validator, joins the topic and subscribes to
// it. Calling it again is a no-op; after Stop it returns ErrStopped. The
// Verifier may be called as soon as Start returns (or before, by a message
// that arrives while Start runs).
func (g *Gossip) Start(ctx context.Context) error { return g.t.Start(ctx) }

// Stop cancels the subscription, waits for its goroutine, leaves the topic
// and unregisters the validator. It is idempotent, and a no-op before
// Start. It returns ctx's error if ctx ends before the goroutine exits.
func (g *Gossip) Stop(ctx context.Context) error { return g.t.Stop(ctx) }

// Publish announces h on the topic. It runs the checks other nodes run
// (size, Validate, chain ID) but not the Verifier, and returns their error
// if h fails them. It returns ErrNotStarted unless the Gossip is started.
func (g *Gossip) Publish(ctx context.Context, h *header.ExtendedHeader) error {
	if !g.t.Started() {
		return ErrNotStarted
	}
	b, err := h.MarshalBinary()
	if err != nil {
		return fmt.Errorf("gossip: encoding %v: %w", h, err)
	}
	if err := g.t.Publish(ctx, b); err != nil {
		if errors.Is(err, ErrNotStarted) {
			return err
		}
		return fmt.Errorf("gossip: publishing %v: %w", h, err)
	}
	return nil
}

// validate is the topic validator.
func (g *Gossip) validate(ctx context.Context, from peer.ID, data []byte, own bool) topic.Result {
	h, err := g.check(data)
	if err != nil {
		if !own {
			g.cfg.Block(from, err)
		}
		g.cfg.Log.Debug("gossip: rejected header", "from", from, "err", err)
		return topic.Reject
	}
	if own {
		return topic.Accept
	}
	err = g.verify(ctx, h)
	switch {
	case err == nil:
		return topic.Accept
	case errors.Is(err, ErrIgnore):
		g.cfg.Log.Debug("gossip: ignored header", "from", from, "height", h.Height(), "err", err)
		return topic.Ignore
	case ctx.Err() != nil:
		// Out of time or shutting down: not the sender's fault.
		g.cfg.Log.Debug("gossip: header verification cut short", "from", from, "height", h.Height(), "err", err)
		return topic.Ignore
	default:
		g.cfg.Block(from, err)
		g.cfg.Log.Info("gossip: rejected header", "from", from, "height", h.Height(), "err", err)
		return topic.Reject
	}
}

// check decodes and validates a message: the checks that need no state.
func (g *Gossip) check(data []byte) (*header.ExtendedHeader, error) {
	if len(data) > header.MaxExtendedHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidMessage, len(data), header.MaxExtendedHeaderSize)
	}
	h, err := header.UnmarshalExtendedHeader(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if err := h.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if h.ChainID() != g.cfg.chainID {
		return nil, fmt.Errorf("%w: %w: chain %q, want %q", ErrInvalidMessage, header.ErrChainIDMismatch, h.ChainID(), g.cfg.chainID)
	}
	return h, nil
}
