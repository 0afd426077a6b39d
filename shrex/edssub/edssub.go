package edssub

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/internal/topic"
)

// TopicID returns the eds-sub topic of network:
// /datamesh/<network>/eds-sub/v0.1.0.
func TopicID(network string) string {
	return "/datamesh/" + network + "/eds-sub/v0.1.0"
}

// Wire format.
const (
	// DataRootSize is the size of a data root: a SHA-256 digest.
	DataRootSize = 32
	// MessageSize is the size of every eds-sub message: the height (8
	// bytes, big-endian) then the data root.
	MessageSize = 8 + DataRootSize
)

// Errors.
var (
	// ErrIgnore is what a Validator wraps to have a notification dropped
	// (not forwarded, not delivered) without penalising the peer that sent
	// it: a height we have no header for yet, or one we do not care about.
	ErrIgnore = errors.New("edssub: ignore notification")
	// ErrInvalidMessage is wrapped when a message is not a notification:
	// not MessageSize bytes, or height 0. Its sender is reported to the
	// PeerBlocker.
	ErrInvalidMessage = errors.New("edssub: invalid message")
	// ErrInvalidNotification is wrapped by Publish for a height of 0 or a
	// data root that is not DataRootSize bytes.
	ErrInvalidNotification = errors.New("edssub: invalid notification")
	// ErrNotStarted is returned by Publish and Subscribe before Start or
	// after Stop.
	ErrNotStarted = errors.New("edssub: not started")
	// ErrStopped is returned by Start after Stop: an EdsSub is not
	// restarted.
	ErrStopped = errors.New("edssub: stopped")
	// ErrInvalidOption is wrapped by New for an option it cannot use.
	ErrInvalidOption = errors.New("edssub: invalid option")
)

// Notification says that From holds (or relays an announcement that someone
// holds) the extended data square of DataRoot at Height.
type Notification struct {
	Height uint64
	// DataRoot is DataRootSize bytes, owned by the receiver of the
	// Notification.
	DataRoot []byte
	// From is the peer that delivered the message to us: its publisher or
	// a peer that validated and forwarded it. Messages carry no author
	// (see the package documentation).
	From peer.ID
}

// Marshal returns the wire encoding of (height, dataRoot), or an error
// wrapping ErrInvalidNotification.
func Marshal(height uint64, dataRoot []byte) ([]byte, error) {
	if height == 0 {
		return nil, fmt.Errorf("%w: height 0", ErrInvalidNotification)
	}
	if len(dataRoot) != DataRootSize {
		return nil, fmt.Errorf("%w: data root of %d bytes, want %d", ErrInvalidNotification, len(dataRoot), DataRootSize)
	}
	b := make([]byte, MessageSize)
	binary.BigEndian.PutUint64(b, height)
	copy(b[8:], dataRoot)
	return b, nil
}

// Unmarshal decodes a message. The returned DataRoot is a copy; From is
// left empty. A message that is not exactly MessageSize bytes or names
// height 0 returns an error wrapping ErrInvalidMessage.
func Unmarshal(b []byte) (Notification, error) {
	if len(b) != MessageSize {
		return Notification{}, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidMessage, len(b), MessageSize)
	}
	h := binary.BigEndian.Uint64(b)
	if h == 0 {
		return Notification{}, fmt.Errorf("%w: height 0", ErrInvalidMessage)
	}
	return Notification{Height: h, DataRoot: append([]byte(nil), b[8:]...)}, nil
}

// PeerBlocker is told about peers that sent invalid notifications.
// p2p.Node implements it. BlockPeer must not block: it is called from the
// validator.
type PeerBlocker interface {
	BlockPeer(id peer.ID, reason error)
}

// Validator decides what happens to a well-formed notification received
// from another peer, for example by checking DataRoot against the header
// the node holds at Height. It returns nil to accept it (it is forwarded and
// delivered to subscriptions), an error wrapping ErrIgnore to drop it, or
// another error to reject it and report n.From. It must not modify n and is
// called concurrently for different messages.
type Validator func(ctx context.Context, n Notification) error

// DefaultValidatorTimeout bounds one call of the Validator. A notification
// is small and cheap to judge: a header store lookup at most.
const DefaultValidatorTimeout = 5 * time.Second

type config struct {
	topic.Options
	validate Validator
}

// Option configures an EdsSub.
type Option func(*config) error

// shared is the Option of an option header-sub and eds-sub share.
func shared(o topic.Option) Option {
	return func(c *config) error { return o.Apply(ErrInvalidOption, &c.Options) }
}

// WithPeerBlocker sets who is told about peers that sent invalid
// notifications. Without it, they are only logged (and penalised by
// gossipsub's scoring).
func WithPeerBlocker(b PeerBlocker) Option { return shared(topic.WithPeerBlocker(b)) }

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return shared(topic.WithLogger(l)) }

// WithValidator sets the Validator of notifications from other peers.
// Without one, every well-formed notification is accepted.
func WithValidator(v Validator) Option {
	return func(c *config) error {
		if v == nil {
			return fmt.Errorf("%w: nil Validator", ErrInvalidOption)
		}
		c.validate = v
		return nil
	}
}

// WithValidatorTimeout bounds each Validator call (default
// DefaultValidatorTimeout). A Validator that runs out of time ignores the
// message.
func WithValidatorTimeout(d time.Duration) Option { return shared(topic.WithValidatorTimeout(d)) }

// EdsSub is a node's eds-sub endpoint. Its methods are safe for concurrent
// use.
type EdsSub struct {
	t   *topic.Topic
	cfg config
}

// New returns an EdsSub for network's topic on ps. It does no network I/O:
// Start joins the topic.
func New(ps *pubsub.PubSub, network string, opts ...Option) (*EdsSub, error) {
	switch {
	case ps == nil:
		return nil, fmt.Errorf("%w: nil PubSub", ErrInvalidOption)
	case network == "":
		return nil, fmt.Errorf("%w: empty network", ErrInvalidOption)
	}
	cfg := config{Options: topic.Options{Timeout: DefaultValidatorTimeout, Log: slog.New(slog.DiscardHandler)}}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	e := &EdsSub{cfg: cfg}
	e.t = topic.New(ps, topic.Config{
		Name: "edssub", ID: TopicID(network), Validate: e.validate,
		Timeout: cfg.Timeout, Log: cfg.Log,
		ErrNotStarted: ErrNotStarted, ErrStopped: ErrStopped,
	})
	return e, nil
}

// Topic returns the topic ID the EdsSub uses.
func (e *EdsSub) Topic() string { return e.t.ID() }

// ListPeers returns the peers known to be subscribed to the topic, nil
// unless the EdsSub is started.
func (e *EdsSub) ListPeers() []peer.ID { return e.t.ListPeers() }

// Start registers the topic validator, joins the topic and subscribes to it
// (gossipsub validates and forwards only messages of topics the node
// subscribes to). Calling it again is a no-op; after Stop it returns
// ErrStopped.
func (e *EdsSub) Start(ctx context.Context) error { return e.t.Start(ctx) }

// Stop cancels every Subscription and the draining subscription, waits for
// its goroutine, leaves the topic and unregisters the validator. It is
// idempotent, and a no-op before Start. It returns ctx's error if ctx ends
// before the goroutine exits.
func (e *EdsSub) Stop(ctx context.Context) error { return e.t.Stop(ctx) }

// Publish announces that this node holds the square of dataRoot at height.
// It returns an error wrapping ErrInvalidNotification for a height of 0 or
// a data root that is not DataRootSize bytes, and ErrNotStarted unless the
// EdsSub is started. A nil error does not mean anyone received it: pubsub
// drops, without error, a message whose content it has seen within its
// seen-messages window, including one another peer published first.
func (e *EdsSub) Publish(ctx context.Context, height uint64, dataRoot []byte) error {
	b, err := Marshal(height, dataRoot)
	if err != nil {
		return err
	}
	if err := e.t.Publish(ctx, b); err != nil {
		if errors.Is(err, ErrNotStarted) {
			return err
		}
		return fmt.Errorf("edssub: publishing height %d: %w", height, err)
	}
	return nil
}

// Subscription delivers the notifications other peers publish that passed
// validation. Create it with EdsSub.Subscribe.
type Subscription struct {
	sub *topic.Subscription
}

// Subscribe returns a new Subscription. It returns ErrNotStarted unless the
// EdsSub is started. The caller must Cancel it (or Stop the EdsSub) and
// keep calling Next: pubsub drops messages for a subscription that falls
// behind its buffer.
func (e *EdsSub) Subscribe() (*Subscription, error) {
	sub, err := e.t.Subscribe()
	if err != nil {
		return nil, err
	}
	return &Subscription{sub: sub}, nil
}

// Next returns the next notification from another peer, skipping the ones
// this EdsSub published. It returns an error once ctx ends or the
// Subscription is cancelled.
func (s *Subscription) Next(ctx context.Context) (Notification, error) {
	for {
		msg, err := s.sub.Next(ctx)
		if err != nil {
			return Notification{}, fmt.Errorf("edssub: next: %w", err)
		}
		n, err := Unmarshal(msg.GetData())
		if err != nil { // the validator rejects these; never reached
			continue
		}
		n.From = msg.ReceivedFrom
		return n, nil
	}
}

// Cancel ends the Subscription; Next then returns an error. It is
// idempotent.
func (s *Subscription) Cancel() { s.sub.Cancel() }

// validate is the topic validator.
func (e *EdsSub) validate(ctx context.Context, from peer.ID, data []byte, own bool) topic.Result {
	n, err := Unmarshal(data)
	if err != nil {
		if !own {
			e.cfg.Block(from, err)
		}
		e.cfg.Log.Debug("edssub: rejected message", "from", from, "err", err)
		return topic.Reject
	}
	if own || e.cfg.validate == nil {
		return topic.Accept
	}
	n.From = from
	err = e.cfg.validate(ctx, n)
	switch {
	case err == nil:
		return topic.Accept
	case errors.Is(err, ErrIgnore):
		e.cfg.Log.Debug("edssub: ignored notification", "from", from, "height", n.Height, "err", err)
		return topic.Ignore
	case ctx.Err() != nil:
		// Out of time or shutting down: not the sender's fault.
		e.cfg.Log.Debug("edssub: validation cut short", "from", from, "height", n.Height, "err", err)
		return topic.Ignore
	default:
		e.cfg.Block(from, err)
		e.cfg.Log.Info("edssub: rejected notification", "from", from, "height", n.Height, "err", err)
		return topic.Reject
	}
}
