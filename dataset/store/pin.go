package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dgraph-io/badger/v4"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/datamesh/mesh-node/dataset"
)

// Pinned blocks live under their own prefix, which the blob index never
// prunes (no "blob/x/" entry points at them):
//
//	dataset/pin/b/<cid>   -> the block's data
//	dataset/pin/r/<root>  -> empty: every block of the DAG under root is pinned
//
// A block shared by two pinned datasets is stored once.
var (
	prefixPinBlock = []byte("dataset/pin/b/")
	prefixPinDone  = []byte("dataset/pin/r/")
)

// PinOptions are the dependencies of a Pins.
type PinOptions struct {
	// DB is the node's Badger database; required.
	DB *badger.DB
	// Roots are the datasets to keep: CIDs of dataset roots (a
	// duplicate counts once).
	Roots []cid.Cid
	// Logger defaults to one that discards.
	Logger *slog.Logger
}

// Pins keeps the blocks of the pinned datasets in Badger past the
// availability window: Sync copies each pinned DAG's blocks out of the
// squares while they are held, and a Blockstore given the Pins
// (BlockstoreOptions.Pins) reads them first. It is safe for concurrent
// use.
type Pins struct {
	db    *badger.DB
	roots []cid.Cid
	log   *slog.Logger
}

// NewPins returns the pinned-block store over opts.DB. It does no I/O.
func NewPins(opts PinOptions) (*Pins, error) {
	if opts.DB == nil {
		return nil, errors.New("dataset: NewPins needs a DB")
	}
	var roots []cid.Cid
	seen := map[cid.Cid]bool{}
	for _, r := range opts.Roots {
		if !r.Defined() {
			return nil, errors.New("dataset: pin: an undefined root CID")
		}
		if !seen[r] {
			seen[r] = true
			roots = append(roots, r)
		}
	}
	return &Pins{db: opts.DB, roots: roots, log: orDiscard(opts.Logger)}, nil
}

// ParseRoot parses a pinned root as written in a configuration: a CID in
// any of its string forms.
func ParseRoot(s string) (cid.Cid, error) {
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, fmt.Errorf("dataset: %q is not a CID: %w", s, err)
	}
	return c, nil
}

// Roots returns the pinned roots, without duplicates (a copy).
func (p *Pins) Roots() []cid.Cid { return append([]cid.Cid(nil), p.roots...) }

// Sync copies into Badger every block of each pinned dataset not yet
// complete, walking its DAG (dataset.Walk, every block hash-checked) over
// src, normally the node's Blockstore (pinned blocks first, then the
// squares). A dataset whose blocks are all pinned is marked complete and
// is not walked again; one with a block src does not have yet (not posted,
// not indexed yet, or already pruned) keeps the blocks copied so far and is
// walked again by the next Sync. Sync is idempotent. It returns how many
// pinned datasets are complete; an error only for the context or the
// database (a dataset whose DAG is bad is logged and left incomplete).
func (p *Pins) Sync(ctx context.Context, src dataset.BlockGetter) (complete int, err error) {
	for _, root := range p.roots {
		done, err := p.complete(root)
		if err != nil {
			return complete, err
		}
		if !done {
			if done, err = p.pin(ctx, src, root); err != nil {
				return complete, err
			}
		}
		if done {
			complete++
		}
	}
	return complete, nil
}

// pin walks root's DAG over src, storing each block not stored yet, and
// marks root complete if the walk ends. It returns an error only for the
// context or the database.
func (p *Pins) pin(ctx context.Context, src dataset.BlockGetter, root cid.Cid) (bool, error) {
	var dbErr error
	copied := 0
	err := dataset.Walk(ctx, src, root, func(b blocks.Block) error {
		k := append(bytes.Clone(prefixPinBlock), b.Cid().Bytes()...)
		dbErr = p.db.Update(func(txn *badger.Txn) error {
			if _, err := txn.Get(k); err == nil {
				return nil
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			copied++
			return txn.Set(k, bytes.Clone(b.RawData()))
		})
		return dbErr
	})
	log := p.log.With("root", root.String(), "copied", copied)
	switch {
	case dbErr != nil:
		return false, fmt.Errorf("dataset: pinning %s: %w", root, dbErr)
	case ctx.Err() != nil:
		return false, fmt.Errorf("dataset: pinning %s: %w", root, ctx.Err())
	case errors.Is(err, dataset.ErrMissingBlock):
		log.Debug("dataset pin: not every block is available yet", "err", err)
		return false, nil
	case err != nil:
		log.Warn("dataset pin: the DAG cannot be pinned", "err", err)
		return false, nil
	}
	if err := p.db.Update(func(txn *badger.Txn) error {
		return txn.Set(append(bytes.Clone(prefixPinDone), root.Bytes()...), nil)
	}); err != nil {
		return false, fmt.Errorf("dataset: pinning %s: %w", root, err)
	}
	log.Info("dataset pin: every block pinned")
	return true, nil
}

// complete reports whether root is marked complete.
func (p *Pins) complete(root cid.Cid) (bool, error) {
	err := p.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(append(bytes.Clone(prefixPinDone), root.Bytes()...))
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dataset: pin of %s: %w", root, err)
	}
	return true, nil
}

// get returns the pinned block c, hash-checked, or nil if it is not
// pinned. The data is the caller's.
func (p *Pins) get(c cid.Cid) (blocks.Block, error) {
	var data []byte
	err := p.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(append(bytes.Clone(prefixPinBlock), c.Bytes()...))
		if err != nil {
			return err
		}
		data, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: pinned block %s: %w", c, err)
	}
	got, err := c.Prefix().Sum(data)
	if err != nil {
		return nil, fmt.Errorf("dataset: pinned block %s: %w", c, err)
	}
	if !got.Equals(c) {
		return nil, fmt.Errorf("dataset: pinned block %s: hash mismatch", c)
	}
	return blocks.NewBlockWithCid(data, c)
}
