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
	"strings"
	"sync"
	"time"

	"github.com/filecoin-project/go-jsonrpc"
)

// Defaults of ServerOptions.
const (
	DefaultAddr            = "127.0.0.1:26658"
	DefaultMaxRequestBytes = 32 << 20
	DefaultMaxBatch        = 64
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
	// Logger receives the server's logs (default: discarded).
	Logger *slog.Logger
}

// Modules are the modules a Server serves; a nil module is not served.
// Header and Share are registered as they are under "header" and "share":
// their exported methods become the RPC methods (each must check its
// permission with the caller's context).
type Modules struct {
	Blob   *BlobModule
	Header any
	Share  any
	DAS    *DASModule
	State  *StateModule
	P2P    *P2PModule
	Node   *NodeModule
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
	serveErr chan error
	// life ends at Stop: it ends WebSocket connections, which
	// http.Server.Shutdown does not track.
	life     context.Context
	stopLife context.CancelFunc
	handlers sync.WaitGroup
}

// NewServer returns a server of mods configured by opts. It does no I/O.
// It fails without a Secret unless SkipAuth.
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
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if !opts.SkipAuth && len(opts.Secret) == 0 {
		return nil, errors.New("api: new server: a secret is required unless auth is skipped")
	}
	rpc := jsonrpc.NewServer(jsonrpc.WithMaxRequestSize(opts.MaxRequestBytes))
	register := func(ns string, m any, ok bool) {
		if ok {
			rpc.Register(ns, m)
		}
	}
	register("blob", mods.Blob, mods.Blob != nil)
	register("header", mods.Header, mods.Header != nil)
	register("share", mods.Share, mods.Share != nil)
	register("das", mods.DAS, mods.DAS != nil)
	register("state", mods.State, mods.State != nil)
	register("p2p", mods.P2P, mods.P2P != nil)
	register("node", mods.Node, mods.Node != nil)
	life, stop := context.WithCancel(context.Background())
	return &Server{
		opts:     opts,
		secret:   bytes.Clone(opts.Secret),
		rpc:      rpc,
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
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 2 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.serveErr = make(chan error, 1)
	go func() { s.serveErr <- s.srv.Serve(ln) }()
	s.state = 1
	s.log.Info("rpc server started", "addr", ln.Addr().String(), "skip_auth", s.opts.SkipAuth)
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
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handlers.Add(1)
	defer s.handlers.Done()

	perms, ok := s.authenticate(r)
	if !ok {
		http.Error(w, "api: missing or invalid token", http.StatusUnauthorized)
		return
	}
	ctx := WithCaller(WithPerms(r.Context(), perms), callerID(r, s.opts.SkipAuth))

	if strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") {
		// A hijacked connection outlives http.Server.Shutdown: tie it to
		// the server's life so Stop ends it.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(s.life, cancel)
		defer stop()
		s.rpc.ServeHTTP(wsLimitWriter{ResponseWriter: w, limit: s.opts.MaxRequestBytes}, r.WithContext(ctx))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeRPCError(w, http.StatusMethodNotAllowed, -32600, "api: JSON-RPC calls are POSTed (or sent over a WebSocket)")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeRPCError(w, http.StatusRequestEntityTooLarge, -32600,
				fmt.Sprintf("api: request body exceeds the limit of %d bytes", s.opts.MaxRequestBytes))
			return
		}
		writeRPCError(w, http.StatusBadRequest, -32700, "api: reading request: "+err.Error())
		return
	}
	if n, isBatch := batchLen(body); isBatch && n > s.opts.MaxBatch {
		writeRPCError(w, http.StatusBadRequest, -32600,
			fmt.Sprintf("api: batch of %d requests exceeds the limit of %d", n, s.opts.MaxBatch))
		return
	}
	r = r.WithContext(ctx)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.rpc.ServeHTTP(w, r)
}

// authenticate returns the caller's permissions: every permission under
// SkipAuth, else those of the bearer token (header, or the "token" query
// parameter browsers' WebSockets need). No token or a bad one is refused.
func (s *Server) authenticate(r *http.Request) ([]Permission, bool) {
	if s.opts.SkipAuth {
		return AllPerms, true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		if r.Header.Get("Authorization") != "" {
			return nil, false
		}
		token = r.URL.Query().Get("token")
	}
	if token == "" {
		return nil, false
	}
	perms, err := VerifyToken(s.secret, token)
	if err != nil {
		s.log.Warn("rpc token refused", "remote", r.RemoteAddr, "err", err)
		return nil, false
	}
	return perms, true
}

// batchLen reports whether body is a JSON array (a batch) and, if it is,
// how many elements it has (counting stops past the first bad token; the
// JSON-RPC handler reports malformed input).
func batchLen(body []byte) (int, bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '[' {
		return 0, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return 0, true
	}
	n := 0
	for dec.More() {
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			break
		}
		n++
	}
	return n, true
}

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
