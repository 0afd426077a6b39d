package store

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// Catalog answers what a node knows of its datasets: the Index's entries
// for the heights it holds and, for the pinned datasets, what Pins
// recorded when it pinned them, which pruning does not touch. The dataset
// JSON-RPC module reads it. It is safe for concurrent use.
type Catalog struct {
	ix   *Index
	pins *Pins
}

// NewCatalog returns the catalog of ix and pins (nil: no pinned
// datasets). It does no I/O.
func NewCatalog(ix *Index, pins *Pins) (*Catalog, error) {
	if ix == nil {
		return nil, errors.New("dataset: NewCatalog needs an Index")
	}
	return &Catalog{ix: ix, pins: pins}, nil
}

// Manifest returns the newest indexed manifest of c (a manifest's CID or
// a dataset's root), its Location.Pinned set if its block is pinned, or
// else the manifest recorded when the dataset was pinned (Pinned set; its
// height may be pruned). It answers an error wrapping ErrManifestNotFound
// if neither holds one; once the node has pruned (Index.MarkPruned), the
// message says below which height and that only a pin keeps a dataset.
func (ct *Catalog) Manifest(ctx context.Context, c cid.Cid) (ManifestRecord, error) {
	rec, err := ct.ix.Manifest(ctx, c)
	if err == nil {
		pinned, err := ct.pinned(c.Defined(), rec.CID)
		rec.Location.Pinned = pinned
		return rec, err
	}
	if !errors.Is(err, ErrManifestNotFound) {
		return ManifestRecord{}, err
	}
	if ct.pins != nil && c.Defined() {
		found := false
		err := ct.ix.db.View(func(txn *badger.Txn) error {
			var err error
			rec, found, err = pinnedManifest(txn, c)
			return err
		})
		if err != nil {
			return ManifestRecord{}, fmt.Errorf("dataset: pinned manifest of %s: %w", c, err)
		}
		if found {
			return rec, nil
		}
	}
	return ManifestRecord{}, ct.NotFound(ctx, fmt.Errorf("%w: %s", ErrManifestNotFound, c))
}

// pinnedManifest returns the manifest recorded for the pinned dataset of
// root c, or the one whose CID is c.
func pinnedManifest(txn *badger.Txn, c cid.Cid) (ManifestRecord, bool, error) {
	if c.Prefix().Codec != cid.DagCBOR {
		rec, err := readPinnedManifest(txn, c.Bytes())
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ManifestRecord{}, false, nil
		}
		return rec, err == nil, err
	}
	// A manifest's block belongs to its root's pin: the c/ entries name
	// the roots.
	roots := pinnedRoots(txn, c)
	for _, r := range roots {
		rec, err := readPinnedManifest(txn, r)
		if errors.Is(err, badger.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return ManifestRecord{}, false, err
		}
		if rec.CID.Equals(c) {
			return rec, true, nil
		}
	}
	return ManifestRecord{}, false, nil
}

// pinned reports whether block c is pinned (false if check is).
func (ct *Catalog) pinned(check bool, c cid.Cid) (bool, error) {
	if ct.pins == nil || !check {
		return false, nil
	}
	b, err := ct.pins.get(c)
	return b != nil, err
}

// Locate returns where block c is, newest height first (within a height,
// by commitment, descending), at most MaxLocations entries: the Index's
// locations and, if c is pinned, where each pin recorded it was
// published, all with Pinned set. None (and no error) for a CID neither
// holds, or a pinned block whose location was not known when it was
// pinned.
func (ct *Catalog) Locate(ctx context.Context, c cid.Cid) ([]Location, error) {
	locs, err := ct.ix.Locate(ctx, c)
	if err != nil || ct.pins == nil || !c.Defined() {
		return locs, err
	}
	var recorded []Location
	err = ct.ix.db.View(func(txn *badger.Txn) error {
		var err error
		recorded, err = pinnedLocations(txn, c, MaxLocations)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: locating %s: %w", c, err)
	}
	pinned := len(recorded) > 0
	if !pinned {
		if pinned, err = ct.pinned(true, c); err != nil || !pinned {
			return locs, err
		}
	}
	for i := range locs {
		locs[i].Pinned = true
	}
	for _, r := range recorded {
		if !slices.ContainsFunc(locs, func(l Location) bool { return sameLocation(l, r) }) {
			locs = append(locs, r)
		}
	}
	slices.SortFunc(locs, func(a, b Location) int {
		if c := cmp.Compare(b.Height, a.Height); c != 0 {
			return c
		}
		return bytes.Compare(b.Commitment, a.Commitment)
	})
	return locs[:min(len(locs), MaxLocations)], nil
}

func sameLocation(a, b Location) bool {
	return a.Height == b.Height && bytes.Equal(a.Commitment, b.Commitment) && a.Offset == b.Offset && a.Length == b.Length
}

// Has reports whether block c is pinned or the Index locates it; it reads
// no blob.
func (ct *Catalog) Has(ctx context.Context, c cid.Cid) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if pinned, err := ct.pinned(c.Defined(), c); pinned || err != nil {
		return pinned, err
	}
	locs, err := ct.ix.Locate(ctx, c)
	return len(locs) > 0, err
}

// List returns the manifests of heights from from on, as Index.List
// pages them (by height then commitment, a page ending on a whole
// height): the indexed ones and those recorded for the pinned datasets,
// each once (an indexed manifest that is pinned too has Location.Pinned
// set). A pinned manifest is listed at the height it was published, so a
// list from 0 names the pinned datasets whose heights are pruned first.
func (ct *Catalog) List(ctx context.Context, from uint64, limit int) ([]ManifestRecord, error) {
	return listManifests(ctx, ct.ix.db, from, limit, ct.pins != nil)
}

// NotFound returns err, which says that a block or manifest is not found
// (ipld.ErrNotFound, ErrManifestNotFound), with the height below which
// the node pruned its squares, if it has: what was published there is
// kept only by a pin. Any other err is returned as is.
func (ct *Catalog) NotFound(ctx context.Context, err error) error {
	if !ipld.IsNotFound(err) && !errors.Is(err, ErrManifestNotFound) {
		return err
	}
	below, perr := ct.ix.PrunedBelow(ctx)
	if perr != nil || below == 0 {
		return err
	}
	return &PrunedError{Err: err, Below: below}
}

// PrunedError is a "not found" from a node that pruned the heights below
// Below: a dataset published there is gone from it unless pinned.
type PrunedError struct {
	Err   error
	Below uint64
}

func (e *PrunedError) Error() string {
	return fmt.Sprintf("%v (not held by this node, which pruned heights below %d: a dataset published there is kept only if pinned, [dataset] pin)", e.Err, e.Below)
}

func (e *PrunedError) Unwrap() error { return e.Err }
