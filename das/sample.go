package das

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/datamesh/mesh-node/header"
)

// Pauses between attempts at one sample within the sample timeout.
const (
	sampleRetryPause    = 50 * time.Millisecond
	maxSampleRetryPause = 2 * time.Second
)

// sampler samples one header: it draws the coordinates, fetches the
// samples from the Getter (all in one request when it is a SamplesGetter,
// in parallel otherwise), retrying those that failed until they verify or
// the sample timeout ends, and verifies each against the header's DAH.
type sampler struct {
	getter  Getter
	samples int
	timeout time.Duration

	invalid atomic.Uint64 // samples rejected

	mu  sync.Mutex // guards rng: Options.Rand need not be safe for concurrent use
	rng *rand.Rand
}

func (s *sampler) coordinates(width int) []Coord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Coordinates(s.rng, width, s.samples)
}

// sample returns the number of verified samples and nil when all
// verified, or an error wrapping ErrUnavailable (with the last cause) when
// one did not within the timeout. ctx's own end is returned as ctx.Err():
// the caller was stopped and learnt nothing about the height.
func (s *sampler) sample(ctx context.Context, h *header.ExtendedHeader) (int, error) {
	if h.DAH == nil {
		return 0, fmt.Errorf("das: height %d has no DAH: %w", h.Height(), ErrUnavailable)
	}
	// Headers come verified from the store, but a DAH without cells would
	// be "available" with no sample at all.
	if err := h.DAH.ValidateBasic(); err != nil {
		return 0, fmt.Errorf("das: height %d: %w: %w", h.Height(), ErrUnavailable, err)
	}
	coords := s.coordinates(2 * h.DAH.SquareSize())
	if len(coords) == 0 {
		return 0, fmt.Errorf("das: height %d: empty square: %w", h.Height(), ErrUnavailable)
	}
	sctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if g, ok := s.getter.(SamplesGetter); ok {
		if err := s.batch(sctx, g, h, coords); err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, fmt.Errorf("das: height %d: %w: %w", h.Height(), ErrUnavailable, err)
		}
		return len(coords), nil
	}
	errs := make(chan error, len(coords))
	for _, c := range coords {
		go func() { errs <- s.one(sctx, h, c) }()
	}
	var first error
	for range coords {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel() // one missing sample decides the height
		}
	}
	switch {
	case first == nil:
		return len(coords), nil
	case ctx.Err() != nil:
		return 0, ctx.Err()
	}
	return 0, fmt.Errorf("das: height %d: %w: %w", h.Height(), ErrUnavailable, first)
}

// batch fetches and verifies the samples at coords, all in one request of
// g, asking again for those not yet verified until all are or ctx ends; it
// returns the last failure then.
func (s *sampler) batch(ctx context.Context, g SamplesGetter, h *header.ExtendedHeader, coords []Coord) error {
	pause := sampleRetryPause
	left := coords
	for {
		smps, err := g.GetSamples(ctx, h, left)
		if err == nil && len(smps) != len(left) {
			err = fmt.Errorf("%w: getter returned %d samples for %d cells", ErrInvalidSample, len(smps), len(left))
		}
		if err == nil {
			var rest []Coord
			for i, c := range left {
				if smps[i] == nil {
					err = fmt.Errorf("%w: (%d, %d): getter returned none", ErrInvalidSample, c.Row, c.Col)
				} else if verr := smps[i].Verify(h.DAH, c.Row, c.Col); verr != nil {
					s.invalid.Add(1)
					err = fmt.Errorf("%w: (%d, %d): %w", ErrInvalidSample, c.Row, c.Col, verr)
				} else {
					continue
				}
				rest = append(rest, c)
			}
			if len(rest) == 0 {
				return nil
			}
			left = rest
		}
		if ctx.Err() != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("%d samples: %w", len(left), err)
			}
			return fmt.Errorf("%d samples: %w (then %w)", len(left), err, ctx.Err())
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%d samples: %w (then %w)", len(left), err, ctx.Err())
		}
		pause = min(2*pause, maxSampleRetryPause)
	}
}

// one fetches and verifies the sample at c until it verifies or ctx ends;
// it returns the last failure then.
func (s *sampler) one(ctx context.Context, h *header.ExtendedHeader, c Coord) error {
	pause := sampleRetryPause
	for {
		smp, err := s.getter.GetSample(ctx, h, c.Row, c.Col)
		if err == nil {
			if smp == nil {
				err = fmt.Errorf("%w: (%d, %d): getter returned none", ErrInvalidSample, c.Row, c.Col)
			} else if verr := smp.Verify(h.DAH, c.Row, c.Col); verr != nil {
				s.invalid.Add(1)
				err = fmt.Errorf("%w: (%d, %d): %w", ErrInvalidSample, c.Row, c.Col, verr)
			} else {
				return nil
			}
		}
		if ctx.Err() != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("sample (%d, %d): %w", c.Row, c.Col, err)
			}
			return fmt.Errorf("sample (%d, %d): %w (then %w)", c.Row, c.Col, err, ctx.Err())
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("sample (%d, %d): %w (then %w)", c.Row, c.Col, err, ctx.Err())
		}
		pause = min(2*pause, maxSampleRetryPause)
	}
}
