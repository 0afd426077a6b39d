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
	"github.com/datamesh/mesh-node/shrex/peers"
)

// GetEDS returns the extended square of h, every row and column of which
// matches h.DAH.
//
// It first asks up to PeersPerRequest of the peers the manager offers for
// the whole square (the eds protocol). When none serves it, it reconstructs
// the square: it fetches rows, Parallel at a time, spread over up to
// ReconstructionPeers peers (taken from the manager once, before the eds
// requests, so that a peer that could not send the whole square may still
// send rows), until it holds k verified rows, and then, if rows are too
// few, samples of the missing rows until k rows have k known cells each;
// eds.Repair rebuilds the square from them and checks every root.
//
// Errors: a *eds.ErrByzantineData (wrapped; errors.As finds it) when the
// shares contradict h.DAH, that is when the square h commits to is badly
// encoded, the evidence for eds.NewBadEncodingProof; an error wrapping
// das.ErrUnavailable when the peers served too little; the caller's ctx
// error when ctx ends first.
//
// A peer holding a badly encoded square cannot serve it through the eds
// protocol: the client sees a square extending to another data root and
// the peer is reported Invalid. Such a square is found out by
// reconstruction from rows, which every peer can serve.
func (g *Getter) GetEDS(ctx context.Context, h *header.ExtendedHeader) (*eds.ExtendedDataSquare, error) {
	if err := checkHeader(h); err != nil {
		return nil, err
	}
	cands := g.peers.Peers(h.Height(), h.DataRoot(), g.opts.ReconstructionPeers)
	if len(cands) == 0 {
		return nil, fmt.Errorf("getter: square at height %d: no peer to ask: %w", h.Height(), das.ErrUnavailable)
	}
	var errs []error
	invalid := map[peer.ID]bool{}
	for _, p := range cands[:min(len(cands), g.opts.PeersPerRequest)] {
		var e *eds.ExtendedDataSquare
		err := g.attempt(ctx, h, p, func(ctx context.Context, p peer.ID) (err error) {
			e, err = g.client.GetEDS(ctx, p, h)
			return err
		})
		if err == nil {
			return e, nil
		}
		if ctx.Err() != nil {
			return nil, ended(ctx, fmt.Sprintf("square at height %d", h.Height()), err)
		}
		if outcome(err) == peers.Invalid {
			invalid[p] = true
		}
		errs = append(errs, err)
	}
	var rest []peer.ID
	for _, p := range cands {
		if !invalid[p] {
			rest = append(rest, p)
		}
	}
	g.log.Debug("getter: reconstructing square", "height", h.Height(), "peers", len(rest), "err", errors.Join(errs...))
	return g.reconstruct(ctx, h, rest)
}

// maxErrs bounds the errors a failed reconstruction reports.
const maxErrs = 8

// reconstruction is the state of one GetEDS reconstruction, shared by its
// workers.
type reconstruction struct {
	g     *Getter
	h     *header.ExtendedHeader
	k, w  int
	cands []peer.ID

	mu    sync.Mutex
	cells [][]byte         // (2k)² cells, row-major, nil when unknown
	known []int            // known cells per row
	rows  int              // rows with at least k known cells
	dead  map[peer.ID]bool // not asked again
	// errs are the first maxErrs of the failed items' errors.
	errs   []error
	failed int
	// samples: the sample phase, where NOT_FOUND makes a peer dead too.
	samples bool
}

func (g *Getter) reconstruct(ctx context.Context, h *header.ExtendedHeader, cands []peer.ID) (*eds.ExtendedDataSquare, error) {
	k := h.DAH.SquareSize()
	r := &reconstruction{
		g: g, h: h, k: k, w: 2 * k, cands: cands,
		cells: make([][]byte, 4*k*k),
		known: make([]int, 2*k),
		dead:  map[peer.ID]bool{},
	}
	if len(cands) > 0 {
		rows := make([]int, r.w)
		for i := range rows {
			rows[i] = i
		}
		r.run(ctx, rows, func(ctx context.Context, i int) error { return r.fetchRow(ctx, i) })
		// A peer that does not hold a cell does not hold the square;
		// unlike a row (whose holders may each have some), no other cell
		// is asked of it.
		r.mu.Lock()
		r.samples = true
		r.mu.Unlock()
		if ctx.Err() == nil && !r.enough() {
			var cells []int
			for i := range r.w {
				if r.known[i] < k {
					for c := range r.w {
						cells = append(cells, i*r.w+c)
					}
				}
			}
			r.run(ctx, cells, func(ctx context.Context, cell int) error { return r.fetchSample(ctx, cell) })
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("getter: reconstructing square at height %d: %w", h.Height(), err)
	}
	e, err := eds.Repair(h.DAH, r.cells)
	var byz *eds.ErrByzantineData
	switch {
	case errors.As(err, &byz):
		return nil, fmt.Errorf("getter: square at height %d is badly encoded: %w", h.Height(), err)
	case errors.Is(err, eds.ErrUnrepairable):
		return nil, fmt.Errorf("getter: reconstructing square at height %d from %d rows (%d requests failed, the first: %w): %w: %w",
			h.Height(), r.rows, r.failed, errors.Join(r.errs...), das.ErrUnavailable, err)
	case err != nil:
		return nil, fmt.Errorf("getter: reconstructing square at height %d: %w", h.Height(), err)
	}
	return e, nil
}

// enough tells whether k rows can be completed (each has k known cells),
// which Repair needs: it decodes them, then every column.
func (r *reconstruction) enough() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rows >= r.k
}

// run calls fetch for each item on Parallel workers until every item is
// done or enough cells are known. Failures are recorded in r.errs.
func (r *reconstruction) run(ctx context.Context, items []int, fetch func(context.Context, int) error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(r.g.opts.Parallel, len(items)) {
		wg.Go(func() {
			for it := range next {
				if err := fetch(ctx, it); err != nil && ctx.Err() == nil {
					r.mu.Lock()
					if r.failed++; len(r.errs) < maxErrs {
						r.errs = append(r.errs, err)
					}
					r.mu.Unlock()
				}
				if r.enough() {
					cancel()
				}
			}
		})
	}
feed:
	for _, it := range items {
		select {
		case next <- it:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
}

// fetchRow fetches row i, unless its row is already decodable.
func (r *reconstruction) fetchRow(ctx context.Context, i int) error {
	return r.ask(ctx, i, i, fmt.Sprintf("row %d", i), func(ctx context.Context, p peer.ID) error {
		shares, err := r.g.client.GetRow(ctx, p, r.h, i)
		if err != nil {
			return err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for c, s := range shares {
			r.set(i, c, s)
		}
		return nil
	})
}

// fetchSample fetches one cell, unless its row is already decodable.
func (r *reconstruction) fetchSample(ctx context.Context, cell int) error {
	i, c := cell/r.w, cell%r.w
	return r.ask(ctx, i, cell, fmt.Sprintf("sample (%d, %d)", i, c), func(ctx context.Context, p peer.ID) error {
		smp, err := r.g.client.GetSample(ctx, p, r.h, i, c)
		if err != nil {
			return err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.set(i, c, smp.Share)
		return nil
	})
}

// set records a verified share; r.mu is held.
func (r *reconstruction) set(i, c int, s []byte) {
	if r.cells[i*r.w+c] != nil {
		return
	}
	r.cells[i*r.w+c] = s
	r.known[i]++
	if r.known[i] == r.k {
		r.rows++
	}
}

// ask asks the candidates in turn, starting at a different one for each
// item to spread the load, until get succeeds. It skips the peers that
// failed during this reconstruction: by any error but NOT_FOUND while
// fetching rows, by any error while fetching samples. Nothing is asked
// once row i has k known cells.
func (r *reconstruction) ask(ctx context.Context, i, item int, what string, get func(context.Context, peer.ID) error) error {
	var errs []error
	n := len(r.cands)
	for j := range n {
		p := r.cands[(item+j)%n]
		r.mu.Lock()
		done, dead := r.known[i] >= r.k, r.dead[p]
		r.mu.Unlock()
		if done {
			return nil
		}
		if dead {
			continue
		}
		err := r.g.attempt(ctx, r.h, p, get)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		r.mu.Lock()
		if r.samples || outcome(err) != peers.NotFound {
			r.dead[p] = true
		}
		r.mu.Unlock()
		errs = append(errs, err)
	}
	return unavailable(what, r.h, len(errs), errs)
}
