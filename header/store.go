package header

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// Store errors.
var (
	// ErrNotFound is returned (wrapped) when a store holds no header for a
	// hash or height, or no header at all for Head.
	ErrNotFound = errors.New("header: not found")
	// ErrRangeTooLarge is wrapped when GetRange is asked for more than
	// MaxRangeSize headers, or for an empty or reversed range.
	ErrRangeTooLarge = errors.New("header: invalid range")
)

// MaxRangeSize is the largest number of headers GetRange returns at once:
// eight header-ex requests' worth (64 each).
const MaxRangeSize = 512

// Store keeps a contiguous run of verified extended headers, from the first
// one appended (the store's base; any height for a node that started from a
// trusted header rather than genesis) up to its head. The header package
// declares it and the syncer uses it; header/store implements it on Badger
// and headertest in memory.
//
// A Store does not validate or verify headers: the caller does that before
// Append. Headers returned are owned by the caller's read-only use: they
// may be shared with other readers and must not be modified. All methods
// are safe for concurrent use.
type Store interface {
	// Append adds headers above the head, in order. They must chain (see
	// CheckChain): ErrHeightGap for a height that is not the next one,
	// ErrNotAdjacent for a LastBlockID that is not the previous header's
	// block; such a batch stores nothing. An implementation may commit a
	// long batch in several steps, each leaving a contiguous chain: on any
	// other error a prefix of the batch may be stored, and Head tells how
	// far.
	Append(ctx context.Context, headers ...*ExtendedHeader) error
	// Get returns the header whose Hash is hash, or ErrNotFound.
	Get(ctx context.Context, hash []byte) (*ExtendedHeader, error)
	// GetByHeight returns the header at height, or ErrNotFound.
	GetByHeight(ctx context.Context, height uint64) (*ExtendedHeader, error)
	// GetRange returns the headers of heights [from, to) in increasing
	// order, all of them or an error: ErrRangeTooLarge unless
	// 0 < to-from <= MaxRangeSize, ErrNotFound if one of them is missing.
	GetRange(ctx context.Context, from, to uint64) ([]*ExtendedHeader, error)
	// Head returns the highest header, or ErrNotFound when the store is empty.
	Head(ctx context.Context) (*ExtendedHeader, error)
	// Tail returns the lowest header, the store's base, or ErrNotFound
	// when the store is empty. Every height from Tail's to Head's is held.
	Tail(ctx context.Context) (*ExtendedHeader, error)
	// Has reports whether the store holds the header whose Hash is hash.
	Has(ctx context.Context, hash []byte) (bool, error)
	// Height returns the height of the head, 0 when the store is empty.
	Height() uint64
}

// CheckChain checks that headers can be appended above head (nil for an
// empty store): each is one height above the one before and its
// LastBlockID.Hash is that header's Hash. It returns ErrInvalidHeader for a
// nil header or one missing its commit, validator set or DAH, ErrHeightGap for a wrong height and ErrNotAdjacent for a
// wrong LastBlockID. It does not validate the headers.
func CheckChain(head *ExtendedHeader, headers []*ExtendedHeader) error {
	prev := head
	for i, h := range headers {
		if h == nil || h.Commit == nil || h.ValidatorSet == nil || h.DAH == nil {
			return fmt.Errorf("%w: header %d of the batch is nil or incomplete", ErrInvalidHeader, i)
		}
		if prev != nil {
			if h.RawHeader.Height != prev.RawHeader.Height+1 {
				return fmt.Errorf("%w: height %d after %d", ErrHeightGap, h.RawHeader.Height, prev.RawHeader.Height)
			}
			if !bytes.Equal(h.RawHeader.LastBlockID.Hash, prev.Hash()) {
				return fmt.Errorf("%w: height %d: last block %X, previous header %X",
					ErrNotAdjacent, h.RawHeader.Height, h.RawHeader.LastBlockID.Hash, prev.Hash())
			}
		} else if h.RawHeader.Height < 1 {
			return fmt.Errorf("%w: height %d", ErrInvalidHeader, h.RawHeader.Height)
		}
		prev = h
	}
	return nil
}

// CheckRange returns ErrRangeTooLarge unless [from, to) holds between 1 and
// MaxRangeSize heights. Store implementations call it in GetRange.
func CheckRange(from, to uint64) error {
	if from >= to || to-from > MaxRangeSize || from == 0 {
		return fmt.Errorf("%w: [%d, %d), at most %d heights from 1", ErrRangeTooLarge, from, to, MaxRangeSize)
	}
	return nil
}
