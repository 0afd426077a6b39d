package exchange

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/header"
)

// segment is a run of consecutive headers from one peer, each after the
// first already verified adjacently against the one before it.
type segment struct {
	peer    peer.ID
	headers []*header.ExtendedHeader
}

// GetVerifiedRange returns the headers at heights trusted.Height()+1 .. to,
// in order, each verified adjacently against the one before it (the first
// against trusted) with the client's VerifyOptions: all of them or an
// error. to - trusted.Height() must be in [1, header.MaxRangeSize], else the
// error wraps header.ErrRangeTooLarge.
//
// The range is split into requests of at most MaxHeadersPerRequest headers
// spread over the tracked and trusted peers, up to the client's parallelism
// at once. Each request's headers are verified against each other as they
// arrive; the joins between requests are verified in order at the end, so
// every header is validated exactly once. A peer that sends headers
// outside the request, more than asked, undecodable or invalid headers, or
// headers that do not chain is blocked and its part asked of another peer.
// Timeouts, refusals and missing headers only lower a peer's rank.
//
// Faults on our side are returned, wrapped, and block nobody: a trusted
// header older than the trusting period (header.ErrExpiredTrust, before
// any request), invalid VerifyOptions, and headers from the future
// (header.ErrFromFuture: our clock may be wrong), which are not held
// against the peer and are returned if no peer has better.
func (c *Client) GetVerifiedRange(ctx context.Context, trusted *header.ExtendedHeader, to uint64) ([]*header.ExtendedHeader, error) {
	if trusted == nil {
		return nil, errors.New("exchange: GetVerifiedRange: nil trusted header")
	}
	from := trusted.Height() + 1
	if to < from || to-trusted.Height() > header.MaxRangeSize {
		return nil, fmt.Errorf("exchange: GetVerifiedRange to %d from trusted %d: %w",
			to, trusted.Height(), header.ErrRangeTooLarge)
	}
	if err := c.checkTrust(trusted); err != nil {
		return nil, err
	}

	type chunk struct{ from, amount uint64 }
	var chunks []chunk
	for h := from; h <= to; h += MaxHeadersPerRequest {
		chunks = append(chunks, chunk{h, min(MaxHeadersPerRequest, to-h+1)})
	}
	results := make([][]segment, len(chunks))
	errs := make([]error, len(chunks))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, c.cfg.parallelism)
	var wg sync.WaitGroup
	for i, ch := range chunks {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i], errs[i] = c.fetchRange(ctx, ch.from, ch.amount, i)
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	// The first chunk's own failure, not the cancellations it caused.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("exchange: GetVerifiedRange: %w", err)
	}

	// The joins, in order: each segment's first header against the last
	// verified one. A failure is the segment's sender's fault, as all
	// before it are verified from trusted.
	out := make([]*header.ExtendedHeader, 0, to-trusted.Height())
	prev := trusted
	refetches := 0
	for _, segs := range results {
		for len(segs) > 0 {
			seg := segs[0]
			err := header.VerifyAdjacent(prev, seg.headers[0], c.cfg.verify)
			if err == nil {
				out = append(out, seg.headers...)
				prev = seg.headers[len(seg.headers)-1]
				segs = segs[1:]
				continue
			}
			if isLocal(err) {
				return nil, fmt.Errorf("exchange: verifying height %d: %w", seg.headers[0].Height(), err)
			}
			if !errors.Is(err, header.ErrFromFuture) {
				c.penalise(seg.peer, fmt.Errorf("%w: height %d does not verify: %w", ErrInvalidResponse, seg.headers[0].Height(), err))
			}
			if refetches++; refetches > maxAttempts {
				return nil, fmt.Errorf("exchange: height %d: giving up after %d refetches: %w", seg.headers[0].Height(), maxAttempts, err)
			}
			again, ferr := c.fetchRange(ctx, seg.headers[0].Height(), uint64(len(seg.headers)), 0, seg.peer)
			if ferr != nil {
				return nil, errors.Join(fmt.Errorf("exchange: height %d: %w", seg.headers[0].Height(), err), ferr)
			}
			segs = append(again, segs[1:]...)
		}
	}
	return out, nil
}

// checkTrust returns an error wrapping header.ErrExpiredTrust if trusted is
// past the trusting period.
func (c *Client) checkTrust(trusted *header.ExtendedHeader) error {
	o := c.cfg.verify
	if o.TrustingPeriod == 0 {
		o.TrustingPeriod = header.DefaultTrustingPeriod
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if exp := trusted.Time().Add(o.TrustingPeriod); !exp.After(o.Now) {
		return fmt.Errorf("exchange: trusted header at height %d expired at %v: %w", trusted.Height(), exp, header.ErrExpiredTrust)
	}
	return nil
}

// isLocal reports verification errors that are ours, not the peer's.
func isLocal(err error) bool {
	return errors.Is(err, header.ErrExpiredTrust) || errors.Is(err, header.ErrInvalidVerifyOptions) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// fetchRange gets heights [from, from+amount) from peers, as one or more
// segments (a peer may hold only part), each verified within itself. hint
// picks the first peer among the ranked ones, to spread chunks over peers;
// avoid are peers not to ask.
func (c *Client) fetchRange(ctx context.Context, from, amount uint64, hint int, avoid ...peer.ID) ([]segment, error) {
	tried := map[peer.ID]bool{}
	for _, p := range avoid {
		tried[p] = true
	}
	var (
		segs    []segment
		lastErr error
		limited []peer.ID // peers that answered RATE_LIMITED, to ask again later
		waits   int
	)
	for attempt := 0; amount > 0 && attempt < maxAttempts; attempt++ {
		p, ok := c.pick(tried, hint+attempt)
		if !ok && len(limited) > 0 {
			// Only peers that are busy are left: wait for a token.
			if err := wait(ctx, rateLimitBackoff<<min(waits, 4)); err != nil {
				return nil, fmt.Errorf("exchange: heights [%d, %d): %w (%w)", from, from+amount, err, lastErr)
			}
			waits++
			for _, q := range limited {
				delete(tried, q)
			}
			limited = limited[:0]
			p, ok = c.pick(tried, hint+attempt)
		}
		if !ok {
			break
		}
		tried[p] = true
		hs, err := c.fetchSegment(ctx, p, from, amount)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("exchange: heights [%d, %d): %w", from, from+amount, ctx.Err())
			}
			if errors.Is(err, header.ErrInvalidVerifyOptions) {
				return nil, err
			}
			if errors.Is(err, ErrRateLimited) {
				limited = append(limited, p)
			}
			lastErr = err
			continue
		}
		if len(hs) == 0 {
			lastErr = fmt.Errorf("exchange: %s has no header at height %d: %w", p, from, header.ErrNotFound)
			continue
		}
		segs = append(segs, segment{peer: p, headers: hs})
		from += uint64(len(hs))
		amount -= uint64(len(hs))
	}
	if amount > 0 {
		if lastErr == nil {
			lastErr = ErrNoPeers
		}
		return nil, fmt.Errorf("exchange: heights [%d, %d): no peer had them: %w", from, from+amount, lastErr)
	}
	return segs, nil
}

// pick returns a peer not yet tried: the i-th (modulo) of the ranked
// untried peers.
func (c *Client) pick(tried map[peer.ID]bool, i int) (peer.ID, bool) {
	var cand []peer.ID
	for _, p := range c.tr.ranked(c.cfg.trusted...) {
		if !tried[p] {
			cand = append(cand, p)
		}
	}
	if len(cand) == 0 {
		return "", false
	}
	return cand[i%len(cand)], true
}

// fetchSegment asks p for heights [from, from+amount) and returns the
// headers it has, checked: the right heights, our chain, and each after
// the first verified adjacently against the one before. Errors of p's
// making block it.
func (c *Client) fetchSegment(ctx context.Context, p peer.ID, from, amount uint64) ([]*header.ExtendedHeader, error) {
	start := time.Now()
	resp, err := c.request(ctx, p, request{from: from, amount: amount}, int(amount))
	if err == nil && resp.status != StatusOK && resp.status != StatusNotFound {
		err = statusErr(p, resp.status)
	}
	if err == nil {
		err = c.checkSegment(resp.headers, from)
	}
	if err != nil {
		c.outcome(p, err, 0)
		return nil, err
	}
	if resp.status == StatusNotFound {
		c.tr.failure(p)
	} else {
		c.tr.success(p, time.Since(start))
	}
	return resp.headers, nil
}

// checkSegment checks headers from one response to a range request from
// `from`. Failures wrap ErrInvalidResponse, but for header.ErrFromFuture,
// header.ErrExpiredTrust and header.ErrInvalidVerifyOptions.
func (c *Client) checkSegment(hs []*header.ExtendedHeader, from uint64) error {
	for i, h := range hs {
		if h.Height() != from+uint64(i) {
			return fmt.Errorf("%w: header %d of the response is at height %d, asked from %d", ErrInvalidResponse, i, h.Height(), from)
		}
		if h.ChainID() != c.cfg.chainID {
			return fmt.Errorf("%w: %w: want %q, got %q at height %d", ErrInvalidResponse, header.ErrChainIDMismatch, c.cfg.chainID, h.ChainID(), h.Height())
		}
	}
	for i := 1; i < len(hs); i++ {
		err := header.VerifyAdjacent(hs[i-1], hs[i], c.cfg.verify)
		switch {
		case err == nil:
		case errors.Is(err, header.ErrFromFuture), errors.Is(err, header.ErrInvalidVerifyOptions), errors.Is(err, header.ErrExpiredTrust):
			// Maybe our clock or options: not held against the peer. (Our
			// trusted header was checked fresh, so an expired header above
			// it is most likely a lie, but trust may have just expired.)
			return fmt.Errorf("exchange: height %d: %w", hs[i].Height(), err)
		default:
			return fmt.Errorf("%w: height %d: %w", ErrInvalidResponse, hs[i].Height(), err)
		}
	}
	return nil
}

// rateLimitBackoff is the first wait before asking a peer that answered
// RATE_LIMITED again, when no other peer is left; it doubles up to 16 times
// that.
const rateLimitBackoff = 100 * time.Millisecond

// wait waits for d or ctx.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
