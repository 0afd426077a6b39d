package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dgraph-io/badger/v4"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/datamesh/mesh-node/dataset"
)

// Pinned datasets live under their own prefix, which the blob index
// never prunes (no "blob/x/" entry points at it):
//
//	dataset/pin/b/<cid>                 -> the block's data
//	dataset/pin/c/<len 1><cid><root>    -> <location>: the block belongs to
//	                                       root's pin; where it was published
//	                                       (empty if not known)
//	dataset/pin/k/<len 1><root><cid>    -> empty: the same, by root
//	dataset/pin/p/<root>                -> empty: root has pinned blocks
//	dataset/pin/r/<root>                -> 0x01: every block of root's DAG is
//	                                       pinned (empty: marked by a version
//	                                       that kept no c/ and k/ entries)
//	dataset/pin/m/<root>                -> <height 8><commitment 32><location>
//	                                       <manifest CAR>: root's manifest
//	dataset/pin/h/<height 8><commitment 32> -> <root>: the manifest, for List
//
// <location> is <height 8><commitment 32><namespace 29><offset 4><length 4>.
// A block shared by two pinned datasets is stored once, with a c/ and a k/
// entry for each; it is deleted with the last of them.
var (
	prefixPinBlock    = []byte("dataset/pin/b/")
	prefixPinByCID    = []byte("dataset/pin/c/")
	prefixPinByRoot   = []byte("dataset/pin/k/")
	prefixPinRoot     = []byte("dataset/pin/p/")
	prefixPinDone     = []byte("dataset/pin/r/")
	prefixPinManifest = []byte("dataset/pin/m/")
	prefixPinList     = []byte("dataset/pin/h/")
)

// pinDone is the value of a complete pin's mark.
var pinDone = []byte{1}

// pinLocationSize is the size of a recorded location.
const pinLocationSize = suffixSize + locationSize

// dropBatch is how many blocks one transaction of an unpin drops at most.
const dropBatch = 500

func pinKey(prefix []byte, parts ...[]byte) []byte {
	k := bytes.Clone(prefix)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

// lenPrefixed is c's bytes after their length, so that no CID's keys
// share a prefix with a longer CID's.
func lenPrefixed(c cid.Cid) []byte {
	b := c.Bytes()
	return append([]byte{byte(len(b))}, b...)
}

func encodePinLocation(l Location) []byte {
	v := make([]byte, 0, pinLocationSize)
	v = append(binary.BigEndian.AppendUint64(v, l.Height), l.Commitment...)
	return append(v, locationValue(l.Namespace, l.Offset, l.Length)...)
}

// decodePinLocation decodes a recorded location; ok is false for an
// empty one (not known).
func decodePinLocation(v []byte) (loc Location, ok bool, err error) {
	if len(v) == 0 {
		return Location{}, false, nil
	}
	if len(v) != pinLocationSize {
		return Location{}, false, fmt.Errorf("malformed pinned location of %d bytes", len(v))
	}
	loc, err = decodeLocation(binary.BigEndian.Uint64(v), bytes.Clone(v[8:suffixSize]), v[suffixSize:])
	loc.Pinned = true
	return loc, err == nil, err
}

// PinOptions are the dependencies of a Pins.
type PinOptions struct {
	// DB is the node's Badger database; required.
	DB *badger.DB
	// Index is the dataset index over DB, where a pin records each
	// block's location and the dataset's manifest from; required.
	Index *Index
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
	ix    *Index
	roots []cid.Cid
	log   *slog.Logger
}

// NewPins returns the pinned-block store over opts.DB. It does no I/O.
func NewPins(opts PinOptions) (*Pins, error) {
	if opts.DB == nil || opts.Index == nil {
		return nil, errors.New("dataset: NewPins needs a DB and an Index")
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
	return &Pins{db: opts.DB, ix: opts.Index, roots: roots, log: orDiscard(opts.Logger)}, nil
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
// squares), and records where each block was published (the Index's
// newest location when it is copied) and, once the DAG is complete, the
// dataset's newest indexed manifest (with its block). A dataset whose
// blocks are all pinned is marked complete and is not walked again; one
// with a block src does not have yet (not posted, not indexed yet, or
// already pruned) keeps the blocks copied so far and is walked again by
// the next Sync, as is a complete one whose manifest is not indexed yet
// (for the manifest alone). Then Sync drops the datasets pinned before
// and no longer in Roots: their records, and each of their blocks no
// pinned dataset shares. Sync is idempotent. It returns how many pinned
// datasets are complete; an error only for the context or the database
// (a dataset whose DAG is bad is logged and left incomplete).
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
			if err := p.keepManifest(ctx, root); err != nil {
				return complete, err
			}
			complete++
		}
	}
	return complete, p.dropUnpinned(ctx)
}

// pin walks root's DAG over src, storing each block not stored yet for
// root, and marks root complete if the walk ends. It returns an error
// only for the context or the database.
func (p *Pins) pin(ctx context.Context, src dataset.BlockGetter, root cid.Cid) (bool, error) {
	var dbErr error
	copied := 0
	err := dataset.Walk(ctx, src, root, func(b blocks.Block) error {
		var added bool
		added, dbErr = p.keep(ctx, root, b, nil, false)
		if added {
			copied++
		}
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
		return txn.Set(pinKey(prefixPinDone, root.Bytes()), pinDone)
	}); err != nil {
		return false, fmt.Errorf("dataset: pinning %s: %w", root, err)
	}
	log.Info("dataset pin: every block pinned")
	return true, nil
}

// keep records block b as root's unless it is recorded for root already,
// with its location: loc if not nil, else the Index's newest, else one
// another pin recorded, else none; and stores b's data unless it is a
// manifest's (noData: its CAR is recorded whole). It reports whether it
// recorded anything.
func (p *Pins) keep(ctx context.Context, root cid.Cid, b blocks.Block, loc *Location, noData bool) (bool, error) {
	c := b.Cid()
	byRoot := pinKey(prefixPinByRoot, lenPrefixed(root), c.Bytes())
	var have bool
	if err := p.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(byRoot)
		have = err == nil
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		return err
	}); err != nil || have {
		return false, err
	}
	if loc == nil {
		locs, err := p.ix.Locate(ctx, c)
		if err != nil {
			return false, err
		}
		if len(locs) > 0 {
			loc = &locs[0]
		}
	}
	return true, p.db.Update(func(txn *badger.Txn) error {
		var recorded []byte
		if loc != nil {
			recorded = encodePinLocation(*loc)
		} else if other, err := pinnedLocations(txn, c, 1); err != nil {
			return err
		} else if len(other) > 0 {
			recorded = encodePinLocation(other[0])
		}
		if err := txn.Set(byRoot, nil); err != nil {
			return err
		}
		if err := txn.Set(pinKey(prefixPinByCID, lenPrefixed(c), root.Bytes()), recorded); err != nil {
			return err
		}
		if err := txn.Set(pinKey(prefixPinRoot, root.Bytes()), nil); err != nil || noData {
			return err
		}
		bk := pinKey(prefixPinBlock, c.Bytes())
		if _, err := txn.Get(bk); err == nil {
			return nil
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		return txn.Set(bk, bytes.Clone(b.RawData()))
	})
}

// keepManifest records root's newest indexed manifest, whose block is
// then pinned as root's (served from the recorded CAR), unless a manifest is recorded for root already or none is
// indexed (a later Sync looks again).
func (p *Pins) keepManifest(ctx context.Context, root cid.Cid) error {
	mk := pinKey(prefixPinManifest, root.Bytes())
	var height uint64
	var commitment, val []byte
	err := p.db.View(func(txn *badger.Txn) error {
		if _, err := txn.Get(mk); !errors.Is(err, badger.ErrKeyNotFound) {
			return errors.Join(err, errRecorded)
		}
		var err error
		height, commitment, val, err = newestManifest(txn, root)
		return err
	})
	if errors.Is(err, errRecorded) || errors.Is(err, ErrManifestNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dataset: pinning the manifest of %s: %w", root, err)
	}
	rec, err := decodeManifestValue(height, commitment, val)
	if err != nil {
		return fmt.Errorf("dataset: pinning the manifest of %s: %w", root, err)
	}
	car := val[locationSize:]
	end := rec.Location.Offset + rec.Location.Length
	if rec.Location.Offset < 0 || end > len(car) {
		return fmt.Errorf("dataset: pinning the manifest of %s: block out of its CAR", root)
	}
	block, err := blocks.NewBlockWithCid(bytes.Clone(car[rec.Location.Offset:end]), rec.CID)
	if err != nil {
		return fmt.Errorf("dataset: pinning the manifest of %s: %w", root, err)
	}
	if _, err := p.keep(ctx, root, block, &rec.Location, true); err != nil {
		return fmt.Errorf("dataset: pinning the manifest of %s: %w", root, err)
	}
	err = p.db.Update(func(txn *badger.Txn) error {
		v := binary.BigEndian.AppendUint64(nil, height)
		if err := txn.Set(mk, append(append(v, commitment...), val...)); err != nil {
			return err
		}
		return txn.Set(key(prefixPinList, nil, height, commitment), root.Bytes())
	})
	if err != nil {
		return fmt.Errorf("dataset: pinning the manifest of %s: %w", root, err)
	}
	p.log.Info("dataset pin: manifest recorded", "root", root.String(), "manifest", rec.CID.String(), "height", height)
	return nil
}

// errRecorded stops keepManifest's look-up: the manifest is recorded.
var errRecorded = errors.New("recorded")

// complete reports whether root is marked complete by this version (a
// mark without the block records is not: its DAG is walked again to
// record them).
func (p *Pins) complete(root cid.Cid) (bool, error) {
	var done bool
	err := p.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(pinKey(prefixPinDone, root.Bytes()))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			done = bytes.Equal(v, pinDone)
			return nil
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dataset: pin of %s: %w", root, err)
	}
	return done, nil
}

// dropUnpinned drops the pins of the roots with pinned blocks that are
// not in p.roots.
func (p *Pins) dropUnpinned(ctx context.Context) error {
	keep := map[string]bool{}
	for _, r := range p.roots {
		keep[string(r.Bytes())] = true
	}
	var gone [][]byte
	err := p.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixPinRoot, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if r := it.Item().Key()[len(prefixPinRoot):]; !keep[string(r)] {
				gone = append(gone, bytes.Clone(r))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dataset: unpinning: %w", err)
	}
	for _, r := range gone {
		if err := p.drop(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// drop deletes root's pin (root is a CID's bytes): each of its blocks'
// entries, and the block when no other pin has it, in transactions of at
// most dropBatch blocks, then its manifest and marks. An interrupted drop
// is finished by the next (the root's p/ mark goes last).
func (p *Pins) drop(ctx context.Context, root []byte) error {
	rc, err := cid.Cast(root)
	if err != nil || len(root) > 255 {
		return fmt.Errorf("dataset: unpinning: malformed pinned root %x", root)
	}
	prefix := pinKey(prefixPinByRoot, lenPrefixed(rc))
	dropped := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := 0
		err := p.db.Update(func(txn *badger.Txn) error {
			var keys [][]byte
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
			for it.Rewind(); it.Valid() && len(keys) < dropBatch; it.Next() {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			it.Close()
			for _, k := range keys {
				c, err := cid.Cast(k[len(prefix):])
				if err != nil {
					return fmt.Errorf("malformed pin key %x", k)
				}
				if err := txn.Delete(k); err != nil {
					return err
				}
				if err := txn.Delete(pinKey(prefixPinByCID, lenPrefixed(c), root)); err != nil {
					return err
				}
				if !hasPinEntry(txn, c) {
					if err := txn.Delete(pinKey(prefixPinBlock, c.Bytes())); err != nil {
						return err
					}
					dropped++
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil {
			return fmt.Errorf("dataset: unpinning %s: %w", rc, err)
		}
		if n < dropBatch {
			break
		}
	}
	err = p.db.Update(func(txn *badger.Txn) error {
		mk := pinKey(prefixPinManifest, root)
		item, err := txn.Get(mk)
		if err == nil {
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if len(v) >= suffixSize {
				if err := txn.Delete(key(prefixPinList, nil, binary.BigEndian.Uint64(v), v[8:suffixSize])); err != nil {
					return err
				}
			}
			if err := txn.Delete(mk); err != nil {
				return err
			}
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if err := txn.Delete(pinKey(prefixPinDone, root)); err != nil {
			return err
		}
		return txn.Delete(pinKey(prefixPinRoot, root))
	})
	if err != nil {
		return fmt.Errorf("dataset: unpinning %s: %w", rc, err)
	}
	p.log.Info("dataset pin: unpinned", "root", rc.String(), "blocks_dropped", dropped)
	return nil
}

// hasPinEntry reports whether any pin has a c/ entry for c, with or
// without a known location.
func hasPinEntry(txn *badger.Txn, c cid.Cid) bool {
	prefix := pinKey(prefixPinByCID, lenPrefixed(c))
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

// pinnedLocations returns the known locations the pins recorded for c, by
// pinned root, at most n.
func pinnedLocations(txn *badger.Txn, c cid.Cid, n int) ([]Location, error) {
	prefix := pinKey(prefixPinByCID, lenPrefixed(c))
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var out []Location
	for it.Rewind(); it.Valid() && len(out) < n; it.Next() {
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		loc, ok, err := decodePinLocation(v)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, loc)
		}
	}
	return out, nil
}

// readPinnedManifest reads the manifest recorded for root (a CID's
// bytes), marked pinned.
func readPinnedManifest(txn *badger.Txn, root []byte) (ManifestRecord, error) {
	item, err := txn.Get(pinKey(prefixPinManifest, root))
	if err != nil {
		return ManifestRecord{}, err
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return ManifestRecord{}, err
	}
	if len(v) < suffixSize {
		return ManifestRecord{}, fmt.Errorf("malformed pinned manifest of %d bytes", len(v))
	}
	rec, err := decodeManifestValue(binary.BigEndian.Uint64(v), bytes.Clone(v[8:suffixSize]), v[suffixSize:])
	rec.Location.Pinned = true
	return rec, err
}

// get returns the pinned block c, hash-checked, or nil if it is not
// pinned: a block of a pinned DAG, or a pinned dataset's manifest block
// (kept in its recorded manifest CAR, not twice). The data is the
// caller's.
func (p *Pins) get(c cid.Cid) (blocks.Block, error) {
	var data []byte
	err := p.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(pinKey(prefixPinBlock, c.Bytes()))
		if errors.Is(err, badger.ErrKeyNotFound) && c.Prefix().Codec == cid.DagCBOR {
			data, err = pinnedManifestBlock(txn, c)
			return err
		}
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

// pinnedManifestBlock returns the block of manifest mc from the manifest
// CAR recorded for a pinned root it belongs to, or badger.ErrKeyNotFound.
func pinnedManifestBlock(txn *badger.Txn, mc cid.Cid) ([]byte, error) {
	roots := pinnedRoots(txn, mc)
	for _, r := range roots {
		item, err := txn.Get(pinKey(prefixPinManifest, r))
		if errors.Is(err, badger.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		if len(v) < pinLocationSize {
			return nil, fmt.Errorf("malformed pinned manifest of %d bytes", len(v))
		}
		loc, err := decodeLocation(0, nil, v[suffixSize:])
		if err != nil {
			return nil, err
		}
		car := v[pinLocationSize:]
		if end := loc.Offset + loc.Length; loc.Offset >= 0 && loc.Length >= 0 && end <= len(car) {
			data := car[loc.Offset:end]
			if got, err := mc.Prefix().Sum(data); err == nil && got.Equals(mc) {
				return data, nil
			}
		}
	}
	return nil, badger.ErrKeyNotFound
}

// pinnedRoots returns the roots (CIDs' bytes) whose pins hold block c.
func pinnedRoots(txn *badger.Txn, c cid.Cid) [][]byte {
	prefix := pinKey(prefixPinByCID, lenPrefixed(c))
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
	defer it.Close()
	var roots [][]byte
	for it.Rewind(); it.Valid(); it.Next() {
		roots = append(roots, bytes.Clone(it.Item().Key()[len(prefix):]))
	}
	return roots
}
