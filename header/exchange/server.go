package exchange

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/peerlimit"
	"github.com/datamesh/mesh-node/internal/streamserver"
)

// ServiceName is the libp2p resource-manager service of header-ex streams.
const ServiceName = "datamesh.header-ex"

// Server defaults.
const (
	// DefaultMaxStreamsPerPeer bounds one peer's concurrent header-ex
	// streams: twice the client's default parallelism, so a peer syncing
	// from us alone is never refused while two requests of it overlap.
	DefaultMaxStreamsPerPeer = 16
	// DefaultPeerRate and DefaultPeerBurst are one peer's token bucket:
	// 100 requests a second with bursts of 200. A client syncing over
	// loopback verifies about 4,600 headers of 32-wide squares a second on
	// two cores (BenchmarkGetVerifiedRange), 72 full requests: an honest
	// client stays under the limit, which stops only peers that ask for
	// more than they could use.
	DefaultPeerRate  = 100.0
	DefaultPeerBurst = 200
	// DefaultReadTimeout is how long the server waits for the whole
	// request, at most 64 bytes that a client writes as soon as the stream
	// is open: a second is several round trips on any link, and a peer
	// that sends nothing holds its stream slot no longer.
	// DefaultWriteTimeout bounds writing a response: 64 headers of a
	// 512-wide square are about 4.5 MiB, which takes 30 s at 1.2 Mbit/s.
	DefaultReadTimeout  = time.Second
	DefaultWriteTimeout = 30 * time.Second
)

type serverConfig struct {
	streamserver.Settings
	now func() time.Time
}

// ServerOption configures a Server; it returns an error for a value out of
// range.
type ServerOption func(*serverConfig) error

// shared is the ServerOption of an option header-ex and shrex share.
func shared(o streamserver.Option) ServerOption {
	return func(c *serverConfig) error { return o.Apply("exchange", &c.Settings) }
}

// WithMaxStreamsPerPeer sets how many header-ex streams of one peer are
// served at once (n >= 1); more are answered RATE_LIMITED.
func WithMaxStreamsPerPeer(n int) ServerOption { return shared(streamserver.MaxStreamsPerPeer(n)) }

// WithPeerRateLimit sets each peer's token bucket: perSecond requests a
// second (> 0) with bursts of burst (>= 1). A request without a token is
// answered RATE_LIMITED.
func WithPeerRateLimit(perSecond float64, burst int) ServerOption {
	return shared(streamserver.PeerRateLimit(perSecond, burst))
}

// WithServerTimeouts sets the deadlines for reading a request and for
// writing a response, both > 0.
func WithServerTimeouts(read, write time.Duration) ServerOption {
	return shared(streamserver.Timeouts(read, write))
}

// WithServerLogger sets the server's logger; the default discards.
func WithServerLogger(l *slog.Logger) ServerOption { return shared(streamserver.Logger(l)) }

// Server answers header-ex requests from a header.Store. It serves whatever
// the store holds; it never verifies (the store holds verified headers).
type Server struct {
	store  header.Store
	cfg    serverConfig
	srv    *streamserver.Server // its Context bounds store reads
	limits *peerlimit.Limiter
}

// NewServer returns a server for network (the chain ID) reading from store.
// It does no I/O; Start registers the stream handler.
func NewServer(h host.Host, network string, store header.Store, opts ...ServerOption) (*Server, error) {
	if h == nil || store == nil {
		return nil, errors.New("exchange: NewServer needs a host and a store")
	}
	if network == "" {
		return nil, errors.New("exchange: empty network ID")
	}
	cfg := serverConfig{
		Settings: streamserver.Settings{
			MaxStreamsPerPeer: DefaultMaxStreamsPerPeer,
			PeerRate:          DefaultPeerRate,
			PeerBurst:         DefaultPeerBurst,
			ReadTimeout:       DefaultReadTimeout,
			WriteTimeout:      DefaultWriteTimeout,
			Log:               slog.New(slog.DiscardHandler),
		},
		now: time.Now,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	s := &Server{
		store: store, cfg: cfg,
		limits: cfg.Limiter(cfg.now),
	}
	s.srv = streamserver.New("exchange", h, cfg.Log, streamserver.Protocol{
		ID:    ProtocolID(network),
		Serve: s.serve,
	})
	return s, nil
}

// Start registers the stream handler. It is idempotent; a stopped server
// cannot be started again.
func (s *Server) Start(context.Context) error { return s.srv.Start() }

// Stop removes the stream handler, cancels in-flight requests and waits for
// their handlers to return, or for ctx. It is idempotent.
func (s *Server) Stop(ctx context.Context) error { return s.srv.Stop(ctx) }

// serve reads one request from str and answers it. An error means the
// stream must be reset.
func (s *Server) serve(str network.Stream) error {
	if err := str.Scope().SetService(ServiceName); err != nil {
		return fmt.Errorf("exchange: attaching stream to service: %w", err)
	}
	ok, release := s.limits.Admit(str.Conn().RemotePeer())
	defer release()

	if err := str.SetReadDeadline(s.cfg.now().Add(s.cfg.ReadTimeout)); err != nil {
		return err
	}
	if err := str.Scope().ReserveMemory(maxRequestSize+16, network.ReservationPriorityAlways); err != nil {
		return fmt.Errorf("exchange: reserving request buffer: %w", err)
	}
	defer str.Scope().ReleaseMemory(maxRequestSize + 16)
	req, err := readRequest(bufio.NewReaderSize(str, maxRequestSize+16))
	if err != nil && !errors.Is(err, ErrInvalidMessage) {
		return err
	}
	if cerr := str.CloseRead(); cerr != nil {
		return cerr
	}
	if err := str.SetWriteDeadline(s.cfg.now().Add(s.cfg.WriteTimeout)); err != nil {
		return err
	}
	switch {
	case err != nil:
		return s.write(str, StatusBadRequest, nil)
	case !ok:
		return s.write(str, StatusRateLimited, nil)
	}

	ctx, cancel := context.WithTimeout(s.srv.Context(), s.cfg.WriteTimeout)
	defer cancel()
	switch {
	case req.head:
		h, err := s.store.Head(ctx)
		return s.writeOne(str, h, err)
	case req.hash != nil:
		h, err := s.store.Get(ctx, req.hash)
		return s.writeOne(str, h, err)
	}
	hs, err := s.getRange(ctx, req.from, req.amount)
	if err != nil {
		s.cfg.Log.Warn("exchange: reading headers", "range", req, "err", err)
		return s.write(str, StatusInternal, nil)
	}
	for _, h := range hs {
		if err := s.writeHeader(str, h); err != nil {
			return err
		}
	}
	if uint64(len(hs)) < req.amount {
		return s.write(str, StatusNotFound, nil)
	}
	return nil
}

func readRequest(r *bufio.Reader) (request, error) {
	n, err := readLen(r, maxRequestSize)
	if err != nil {
		return request{}, err
	}
	b, err := readBody(r, n)
	if err != nil {
		return request{}, err
	}
	return unmarshalRequest(b)
}

// getRange returns the headers the store holds at heights from, from+1,
// ... up to amount of them, stopping at the first it lacks.
func (s *Server) getRange(ctx context.Context, from, amount uint64) ([]*header.ExtendedHeader, error) {
	to := min(from+amount, s.store.Height()+1)
	if to <= from {
		return nil, nil
	}
	hs, err := s.store.GetRange(ctx, from, to)
	if err == nil {
		return hs, nil
	}
	if !errors.Is(err, header.ErrNotFound) {
		return nil, err
	}
	// A gap (below the store's base): the contiguous part from `from`.
	hs = hs[:0]
	for h := from; h < to; h++ {
		eh, err := s.store.GetByHeight(ctx, h)
		if errors.Is(err, header.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		hs = append(hs, eh)
	}
	return hs, nil
}

func (s *Server) writeOne(str network.Stream, h *header.ExtendedHeader, err error) error {
	switch {
	case errors.Is(err, header.ErrNotFound):
		return s.write(str, StatusNotFound, nil)
	case err != nil:
		s.cfg.Log.Warn("exchange: reading header", "err", err)
		return s.write(str, StatusInternal, nil)
	}
	return s.writeHeader(str, h)
}

func (s *Server) writeHeader(str network.Stream, h *header.ExtendedHeader) error {
	b, err := h.MarshalBinary()
	if err != nil {
		s.cfg.Log.Error("exchange: encoding a stored header", "height", h.Height(), "err", err)
		return s.write(str, StatusInternal, nil)
	}
	return s.write(str, StatusOK, b)
}

// write sends one Response within the stream's memory reservation.
func (s *Server) write(str network.Stream, st Status, body []byte) error {
	msg := frame(marshalResponse(st, body))
	if err := str.Scope().ReserveMemory(len(msg), network.ReservationPriorityHigh); err != nil {
		return fmt.Errorf("exchange: reserving %d bytes for a response: %w", len(msg), err)
	}
	defer str.Scope().ReleaseMemory(len(msg))
	_, err := str.Write(msg)
	return err
}
