// Package topic is the lifecycle of one pubsub topic as header-sub and
// eds-sub use it: register a validator, join, stay subscribed (a drained
// subscription, so that the node validates and forwards whether or not
// anyone reads), publish messages tagged as our own, and leave. What a
// message means and how it is judged is the caller's.
package topic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Result is a validator's verdict on a message.
type Result int

// Verdicts.
const (
	// Accept delivers the message and forwards it.
	Accept Result = iota
	// Ignore drops the message without penalising its sender.
	Ignore
	// Reject drops the message and penalises its sender.
	Reject
)

func (r Result) pubsub() pubsub.ValidationResult {
	switch r {
	case Accept:
		return pubsub.ValidationAccept
	case Ignore:
		return pubsub.ValidationIgnore
	}
	return pubsub.ValidationReject
}

// Validate judges the data of a message delivered by from. own says the
// message was published through this Topic. It is called concurrently.
type Validate func(ctx context.Context, from peer.ID, data []byte, own bool) Result

// Config is what a Topic needs. Every field is required but Log.
type Config struct {
	// Name prefixes errors and log messages ("gossip").
	Name string
	// ID is the topic ID.
	ID       string
	Validate Validate
	// Timeout bounds one Validate call.
	Timeout time.Duration
	// Log receives the topic's warnings (nil: discarded).
	Log *slog.Logger
	// ErrNotStarted is returned by Publish and Subscribe unless the Topic
	// is started, ErrStopped by Start after Stop.
	ErrNotStarted, ErrStopped error
}

// Topic is one topic joined on a PubSub. Its methods are safe for
// concurrent use.
type Topic struct {
	ps  *pubsub.PubSub
	cfg Config

	mu      sync.Mutex
	state   int // stateNew, stateStarted, stateStopped
	topic   *pubsub.Topic
	sub     *pubsub.Subscription // the draining subscription
	subs    map[*Subscription]struct{}
	cancel  context.CancelFunc
	drained chan struct{} // closed when the drain goroutine exits
}

const (
	stateNew = iota
	stateStarted
	stateStopped
)

// ownMessage marks, as pubsub validator data, messages this Topic
// publishes.
type ownMessage struct{ t *Topic }

// New returns a Topic for cfg on ps. It does no network I/O.
func New(ps *pubsub.PubSub, cfg Config) *Topic {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Topic{ps: ps, cfg: cfg, subs: map[*Subscription]struct{}{}}
}

// ID returns the topic ID.
func (t *Topic) ID() string { return t.cfg.ID }

// Started reports whether the Topic is started (and not stopped).
func (t *Topic) Started() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state == stateStarted
}

// ListPeers returns the peers known to be subscribed to the topic, nil
// unless the Topic is started.
func (t *Topic) ListPeers() []peer.ID {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != stateStarted {
		return nil
	}
	return t.topic.ListPeers()
}

// Start registers the topic validator, joins the topic and subscribes to
// it. Calling it again is a no-op; after Stop it returns cfg.ErrStopped.
func (t *Topic) Start(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch t.state {
	case stateStarted:
		return nil
	case stateStopped:
		return t.cfg.ErrStopped
	}
	name, id := t.cfg.Name, t.cfg.ID
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: start: %w", name, err)
	}
	if err := t.ps.RegisterTopicValidator(id, t.validate, pubsub.WithValidatorTimeout(t.cfg.Timeout)); err != nil {
		return fmt.Errorf("%s: registering the validator of %s: %w", name, id, err)
	}
	topic, err := t.ps.Join(id)
	if err != nil {
		t.unregister()
		return fmt.Errorf("%s: joining %s: %w", name, id, err)
	}
	sub, err := topic.Subscribe()
	if err != nil {
		if cerr := topic.Close(); cerr != nil {
			t.cfg.Log.Warn(name+": closing topic", "topic", id, "err", cerr)
		}
		t.unregister()
		return fmt.Errorf("%s: subscribing to %s: %w", name, id, err)
	}
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t.topic, t.sub, t.cancel = topic, sub, cancel
	t.drained = make(chan struct{})
	t.state = stateStarted
	go drain(dctx, sub, t.drained)
	return nil
}

// drain reads the subscription until it is cancelled. Messages that reach
// it passed the validator.
func drain(ctx context.Context, sub *pubsub.Subscription, done chan<- struct{}) {
	defer close(done)
	for {
		if _, err := sub.Next(ctx); err != nil {
			return
		}
	}
}

func (t *Topic) unregister() {
	if err := t.ps.UnregisterTopicValidator(t.cfg.ID); err != nil {
		t.cfg.Log.Warn(t.cfg.Name+": unregistering validator", "topic", t.cfg.ID, "err", err)
	}
}

// Stop cancels every Subscription and the draining subscription, waits for
// its goroutine, leaves the topic and unregisters the validator. It is
// idempotent, and a no-op before Start. It returns ctx's error if ctx ends
// before the goroutine exits.
func (t *Topic) Stop(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != stateStarted {
		t.state = stateStopped
		return nil
	}
	t.state = stateStopped
	for s := range t.subs {
		s.sub.Cancel()
	}
	clear(t.subs)
	t.cancel()
	t.sub.Cancel()
	name, id := t.cfg.Name, t.cfg.ID
	select {
	case <-t.drained:
	case <-ctx.Done():
		return fmt.Errorf("%s: stop: %w", name, ctx.Err())
	}
	var errs []error
	if err := t.topic.Close(); err != nil {
		errs = append(errs, fmt.Errorf("%s: leaving %s: %w", name, id, err))
	}
	if err := t.ps.UnregisterTopicValidator(id); err != nil {
		errs = append(errs, fmt.Errorf("%s: unregistering validator of %s: %w", name, id, err))
	}
	return errors.Join(errs...)
}

// Publish publishes data tagged as our own: Validate is told so, and
// Subscriptions skip it. It returns cfg.ErrNotStarted unless the Topic is
// started, and pubsub's error unwrapped.
func (t *Topic) Publish(ctx context.Context, data []byte) error {
	t.mu.Lock()
	topic := t.topic
	started := t.state == stateStarted
	t.mu.Unlock()
	if !started {
		return t.cfg.ErrNotStarted
	}
	return topic.Publish(ctx, data, pubsub.WithValidatorData(ownMessage{t}))
}

// validate is the topic validator.
func (t *Topic) validate(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	return t.cfg.Validate(ctx, from, msg.GetData(), msg.ValidatorData == ownMessage{t}).pubsub()
}

// Subscription delivers the messages other peers publish that passed
// validation.
type Subscription struct {
	t   *Topic
	sub *pubsub.Subscription
}

// Subscribe returns a new Subscription, or cfg.ErrNotStarted unless the
// Topic is started. Stop cancels it.
func (t *Topic) Subscribe() (*Subscription, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != stateStarted {
		return nil, t.cfg.ErrNotStarted
	}
	sub, err := t.topic.Subscribe()
	if err != nil {
		return nil, fmt.Errorf("%s: subscribing to %s: %w", t.cfg.Name, t.cfg.ID, err)
	}
	s := &Subscription{t: t, sub: sub}
	t.subs[s] = struct{}{}
	return s, nil
}

// Next returns the next message another peer published, skipping the ones
// published through this Topic. It returns pubsub's error, unwrapped, once
// ctx ends or the Subscription is cancelled.
func (s *Subscription) Next(ctx context.Context) (*pubsub.Message, error) {
	for {
		msg, err := s.sub.Next(ctx)
		if err != nil {
			return nil, err
		}
		if msg.ValidatorData == (ownMessage{s.t}) {
			continue
		}
		return msg, nil
	}
}

// Cancel ends the Subscription; Next then returns an error. It is
// idempotent.
func (s *Subscription) Cancel() {
	s.t.mu.Lock()
	delete(s.t.subs, s)
	s.t.mu.Unlock()
	s.sub.Cancel()
}
