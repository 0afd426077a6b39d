package syncer

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/header"
)

// Trust names the header a node starts from when its store is empty. With
// Hash set the header is fetched by hash (and must be at Height if that is
// set too); with only Height, by height; with neither, the network head
// the exchange's trusted peers agree on.
type Trust struct {
	Hash   []byte
	Height uint64
}

// Init makes sure store has a head to sync from, and returns it.
//
// A non-empty store keeps its head: Init does no network I/O and returns
// it, unless trust contradicts the store (the store holds trust.Height with
// another hash, or the header trust.Hash at another height), which is
// ErrTrustMismatch. The head's age is Start's concern, not Init's.
//
// An empty store gets the header trust names, fetched from ex: it must be
// valid, match trust (ErrTrustMismatch), be of opts.ChainID if set, and be
// within the trusting period (a *TrustExpiredError). It is appended as the
// store's base. Init does not verify it against anything: it is the trust
// root, which is why the operator should name it by hash.
func Init(ctx context.Context, store header.Store, ex Exchange, trust Trust, opts Options) (*header.ExtendedHeader, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if store == nil || ex == nil {
		return nil, fmt.Errorf("%w: nil store or exchange", ErrInvalidOptions)
	}
	head, err := store.Head(ctx)
	switch {
	case err == nil:
		if err := checkStoreAgrees(ctx, store, trust); err != nil {
			return nil, err
		}
		return head, nil
	case !errors.Is(err, header.ErrNotFound):
		return nil, fmt.Errorf("syncer: reading the store head: %w", err)
	}

	var h *header.ExtendedHeader
	switch {
	case len(trust.Hash) > 0:
		h, err = ex.GetByHash(ctx, trust.Hash)
		if err != nil {
			return nil, fmt.Errorf("syncer: fetching trusted header %X: %w", trust.Hash, err)
		}
		if !bytes.Equal(h.Hash(), trust.Hash) {
			return nil, fmt.Errorf("%w: asked for hash %X, got %X", ErrTrustMismatch, trust.Hash, h.Hash())
		}
		if trust.Height != 0 && h.Height() != trust.Height {
			return nil, fmt.Errorf("%w: header %X is at height %d, trusted height is %d", ErrTrustMismatch, trust.Hash, h.Height(), trust.Height)
		}
	case trust.Height != 0:
		h, err = ex.GetByHeight(ctx, trust.Height)
		if err != nil {
			return nil, fmt.Errorf("syncer: fetching trusted header at height %d: %w", trust.Height, err)
		}
		if h.Height() != trust.Height {
			return nil, fmt.Errorf("%w: asked for height %d, got %d", ErrTrustMismatch, trust.Height, h.Height())
		}
	default:
		h, err = ex.Head(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("syncer: fetching the network head: %w", err)
		}
	}
	// The exchange validated it; validate again, as the trust root is
	// worth one signature check.
	if err := h.Validate(); err != nil {
		return nil, fmt.Errorf("syncer: trusted header: %w", err)
	}
	if opts.ChainID != "" && h.ChainID() != opts.ChainID {
		return nil, fmt.Errorf("syncer: trusted header: %w: chain %q, want %q", header.ErrChainIDMismatch, h.ChainID(), opts.ChainID)
	}
	if opts.expired(h) {
		return nil, &TrustExpiredError{What: "trusted header", Height: h.Height(), Time: h.Time(), TrustingPeriod: opts.trustingPeriod()}
	}
	if err := store.Append(ctx, h); err != nil {
		return nil, fmt.Errorf("syncer: storing trusted header %v: %w", h, err)
	}
	opts.Logger.Info("syncer: initialised from trusted header", "height", h.Height(), "hash", fmt.Sprintf("%X", h.Hash()), "time", h.Time())
	return h, nil
}

// checkStoreAgrees returns ErrTrustMismatch if the store holds a header
// that contradicts trust.
func checkStoreAgrees(ctx context.Context, store header.Store, trust Trust) error {
	if trust.Height != 0 {
		stored, err := store.GetByHeight(ctx, trust.Height)
		switch {
		case errors.Is(err, header.ErrNotFound):
			// Below the base or above the head: nothing to compare.
		case err != nil:
			return fmt.Errorf("syncer: reading height %d: %w", trust.Height, err)
		case len(trust.Hash) > 0 && !bytes.Equal(stored.Hash(), trust.Hash):
			return fmt.Errorf("%w: store has %X at height %d, trusted hash is %X", ErrTrustMismatch, stored.Hash(), trust.Height, trust.Hash)
		}
	}
	if len(trust.Hash) > 0 {
		stored, err := store.Get(ctx, trust.Hash)
		switch {
		case errors.Is(err, header.ErrNotFound):
		case err != nil:
			return fmt.Errorf("syncer: reading hash %X: %w", trust.Hash, err)
		case trust.Height != 0 && stored.Height() != trust.Height:
			return fmt.Errorf("%w: store has %X at height %d, trusted height is %d", ErrTrustMismatch, trust.Hash, stored.Height(), trust.Height)
		}
	}
	return nil
}
