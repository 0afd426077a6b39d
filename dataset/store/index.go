package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/internal/badgerdb"
	"github.com/datamesh/mesh-node/share"
)

// Key layout, under a prefix no other Badger user of the node shares
// (the blob index's reverse entries "blob/x/..." point at these keys):
//
//	dataset/b/<cid><height 8><commitment 32>  -> <namespace 29><offset 4><length 4>
//	dataset/m/<manifest cid><height 8><commitment 32>
//	                                  -> <namespace 29><offset 4><length 4><manifest CAR>
//	dataset/r/<root cid><height 8><commitment 32>   -> <manifest cid>
//	dataset/l/<height 8><commitment 32>             -> <manifest cid>
//
// b/ locates every block of every part and each manifest's block; m/ holds
// each manifest blob; r/ finds a dataset's manifests from its root; l/
// lists manifests by height. Heights are big-endian, so a CID's entries
// sort by height. Every CID the index holds is CIDv1 sha2-256 (36 bytes).
var (
	prefixBlock    = []byte("dataset/b/")
	prefixManifest = []byte("dataset/m/")
	prefixRoot     = []byte("dataset/r/")
	prefixList     = []byte("dataset/l/")
)

const (
	locationSize = share.NamespaceSize + 4 + 4
	// suffixSize is the <height 8><commitment 32> ending every key.
	suffixSize = 8 + dataset.CommitmentSize
)

// Limits of the index.
const (
	// DefaultMaxPartSize is the largest blob Index decodes unless told
	// otherwise: the largest blob the largest square (128×128 shares of
	// 512 bytes) holds.
	DefaultMaxPartSize = 8 << 20
	// MaxLocations is the most locations Locate returns for a CID, and so
	// the most parts Blockstore.Get tries.
	MaxLocations = 16
	// MaxListLimit is the most manifests one List call returns.
	MaxListLimit = 1000
)

var (
	// ErrNoIndex answers every dataset call of a node that keeps no
	// dataset index (a light node).
	ErrNoIndex = errors.New("dataset: this node keeps no dataset index (light nodes hold no squares; ask a bridge or full node)")
	// ErrManifestNotFound: no manifest of that CID (or of a dataset of
	// that root) is indexed.
	ErrManifestNotFound = errors.New("dataset: manifest not found")
	// ErrInvalidLimit: a List limit outside [1, MaxListLimit].
	ErrInvalidLimit = errors.New("dataset: invalid limit")
)

// Location is where a block is: the blob (height, namespace, commitment)
// of a part or manifest, and the block's bytes within the blob's data.
type Location struct {
	Height     uint64
	Namespace  share.Namespace
	Commitment []byte
	Offset     int
	Length     int
	// Pinned: the block (or manifest) is in the node's pinned store
	// (Pins), which serves it whatever the location's height; the location
	// is where it was published, as recorded when it was pinned, and that
	// height may be pruned. The Index alone never sets it.
	Pinned bool
}

// ManifestRecord is an indexed manifest: its CID (the manifest CAR's
// root), the manifest decoded, and where its block is.
type ManifestRecord struct {
	CID      cid.Cid
	Manifest dataset.Manifest
	Location Location
}

// Options are the dependencies of an Index.
type Options struct {
	// DB is the node's Badger database, the blob index's; required.
	DB *badger.DB
	// MaxPartSize bounds the blobs decoded (default DefaultMaxPartSize);
	// a larger blob is not indexed.
	MaxPartSize int
	// Logger defaults to one that discards.
	Logger *slog.Logger
}

// Index is the dataset index of a bridge or full node. It is safe for
// concurrent use.
type Index struct {
	db      *badger.DB
	maxPart int
	log     *slog.Logger
}

var _ blob.IndexExtension = (*Index)(nil)

// NewIndex returns the index over opts.DB. It does no I/O. Hand it to
// blob.NewIndex as IndexOptions.Extension: the blob index writes and
// prunes its entries.
func NewIndex(opts Options) (*Index, error) {
	if opts.DB == nil {
		return nil, errors.New("dataset: NewIndex needs a DB")
	}
	if opts.MaxPartSize < 0 {
		return nil, fmt.Errorf("dataset: MaxPartSize %d", opts.MaxPartSize)
	}
	if opts.MaxPartSize == 0 {
		opts.MaxPartSize = DefaultMaxPartSize
	}
	return &Index{db: opts.DB, maxPart: opts.MaxPartSize, log: orDiscard(opts.Logger)}, nil
}

// orDiscard returns log, or a logger that discards when it is nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

func key(prefix []byte, c []byte, height uint64, commitment []byte) []byte {
	k := make([]byte, 0, len(prefix)+len(c)+suffixSize)
	k = binary.BigEndian.AppendUint64(append(append(k, prefix...), c...), height)
	return append(k, commitment...)
}

func locationValue(ns share.Namespace, offset, length int) []byte {
	v := make([]byte, 0, locationSize)
	v = binary.BigEndian.AppendUint32(append(v, ns[:]...), uint32(offset))
	return binary.BigEndian.AppendUint32(v, uint32(length))
}

// BlobEntries returns the entries of blob b (commitment c, at height): a
// part's block locations, or a manifest's entries; none for a blob that is
// neither, larger than MaxPartSize, or that fails to decode (a block whose
// hash is wrong, a block over dataset.MaxBlockSize, a CAR that is not one
// Pack or ManifestFor writes), which is logged (debug for a blob that does
// not start like a CAR, warn otherwise). It implements
// blob.IndexExtension.
func (ix *Index) BlobEntries(height uint64, b *share.Blob, c blob.Commitment) []blob.IndexEntry {
	data := b.Data()
	if !dataset.LooksLikeCAR(data) || len(c) != dataset.CommitmentSize {
		return nil
	}
	ns := b.Namespace()
	log := ix.log.With("height", height, "namespace", ns.String(), "commitment", fmt.Sprintf("%X", []byte(c)))
	if len(data) > ix.maxPart {
		log.Warn("dataset index: CAR-like blob over the size limit, not indexed", "size", len(data), "limit", ix.maxPart)
		return nil
	}
	root, blocks, err := dataset.DecodeAnyPart(data, ix.maxPart)
	if err == nil {
		out := make([]blob.IndexEntry, 0, len(blocks))
		for _, pb := range blocks {
			out = append(out, blob.IndexEntry{Key: key(prefixBlock, pb.Cid.Bytes(), height, c),
				Value: locationValue(ns, pb.Offset, len(pb.Data))})
		}
		log.Debug("dataset index: part", "root", root.String(), "blocks", len(blocks))
		return out
	}
	if !errors.Is(err, dataset.ErrUnsupportedCID) {
		log.Warn("dataset index: CAR-like blob is not a valid part, not indexed", "err", err)
		return nil
	}
	m, mc, merr := dataset.DecodeManifest(data, ix.maxPart)
	if merr != nil {
		log.Warn("dataset index: CAR-like blob is neither a part nor a manifest, not indexed", "part_err", err, "manifest_err", merr)
		return nil
	}
	offset, length, err := manifestBlock(data, mc)
	if err != nil {
		log.Warn("dataset index: manifest block not found", "err", err)
		return nil
	}
	loc := locationValue(ns, offset, length)
	log.Debug("dataset index: manifest", "manifest", mc.String(), "root", m.Root.String(), "parts", len(m.Parts))
	return []blob.IndexEntry{
		{Key: key(prefixBlock, mc.Bytes(), height, c), Value: loc},
		{Key: key(prefixManifest, mc.Bytes(), height, c), Value: append(loc, data...)},
		{Key: key(prefixRoot, m.Root.Bytes(), height, c), Value: mc.Bytes()},
		{Key: key(prefixList, nil, height, c), Value: mc.Bytes()},
	}
}

// manifestBlock returns where the block of the manifest CAR data, which
// DecodeManifest accepted with CID mc, is: after the header and the
// section's length and CID.
func manifestBlock(data []byte, mc cid.Cid) (offset, length int, err error) {
	header, err := dataset.CARHeader(mc)
	if err != nil {
		return 0, 0, err
	}
	l, n := binary.Uvarint(data[min(len(header), len(data)):])
	offset = len(header) + n + mc.ByteLen()
	if n <= 0 || offset > len(data) || uint64(len(data)-len(header)-n) != l {
		return 0, 0, fmt.Errorf("dataset: manifest %s: section does not end the CAR", mc)
	}
	return offset, len(data) - offset, nil
}

// Locate returns where the block c is, newest height first (within a
// height, by commitment, descending), at most MaxLocations entries; none
// (and no error) for a CID the index does not hold.
func (ix *Index) Locate(ctx context.Context, c cid.Cid) ([]Location, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !c.Defined() {
		return nil, nil
	}
	prefix := append(bytes.Clone(prefixBlock), c.Bytes()...)
	var out []Location
	err := ix.db.View(func(txn *badger.Txn) error {
		return scanNewest(txn, prefix, MaxLocations, func(height uint64, commitment, val []byte) error {
			loc, err := decodeLocation(height, commitment, val)
			if err != nil {
				return err
			}
			out = append(out, loc)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: locating %s: %w", c, err)
	}
	return out, nil
}

// scanNewest calls f with the height, commitment and value of the
// entries under prefix (each key prefix + height + commitment), newest
// first, at most limit of them.
func scanNewest(txn *badger.Txn, prefix []byte, limit int, f func(height uint64, commitment, val []byte) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
	defer it.Close()
	n := 0
	for it.Seek(append(bytes.Clone(prefix), bytes.Repeat([]byte{0xFF}, suffixSize)...)); it.ValidForPrefix(prefix) && n < limit; it.Next() {
		item := it.Item()
		k := item.Key()
		if len(k) != len(prefix)+suffixSize {
			continue // a longer CID sharing the prefix: none is indexed
		}
		val, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		rest := k[len(prefix):]
		if err := f(binary.BigEndian.Uint64(rest), bytes.Clone(rest[8:]), val); err != nil {
			return err
		}
		n++
	}
	return nil
}

func decodeLocation(height uint64, commitment, val []byte) (Location, error) {
	if len(val) < locationSize {
		return Location{}, fmt.Errorf("malformed location of %d bytes", len(val))
	}
	loc := Location{Height: height, Commitment: commitment,
		Offset: int(binary.BigEndian.Uint32(val[share.NamespaceSize:])),
		Length: int(binary.BigEndian.Uint32(val[share.NamespaceSize+4:]))}
	copy(loc.Namespace[:], val)
	return loc, nil
}

// Manifest returns the newest indexed manifest of c, which is either a
// manifest's CID (dag-cbor) or a dataset's root (the manifest naming it
// as its root), or ErrManifestNotFound.
func (ix *Index) Manifest(ctx context.Context, c cid.Cid) (ManifestRecord, error) {
	if err := ctx.Err(); err != nil {
		return ManifestRecord{}, err
	}
	var rec ManifestRecord
	err := ix.db.View(func(txn *badger.Txn) error {
		height, commitment, val, err := newestManifest(txn, c)
		if err != nil {
			return err
		}
		rec, err = decodeManifestValue(height, commitment, val)
		return err
	})
	if errors.Is(err, ErrManifestNotFound) {
		return ManifestRecord{}, ErrManifestNotFound
	}
	if err != nil {
		return ManifestRecord{}, fmt.Errorf("dataset: manifest of %s: %w", c, err)
	}
	return rec, nil
}

// newestManifest returns the height, commitment and stored value (the
// location, then the manifest CAR) of the newest indexed manifest of c, a
// manifest's CID or a dataset's root, or ErrManifestNotFound.
func newestManifest(txn *badger.Txn, c cid.Cid) (height uint64, commitment, val []byte, err error) {
	if !c.Defined() {
		return 0, nil, nil, ErrManifestNotFound
	}
	found := false
	mc := c.Bytes()
	if c.Prefix().Codec != cid.DagCBOR {
		err = scanNewest(txn, append(bytes.Clone(prefixRoot), c.Bytes()...), 1, func(h uint64, com, v []byte) error {
			height, commitment, mc, found = h, com, v, true
			return nil
		})
		if err != nil {
			return 0, nil, nil, err
		}
		if !found {
			return 0, nil, nil, ErrManifestNotFound
		}
		item, err := txn.Get(key(prefixManifest, mc, height, commitment))
		if err != nil {
			return 0, nil, nil, err
		}
		val, err = item.ValueCopy(nil)
		return height, commitment, val, err
	}
	err = scanNewest(txn, append(bytes.Clone(prefixManifest), mc...), 1, func(h uint64, com, v []byte) error {
		height, commitment, val, found = h, com, v, true
		return nil
	})
	if err == nil && !found {
		err = ErrManifestNotFound
	}
	return height, commitment, val, err
}

// readManifest reads the manifest mc (its CID's bytes) at height and
// commitment.
func readManifest(txn *badger.Txn, mc []byte, height uint64, commitment []byte) (ManifestRecord, error) {
	item, err := txn.Get(key(prefixManifest, mc, height, commitment))
	if err != nil {
		return ManifestRecord{}, err
	}
	val, err := item.ValueCopy(nil)
	if err != nil {
		return ManifestRecord{}, err
	}
	return decodeManifestValue(height, commitment, val)
}

func decodeManifestValue(height uint64, commitment, val []byte) (ManifestRecord, error) {
	loc, err := decodeLocation(height, commitment, val)
	if err != nil {
		return ManifestRecord{}, err
	}
	// The CAR was decoded when it was indexed; decoding it again checks
	// the stored copy.
	m, mc, err := dataset.DecodeManifest(val[locationSize:], len(val)-locationSize)
	if err != nil {
		return ManifestRecord{}, fmt.Errorf("stored manifest at height %d: %w", height, err)
	}
	return ManifestRecord{CID: mc, Manifest: m, Location: loc}, nil
}

// List returns the indexed manifests of heights from from on, by height
// then commitment, at most limit (1 to MaxListLimit, ErrInvalidLimit
// otherwise). A page that reaches limit ends on a whole height: the
// manifests of its last height are left out unless that height is the
// page's only one, so the next page starts at from = last height + 1
// without a gap. (A single height holding more than limit manifests
// gives its first limit only.) An empty result means no more.
func (ix *Index) List(ctx context.Context, from uint64, limit int) ([]ManifestRecord, error) {
	return listManifests(ctx, ix.db, from, limit, false)
}

// listKey is a manifest's list entry: its height and commitment, and the
// manifest's CID (an index entry) or its dataset's root (a pin's).
type listKey struct {
	height     uint64
	commitment []byte
	val        []byte
	indexed    bool // an index entry
	pinned     bool // a pin's entry (an indexed one may be pinned too)
}

// listManifests lists the manifests of the index (and, withPins, of the
// pinned datasets, once each) as Index.List says.
func listManifests(ctx context.Context, db *badger.DB, from uint64, limit int, withPins bool) ([]ManifestRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit < 1 || limit > MaxListLimit {
		return nil, fmt.Errorf("%w: %d, want 1 to %d", ErrInvalidLimit, limit, MaxListLimit)
	}
	var out []ManifestRecord
	err := db.View(func(txn *badger.Txn) error {
		keys, err := listKeys(txn, prefixList, from, limit+1, true)
		if err != nil {
			return err
		}
		if withPins {
			pinned, err := listKeys(txn, prefixPinList, from, limit+1, false)
			if err != nil {
				return err
			}
			keys = mergeListKeys(keys, pinned, limit+1)
		}
		for _, k := range page(keys, limit) {
			var rec ManifestRecord
			if k.indexed {
				rec, err = readManifest(txn, k.val, k.height, k.commitment)
			} else {
				rec, err = readPinnedManifest(txn, k.val)
			}
			if err != nil {
				return err
			}
			rec.Location.Pinned = k.pinned
			out = append(out, rec)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: listing manifests from height %d: %w", from, err)
	}
	return out, nil
}

// listKeys returns the first n entries under prefix (prefix + height 8 +
// commitment 32) from height from on.
func listKeys(txn *badger.Txn, prefix []byte, from uint64, n int, indexed bool) ([]listKey, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var out []listKey
	for it.Seek(binary.BigEndian.AppendUint64(bytes.Clone(prefix), from)); it.ValidForPrefix(prefix) && len(out) < n; it.Next() {
		item := it.Item()
		k := item.Key()
		if len(k) != len(prefix)+suffixSize {
			return nil, fmt.Errorf("malformed key %x", k)
		}
		val, err := item.ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		rest := k[len(prefix):]
		out = append(out, listKey{height: binary.BigEndian.Uint64(rest), commitment: bytes.Clone(rest[8:]),
			val: val, indexed: indexed, pinned: !indexed})
	}
	return out, nil
}

// mergeListKeys merges the index's entries a and the pins' entries b,
// each the first n (or fewer) of its own sorted by height then
// commitment, into the first n of both, sorted: an entry in both is the
// index's, marked pinned.
func mergeListKeys(a, b []listKey, n int) []listKey {
	out := make([]listKey, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0:
			out, a = append(out, a[0]), a[1:]
		case len(a) == 0:
			out, b = append(out, b[0]), b[1:]
		default:
			switch c := compareListKeys(a[0], b[0]); {
			case c < 0:
				out, a = append(out, a[0]), a[1:]
			case c > 0:
				out, b = append(out, b[0]), b[1:]
			default:
				k := a[0]
				k.pinned = true
				out, a, b = append(out, k), a[1:], b[1:]
			}
		}
	}
	return out[:min(len(out), n)]
}

func compareListKeys(a, b listKey) int {
	switch {
	case a.height < b.height:
		return -1
	case a.height > b.height:
		return 1
	}
	return bytes.Compare(a.commitment, b.commitment)
}

// page returns the first limit of keys (sorted by height), ending on a
// whole height when more follow at the last one's height, unless that
// height is the page's only one.
func page(keys []listKey, limit int) []listKey {
	if len(keys) <= limit {
		return keys
	}
	last := keys[limit-1].height
	if keys[limit].height != last {
		return keys[:limit]
	}
	cut := limit
	for cut > 0 && keys[cut-1].height == last {
		cut--
	}
	if cut == 0 {
		return keys[:limit]
	}
	return keys[:cut]
}

// keyPrunedBelow holds <height 8>: the node pruned the heights below it.
var keyPrunedBelow = []byte("dataset/pruned-below")

// MarkPruned records that the node pruned its squares and index entries
// below height below (the node calls it after blob.Index.Prune); a lower
// height than one recorded changes nothing. PrunedBelow reads it back.
func (ix *Index) MarkPruned(ctx context.Context, below uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := ix.db.Update(func(txn *badger.Txn) error {
		if cur, err := prunedBelow(txn); err != nil || cur >= below {
			return err
		}
		return txn.Set(bytes.Clone(keyPrunedBelow), binary.BigEndian.AppendUint64(nil, below))
	})
	if err != nil {
		return fmt.Errorf("dataset: recording the pruning below %d: %w", below, err)
	}
	return nil
}

// PrunedBelow returns the height below which the node pruned its
// datasets' heights (MarkPruned), 0 if it never pruned.
func (ix *Index) PrunedBelow(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var below uint64
	err := ix.db.View(func(txn *badger.Txn) error {
		var err error
		below, err = prunedBelow(txn)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("dataset: pruned height: %w", err)
	}
	return below, nil
}

func prunedBelow(txn *badger.Txn) (uint64, error) {
	return badgerdb.ReadUint64(txn, keyPrunedBelow)
}
