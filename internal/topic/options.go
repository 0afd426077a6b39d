package topic

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// PeerBlocker is told about peers that sent messages a protocol rejects;
// the PeerBlocker interfaces of header-sub and eds-sub have its method.
type PeerBlocker interface {
	BlockPeer(id peer.ID, reason error)
}

// Options are the settings header-sub and eds-sub share: whom to tell
// about peers that sent invalid messages, the logger, and how long one
// validation may take. Each protocol sets its defaults and exposes the
// Option functions as its own options.
type Options struct {
	// Blocker is told about senders of rejected messages; nil tells no
	// one.
	Blocker PeerBlocker
	Log     *slog.Logger
	// Timeout bounds one validation (Config.Timeout).
	Timeout time.Duration
}

// Option sets some of Options. It rejects a value it cannot use with an
// error that Apply wraps in the protocol's sentinel.
type Option func(*Options) error

// WithPeerBlocker sets Options.Blocker (not nil).
func WithPeerBlocker(b PeerBlocker) Option {
	return func(o *Options) error {
		if b == nil {
			return errors.New("nil PeerBlocker")
		}
		o.Blocker = b
		return nil
	}
}

// WithLogger sets Options.Log (not nil).
func WithLogger(l *slog.Logger) Option {
	return func(o *Options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.Log = l
		return nil
	}
}

// WithValidatorTimeout sets Options.Timeout (> 0).
func WithValidatorTimeout(d time.Duration) Option {
	return func(o *Options) error {
		if d <= 0 {
			return fmt.Errorf("validator timeout %v", d)
		}
		o.Timeout = d
		return nil
	}
}

// Apply applies opt to o. Its error wraps invalid, the protocol's
// ErrInvalidOption: "gossip: invalid option: nil logger".
func (opt Option) Apply(invalid error, o *Options) error {
	if err := opt(o); err != nil {
		return fmt.Errorf("%w: %v", invalid, err)
	}
	return nil
}

// Block tells the Blocker, if there is one, that from sent a message
// rejected for reason.
func (o Options) Block(from peer.ID, reason error) {
	if o.Blocker != nil {
		o.Blocker.BlockPeer(from, reason)
	}
}
