package das

import (
	"context"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
)

// Getter fetches one sample of a block's extended square: the share at
// (row, col) with its proof. The share-exchange layer implements it
// (choosing peers, retrying across them, blocking peers that lie); the
// DASer does not know about peers.
//
// GetSample returns the sample, owned by the caller, or an error; when no
// peer serves the cell, the error should wrap ErrUnavailable. The DASer
// verifies every sample against h.DAH itself (a cheap proof check), so a
// Getter that skips verification or lies costs only the sample: it is
// rejected with ErrInvalidSample and asked for again. GetSample must return
// when ctx ends. It is called concurrently.
type Getter interface {
	GetSample(ctx context.Context, h *header.ExtendedHeader, row, col int) (*eds.Sample, error)
}

// SamplesGetter is a Getter that also fetches several samples of one
// square in one request (shrex's samples protocol); the DASer asks it for
// all of a header's samples at once when its Getter implements it, and
// cell by cell otherwise.
//
// GetSamples returns one sample for each of coords, in the same order,
// owned by the caller, or an error; a peer that does not speak the batched
// request must be asked cell by cell by the implementation, not reported
// as a failure. coords are distinct cells of the square, as many as the
// DASer samples per header. The contract is otherwise GetSample's: the
// error wraps ErrUnavailable when no peer serves the cells, the DASer
// verifies every sample itself, and it must return when ctx ends.
type SamplesGetter interface {
	Getter
	GetSamples(ctx context.Context, h *header.ExtendedHeader, coords []Coord) ([]*eds.Sample, error)
}

// EDSGetter fetches a block's whole extended square for a full node (see
// NewFull). The share-exchange layer implements it: the eds protocol from
// a bridge or full node, or a reconstruction from rows and samples of
// several peers with eds.Repair.
//
// GetEDS returns the square verified against h.DAH, owned by the caller
// and never modified afterwards; or an error wrapping ErrUnavailable when
// no peer serves enough of it; or an error for which errors.As finds an
// *eds.ErrByzantineData, with proofs, when the shares contradict the roots
// h.DAH commits to (the block is badly encoded). It must return when ctx
// ends. It is called concurrently. The DASer checks the square's roots
// against h.DAH again (free when the getter computed them on the same
// square: they are cached in it).
type EDSGetter interface {
	GetEDS(ctx context.Context, h *header.ExtendedHeader) (*eds.ExtendedDataSquare, error)
}

// SquareStore is where a full node keeps the squares it fetched; the node
// adapts eds/store (with its Badger transaction) to it.
//
// Put stores e, the verified square of h, durably before it returns nil;
// it may keep e (it is not modified afterwards). Has reports whether the
// square of height is stored. Both are called concurrently, for distinct
// heights.
type SquareStore interface {
	Put(ctx context.Context, h *header.ExtendedHeader, e *eds.ExtendedDataSquare) error
	Has(ctx context.Context, height uint64) (bool, error)
}

// Headers is what the DASer needs of the node's header store
// (header.Store implements it): headers by height and the height of the
// head. Its contract is header.Store's: a contiguous run of verified
// headers from a base to the head, safe for concurrent use. A height below
// the head that GetByHeight reports as header.ErrNotFound is taken to be
// below the store's base and is skipped.
type Headers interface {
	GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error)
	Height() uint64
}

var _ Headers = header.Store(nil)
