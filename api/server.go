package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/internal/logging"
)

// Defaults of ServerOptions.
const (
	DefaultAddr              = "127.0.0.1:26658"
	DefaultMaxRequestBytes   = 32 << 20
	DefaultMaxBatch          = 64
	DefaultMaxConns          = 1024
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	// DefaultBodyBudgetFactor times MaxRequestBytes is the default
	// BodyBudget.
	DefaultBodyBudgetFactor = 4
)

// ErrServerStopped is returned by Start after Stop.
var ErrServerStopped = errors.New("api: server stopped")

// ServerOptions configure a Server. Zero values take the defaults.
type ServerOptions struct {
	// Addr is the listen address (default DefaultAddr); port 0 picks a free
	// port, which Addr reports after Start.
	Addr string
	// Secret is the HS256 key tokens are verified with; required unless
	// SkipAuth.
	Secret []byte
	// SkipAuth gives every call every permission and ignores tokens
	// (--rpc.skip-auth).
	SkipAuth bool
	// MaxRequestBytes bounds an HTTP request body (default
	// DefaultMaxRequestBytes); a larger body is refused with HTTP 413 and a
	// JSON-RPC error. It bounds each WebSocket message too: a larger one
	// closes the connection.
	MaxRequestBytes int64
	// MaxBatch bounds the requests of one JSON-RPC batch (default
	// DefaultMaxBatch); a larger batch is refused whole with a JSON-RPC
	// error.
	MaxBatch int
	// MaxConns bounds the connections served at once, WebSockets
	// included (default DefaultMaxConns). Past it a new connection
	// replaces the oldest idle one or, when none is idle, waits to be
	// served (see connLimiter).
	MaxConns int
	// ReadHeaderTimeout bounds reading a request's headers, counted from
	// the connection's start or from the first byte after a keep-alive
	// wait (default DefaultReadHeaderTimeout).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a request's body once its headers are
	// read (default DefaultReadTimeout). It does not bound the call, nor a
	// WebSocket.
	ReadTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends no new
	// request for this long (default DefaultIdleTimeout). WebSockets are
	// not closed for being idle.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (default
	// DefaultMaxHeaderBytes).
	MaxHeaderBytes int
	// BodyBudget bounds the bytes of the request bodies held at once, over
	// every connection (default DefaultBodyBudgetFactor*MaxRequestBytes,
	// and never less than MaxRequestBytes). A request whose body does not
	// fit is refused with HTTP 503, a Retry-After header and a JSON-RPC
	// "busy" error.
	BodyBudget int64
	// Logger receives the server's logs (default: discarded).
	Logger *slog.Logger
}

// Modules are the modules a Server serves; a nil module is not served
// (Fraud is nil on a node without a fraud service).
// Each is registered under its namespace ("blob", "header", ...): its
// exported methods are the RPC methods, each checking the permission its
// module's table gives it.
type Modules struct {
	Blob   *BlobModule
	Header *HeaderModule
	Share  *ShareModule
	DAS    *DASModule
	State  *StateModule
	P2P    *P2PModule
	Node   *NodeModule
	Fraud  *FraudModule
	KZG    *KZGModule
	// Blobstream serves data root tuple roots from the header store.
	Blobstream *BlobstreamModule
	// Dataset is the dataset index (bridge and full nodes; a light node's
	// answers store.ErrNoIndex).
	Dataset *DatasetModule
}

// list returns the modules that are not nil.
func (m Modules) list() []rpcModule {
	var out []rpcModule
	add := func(mod rpcModule, ok bool) {
		if ok {
			out = append(out, mod)
		}
	}
	add(m.Blob, m.Blob != nil)
	add(m.Header, m.Header != nil)
	add(m.Share, m.Share != nil)
	add(m.DAS, m.DAS != nil)
	add(m.State, m.State != nil)
	add(m.P2P, m.P2P != nil)
	add(m.Node, m.Node != nil)
	add(m.Fraud, m.Fraud != nil)
	add(m.KZG, m.KZG != nil)
	add(m.Blobstream, m.Blobstream != nil)
	add(m.Dataset, m.Dataset != nil)
	return out
}

// registerModules registers each of mods with rpc under its table's
// namespace, after checking that its table names exactly its exported
// methods (checkTable); it registers nothing if one does not.
func registerModules(rpc *jsonrpc.RPCServer, mods []rpcModule) error {
	for _, m := range mods {
		if err := checkTable(m); err != nil {
			return err
		}
	}
	for _, m := range mods {
		rpc.Register(m.rpcTable().namespace, m)
	}
	return nil
}

// Server is the JSON-RPC 2.0 server: HTTP POST and WebSocket on "/",
// authenticated by "Authorization: Bearer <JWT>".
type Server struct {
	opts   ServerOptions
	secret []byte
	rpc    *jsonrpc.RPCServer
	log    *slog.Logger

	mu       sync.Mutex
	state    int // 0 new, 1 started, 2 stopped
	srv      *http.Server
	ln       net.Listener
	conns    *connLimiter
	bodies   *budget // bytes of request bodies held
	serveErr chan error
	// life ends at Stop: it ends WebSocket connections, which
	// http.Server.Shutdown does not track.
	life     context.Context
	stopLife context.CancelFunc
	handlers sync.WaitGroup
}

// NewServer returns a server of mods configured by opts. It does no I/O.
// It fails without a Secret unless SkipAuth, and for a module whose
// permission table does not name exactly its exported methods.
func NewServer(opts ServerOptions, mods Modules) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = DefaultReadTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if opts.BodyBudget <= 0 {
		opts.BodyBudget = DefaultBodyBudgetFactor * opts.MaxRequestBytes
	}
	opts.BodyBudget = max(opts.BodyBudget, opts.MaxRequestBytes)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if !opts.SkipAuth && len(opts.Secret) == 0 {
		return nil, errors.New("api: new server: a secret is required unless auth is skipped")
	}
	rpc := jsonrpc.NewServer(jsonrpc.WithMaxRequestSize(opts.MaxRequestBytes))
	if err := registerModules(rpc, mods.list()); err != nil {
		return nil, fmt.Errorf("api: new server: %w", err)
	}
	life, stop := context.WithCancel(context.Background())
	return &Server{
		opts:     opts,
		secret:   bytes.Clone(opts.Secret),
		rpc:      rpc,
		bodies:   &budget{limit: opts.BodyBudget},
		log:      opts.Logger,
		life:     life,
		stopLife: stop,
	}, nil
}

// Start listens on the configured address and serves in the background.
// Calling it again after it succeeded does nothing; after Stop it returns
// ErrServerStopped.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case 1:
		return nil
	case 2:
		return ErrServerStopped
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w", s.opts.Addr, err)
	}
	s.ln = ln
	s.conns = newConnLimiter(ln, s.opts.MaxConns)
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		ConnState:         s.conns.connState,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.serveErr = make(chan error, 1)
	go func() { s.serveErr <- s.srv.Serve(s.conns) }()
	s.state = 1
	s.log.Info("rpc server started", "addr", ln.Addr().String(), "skip_auth", s.opts.SkipAuth,
		"max_connections", s.opts.MaxConns)
	return nil
}

// Stop stops accepting calls, closes WebSocket connections (ending their
// subscriptions) and waits for running handlers until ctx ends. It is
// idempotent; Stop before Start only prevents a later Start.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != 1 {
		s.state = 2
		s.stopLife()
		return nil
	}
	s.state = 2
	s.stopLife()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	if serr := <-s.serveErr; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	done := make(chan struct{})
	go func() { s.handlers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		return fmt.Errorf("api: stop: %w", err)
	}
	s.log.Info("rpc server stopped")
	return nil
}

// Addr returns the address the server listens on (host:port) once started,
// or "" before.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// ServeHTTP authenticates the request, bounds its body and batch size, and
// hands it to go-jsonrpc: a WebSocket upgrade, or a POSTed call or batch.
// The blobs of a POSTed blob.Submit are decoded here, in one pass (see
// predecodeSubmit).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handlers.Add(1)
	defer s.handlers.Done()

	perms, exp, ok := s.authenticate(r)
	if !ok {
		// A refused client gets no second request on this connection.
		w.Header().Set("Connection", "close")
		http.Error(w, "api: missing or invalid token", http.StatusUnauthorized)
		return
	}
	ctx := WithCaller(WithPerms(r.Context(), perms), callerID(r, s.opts.SkipAuth))

	if strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") {
		s.serveWS(ctx, w, r, exp)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeRPCError(w, http.StatusMethodNotAllowed, -32600, "api: JSON-RPC calls are POSTed (or sent over a WebSocket)")
		return
	}
	if r.ContentLength > s.opts.MaxRequestBytes {
		writeRPCError(w, http.StatusRequestEntityTooLarge, -32600,
			fmt.Sprintf("api: request body exceeds the limit of %d bytes", s.opts.MaxRequestBytes))
		return
	}
	// The body is held until the call returns: reserve its size (the
	// limit, when the client does not say) in the budget of every body.
	reserve := s.opts.MaxRequestBytes
	if r.ContentLength >= 0 {
		reserve = r.ContentLength
	}
	if !s.bodies.tryReserve(reserve) {
		s.log.Debug("rpc request refused: body budget spent", "remote", r.RemoteAddr, "body_bytes", reserve)
		w.Header().Set("Retry-After", strconv.Itoa(busyRetryAfter))
		writeRPCError(w, http.StatusServiceUnavailable, ErrCodeBusy,
			"api: busy: too many request bodies in flight, retry later")
		return
	}
	defer s.bodies.release(reserve)

	body, err := s.readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeRPCError(w, http.StatusRequestEntityTooLarge, -32600,
				fmt.Sprintf("api: request body exceeds the limit of %d bytes", s.opts.MaxRequestBytes))
			return
		}
		w.Header().Set("Connection", "close")
		writeRPCError(w, http.StatusBadRequest, -32700, "api: reading request: "+err.Error())
		return
	}
	// A blob.Submit's blobs are decoded here, which validates them, so
	// that checkBody has only the rest of the request to scan; should the
	// rest be invalid, checkBody words the error over the whole body.
	orig := body
	var preBlobs []*blob.Blob
	if rewritten, blobs, ok := predecodeSubmit(body); ok {
		body, preBlobs = rewritten, blobs
	}
	n, isBatch, err := checkBody(body)
	if err != nil && preBlobs != nil {
		body, preBlobs = orig, nil
		n, isBatch, err = checkBody(body)
	}
	if err != nil {
		writeRPCError(w, http.StatusBadRequest, -32700, "api: parse error: "+err.Error())
		return
	}
	if preBlobs != nil {
		ctx = withPreSubmit(ctx, preBlobs)
	}
	if isBatch && n > s.opts.MaxBatch {
		writeRPCError(w, http.StatusBadRequest, -32600,
			fmt.Sprintf("api: batch of %d requests exceeds the limit of %d", n, s.opts.MaxBatch))
		return
	}
	r = r.WithContext(ctx)
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w}
	s.rpc.ServeHTTP(sw, r)
	sw.finish()
}

// readBody reads r's body, up to the size limit and within ReadTimeout.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(s.opts.ReadTimeout)); err != nil {
		return nil, fmt.Errorf("set read deadline: %w", err)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes))
	if err != nil {
		return nil, err
	}
	// The call itself is not bounded by the body's deadline.
	if err := rc.SetReadDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("clear read deadline: %w", err)
	}
	return body, nil
}

// serveWS serves a WebSocket upgrade. The connection ends when the server
// stops (http.Server.Shutdown does not track a hijacked connection) and
// when the token it was opened with expires (exp, zero for never).
func (s *Server) serveWS(ctx context.Context, w http.ResponseWriter, r *http.Request, exp time.Time) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.life, cancel)
	defer stop()
	if !exp.IsZero() {
		var cancelExp context.CancelFunc
		ctx, cancelExp = context.WithDeadline(ctx, exp)
		defer cancelExp()
	}
	s.rpc.ServeHTTP(wsLimitWriter{ResponseWriter: w, limit: s.opts.MaxRequestBytes}, r.WithContext(ctx))
}

// authenticate returns the caller's permissions and when they expire (zero
// for never): every permission under SkipAuth, else those of the bearer
// token (header, or the "token" query parameter browsers' WebSockets
// need). No token or a bad one is refused.
func (s *Server) authenticate(r *http.Request) ([]Permission, time.Time, bool) {
	if s.opts.SkipAuth {
		return AllPerms(), time.Time{}, true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		if r.Header.Get("Authorization") != "" {
			return nil, time.Time{}, false
		}
		token = r.URL.Query().Get("token")
	}
	if token == "" {
		return nil, time.Time{}, false
	}
	perms, exp, err := verifyToken(s.secret, token)
	if err != nil {
		// The error may quote the token's header (its "alg").
		s.log.Warn("rpc token refused", "remote", r.RemoteAddr, "err", logging.ClientString(err.Error()))
		return nil, time.Time{}, false
	}
	return perms, exp, true
}

// checkBody returns an error unless body is one JSON value and nothing
// else but white space, and reports whether it is an array (a batch) and,
// if it is, how many elements it has. It copies no part of body.
func checkBody(body []byte) (n int, isBatch bool, err error) {
	if !json.Valid(body) {
		dec := json.NewDecoder(bytes.NewReader(body))
		var skip skipJSON
		if err := dec.Decode(&skip); errors.Is(err, io.EOF) {
			return 0, false, errors.New("empty request body")
		} else if err != nil {
			return 0, false, err
		}
		return 0, false, fmt.Errorf("data after the JSON value, at byte %d", dec.InputOffset())
	}
	body = bytes.TrimLeft(body, " \t\r\n")
	if body[0] != '[' {
		return 0, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return 0, true, err
	}
	for dec.More() {
		var skip skipJSON
		if err := dec.Decode(&skip); err != nil {
			return n, true, err
		}
		n++
	}
	return n, true, nil
}

// skipJSON decodes any JSON value into nothing.
type skipJSON struct{}

func (*skipJSON) UnmarshalJSON([]byte) error { return nil }

// writeRPCError writes a JSON-RPC error response with id null.
func writeRPCError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"jsonrpc": "2.0",
		"id":      nil,
		"error":   map[string]any{"code": code, "message": msg},
	})
}
