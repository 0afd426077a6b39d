package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultHTTPAddr is the default listen address of the gateway and the
// router: loopback only, as a node's operator opens it to others on
// purpose (a reverse proxy, or another address in the settings).
const DefaultHTTPAddr = "127.0.0.1:26661"

// HTTPSettings are the listener's settings of the HTTP server that
// carries the gateway and the router.
type HTTPSettings struct {
	// Addr is the TCP address to listen on, host:port (port 0 picks a free
	// one; see HTTP.Addr). Default DefaultHTTPAddr.
	Addr string
	// ReadHeaderTimeout bounds reading a request's headers (> 0).
	// Default 10 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds an idle keep-alive connection (> 0). Default 2 min.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (>= 1). Default 16 KiB.
	MaxHeaderBytes int
	// Log receives the server's errors; nil discards them.
	Log *slog.Logger
}

// DefaultHTTPSettings returns the default settings.
func DefaultHTTPSettings() HTTPSettings {
	return HTTPSettings{Addr: DefaultHTTPAddr, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
}

// Validate reports a setting out of range.
func (s HTTPSettings) Validate() error {
	switch {
	case s.Addr == "":
		return errors.New("serve: empty HTTP listen address")
	case s.ReadHeaderTimeout <= 0:
		return fmt.Errorf("serve: HTTP read header timeout %v, want > 0", s.ReadHeaderTimeout)
	case s.IdleTimeout <= 0:
		return fmt.Errorf("serve: HTTP idle timeout %v, want > 0", s.IdleTimeout)
	case s.MaxHeaderBytes < 1:
		return fmt.Errorf("serve: HTTP max header bytes %d, want >= 1", s.MaxHeaderBytes)
	}
	if _, _, err := net.SplitHostPort(s.Addr); err != nil {
		return fmt.Errorf("serve: HTTP listen address %q: %w", s.Addr, err)
	}
	return nil
}

// HTTP is the HTTP server of a node's datasets: the gateway under /ipfs/
// and the router under /routing/v1/ share one listener, told apart by
// path; any other path is 404. Either may be left out.
type HTTP struct {
	settings HTTPSettings
	log      *slog.Logger
	handler  http.Handler

	mu      sync.Mutex
	started bool
	stopped bool
	srv     *http.Server
	addr    net.Addr
	done    chan struct{}
}

// NewHTTP returns the server of gateway (NewGateway; nil: no /ipfs/) and
// router (NewRouter; nil: no /routing/v1/). It does no I/O: Start
// listens.
func NewHTTP(s HTTPSettings, gateway, router http.Handler) (*HTTP, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if gateway == nil && router == nil {
		return nil, errors.New("serve: HTTP server with neither gateway nor router")
	}
	mux := http.NewServeMux()
	if gateway != nil {
		mux.Handle("/ipfs/", gateway)
	}
	if router != nil {
		mux.Handle("/routing/v1/", router)
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &HTTP{settings: s, log: log, handler: mux}, nil
}

// Handler is what the server answers with, for a caller that serves it
// itself (httptest).
func (h *HTTP) Handler() http.Handler { return h.handler }

// Start listens on the settings' address and serves in a goroutine. An
// address that cannot be listened on is an error here. It is idempotent;
// a stopped server cannot be started again.
func (h *HTTP) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return errors.New("serve: HTTP server stopped")
	}
	if h.started {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", h.settings.Addr)
	if err != nil {
		return fmt.Errorf("serve: HTTP listen: %w", err)
	}
	h.srv = &http.Server{
		Handler:           h.handler,
		ReadHeaderTimeout: h.settings.ReadHeaderTimeout,
		IdleTimeout:       h.settings.IdleTimeout,
		MaxHeaderBytes:    h.settings.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
	}
	h.addr, h.done, h.started = ln.Addr(), make(chan struct{}), true
	go func() {
		defer close(h.done)
		if err := h.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("serve: HTTP server ended", "err", err)
		}
	}()
	return nil
}

// Addr is the address the server listens on, once started (nil before).
func (h *HTTP) Addr() net.Addr {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addr
}

// URL is http://Addr, once started ("" before): the gateway's base URL and
// the one to give kubo as a delegated router.
func (h *HTTP) URL() string {
	a := h.Addr()
	if a == nil {
		return ""
	}
	return "http://" + a.String()
}

// Stop stops accepting connections and waits for the requests in flight
// to end, until ctx ends; then it closes the connections left. It returns
// once the serving goroutine has exited. It is idempotent.
func (h *HTTP) Stop(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return nil
	}
	h.stopped = true
	if !h.started {
		return nil
	}
	err := h.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("serve: HTTP shutdown: %w", err), h.srv.Close())
	}
	<-h.done
	return err
}
