package api

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/syncer"
)

// Errors of the header service. Their texts are celestia-node's (its
// nodebuilder/header service and go-header's store), which clients match
// on; the numbers follow after a colon, as there.
var (
	// ErrHeightZero is returned for height 0, which no header has.
	ErrHeightZero = errors.New("header/store: height must be bigger than zero")
	// ErrHeightFromFuture is wrapped by GetByHeight for a height more than
	// one above the network head: "header: given height is from the
	// future: networkHeight: N, requestedHeight: H".
	ErrHeightFromFuture = errors.New("header: given height is from the future")
	// ErrSyncing is wrapped by GetByHeight for a height at most one above
	// the network head but more than one above the store's head: "header:
	// syncing in progress: localHeadHeight: N, requestedHeight: H".
	ErrSyncing = errors.New("header: syncing in progress")
	// ErrInvalidRange is wrapped by GetRangeByHeight for an empty or
	// reversed range: "header/store: invalid range(from,to)".
	ErrInvalidRange = errors.New("header/store: invalid range")
	// ErrHeaderMismatch is wrapped by Resolve when the node's header at a
	// height has another hash than the one the client named.
	ErrHeaderMismatch = errors.New("api: not the node's header")
)

// DefaultPollInterval is how often a call waiting for a height (and a
// subscription) re-reads the store's height when HeaderOptions leaves
// PollInterval zero.
const DefaultPollInterval = 100 * time.Millisecond

// subscriptionBuffer bounds the headers a subscription holds for a slow
// reader; beyond it the subscription waits (it never drops a header).
const subscriptionBuffer = 16

// SyncInfo is what the header service reads of the syncer:
// *syncer.Syncer implements it. A bridge has none.
type SyncInfo interface {
	State() syncer.State
	SyncWait(ctx context.Context) error
}

// HeaderOptions are the dependencies of the header service.
type HeaderOptions struct {
	// Store is the node's header store (required).
	Store header.Store
	// Sync is the syncer; nil on a bridge, whose store is the chain.
	Sync SyncInfo
	// NetworkHead returns the network head for the NetworkHead method; nil
	// means the store's head.
	NetworkHead func(ctx context.Context) (*header.ExtendedHeader, error)
	// PollInterval is how often waiters re-check the store;
	// DefaultPollInterval when zero. It must not be negative.
	PollInterval time.Duration
}

// Headers is the header service: the logic of the API's header module,
// without permission checks, for Go callers (the share and blob modules
// resolve heights through it). Its methods are safe for concurrent use and
// return headers owned by the store: callers must not modify them.
type Headers struct {
	store       header.Store
	sync        SyncInfo
	networkHead func(ctx context.Context) (*header.ExtendedHeader, error)
	poll        time.Duration
}

// NewHeaders returns the header service over opts. It does no I/O.
func NewHeaders(opts HeaderOptions) (*Headers, error) {
	if opts.Store == nil {
		return nil, errors.New("api: header service needs a store")
	}
	if opts.PollInterval < 0 {
		return nil, fmt.Errorf("api: negative header poll interval %v", opts.PollInterval)
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultPollInterval
	}
	return &Headers{store: opts.Store, sync: opts.Sync, networkHead: opts.NetworkHead, poll: opts.PollInterval}, nil
}

// LocalHead returns the store's head (header.ErrNotFound when empty).
func (h *Headers) LocalHead(ctx context.Context) (*header.ExtendedHeader, error) {
	return h.store.Head(ctx)
}

// NetworkHead returns the network head: HeaderOptions.NetworkHead's, or
// the store's head when it is nil (a bridge's store is the chain).
func (h *Headers) NetworkHead(ctx context.Context) (*header.ExtendedHeader, error) {
	if h.networkHead != nil {
		return h.networkHead(ctx)
	}
	return h.store.Head(ctx)
}

// networkHeight is the height the node knows the chain has reached: the
// syncer's target when it is above the store's head, else the store's head.
func (h *Headers) networkHeight() uint64 {
	local := h.store.Height()
	if h.sync != nil {
		if t := h.sync.State().Target; t > local {
			return t
		}
	}
	return local
}

// GetByHeight returns the header at height, as celestia-node does:
//
//   - 0: ErrHeightZero;
//   - more than one above the network height (the syncer's target, or the
//     store's head on a bridge): ErrHeightFromFuture;
//   - more than one above the store's head: ErrSyncing;
//   - the store's head + 1: it waits for the header until ctx ends (a
//     header a block time away is served when it arrives);
//   - below the store's first header: header.ErrNotFound.
func (h *Headers) GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	if height == 0 {
		return nil, ErrHeightZero
	}
	if nh := h.networkHeight(); height > nh+1 {
		return nil, fmt.Errorf("%w: networkHeight: %d, requestedHeight: %d", ErrHeightFromFuture, nh, height)
	}
	if local := h.store.Height(); height > local+1 {
		return nil, fmt.Errorf("%w: localHeadHeight: %d, requestedHeight: %d", ErrSyncing, local, height)
	}
	return h.wait(ctx, height)
}

// WaitForHeight returns the header at height, waiting for the store to
// reach it however far ahead it is, until ctx ends. Height 0 is
// ErrHeightZero; a height below the store's first header is
// header.ErrNotFound.
func (h *Headers) WaitForHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	if height == 0 {
		return nil, ErrHeightZero
	}
	return h.wait(ctx, height)
}

// wait reads height from the store once the store's head has reached it,
// re-checking every poll interval until ctx ends.
func (h *Headers) wait(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	var tick *time.Ticker
	for {
		if h.store.Height() >= height {
			return h.store.GetByHeight(ctx, height)
		}
		if tick == nil {
			tick = time.NewTicker(h.poll)
			defer tick.Stop()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("api: waiting for header %d: %w", height, ctx.Err())
		case <-tick.C:
		}
	}
}

// GetByHash returns the stored header whose hash is hash, or
// header.ErrNotFound.
func (h *Headers) GetByHash(ctx context.Context, hash Hash) (*header.ExtendedHeader, error) {
	if len(hash) == 0 {
		return nil, fmt.Errorf("api: empty header hash: %w", header.ErrNotFound)
	}
	return h.store.Get(ctx, hash)
}

// GetRangeByHeight returns the headers above from up to to, exclusive:
// heights from.Height()+1 .. to-1, as go-header's store does. It waits (until
// ctx ends) for the store to reach to-1. An empty or reversed range wraps
// ErrInvalidRange, one of more than header.MaxRangeSize headers wraps
// header.ErrRangeTooLarge (ask again from the last header returned). The
// headers are checked to chain from from (header.CheckChain: heights and
// LastBlockID), so a from that is not the stored header at its height is
// refused with header.ErrNotAdjacent.
func (h *Headers) GetRangeByHeight(ctx context.Context, from *header.ExtendedHeader, to uint64) ([]*header.ExtendedHeader, error) {
	if from == nil {
		return nil, errors.New("api: GetRangeByHeight needs the header to start from")
	}
	start := from.Height() + 1
	if start >= to {
		return nil, fmt.Errorf("%w(%d,%d)", ErrInvalidRange, start, to)
	}
	if to-start > header.MaxRangeSize {
		return nil, fmt.Errorf("api: %w: %d headers asked, at most %d per call", header.ErrRangeTooLarge, to-start, header.MaxRangeSize)
	}
	if _, err := h.wait(ctx, to-1); err != nil {
		return nil, err
	}
	hs, err := h.store.GetRange(ctx, start, to)
	if err != nil {
		return nil, err
	}
	if err := header.CheckChain(from, hs); err != nil {
		return nil, fmt.Errorf("api: range does not chain from the given header: %w", err)
	}
	return hs, nil
}

// Resolve returns the node's header that ref names: the stored header at
// ref.Height, which must hash to ref.Hash (else an error wrapping
// ErrHeaderMismatch that names both hashes). A height the store does not
// hold is header.ErrNotFound; Resolve does not wait for it.
func (h *Headers) Resolve(ctx context.Context, ref HeaderRef) (*header.ExtendedHeader, error) {
	if ref.Height == 0 {
		return nil, ErrHeightZero
	}
	local, err := h.store.GetByHeight(ctx, ref.Height)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(local.Hash(), ref.Hash) {
		return nil, fmt.Errorf("%w: header %X given for height %d, the node's is %X",
			ErrHeaderMismatch, []byte(ref.Hash), ref.Height, local.Hash())
	}
	return local, nil
}

// Tail returns the store's lowest header (header.ErrNotFound when empty):
// no header below it can be served, nor the data of its heights.
func (h *Headers) Tail(ctx context.Context) (*header.ExtendedHeader, error) {
	return h.store.Tail(ctx)
}

// SyncWait returns once the syncer has caught up with the network head it
// knows (syncer.Syncer.SyncWait), or ctx's error. A bridge is always
// synced: nil.
func (h *Headers) SyncWait(ctx context.Context) error {
	if h.sync == nil {
		return ctx.Err()
	}
	return h.sync.SyncWait(ctx)
}

// SyncState returns the sync state in celestia-node's shape (see
// SyncState for how our syncer's state maps onto it).
func (h *Headers) SyncState(ctx context.Context) (SyncState, error) {
	local := h.store.Height()
	st := SyncState{Height: local, FromHeight: local, ToHeight: local}
	if h.sync != nil {
		s := h.sync.State()
		st.Height = s.Height
		st.ToHeight = max(s.Target, s.Height)
		st.FromHeight = st.ToHeight
		if s.Target > s.Height {
			st.FromHeight = s.Height + 1
		}
		if s.Round.ID > 0 {
			st.ID, st.FromHeight, st.Start, st.End = s.Round.ID, s.Round.From+1, s.Round.Start, s.Round.End
		}
	}
	if st.Height == 0 {
		return st, nil
	}
	if head, err := h.store.GetByHeight(ctx, st.Height); err == nil {
		st.FromHash = Hash(head.Hash())
		if st.ToHeight == st.Height {
			st.ToHash = st.FromHash
		}
	} else {
		st.Error = err.Error()
	}
	return st, nil
}

// Subscribe returns every header the store gains from now on (from its
// current head + 1; for an empty store, from the first head it has), in
// height order without gaps. The channel holds up to a small number of headers;
// when the reader falls behind, the subscription waits for it rather than
// dropping any. It is closed when ctx ends.
func (h *Headers) Subscribe(ctx context.Context) (<-chan *header.ExtendedHeader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	next := h.store.Height() + 1
	if next == 1 {
		next = 0 // empty store: start from the first head it has
	}
	ch := make(chan *header.ExtendedHeader, subscriptionBuffer)
	go h.feed(ctx, ch, next)
	return ch, nil
}

// feed sends ch the store's headers from height next on until ctx ends
// (next 0: from the store's first head), then closes ch.
func (h *Headers) feed(ctx context.Context, ch chan<- *header.ExtendedHeader, next uint64) {
	defer close(ch)
	tick := time.NewTicker(h.poll)
	defer tick.Stop()
	for {
		height := h.store.Height()
		if next == 0 && height > 0 {
			next = height
		}
		if next != 0 && height >= next {
			to := min(height+1, next+header.MaxRangeSize)
			hs, err := h.store.GetRange(ctx, next, to)
			if err == nil {
				for _, eh := range hs {
					select {
					case ch <- eh:
					case <-ctx.Done():
						return
					}
				}
				next = to
				continue
			}
			// A store error is retried at the next tick.
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Hash is a header hash with go-header's JSON (libhead.Hash): a string of
// upper-case hex digits; decoding accepts either case.
type Hash []byte

// String returns the upper-case hex of h.
func (h Hash) String() string {
	return fmt.Sprintf("%X", []byte(h))
}

// MarshalJSON encodes h as a JSON string of upper-case hex.
func (h Hash) MarshalJSON() ([]byte, error) {
	return []byte(`"` + h.String() + `"`), nil
}

// UnmarshalJSON decodes a JSON string of hex digits (either case).
func (h *Hash) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("api: invalid hex string: %.64s", b)
	}
	v, err := hex.DecodeString(string(b[1 : len(b)-1]))
	if err != nil {
		return fmt.Errorf("api: invalid hex string: %w", err)
	}
	*h = v
	return nil
}

// SyncState is go-header's sync state (sync.State), which celestia-node's
// header.SyncState returns, with its JSON field names, filled from
// syncer.State (its current or last range sync, State.Round) and the
// store:
//
//	id           Round.ID, the range syncs since start (0 before the
//	             first, and on a bridge)
//	height       State.Height, the store's head
//	from_height  Round.From+1, the first height the range sync fetched;
//	             before any, State.Height+1 while behind, else to_height
//	to_height    State.Target, or the store's head when higher or on a
//	             bridge (then from_height = to_height = height)
//	from_hash    the hash of the store's head (go-header: the header the
//	             sync started from)
//	to_hash      the head's hash once synced; empty while syncing (the
//	             target header is not stored yet)
//	start, end   Round.Start and Round.End (end zero while it runs; both
//	             zero before the first and on a bridge)
//	error        a store error reading the head, else omitted
//
// As in go-header, the sync is finished when to_height <= height.
type SyncState struct {
	ID         uint64    `json:"id"`
	Height     uint64    `json:"height"`
	FromHeight uint64    `json:"from_height"`
	ToHeight   uint64    `json:"to_height"`
	FromHash   Hash      `json:"from_hash"`
	ToHash     Hash      `json:"to_hash"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Error      string    `json:"error,omitempty"`
}

// Finished reports whether the sync has reached its target.
func (s SyncState) Finished() bool { return s.ToHeight <= s.Height }

// Head is LocalHead: blob.Service's subscriptions start above it.
func (h *Headers) Head(ctx context.Context) (*header.ExtendedHeader, error) { return h.LocalHead(ctx) }
