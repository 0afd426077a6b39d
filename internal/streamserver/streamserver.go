// Package streamserver is the lifecycle of a libp2p request-response
// server as header-ex and shrex run it: stream handlers registered by Start
// and removed by Stop, which cancels in-flight requests and waits for their
// handlers; one stream a request, reset on error or panic and closed
// otherwise. What a request is and how it is answered is the caller's.
package streamserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Protocol is one protocol a Server answers.
type Protocol struct {
	ID protocol.ID
	// Attrs are added to the log attributes of its streams, after the peer.
	Attrs []any
	// Serve answers one stream. An error means the stream must be reset;
	// otherwise it is closed. A panic resets it.
	Serve func(network.Stream) error
}

// Server runs the handlers of its protocols. Its methods are safe for
// concurrent use.
type Server struct {
	name      string
	host      host.Host
	log       *slog.Logger
	protocols []Protocol

	ctx    context.Context // cancelled by Stop
	cancel context.CancelFunc

	mu      sync.Mutex
	started bool
	stopped bool
	wg      sync.WaitGroup // in-flight handlers
}

// New returns a Server on h for protocols; name prefixes its errors and
// log messages ("shrex"), which go to log (nil: discarded). It does no I/O.
func New(name string, h host.Host, log *slog.Logger, protocols ...Protocol) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{name: name, host: h, log: log, protocols: protocols, ctx: ctx, cancel: cancel}
}

// Context is cancelled by Stop; it bounds the work of requests.
func (s *Server) Context() context.Context { return s.ctx }

// Start registers the stream handlers. It is idempotent; a stopped server
// cannot be started again.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New(s.name + ": server stopped")
	}
	if !s.started {
		s.started = true
		for _, p := range s.protocols {
			s.host.SetStreamHandler(p.ID, func(str network.Stream) { s.handle(p, str) })
		}
	}
	return nil
}

// Stop removes the stream handlers, cancels in-flight requests and waits
// for their handlers to return, or for ctx. It is idempotent.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		if s.started {
			for _, p := range s.protocols {
				s.host.RemoveStreamHandler(p.ID)
			}
		}
		s.cancel()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: stopping server: %w", s.name, ctx.Err())
	}
}

// enter registers a handler, false once stopped.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *Server) handle(p Protocol, str network.Stream) {
	if !s.enter() {
		_ = str.Reset()
		return
	}
	defer s.wg.Done()
	log := s.log.With(append([]any{"peer", str.Conn().RemotePeer()}, p.Attrs...)...)
	defer func() {
		if r := recover(); r != nil {
			log.Error(s.name+": panic serving a request", "panic", r)
			_ = str.Reset()
		}
	}()
	if err := p.Serve(str); err != nil {
		log.Debug(s.name+": serving a request", "err", err)
		if rerr := str.Reset(); rerr != nil {
			log.Debug(s.name+": resetting stream", "err", rerr)
		}
		return
	}
	if err := str.Close(); err != nil {
		log.Debug(s.name+": closing stream", "err", err)
	}
}
