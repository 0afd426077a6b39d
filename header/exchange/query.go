package exchange

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/header"
)

// answer is one peer's header (or error) for a question asked of several.
type answer struct {
	peer peer.ID
	h    *header.ExtendedHeader
	err  error
	took time.Duration
}

// askAll asks every peer in peers in parallel and returns their answers in
// the order of peers.
func (c *Client) askAll(ctx context.Context, peers []peer.ID, ask func(context.Context, peer.ID) (*header.ExtendedHeader, error)) []answer {
	out := make([]answer, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			h, err := ask(ctx, p)
			out[i] = answer{peer: p, h: h, err: err, took: time.Since(start)}
		}()
	}
	wg.Wait()
	return out
}

// one asks p for req and returns the single header of the answer, checked
// with checkHeader: nil with header.ErrNotFound if p has none. The outcome
// is recorded against p.
func (c *Client) one(ctx context.Context, p peer.ID, req request) (*header.ExtendedHeader, error) {
	start := time.Now()
	resp, err := c.request(ctx, p, req, 1)
	switch {
	case err != nil:
	case resp.status == StatusNotFound:
		c.tr.failure(p)
		return nil, fmt.Errorf("exchange: %s: %v: %w", p, req, header.ErrNotFound)
	case resp.status != StatusOK:
		err = statusErr(p, resp.status)
	default:
		h := resp.headers[0]
		err = c.checkHeader(h)
		if err == nil && req.hash != nil && !bytes.Equal(h.Hash(), req.hash) {
			err = fmt.Errorf("%w: asked for hash %X, got %X", ErrInvalidResponse, req.hash, h.Hash())
		}
		if err == nil && !req.head && req.hash == nil && h.Height() != req.from {
			err = fmt.Errorf("%w: asked for height %d, got %d", ErrInvalidResponse, req.from, h.Height())
		}
		if err == nil {
			c.tr.success(p, time.Since(start))
			return h, nil
		}
	}
	c.outcome(p, err, 0)
	return nil, err
}

// Head returns a network head.
//
// With trusted == nil it asks the trusted peers (an error wrapping
// ErrNoPeers if none answers) for their heads, each of which must Validate
// and be of our chain; it takes the lowest height among them, gets that
// height from every trusted peer that answered, and returns it if all
// those headers have the same hash. Otherwise the error is a
// *DisagreementError naming each peer's hash: trusted peers that disagree
// are a problem for the operator, not something to settle by choice.
//
// With trusted != nil it asks up to 8 peers (trusted ones first, then the
// best tracked ones) and returns the highest head that header.Verify
// accepts against trusted, or trusted itself if no peer has a higher one.
// A head that fails verification through the peer's fault (a bad
// signature, another chain, a non-increasing time) blocks the peer; one
// that fails for lack of trust (header.ErrNotEnoughTrust: the validator set
// changed too much since trusted) or from the future does not, and if no
// head verifies the error wraps those causes, so the caller can sync
// adjacently instead. header.ErrExpiredTrust is returned wrapped.
func (c *Client) Head(ctx context.Context, trusted *header.ExtendedHeader) (*header.ExtendedHeader, error) {
	if trusted == nil {
		return c.trustedHead(ctx)
	}
	if err := c.checkTrust(trusted); err != nil {
		return nil, err
	}
	peers := slices.DeleteFunc(uniq(append(slices.Clone(c.cfg.trusted), c.tr.ranked()...)), c.tr.isBlocked)
	if len(peers) > headPeers {
		peers = peers[:headPeers]
	}
	if len(peers) == 0 {
		return nil, fmt.Errorf("exchange: Head: %w", ErrNoPeers)
	}
	answers := c.askAll(ctx, peers, func(ctx context.Context, p peer.ID) (*header.ExtendedHeader, error) {
		resp, err := c.request(ctx, p, request{head: true}, 1)
		switch {
		case err != nil:
		case resp.status == StatusOK:
			return resp.headers[0], nil
		case resp.status == StatusNotFound:
			err = fmt.Errorf("exchange: %s has no head: %w", p, header.ErrNotFound)
		default:
			err = statusErr(p, resp.status)
		}
		c.outcome(p, err, 0)
		return nil, err
	})
	var (
		best  *header.ExtendedHeader
		soft  []error // heads above trusted we could not verify, no one's fault
		other []error
	)
	for _, a := range answers {
		if a.err != nil {
			other = append(other, a.err)
			continue
		}
		h := a.h
		if h.ChainID() != c.cfg.chainID {
			c.penalise(a.peer, fmt.Errorf("%w: head of chain %q", ErrInvalidResponse, h.ChainID()))
			continue
		}
		if h.Height() <= trusted.Height() {
			c.tr.success(a.peer, a.took)
			continue
		}
		if best != nil && h.Height() <= best.Height() {
			continue // no need to verify a lower head
		}
		err := header.Verify(trusted, h, c.cfg.verify)
		switch {
		case err == nil:
			c.tr.success(a.peer, a.took)
			best = h
		case isLocal(err):
			return nil, fmt.Errorf("exchange: Head: %w", err)
		case errors.Is(err, header.ErrNotEnoughTrust), errors.Is(err, header.ErrFromFuture):
			soft = append(soft, fmt.Errorf("exchange: head %d of %s: %w", h.Height(), a.peer, err))
		default:
			c.penalise(a.peer, fmt.Errorf("%w: head %d: %w", ErrInvalidResponse, h.Height(), err))
		}
	}
	switch {
	case best != nil:
		return best, nil
	case len(soft) > 0:
		return nil, fmt.Errorf("exchange: Head: no head above %d verifies: %w", trusted.Height(), errors.Join(soft...))
	case len(other) == len(answers):
		return nil, fmt.Errorf("exchange: Head: %w: %w", ErrNoPeers, errors.Join(other...))
	}
	return trusted, nil
}

// trustedHead is Head(ctx, nil).
func (c *Client) trustedHead(ctx context.Context) (*header.ExtendedHeader, error) {
	if len(c.cfg.trusted) == 0 {
		return nil, fmt.Errorf("exchange: Head: no trusted peers: %w", ErrNoPeers)
	}
	answers := c.askAll(ctx, c.cfg.trusted, func(ctx context.Context, p peer.ID) (*header.ExtendedHeader, error) {
		return c.one(ctx, p, request{head: true})
	})
	var (
		heads []answer
		errs  []error
	)
	for _, a := range answers {
		if a.err != nil {
			errs = append(errs, a.err)
			continue
		}
		heads = append(heads, a)
	}
	if len(heads) == 0 {
		return nil, fmt.Errorf("exchange: Head: no trusted peer answered: %w: %w", ErrNoPeers, errors.Join(errs...))
	}
	low := slices.MinFunc(heads, func(a, b answer) int { return compareHeights(a.h, b.h) }).h.Height()
	var peers []peer.ID
	for _, a := range heads {
		peers = append(peers, a.peer)
	}
	byPeer := map[peer.ID]*header.ExtendedHeader{}
	for _, a := range heads {
		if a.h.Height() == low {
			byPeer[a.peer] = a.h
		}
	}
	var missing []peer.ID
	for _, p := range peers {
		if byPeer[p] == nil {
			missing = append(missing, p)
		}
	}
	for _, a := range c.askAll(ctx, missing, func(ctx context.Context, p peer.ID) (*header.ExtendedHeader, error) {
		return c.one(ctx, p, request{from: low, amount: 1})
	}) {
		if a.err != nil {
			// It had a higher head but not this height: it cannot vouch.
			c.cfg.log.Info("exchange: trusted peer did not return the agreed height", "peer", a.peer, "height", low, "err", a.err)
			continue
		}
		byPeer[a.peer] = a.h
	}
	return agree(low, byPeer)
}

func compareHeights(a, b *header.ExtendedHeader) int {
	switch {
	case a.Height() < b.Height():
		return -1
	case a.Height() > b.Height():
		return 1
	}
	return 0
}

// agree returns the header all of byPeer have (same hash), or a
// *DisagreementError.
func agree(height uint64, byPeer map[peer.ID]*header.ExtendedHeader) (*header.ExtendedHeader, error) {
	var first *header.ExtendedHeader
	same := true
	for _, h := range byPeer {
		if first == nil {
			first = h
		} else if !bytes.Equal(first.Hash(), h.Hash()) {
			same = false
		}
	}
	if same && first != nil {
		return first, nil
	}
	e := &DisagreementError{Height: height, Hashes: map[peer.ID][]byte{}}
	for p, h := range byPeer {
		e.Hashes[p] = h.Hash()
	}
	return nil, e
}

// GetByHash returns the header whose Hash() is hash, checked to Validate
// and be of our chain. It asks the trusted peers first, then the tracked
// ones, one at a time, until one has it; a peer returning another header
// or an invalid one is blocked. The error wraps header.ErrNotFound if every
// peer asked answered NOT_FOUND.
func (c *Client) GetByHash(ctx context.Context, hash []byte) (*header.ExtendedHeader, error) {
	if len(hash) != hashSize {
		return nil, fmt.Errorf("exchange: GetByHash: hash of %d bytes, want %d", len(hash), hashSize)
	}
	peers := slices.DeleteFunc(uniq(append(slices.Clone(c.cfg.trusted), c.tr.ranked()...)), c.tr.isBlocked)
	var errs []error
	notFound := 0
	for _, p := range peers {
		if ctx.Err() != nil {
			break
		}
		h, err := c.one(ctx, p, request{hash: bytes.Clone(hash)})
		if err == nil {
			return h, nil
		}
		if errors.Is(err, header.ErrNotFound) {
			notFound++
		}
		errs = append(errs, err)
	}
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("exchange: GetByHash %X: %w", hash, ctx.Err())
	case len(peers) == 0:
		return nil, fmt.Errorf("exchange: GetByHash %X: %w", hash, ErrNoPeers)
	case notFound == len(peers):
		return nil, fmt.Errorf("exchange: GetByHash %X: %w", hash, header.ErrNotFound)
	}
	return nil, fmt.Errorf("exchange: GetByHash %X: %w: %w", hash, ErrNoPeers, errors.Join(errs...))
}

// GetByHeight returns the header at height, checked to Validate and be of
// our chain, asked of every trusted peer (or, with none configured, of the
// three best tracked peers); all that answer must return the same hash,
// else the error is a *DisagreementError. The error wraps
// header.ErrNotFound if none has it.
func (c *Client) GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	if height == 0 {
		return nil, fmt.Errorf("exchange: GetByHeight: height 0: %w", header.ErrNotFound)
	}
	peers := slices.DeleteFunc(slices.Clone(c.cfg.trusted), c.tr.isBlocked)
	if len(peers) == 0 {
		peers = c.tr.ranked()
		peers = peers[:min(3, len(peers))]
	}
	if len(peers) == 0 {
		return nil, fmt.Errorf("exchange: GetByHeight %d: %w", height, ErrNoPeers)
	}
	byPeer := map[peer.ID]*header.ExtendedHeader{}
	var errs []error
	notFound := 0
	for _, a := range c.askAll(ctx, peers, func(ctx context.Context, p peer.ID) (*header.ExtendedHeader, error) {
		return c.one(ctx, p, request{from: height, amount: 1})
	}) {
		if a.err != nil {
			if errors.Is(a.err, header.ErrNotFound) {
				notFound++
			}
			errs = append(errs, a.err)
			continue
		}
		byPeer[a.peer] = a.h
	}
	switch {
	case len(byPeer) > 0:
		return agree(height, byPeer)
	case notFound == len(peers):
		return nil, fmt.Errorf("exchange: GetByHeight %d: %w", height, header.ErrNotFound)
	}
	return nil, fmt.Errorf("exchange: GetByHeight %d: %w: %w", height, ErrNoPeers, errors.Join(errs...))
}

// uniq returns ps without repeats, in the order of their first appearance.
func uniq(ps []peer.ID) []peer.ID {
	seen := make(map[peer.ID]bool, len(ps))
	out := ps[:0]
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
