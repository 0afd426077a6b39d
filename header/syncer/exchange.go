package syncer

import (
	"context"

	"github.com/datamesh/mesh-node/header"
)

// Exchange is what the syncer needs from the network: header/exchange (the
// header-ex client) implements it; tests implement it over a local chain.
type Exchange interface {
	// Head returns a network head. With trusted == nil: the head the client's trusted peers agree on (validated, not verified; error if they disagree or none answer). With trusted != nil: the highest head reported by peers that passes header.Verify(trusted, head); trusted itself if none is higher.
	Head(ctx context.Context, trusted *header.ExtendedHeader) (*header.ExtendedHeader, error)
	// GetByHash: a validated header whose Hash() == hash.
	GetByHash(ctx context.Context, hash []byte) (*header.ExtendedHeader, error)
	// GetByHeight: a validated header at height, agreed by the trusted peers that answer.
	GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error)
	// GetVerifiedRange returns the headers at heights trusted.Height()+1 .. to inclusive, in order, each verified adjacently from trusted. All or error. to - trusted.Height() must be in [1, header.MaxRangeSize]. Errors wrap header's sentinels, e.g. errors.Is(err, header.ErrExpiredTrust).
	GetVerifiedRange(ctx context.Context, trusted *header.ExtendedHeader, to uint64) ([]*header.ExtendedHeader, error)
}
