package shrex

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/internal/peerlimit"
	"github.com/datamesh/mesh-node/internal/streamserver"
	"github.com/datamesh/mesh-node/share"
)

// ServiceName is the libp2p resource-manager service of shrex streams, on
// both sides.
const ServiceName = "datamesh.shrex"

// Store is where a Server reads squares from. EDS returns the extended
// square of the block at height, or an error wrapping ErrNotFound when the
// store does not hold it (for a store with another sentinel, see
// WithNotFound); any other error is answered INTERNAL. The square is read,
// never modified.
type Store interface {
	EDS(ctx context.Context, height uint64) (*eds.ExtendedDataSquare, error)
}

// Server defaults.
const (
	// DefaultMaxStreamsPerPeer bounds one peer's concurrent shrex streams,
	// over all five protocols. A light node's DASer has up to 16 samples in
	// flight for each of its 4 catch-up workers and each new head: 128
	// leaves it room, and the per-protocol limits (DefaultMaxConcurrent)
	// still keep one peer to a quarter of the server's sample capacity.
	DefaultMaxStreamsPerPeer = 128
	// DefaultPeerRate and DefaultPeerBurst are one peer's token bucket over
	// all five protocols: 10,000 requests a second with bursts of 20,000.
	// A light node catching up samples 16 cells per header at several
	// hundred headers a second (8,000 samples/s measured from one bridge);
	// a lower rate made one bridge hold a catching-up light node to about 6
	// headers a second and, refusing it, made it mark an available height
	// unavailable. What a peer may cost the server is bounded by the
	// concurrency limits; the bucket only stops a peer that floods.
	DefaultPeerRate  = 10000.0
	DefaultPeerBurst = 20000
	// DefaultReadTimeout is how long the server waits for the whole
	// request, at most 37 bytes that a client writes as soon as the stream
	// is open: a second is several round trips on any link. A stream holds
	// only its peer's stream slot (DefaultMaxStreamsPerPeer) while the
	// request is read, never one of the protocol's (DefaultMaxConcurrent).
	DefaultReadTimeout = time.Second
	// DefaultWriteTimeout is the base deadline for writing a response; a
	// response of n bytes gets n/DefaultMinThroughput more.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultMinThroughput (1 MiB/s, 8 Mbit/s) is the slowest transfer the
	// deadlines allow for: a 128-wide ODS (8 MiB) gets 18 s, a 512-wide
	// one (128 MiB) a little over 2 minutes.
	DefaultMinThroughput = 1 << 20
	// writeBufferSize is the buffer responses are written through, and the
	// memory reserved for it.
	writeBufferSize = 64 << 10
)

// DefaultMaxConcurrent returns the default number of requests of protocol
// k served at once, over all peers; more are answered RATE_LIMITED. A
// request takes its slot once it has been read, for the store read and the
// response, and the slots are shared among peers as peerlimit.Pool
// describes: a quarter of them (at least one) is kept for peers holding
// none, so one peer holds at most the other three quarters (48 nd, 6 eds)
// and the protocol is full only when more than a quarter as many peers as
// it has slots (17 for nd, 3 for eds) hold slots at once. Samples
// and rows are cheap (one tree of 2k leaves), a samples request proves up
// to MaxSamplesPerRequest cells (128 of them are as many cells as 8,192
// single samples), namespace data builds up to k
// trees, and a square request holds a whole square from the store for as
// long as the transfer takes (32 MiB of extended square at k = 128).
func DefaultMaxConcurrent(k Kind) int {
	switch k {
	case KindSample:
		return 512
	case KindRow:
		return 256
	case KindNamespaceData:
		return 64
	case KindEDS:
		return 8
	case KindSamples:
		return 128
	}
	return 0
}

type serverConfig struct {
	streamserver.Settings
	maxConcurrent [len(kinds) + 1]int
	minThroughput int
	isNotFound    func(error) bool
	now           func() time.Time
	metrics       Metrics // may be nil
	onAdmit       func()  // tests: called once a stream holds its peer's slot
	onRelease     func()  // tests: called once a stream has given its peer's slot back
	cacheSquares  int
	cacheBytes    int
}

// ServerOption configures a Server; it returns an error for a value out of
// range.
type ServerOption func(*serverConfig) error

// shared is the ServerOption of an option header-ex and shrex share.
func shared(o streamserver.Option) ServerOption {
	return func(c *serverConfig) error { return o.Apply("shrex", &c.Settings) }
}

// WithMaxStreamsPerPeer sets how many shrex streams of one peer are served
// at once (n >= 1); more are answered RATE_LIMITED.
func WithMaxStreamsPerPeer(n int) ServerOption { return shared(streamserver.MaxStreamsPerPeer(n)) }

// WithPeerRateLimit sets each peer's token bucket: perSecond requests a
// second (> 0) with bursts of burst (>= 1). A request without a token is
// answered RATE_LIMITED.
func WithPeerRateLimit(perSecond float64, burst int) ServerOption {
	return shared(streamserver.PeerRateLimit(perSecond, burst))
}

// WithMaxConcurrent sets how many requests of protocol k are served at once
// over all peers (n >= 1); more are answered RATE_LIMITED. A quarter of
// them is kept for peers that hold none (see DefaultMaxConcurrent); with
// n = 1 one peer can hold the only slot.
func WithMaxConcurrent(k Kind, n int) ServerOption {
	return func(c *serverConfig) error {
		if !k.valid() || n < 1 {
			return fmt.Errorf("shrex: max concurrent %v requests %d, want a known protocol and n >= 1", k, n)
		}
		c.maxConcurrent[k] = n
		return nil
	}
}

// WithServerTimeouts sets the deadline for reading a request (see
// DefaultReadTimeout) and the base deadline for writing a response, both
// > 0.
func WithServerTimeouts(read, write time.Duration) ServerOption {
	return shared(streamserver.Timeouts(read, write))
}

// WithServerMinThroughput sets the slowest transfer, in bytes a second
// (> 0), the write deadline allows for.
func WithServerMinThroughput(bytesPerSecond int) ServerOption {
	return func(c *serverConfig) error {
		if bytesPerSecond <= 0 {
			return fmt.Errorf("shrex: min throughput %d, want > 0", bytesPerSecond)
		}
		c.minThroughput = bytesPerSecond
		return nil
	}
}

// WithNotFound sets how the server recognises the store's "not held"
// errors, besides those wrapping ErrNotFound: for example
// func(err error) bool { return errors.Is(err, store.ErrNotFound) } for
// eds/store.
func WithNotFound(is func(error) bool) ServerOption {
	return func(c *serverConfig) error {
		if is == nil {
			return errors.New("shrex: nil not-found predicate")
		}
		c.isNotFound = is
		return nil
	}
}

// WithSampleCache bounds the server's cache of row provers (see
// DefaultSampleCacheSquares): at most squares squares and bytes bytes of
// provers, eds.AxisProverSize(2k) bytes per row of a square of width 2k.
// squares = 0 turns the cache off (every sample builds its row's tree);
// both must be >= 0.
func WithSampleCache(squares, bytes int) ServerOption {
	return func(c *serverConfig) error {
		if squares < 0 || bytes < 0 {
			return fmt.Errorf("shrex: sample cache of %d squares and %d bytes, want >= 0", squares, bytes)
		}
		c.cacheSquares, c.cacheBytes = squares, bytes
		return nil
	}
}

// WithServerLogger sets the server's logger; the default discards.
func WithServerLogger(l *slog.Logger) ServerOption { return shared(streamserver.Logger(l)) }

// Server answers the four shrex protocols from a Store. It serves what the
// store holds without checking it (the store holds squares that match
// their headers).
type Server struct {
	store   Store
	cfg     serverConfig
	srv     *streamserver.Server // its Context bounds store reads
	limits  *peerlimit.Limiter
	pools   [len(kinds) + 1]*peerlimit.Pool // by protocol
	provers *provers
}

// NewServer returns a server for network (the chain ID) reading from store.
// It does no I/O; Start registers the stream handlers.
func NewServer(h host.Host, network string, store Store, opts ...ServerOption) (*Server, error) {
	if h == nil || store == nil {
		return nil, errors.New("shrex: NewServer needs a host and a store")
	}
	if network == "" {
		return nil, errors.New("shrex: empty network ID")
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
		minThroughput: DefaultMinThroughput,
		isNotFound:    func(error) bool { return false },
		now:           time.Now,
		cacheSquares:  DefaultSampleCacheSquares,
		cacheBytes:    DefaultSampleCacheBytes,
	}
	for _, k := range kinds {
		cfg.maxConcurrent[k] = DefaultMaxConcurrent(k)
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
		limits:  cfg.Limiter(cfg.now),
		provers: newProvers(cfg.cacheSquares, cfg.cacheBytes),
	}
	for _, k := range kinds {
		s.pools[k] = peerlimit.NewPool(cfg.maxConcurrent[k])
	}
	protocols := make([]streamserver.Protocol, 0, len(kinds))
	for _, k := range kinds {
		protocols = append(protocols, streamserver.Protocol{
			ID:    ProtocolID(network, k),
			Attrs: []any{"protocol", k},
			Serve: s.serveKind(k),
		})
	}
	s.srv = streamserver.New("shrex", h, cfg.Log, protocols...)
	return s, nil
}

// Start registers the stream handlers. It is idempotent; a stopped server
// cannot be started again.
func (s *Server) Start(context.Context) error { return s.srv.Start() }

// Stop removes the stream handlers, cancels in-flight requests and waits
// for their handlers to return, or for ctx. It is idempotent.
func (s *Server) Stop(ctx context.Context) error { return s.srv.Stop(ctx) }

// serveKind returns the handler of protocol k's streams.
func (s *Server) serveKind(k Kind) func(network.Stream) error {
	return func(str network.Stream) error { return s.observe(k, str, s.serve) }
}

// serve reads one request of protocol k from str and answers it. An error
// means the stream must be reset.
//
// The stream holds its peer's stream slot (and spends a token) from the
// start, but a slot of protocol k only once the request has been read
// within the read deadline: a peer's idle streams count against it alone.
func (s *Server) serve(k Kind, str network.Stream) error {
	if err := str.Scope().SetService(ServiceName); err != nil {
		return fmt.Errorf("shrex: attaching stream to service: %w", err)
	}
	p := str.Conn().RemotePeer()
	ok, release := s.limits.Admit(p)
	defer func() {
		release()
		if s.cfg.onRelease != nil {
			s.cfg.onRelease()
		}
	}()
	if s.cfg.onAdmit != nil {
		s.cfg.onAdmit()
	}

	if err := str.SetReadDeadline(s.cfg.now().Add(s.cfg.ReadTimeout)); err != nil {
		return err
	}
	// The request is the ID alone, and the client closes its side after
	// it: read one byte more than the ID (the largest, for samples) to see
	// that nothing follows.
	size := RequestSize(k)
	var buf [maxRequestSize + 1]byte
	n, err := io.ReadFull(str, buf[:size+1])
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
	case err != nil:
		return fmt.Errorf("shrex: reading request: %w", err)
	}
	if cerr := str.CloseRead(); cerr != nil {
		return cerr
	}
	req, perr := parseRequest(k, buf[:n])
	if perr != nil {
		return s.writeStatus(str, StatusBadRequest, 0)
	}
	if !ok {
		return s.writeStatus(str, StatusRateLimited, 0)
	}
	ok, releaseSlot := s.pools[k].Take(p)
	if !ok {
		return s.writeStatus(str, StatusRateLimited, 0)
	}
	defer releaseSlot()

	ctx, cancel := context.WithTimeout(s.srv.Context(), s.cfg.WriteTimeout)
	defer cancel()
	e, err := s.store.EDS(ctx, req.height)
	switch {
	case errors.Is(err, ErrNotFound) || err != nil && s.cfg.isNotFound(err):
		return s.writeStatus(str, StatusNotFound, 0)
	case err != nil:
		s.cfg.Log.Warn("shrex: reading a square", "height", req.height, "err", err)
		return s.writeStatus(str, StatusInternal, 0)
	case e == nil:
		s.cfg.Log.Error("shrex: store returned no square and no error", "height", req.height)
		return s.writeStatus(str, StatusInternal, 0)
	}
	if err := req.checkRange(e.Width()); err != nil {
		return s.writeStatus(str, StatusBadRequest, 0)
	}
	switch k {
	case KindSample:
		return s.serveSample(str, e, req)
	case KindSamples:
		return s.serveSamples(str, e, req)
	case KindRow:
		return s.serveShares(str, e.Row(req.row)[:e.K()])
	case KindNamespaceData:
		return s.serveNamespaceData(str, e, req.ns)
	default:
		return s.serveShares(str, e.ODS())
	}
}

// serveSample answers with the cell's share and its proof against its
// row's root.
func (s *Server) serveSample(str network.Stream, e *eds.ExtendedDataSquare, req request) error {
	b, err := s.sampleBytes(e, req.height, req.row, req.col)
	if err != nil {
		return s.internal(str, req, err)
	}
	return s.writeFrames(str, [][]byte{b})
}

// serveSamples answers with each cell's share and its proof against its
// row's root, in request order.
func (s *Server) serveSamples(str network.Stream, e *eds.ExtendedDataSquare, req request) error {
	msgs := make([][]byte, len(req.cells))
	for i, c := range req.cells {
		var err error
		if msgs[i], err = s.sampleBytes(e, req.height, c.Row, c.Col); err != nil {
			return s.internal(str, req, err)
		}
	}
	return s.writeFrames(str, msgs)
}

// sampleBytes returns the encoded sample of (row, col), proved by the
// server's cached row prover.
func (s *Server) sampleBytes(e *eds.ExtendedDataSquare, height uint64, row, col int) ([]byte, error) {
	smp, err := s.provers.sample(e, height, row, col)
	if err != nil {
		return nil, err
	}
	return smp.MarshalBinary()
}

// serveNamespaceData answers with one framed RowNamespaceData per row that
// may hold ns, in increasing row order.
func (s *Server) serveNamespaceData(str network.Stream, e *eds.ExtendedDataSquare, ns share.Namespace) error {
	req := request{kind: KindNamespaceData, ns: ns}
	nd, err := e.NamespaceData(ns)
	if err != nil {
		return s.internal(str, req, err)
	}
	msgs := make([][]byte, len(nd))
	for i := range nd {
		if msgs[i], err = nd[i].Data.MarshalBinary(); err != nil {
			return s.internal(str, req, err)
		}
	}
	return s.writeFrames(str, msgs)
}

func (s *Server) internal(str network.Stream, req request, err error) error {
	s.cfg.Log.Error("shrex: building a response", "request", req, "err", err)
	return s.writeStatus(str, StatusInternal, 0)
}

// writeStatus writes a response header, the whole response unless st is
// StatusOK, in which case payload bytes follow and set the write deadline.
func (s *Server) writeStatus(str network.Stream, st Status, payload int) error {
	if rec, ok := str.(*statusStream); ok {
		rec.status = st
	}
	d := s.cfg.WriteTimeout + time.Duration(float64(payload)/float64(s.cfg.minThroughput)*float64(time.Second))
	if err := str.SetWriteDeadline(s.cfg.now().Add(d)); err != nil {
		return err
	}
	if st == StatusOK {
		return nil
	}
	_, err := str.Write(appendHeader(nil, st))
	return err
}

// writeFrames writes OK and the messages, each framed by its length, from
// memory reserved for them.
func (s *Server) writeFrames(str network.Stream, msgs [][]byte) error {
	size := maxHeaderSize
	for _, m := range msgs {
		size += 10 + len(m)
	}
	if err := str.Scope().ReserveMemory(size, network.ReservationPriorityHigh); err != nil {
		return fmt.Errorf("shrex: reserving %d bytes for a response: %w", size, err)
	}
	defer str.Scope().ReleaseMemory(size)
	if err := s.writeStatus(str, StatusOK, size); err != nil {
		return err
	}
	b := appendHeader(make([]byte, 0, size), StatusOK)
	for _, m := range msgs {
		b = appendFrame(b, m)
	}
	_, err := str.Write(b)
	return err
}

// serveShares writes OK and the shares back to back, through a buffer
// reserved in the stream's scope. The shares alias the square.
func (s *Server) serveShares(str network.Stream, shares [][]byte) error {
	if err := str.Scope().ReserveMemory(writeBufferSize, network.ReservationPriorityHigh); err != nil {
		return fmt.Errorf("shrex: reserving the write buffer: %w", err)
	}
	defer str.Scope().ReleaseMemory(writeBufferSize)
	if err := s.writeStatus(str, StatusOK, len(shares)*share.ShareSize); err != nil {
		return err
	}
	w := bufio.NewWriterSize(str, writeBufferSize)
	if _, err := w.Write(appendHeader(nil, StatusOK)); err != nil {
		return err
	}
	for _, sh := range shares {
		if _, err := w.Write(sh); err != nil {
			return err
		}
	}
	return w.Flush()
}
