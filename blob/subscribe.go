package blob

import (
	"context"
	"fmt"
	"time"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
)

// subscriptionBuffer is how many responses a subscription holds for a
// consumer that has not read them yet; past it, the producer waits.
const subscriptionBuffer = 8

// Subscribe follows namespace ns from fromHeight on: for every height, in
// order, it sends one SubscriptionResponse with the namespace's blobs at
// that height, in square order, and the height's CometBFT header. As
// celestia-node does, heights without blobs are sent too, with an empty
// (non-nil) Blobs. fromHeight 0 means the height after the current head
// (Headers.Head).
//
// The channel holds a few responses; a consumer that stops reading makes
// the producer wait (it never buffers more), so memory stays bounded. The
// channel is closed when ctx ends, or after an error fetching a header or
// the blobs of a height, which is logged: a consumer that sees the channel
// close before its ctx ended missed the heights after the last response and
// may subscribe again from there. An invalid namespace is refused at once.
func (s *Service) Subscribe(ctx context.Context, ns share.Namespace, fromHeight uint64) (<-chan *SubscriptionResponse, error) {
	if err := checkNamespace(ns); err != nil {
		return nil, err
	}
	if fromHeight == 0 {
		head, err := s.headers.Head(ctx)
		if err != nil {
			return nil, fmt.Errorf("blob: Subscribe: head: %w", err)
		}
		fromHeight = head.Height() + 1
	}
	ch := make(chan *SubscriptionResponse, subscriptionBuffer)
	go s.follow(ctx, ns, fromHeight, ch)
	return ch, nil
}

// follow is Subscribe's producer; it closes ch when it returns.
func (s *Service) follow(ctx context.Context, ns share.Namespace, height uint64, ch chan<- *SubscriptionResponse) {
	defer close(ch)
	for ; ; height++ {
		h, err := s.headers.WaitForHeight(ctx, height)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("blob subscription stopped: waiting for header", "namespace", ns, "height", height, "err", err)
			}
			return
		}
		if h == nil || h.DAH == nil {
			s.log.Error("blob subscription stopped: header without DAH", "namespace", ns, "height", height)
			return
		}
		blobs, err := s.subscriptionRead(ctx, h, ns)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("blob subscription stopped: reading blobs", "namespace", ns, "height", height, "err", err)
			}
			return
		}
		select {
		case ch <- &SubscriptionResponse{Blobs: blobs, Height: height, Header: &h.RawHeader}:
		case <-ctx.Done():
			return
		}
	}
}

// A subscription retries a failed read of a height's blobs (a light node
// under load: a peer that timed out, or none free) this many times, waiting
// subscriptionRetryMin, then twice as long each time up to
// subscriptionRetryMax: about 40 s in all. go-jsonrpc can end a
// subscription only with a bare close, which tells the client nothing, so
// a transient failure must not end it.
const (
	subscriptionRetries  = 10
	subscriptionRetryMin = 100 * time.Millisecond
	subscriptionRetryMax = 8 * time.Second
)

// subscriptionRead returns the blobs of ns in h's square, retrying failed
// reads with backoff; the error is the last read's, or ctx's.
func (s *Service) subscriptionRead(ctx context.Context, h *header.ExtendedHeader, ns share.Namespace) ([]*Blob, error) {
	wait := subscriptionRetryMin
	for try := 0; ; try++ {
		blobs, err := s.blobsOf(ctx, h, ns)
		if err == nil || ctx.Err() != nil || try == subscriptionRetries {
			return blobs, err
		}
		s.log.Warn("blob subscription: reading blobs failed; retrying", "namespace", ns, "height", h.Height(), "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		wait = min(2*wait, subscriptionRetryMax)
	}
}
