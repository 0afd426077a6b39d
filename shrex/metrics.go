package shrex

import (
	"context"
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
)

// Metrics observes shrex requests, on either side. The consumer of the
// numbers (nodebuilder's Prometheus collectors) implements it; a nil
// Metrics, the default, observes nothing. Implementations must be safe for
// concurrent use and must not block: they are called from every request's
// goroutine.
type Metrics interface {
	// ObserveRequest is called once per request when it ends. side is
	// SideServer or SideClient; protocol is the Kind's String ("sample",
	// "samples", "row", "nd" or "eds"); status is one of the Outcome
	// constants; d is
	// how long the request took: on a server from receiving the stream to
	// the end of the response, on a client from opening the stream to the
	// verified result or the error.
	ObserveRequest(side, protocol, status string, d time.Duration)
}

// The sides of ObserveRequest.
const (
	// SideServer is a request a Server answered.
	SideServer = "server"
	// SideClient is a request a Client made.
	SideClient = "client"
)

// The outcomes (status labels) of ObserveRequest. A server reports the
// status it answered, or OutcomeError when it answered none (the stream
// failed or was reset). A client reports the status the peer answered or
// what went wrong.
const (
	// OutcomeOK is an OK response (on a client: verified).
	OutcomeOK = "ok"
	// OutcomeNotFound is NOT_FOUND.
	OutcomeNotFound = "not_found"
	// OutcomeRateLimited is RATE_LIMITED.
	OutcomeRateLimited = "rate_limited"
	// OutcomeBadRequest is BAD_REQUEST, reported by servers only (a client
	// receiving it reports OutcomeInvalid: it sends only valid requests).
	OutcomeBadRequest = "bad_request"
	// OutcomeInternal is INTERNAL.
	OutcomeInternal = "internal"
	// OutcomeInvalid is a client's ErrInvalidResponse: the peer's fault.
	OutcomeInvalid = "invalid"
	// OutcomeTimeout is a client's request that ran out of time.
	OutcomeTimeout = "timeout"
	// OutcomeCanceled is a client's request whose context was canceled.
	OutcomeCanceled = "canceled"
	// OutcomeError is anything else: a stream that could not be opened,
	// read or written.
	OutcomeError = "error"
)

// WithServerMetrics sets the server's metrics; nil (the default) observes
// nothing.
func WithServerMetrics(m Metrics) ServerOption {
	return func(c *serverConfig) error {
		c.metrics = m
		return nil
	}
}

// WithMetrics sets the client's metrics; nil (the default) observes
// nothing.
func WithMetrics(m Metrics) ClientOption {
	return func(c *clientConfig) error {
		c.metrics = m
		return nil
	}
}

// statusOutcome is the outcome label of a status a server answered.
func statusOutcome(st Status) string {
	switch st {
	case StatusOK:
		return OutcomeOK
	case StatusNotFound:
		return OutcomeNotFound
	case StatusRateLimited:
		return OutcomeRateLimited
	case StatusBadRequest:
		return OutcomeBadRequest
	case StatusInternal:
		return OutcomeInternal
	}
	return OutcomeError
}

// clientOutcome is the outcome label of a client's request that returned
// err within ctx: an error that is none of shrex's and not a context's is
// put down to ctx when ctx has ended (libp2p reports a stream that could
// not open in time as its own error).
func clientOutcome(ctx context.Context, err error) string {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, ErrInvalidResponse):
		return OutcomeInvalid
	case errors.Is(err, ErrNotFound):
		return OutcomeNotFound
	case errors.Is(err, ErrRateLimited):
		return OutcomeRateLimited
	case errors.Is(err, ErrInternal):
		return OutcomeInternal
	case errors.Is(err, context.DeadlineExceeded):
		return OutcomeTimeout
	case errors.Is(err, context.Canceled):
		return OutcomeCanceled
	case ctx.Err() != nil:
		return clientOutcome(context.Background(), ctx.Err())
	}
	return OutcomeError
}

// statusStream is a server's stream that remembers the status the server
// answered on it (writeStatus records it), for its metrics.
type statusStream struct {
	network.Stream
	status Status // 0 until answered
}

// observe serves str with serve and reports the request to the server's
// metrics, if any.
func (s *Server) observe(k Kind, str network.Stream, serve func(Kind, network.Stream) error) error {
	m := s.cfg.metrics
	if m == nil {
		return serve(k, str)
	}
	start := time.Now()
	rec := &statusStream{Stream: str}
	err := serve(k, rec)
	outcome := statusOutcome(rec.status)
	if err != nil {
		outcome = OutcomeError
	}
	m.ObserveRequest(SideServer, k.String(), outcome, time.Since(start))
	return err
}
