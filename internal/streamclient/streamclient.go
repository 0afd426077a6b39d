package streamclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// DefaultReadBuffer is the read buffer of a Config that sets none: 64 KiB,
// several headers or a few rows of a wide square.
const DefaultReadBuffer = 64 << 10

// Config is what a Client needs. Name and Service are required.
type Config struct {
	// Name prefixes errors and log messages ("shrex").
	Name string
	// Service is the resource-manager service every stream is attached to.
	Service string
	// ReadBuffer is the size of the buffer responses are read through, and
	// the memory reserved for it in each stream's scope; 0 means
	// DefaultReadBuffer.
	ReadBuffer int
	// Fault is the error the protocol's ReadFuncs wrap when the peer is at
	// fault (its ErrInvalidResponse). Such an error never has the
	// context's error added. Nil means every read error may have it.
	Fault error
	// Log receives the errors of closing and resetting streams, at debug
	// level; nil discards them.
	Log *slog.Logger
}

// Client runs request streams on a host. Its methods are safe for
// concurrent use.
type Client struct {
	host host.Host
	cfg  Config
}

// New returns a Client on h. It does no I/O.
func New(h host.Host, cfg Config) *Client {
	if cfg.ReadBuffer <= 0 {
		cfg.ReadBuffer = DefaultReadBuffer
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Client{host: h, cfg: cfg}
}

// Request is one request to one peer.
type Request struct {
	Peer peer.ID
	// Protocols are the protocol IDs the stream may speak, preferred first;
	// at least one.
	Protocols []protocol.ID
	// Body is the whole request. Do writes it and closes the write side.
	Body []byte
	// Timeout, if > 0, bounds the exchange as well as the context does,
	// from opening the stream to the end of the ReadFunc.
	Timeout time.Duration
	// What names the request in errors ("row 12/3"); its String is called
	// only for an error. Nil names the first protocol instead.
	What fmt.Stringer
}

// ReadFunc reads and checks a response. r buffers the stream's read side in
// memory Do reserved; the ReadFunc may reserve more in scope, the stream's,
// and must release it before it returns. A nil error means the response was
// complete and good; the stream is then closed, otherwise reset.
type ReadFunc func(r *bufio.Reader, scope network.ResourceScope) error

// Do sends req and reads the response with read, as the package
// documentation describes. Errors are prefixed with the Config's Name and
// name the peer and the request.
func (c *Client) Do(ctx context.Context, req Request, read ReadFunc) (err error) {
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	name, p := c.cfg.Name, req.Peer
	var what any = req.What
	if req.What == nil && len(req.Protocols) > 0 {
		what = req.Protocols[0]
	}
	str, err := c.host.NewStream(ctx, p, req.Protocols...)
	if err != nil {
		return fmt.Errorf("%s: opening a stream to %s for %v: %w", name, p, what, err)
	}
	defer func() { c.finish(str, p, err) }()

	if err := str.Scope().SetService(c.cfg.Service); err != nil {
		return fmt.Errorf("%s: attaching stream to service: %w", name, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		if err := str.SetDeadline(dl); err != nil {
			return fmt.Errorf("%s: setting the stream deadline: %w", name, err)
		}
	}
	// The deadline ends the stream in time; a cancellation before it
	// resets the stream, which ends a blocked read or write. Do waits for
	// that reset, if it started, before it returns.
	reset := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(reset)
		c.reset(str, p)
	})
	defer func() {
		if !stop() {
			<-reset
		}
	}()

	scope := str.Scope()
	if err := scope.ReserveMemory(c.cfg.ReadBuffer, network.ReservationPriorityMedium); err != nil {
		return fmt.Errorf("%s: reserving the read buffer: %w", name, err)
	}
	defer scope.ReleaseMemory(c.cfg.ReadBuffer)

	if _, err := str.Write(req.Body); err != nil {
		return fmt.Errorf("%s: writing %v to %s: %w", name, what, p, err)
	}
	if err := str.CloseWrite(); err != nil {
		return fmt.Errorf("%s: closing write to %s: %w", name, p, err)
	}
	if err := read(bufio.NewReaderSize(str, c.cfg.ReadBuffer), scope); err != nil {
		if cerr := c.ctxErr(ctx, err); cerr != nil {
			return fmt.Errorf("%s: %s %v: %w (%w)", name, p, what, cerr, err)
		}
		return fmt.Errorf("%s: %s %v: %w", name, p, what, err)
	}
	return nil
}

// ctxErr returns the context error behind err, a read error that is not
// the peer's fault: ctx.Err(), or context.DeadlineExceeded for the stream
// deadline (set from ctx's) that fired before ctx noticed. It returns nil
// otherwise.
func (c *Client) ctxErr(ctx context.Context, err error) error {
	if c.cfg.Fault != nil && errors.Is(err, c.cfg.Fault) {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	var te interface{ Timeout() bool }
	if _, ok := ctx.Deadline(); ok && errors.As(err, &te) && te.Timeout() {
		return context.DeadlineExceeded
	}
	return nil
}

// finish closes str after a nil err and resets it otherwise.
func (c *Client) finish(str network.Stream, p peer.ID, err error) {
	if err != nil {
		c.reset(str, p)
		return
	}
	if cerr := str.Close(); cerr != nil {
		c.cfg.Log.Debug(c.cfg.Name+": closing stream", "peer", p, "err", cerr)
	}
}

func (c *Client) reset(str network.Stream, p peer.ID) {
	if err := str.Reset(); err != nil {
		c.cfg.Log.Debug(c.cfg.Name+": resetting stream", "peer", p, "err", err)
	}
}
