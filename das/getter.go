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
