package getter

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/shrex"
)

var _ das.SamplesGetter = (*Getter)(nil)

// GetSamples returns the shares at coords of the extended square of h with
// their proofs, in the order of coords, each verified against h.DAH. It
// splits the cells over up to SamplePeers peers (more parts when a part
// would exceed shrex.MaxSamplesPerRequest), and asks for each part in one
// request of the samples protocol, up to PeersPerRequest peers in turn
// starting with a different one for each part,
// and asks a peer that does not speak that protocol (an older one) for
// each cell with the sample protocol instead, all at once. The result is
// all or nothing; when no peer serves every cell, the error wraps
// das.ErrUnavailable (and the peers' errors). A peer that sends a sample
// that does not verify is reported Invalid to the manager, as for
// GetSample. coords must be distinct cells of the square (the caller's
// error otherwise, wrapping eds.ErrOutOfRange or eds.ErrInvalidID).
func (g *Getter) GetSamples(ctx context.Context, h *header.ExtendedHeader, coords []das.Coord) ([]*eds.Sample, error) {
	if err := checkHeader(h); err != nil {
		return nil, err
	}
	w := 2 * h.DAH.SquareSize()
	cells := make([]shrex.Cell, len(coords))
	seen := make(map[das.Coord]bool, len(coords))
	for i, c := range coords {
		if c.Row < 0 || c.Row >= w || c.Col < 0 || c.Col >= w {
			return nil, fmt.Errorf("getter: sample (%d, %d) of a square of width %d: %w", c.Row, c.Col, w, eds.ErrOutOfRange)
		}
		if seen[c] {
			return nil, fmt.Errorf("getter: sample (%d, %d) asked twice: %w", c.Row, c.Col, eds.ErrInvalidID)
		}
		seen[c] = true
		cells[i] = shrex.Cell{Row: c.Row, Col: c.Col}
	}
	// Spread the cells over up to SamplePeers parts, each fetched from
	// its own first peer, and each part over as many requests as
	// MaxSamplesPerRequest requires.
	parts := min(g.opts.SamplePeers, len(cells), max(1, len(g.peers.Peers(h.Height(), h.DataRoot(), g.opts.SamplePeers))))
	parts = max(parts, (len(cells)+shrex.MaxSamplesPerRequest-1)/shrex.MaxSamplesPerRequest)
	out := make([]*eds.Sample, len(cells))
	errs := make([]error, parts)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := i*len(cells)/parts, (i+1)*len(cells)/parts
		chunk := cells[lo:hi]
		wg.Go(func() {
			var smps []*eds.Sample
			errs[i] = g.fetchFrom(ctx, h, fmt.Sprintf("%d samples", len(chunk)), i, func(ctx context.Context, p peer.ID) (err error) {
				smps, err = g.client.GetSamples(ctx, p, h, chunk)
				if errors.Is(err, shrex.ErrNotSupported) {
					smps, err = g.samplesOneByOne(ctx, p, h, chunk)
				}
				return err
			})
			if errs[i] != nil {
				cancel() // the call fails as a whole
				return
			}
			copy(out[lo:hi], smps)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// samplesOneByOne asks p for each of cells with the sample protocol, all
// at once, and returns them in order or the first error, preferring one
// that is p's fault (so that the manager hears of it).
func (g *Getter) samplesOneByOne(ctx context.Context, p peer.ID, h *header.ExtendedHeader, cells []shrex.Cell) ([]*eds.Sample, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	smps := make([]*eds.Sample, len(cells))
	errs := make([]error, len(cells))
	var wg sync.WaitGroup
	for i, c := range cells {
		wg.Go(func() {
			smps[i], errs[i] = g.client.GetSample(ctx, p, h, c.Row, c.Col)
			if errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	// The first failure cancels the others: prefer a fault, then any
	// error other than that cancellation.
	var first error
	for _, err := range errs {
		if errors.Is(err, shrex.ErrInvalidResponse) {
			return nil, err
		}
		if err != nil && (first == nil || errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	return smps, nil
}
