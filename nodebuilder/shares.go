package nodebuilder

import (
	"context"
	"fmt"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/shrex/getter"
)

// squareSource is a store of extended squares by height: core.Store on a
// bridge, eds/store.Store on a full node.
type squareSource interface {
	EDS(ctx context.Context, height uint64) (*eds.ExtendedDataSquare, error)
	SharedODS(ctx context.Context, height uint64) ([][]byte, error)
}

// localShares serves the share and blob APIs of a bridge or full node from
// its own squares. On a full node, a square it does not hold (not fetched
// yet, or pruned) is asked of its peers through the getter; a bridge holds
// every square it can serve.
type localShares struct {
	squares  squareSource
	fallback *getter.Getter // nil on a bridge
}

// square returns the square of h from the store, or nil and nil when the
// store does not hold it and there is a fallback to ask.
func (l localShares) square(ctx context.Context, h *header.ExtendedHeader) (*eds.ExtendedDataSquare, error) {
	e, err := l.squares.EDS(ctx, h.Height())
	switch {
	case err == nil:
		return e, nil
	case isNotFound(err) && l.fallback != nil:
		return nil, nil
	default:
		return nil, fmt.Errorf("square %d: %w", h.Height(), err)
	}
}

func (l localShares) GetSample(ctx context.Context, h *header.ExtendedHeader, row, col int) (*eds.Sample, error) {
	e, err := l.square(ctx, h)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return l.fallback.GetSample(ctx, h, row, col)
	}
	return e.Sample(row, col, eds.Row)
}

// GetRow returns the 2k shares of row row, as shrex/getter does.
func (l localShares) GetRow(ctx context.Context, h *header.ExtendedHeader, row int) ([][]byte, error) {
	e, err := l.square(ctx, h)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return l.fallback.GetRow(ctx, h, row)
	}
	if row < 0 || row >= e.Width() {
		return nil, fmt.Errorf("%w: row %d of a square of width %d", eds.ErrOutOfRange, row, e.Width())
	}
	return e.Row(row), nil
}

func (l localShares) GetNamespaceData(ctx context.Context, h *header.ExtendedHeader, ns share.Namespace) (eds.NamespaceData, error) {
	e, err := l.square(ctx, h)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return l.fallback.GetNamespaceData(ctx, h, ns)
	}
	return e.NamespaceData(ns)
}

func (l localShares) GetEDS(ctx context.Context, h *header.ExtendedHeader) (*eds.ExtendedDataSquare, error) {
	e, err := l.square(ctx, h)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return l.fallback.GetEDS(ctx, h)
	}
	return e, nil
}

// SharesAvailable is a bridge's share.SharesAvailable: it holds every
// square it serves.
func (l localShares) SharesAvailable(ctx context.Context, h *header.ExtendedHeader) error {
	_, err := l.GetEDS(ctx, h)
	return err
}
