package das

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
)

// checker decides whether one header's block is available: the light
// sampler (New) or the full fetcher (NewFull). The coordinator runs it for
// each height; it knows neither peers nor scheduling.
type checker interface {
	// check returns nil when the block is available, and otherwise an
	// error wrapping ErrUnavailable (the height is retried). When ctx
	// itself ends it returns ctx.Err(): nothing was learnt. The verdict
	// says what was found, also alongside an error (a bad-encoding proof).
	check(ctx context.Context, h *header.ExtendedHeader) (verdict, error)
}

// verdict is what a check found.
type verdict struct {
	// samples is the number of verified samples (light).
	samples int
	// full: the whole square is stored, verified against the DAH (full).
	full bool
	// befp is set when the block is proven badly encoded (full); the
	// error then wraps ErrUnavailable.
	befp *eds.BadEncodingProof
}

func (s *sampler) check(ctx context.Context, h *header.ExtendedHeader) (verdict, error) {
	n, err := s.sample(ctx, h)
	return verdict{samples: n}, err
}

// fetcher is a full node's check: the block is available when its whole
// square is stored, fetched through the EDSGetter if need be.
type fetcher struct {
	getter   EDSGetter
	squares  SquareStore
	onStored func(*header.ExtendedHeader)
	timeout  time.Duration
}

func (f *fetcher) check(ctx context.Context, h *header.ExtendedHeader) (verdict, error) {
	height := h.Height()
	if h.DAH == nil {
		return verdict{}, fmt.Errorf("das: height %d has no DAH: %w", height, ErrUnavailable)
	}
	ok, err := f.squares.Has(ctx, height)
	switch {
	case ctx.Err() != nil:
		return verdict{}, ctx.Err()
	case err != nil:
		return verdict{}, fmt.Errorf("das: height %d: %w: reading the square store: %w", height, ErrUnavailable, err)
	case ok:
		return verdict{full: true}, nil
	}
	fctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	e, err := f.getter.GetEDS(fctx, h)
	if ctx.Err() != nil {
		return verdict{}, ctx.Err()
	}
	var byz *eds.ErrByzantineData
	switch {
	case errors.As(err, &byz):
		p, perr := eds.NewBadEncodingProof(h.Hash(), height, byz)
		if perr == nil {
			perr = p.Validate(h.DAH)
		}
		if perr != nil {
			// Evidence we cannot stand behind: retried like a withheld
			// square.
			return verdict{}, fmt.Errorf("das: height %d: %w: unusable bad-encoding evidence (%w): %w", height, ErrUnavailable, perr, err)
		}
		return verdict{befp: p}, fmt.Errorf("das: height %d: %w: badly encoded: %w", height, ErrUnavailable, err)
	case err != nil:
		return verdict{}, fmt.Errorf("das: height %d: %w: %w", height, ErrUnavailable, err)
	case e == nil:
		return verdict{}, fmt.Errorf("das: height %d: %w: getter returned no square", height, ErrUnavailable)
	}
	if dah, err := eds.NewDAH(e); err != nil || !dah.Equals(h.DAH) {
		return verdict{}, fmt.Errorf("das: height %d: %w: the getter's square is not the header's (%v)", height, ErrUnavailable, err)
	}
	if err := f.squares.Put(ctx, h, e); err != nil {
		if ctx.Err() != nil {
			return verdict{}, ctx.Err()
		}
		return verdict{}, fmt.Errorf("das: height %d: %w: storing the square: %w", height, ErrUnavailable, err)
	}
	if f.onStored != nil {
		f.onStored(h)
	}
	return verdict{full: true}, nil
}
