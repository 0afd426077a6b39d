package api

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
)

// ErrOutOfBounds is wrapped for a row or column outside the square of the
// requested height (celestia-node shwap's "index out of bounds").
var ErrOutOfBounds = errors.New("api: index out of bounds")

// MaxSamplesPerCall bounds the coordinates one GetSamples call may ask
// for.
const MaxSamplesPerCall = 1024

// samplesParallel is how many samples GetSamples fetches at once.
const samplesParallel = 8

// ShareGetter fetches verified shares of a block's extended square:
// shrex/getter.Getter implements it (light and full nodes), and so does
// nodebuilder's adapter over the node's own square store (bridge, full).
// Everything returned is verified against h.DAH and owned by the caller.
type ShareGetter interface {
	// GetSample returns the share at (row, col) with its proof.
	GetSample(ctx context.Context, h *header.ExtendedHeader, row, col int) (*eds.Sample, error)
	// GetRow returns the 2k shares of row row.
	GetRow(ctx context.Context, h *header.ExtendedHeader, row int) ([][]byte, error)
	// GetNamespaceData returns the data of ns, one entry per row
	// eds.RowsWithNamespace names.
	GetNamespaceData(ctx context.Context, h *header.ExtendedHeader, ns share.Namespace) (eds.NamespaceData, error)
	// GetEDS returns the whole square.
	GetEDS(ctx context.Context, h *header.ExtendedHeader) (*eds.ExtendedDataSquare, error)
}

// Availability checks that a block's square is available: sampling on a
// light node, holding the square on a full node or bridge.
type Availability interface {
	SharesAvailable(ctx context.Context, h *header.ExtendedHeader) error
}

// ShareOptions are the dependencies of the share service.
type ShareOptions struct {
	// Headers resolves heights (required).
	Headers *Headers
	// Getter fetches shares (required).
	Getter ShareGetter
	// Availability; nil means a square is available when Getter.GetEDS
	// returns it.
	Availability Availability
}

// Shares is the share service: the logic of the API's share module,
// without permission checks, for Go callers. Each method resolves its
// height with Headers.GetByHeight (so it has that method's errors and
// waits for the next header), checks coordinates against the header's
// square, and asks the getter. Its methods are safe for concurrent use;
// results are owned by the caller.
type Shares struct {
	headers *Headers
	getter  ShareGetter
	avail   Availability
	flights edsFlights
}

// NewShares returns the share service over opts. It does no I/O.
func NewShares(opts ShareOptions) (*Shares, error) {
	if opts.Headers == nil || opts.Getter == nil {
		return nil, errors.New("api: share service needs headers and a getter")
	}
	return &Shares{headers: opts.Headers, getter: opts.Getter, avail: opts.Availability}, nil
}

// width returns the width of h's extended square.
func width(h *header.ExtendedHeader) (int, error) {
	if h == nil || h.DAH == nil || len(h.DAH.RowRoots) == 0 {
		return 0, errors.New("api: header without a data availability header")
	}
	return len(h.DAH.RowRoots), nil
}

// checkCell returns ErrOutOfBounds unless (row, col) is in h's square.
func checkCell(h *header.ExtendedHeader, row, col int) error {
	w, err := width(h)
	if err != nil {
		return err
	}
	if row < 0 || row >= w || col < 0 || col >= w {
		return fmt.Errorf("%w: cell (%d, %d) of a square of width %d at height %d", ErrOutOfBounds, row, col, w, h.Height())
	}
	return nil
}

// SharesAvailable returns nil when the square at height is available
// (Availability.SharesAvailable), or why not.
func (s *Shares) SharesAvailable(ctx context.Context, height uint64) error {
	h, err := s.headers.GetByHeight(ctx, height)
	if err != nil {
		return err
	}
	if s.avail != nil {
		return s.avail.SharesAvailable(ctx, h)
	}
	_, err = s.getter.GetEDS(ctx, h)
	return err
}

// GetShare returns the share at (row, col) of the extended square at
// height (row and col in [0, 2k)), verified against the header.
func (s *Shares) GetShare(ctx context.Context, height uint64, row, col int) (Share, error) {
	h, err := s.headers.GetByHeight(ctx, height)
	if err != nil {
		return nil, err
	}
	if err := checkCell(h, row, col); err != nil {
		return nil, err
	}
	smp, err := s.getter.GetSample(ctx, h, row, col)
	if err != nil {
		return nil, err
	}
	return Share(smp.Share), nil
}

// GetSamples returns the samples at coords of the extended square at
// height, in the order asked, all or an error; each proof is against the
// DAH of the node's header at height (resolved as GetByHeight does). At
// most MaxSamplesPerCall coordinates, each inside the square
// (ErrOutOfBounds). Samples are fetched a few at a time; the first failure
// ends the others.
func (s *Shares) GetSamples(ctx context.Context, height uint64, coords []SampleCoords) ([]Sample, error) {
	if len(coords) == 0 {
		return nil, errors.New("api: no sample indices to fetch")
	}
	if len(coords) > MaxSamplesPerCall {
		return nil, fmt.Errorf("api: %d samples asked, at most %d per call", len(coords), MaxSamplesPerCall)
	}
	local, err := s.headers.GetByHeight(ctx, height)
	if err != nil {
		return nil, err
	}
	for _, c := range coords {
		if err := checkCell(local, c.Row, c.Col); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]Sample, len(coords))
	errs := make([]error, len(coords))
	sem := make(chan struct{}, samplesParallel)
	var wg sync.WaitGroup
	for i, c := range coords {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			smp, err := s.getter.GetSample(ctx, local, c.Row, c.Col)
			if err != nil {
				errs[i] = fmt.Errorf("api: sample (%d, %d) at height %d: %w", c.Row, c.Col, local.Height(), err)
				cancel()
				return
			}
			out[i] = Sample(*smp)
		}()
	}
	wg.Wait()
	// The failure that cancelled the others, else (the caller's ctx
	// ended) the first error.
	var first error
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
		if first == nil {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	return out, nil
}

// GetEDS returns the extended square at height, every root checked
// against the header.
func (s *Shares) GetEDS(ctx context.Context, height uint64) (*ExtendedDataSquare, error) {
	h, err := s.headers.GetByHeight(ctx, height)
	if err != nil {
		return nil, err
	}
	sq, err := s.getter.GetEDS(ctx, h)
	if err != nil {
		return nil, err
	}
	return &ExtendedDataSquare{Square: sq}, nil
}

// encodedEDS is GetEDS for the share module: the square comes with its
// JSON, both shared with the concurrent calls of the same height (see
// edsFlights); release lets them go once the JSON has been sent.
func (s *Shares) encodedEDS(ctx context.Context, height uint64) (_ *ExtendedDataSquare, release func(), _ error) {
	h, err := s.headers.GetByHeight(ctx, height)
	if err != nil {
		return nil, nil, err
	}
	if _, err := width(h); err != nil {
		return nil, nil, err
	}
	sq, js, release, err := s.flights.get(ctx, h, s.getter.GetEDS)
	if err != nil {
		return nil, nil, err
	}
	return &ExtendedDataSquare{Square: sq, encoded: js}, release, nil
}

// GetRow returns the left half (k shares, side RowLeft) of row row of the
// extended square at height, row in [0, 2k); the row was verified whole
// against its root.
func (s *Shares) GetRow(ctx context.Context, height uint64, row int) (Row, error) {
	h, err := s.headers.GetByHeight(ctx, height)
	if err != nil {
		return Row{}, err
	}
	if err := checkCell(h, row, 0); err != nil {
		return Row{}, err
	}
	cells, err := s.getter.GetRow(ctx, h, row)
	if err != nil {
		return Row{}, err
	}
	w, _ := width(h)
	if len(cells) != w {
		return Row{}, fmt.Errorf("api: getter returned %d shares for a row of %d", len(cells), w)
	}
	out := Row{Shares: make([]Share, w/2), Side: RowLeft}
	for i := range out.Shares {
		out.Shares[i] = cells[i]
	}
	return out, nil
}

// GetNamespaceData returns all the shares of ns in the square at height
// with proofs that they are all (or that there are none), one entry per
// row that may hold ns. The parity namespace and invalid namespaces are
// refused.
func (s *Shares) GetNamespaceData(ctx context.Context, height uint64, ns share.Namespace) (NamespaceData, error) {
	if err := ns.Validate(); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if ns.IsParity() {
		return nil, fmt.Errorf("api: %w: the parity namespace has no provable data", share.ErrInvalidNamespace)
	}
	h, err := s.headers.GetByHeight(ctx, height)
	if err != nil {
		return nil, err
	}
	nd, err := s.getter.GetNamespaceData(ctx, h, ns)
	if err != nil {
		return nil, err
	}
	return newNamespaceData(nd), nil
}

// GetRange returns the shares [from, to) of the original data square at
// height (indices row-major over its k×k shares, to exclusive, as
// celestia-node's share.GetRange) with a proof to the header's data root:
// per row, an NMT proof of the range's shares to the row root, and the row
// roots' Merkle proofs to the data root. The shares must all be of one
// namespace, as celestia-node requires. The rows are fetched through the
// getter, each verified against its root (a light node fetches them from
// peers, a full node or bridge reads its square), and the proof is built
// from them by eds.ProveShares.
func (s *Shares) GetRange(ctx context.Context, height uint64, from, to int) (*GetRangeResult, error) {
	if from < 0 || to <= from {
		return nil, fmt.Errorf("%w: share range [%d, %d): want 0 ≤ from < to", ErrOutOfBounds, from, to)
	}
	h, err := s.headers.GetByHeight(ctx, height)
	if err != nil {
		return nil, err
	}
	w, err := width(h)
	if err != nil {
		return nil, err
	}
	k := w / 2
	if to > k*k {
		return nil, fmt.Errorf("%w: share range [%d, %d) is not within the %d shares of the original square at height %d",
			ErrOutOfBounds, from, to, k*k, height)
	}
	var rows [][][]byte
	for r := from / k; r <= (to-1)/k; r++ {
		cells, err := s.getter.GetRow(ctx, h, r)
		if err != nil {
			return nil, fmt.Errorf("api: row %d at height %d: %w", r, height, err)
		}
		rows = append(rows, cells)
	}
	p, err := eds.ProveShares(h.DAH, from, to, rows)
	if err != nil {
		return nil, fmt.Errorf("api: shares [%d, %d) at height %d: %w", from, to, height, err)
	}
	out := &GetRangeResult{Shares: make([]Share, len(p.Data)), Proof: p}
	for i, d := range p.Data {
		out.Shares[i] = d
	}
	return out, nil
}
