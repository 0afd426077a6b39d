package store

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"golang.org/x/sync/singleflight"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/share"
)

var (
	// ErrReadOnly is returned by the Blockstore's writes: its blocks are
	// the chain's.
	ErrReadOnly = errors.New("dataset: the blockstore is read-only")
	// ErrAllKeysUnsupported is returned by AllKeysChan: the blocks of
	// every dataset in the availability window are not listed.
	ErrAllKeysUnsupported = errors.New("dataset: the blockstore does not list its blocks (AllKeysChan)")
)

// DefaultCacheBytes is the default BlockstoreOptions.CacheBytes.
const DefaultCacheBytes = 64 << 20

// PartSource reads the blobs dataset parts are among, from the node's own
// squares: NamespaceBlobs returns the data of every blob of namespace ns at
// height, in square order (the caller does not modify them). An error
// wrapping blob.ErrBlobNotFound means the node holds no square at height
// (pruned, or not stored yet). It need not compute commitments or proofs:
// the Blockstore finds a block in these blobs by the CAR framing the index
// recorded and checks the block's hash.
type PartSource interface {
	NamespaceBlobs(ctx context.Context, height uint64, ns share.Namespace) ([][]byte, error)
}

// BlockstoreOptions configure a Blockstore.
type BlockstoreOptions struct {
	// CacheBytes bounds the blobs kept in memory (those of a namespace at
	// a height, read together), by their size (default
	// DefaultCacheBytes); a height's blobs larger than it are not cached.
	CacheBytes int64
	// Pins, if not nil, is read before the squares: a pinned dataset is
	// served after its heights are pruned.
	Pins *Pins
	// Logger defaults to one that discards.
	Logger *slog.Logger
}

// Blockstore is a read-only boxo blockstore of the pinned blocks (if it
// has Pins) and the blocks the Index locates, read from the squares
// through a PartSource. It is safe for concurrent use.
type Blockstore struct {
	pins  *Pins
	ix    *Index
	parts PartSource
	cache *partCache
	log   *slog.Logger
	// reads makes concurrent misses of the same height and namespace one
	// read (bitswap asks for many blocks at once).
	reads singleflight.Group
}

var _ blockstore.Blockstore = (*Blockstore)(nil)

// NewBlockstore returns the blockstore over ix and blobs. It does no I/O.
func NewBlockstore(ix *Index, parts PartSource, opts BlockstoreOptions) (*Blockstore, error) {
	if ix == nil || parts == nil {
		return nil, errors.New("dataset: NewBlockstore needs an Index and a PartSource")
	}
	if opts.CacheBytes < 0 {
		return nil, fmt.Errorf("dataset: CacheBytes %d", opts.CacheBytes)
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	return &Blockstore{pins: opts.Pins, ix: ix, parts: parts, cache: newPartCache(opts.CacheBytes), log: orDiscard(opts.Logger)}, nil
}

// Index returns the index the blockstore reads.
func (bs *Blockstore) Index() *Index { return bs.ix }

// Has reports whether c is pinned or the index locates c; it reads no
// blob.
func (bs *Blockstore) Has(ctx context.Context, c cid.Cid) (bool, error) {
	if b, err := bs.pinned(ctx, c); b != nil || err != nil {
		return b != nil, err
	}
	locs, err := bs.ix.Locate(ctx, c)
	return len(locs) > 0, err
}

// GetSize returns the length of block c as pinned or indexed, or
// ipld.ErrNotFound; it reads no blob.
func (bs *Blockstore) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	if b, err := bs.pinned(ctx, c); b != nil || err != nil {
		if err != nil {
			return -1, err
		}
		return len(b.RawData()), nil
	}
	locs, err := bs.ix.Locate(ctx, c)
	if err != nil {
		return -1, err
	}
	if len(locs) == 0 {
		return -1, ipld.ErrNotFound{Cid: c}
	}
	return locs[0].Length, nil
}

// Get returns block c: the pinned block if there is one, hash-checked;
// otherwise, for each location the index gives (newest first),
// it reads the blob, slices the block out and returns it if it hashes to
// c. It returns ipld.ErrNotFound when the index does not hold c (without
// reading anything) or when no location's blob is still held; another
// failure reading a blob is returned if no location serves the block. The
// block's data is the caller's (a copy).
func (bs *Blockstore) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	if b, err := bs.pinned(ctx, c); b != nil || err != nil {
		return b, err
	}
	locs, err := bs.ix.Locate(ctx, c)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, loc := range locs {
		b, err := bs.read(ctx, c, loc)
		if err == nil {
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, blob.ErrBlobNotFound) && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, ipld.ErrNotFound{Cid: c}
}

// pinned returns the pinned block c, or nil (and no error) if the
// blockstore has no Pins or c is not pinned.
func (bs *Blockstore) pinned(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	if bs.pins == nil || !c.Defined() {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return bs.pins.get(c)
}

// read returns block c at loc: in the blobs of loc's namespace at loc's
// height, the one whose bytes before loc.Offset are c (the CAR section's
// CID, as the index found it) and whose [Offset, Offset+Length) hashes to
// c. Several blobs may qualify (a part posted twice in one block); any is
// the block. None is blob.ErrBlobNotFound. A block's hash is checked the
// first time it is served from a cached height and remembered there: the
// bytes in memory do not change, and a dataset served again is served
// without hashing it again.
func (bs *Blockstore) read(ctx context.Context, c cid.Cid, loc Location) (blocks.Block, error) {
	h, err := bs.blobsAt(ctx, loc)
	if err != nil {
		return nil, err
	}
	if loc.Offset < 0 || loc.Length < 0 {
		return nil, fmt.Errorf("dataset: block %s at [%d, +%d) at height %d", c, loc.Offset, loc.Length, loc.Height)
	}
	framing := c.Bytes()
	end := loc.Offset + loc.Length
	for i, part := range h.blobs {
		if end > len(part) || loc.Offset < len(framing) || !bytes.Equal(part[loc.Offset-len(framing):loc.Offset], framing) {
			continue
		}
		data := part[loc.Offset:end:end]
		if !h.isVerified(i, loc.Offset) {
			got, err := c.Prefix().Sum(data)
			if err != nil {
				return nil, fmt.Errorf("dataset: block %s: %w", c, err)
			}
			if !got.Equals(c) {
				bs.log.Error("dataset blockstore: block does not hash to its CID", "cid", c.String(), "height", loc.Height)
				return nil, fmt.Errorf("dataset: block %s at height %d: hash mismatch", c, loc.Height)
			}
			h.setVerified(i, loc.Offset)
		}
		// The block aliases the cached blob: blocks are immutable (boxo's
		// contract), so it is not copied (bitswap sends 1 MiB blocks).
		return blocks.NewBlockWithCid(data, c)
	}
	return nil, fmt.Errorf("dataset: block %s at height %d: %w", c, loc.Height, blob.ErrBlobNotFound)
}

// heightBlobs are the blobs of a namespace at a height, as read, and which
// of their blocks have been hash-checked.
type heightBlobs struct {
	blobs [][]byte
	size  int64

	mu       sync.Mutex
	verified map[[2]int]bool // (blob index, block offset)
}

func newHeightBlobs(blobs [][]byte) *heightBlobs {
	h := &heightBlobs{blobs: blobs, verified: map[[2]int]bool{}}
	for _, b := range blobs {
		h.size += int64(len(b))
	}
	return h
}

func (h *heightBlobs) isVerified(blob, offset int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.verified[[2]int{blob, offset}]
}

func (h *heightBlobs) setVerified(blob, offset int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.verified[[2]int{blob, offset}] = true
}

// blobsAt returns the blobs of loc's namespace at loc's height, from the
// cache or read once (however many callers miss at the same time) and
// cached: a dataset's parts share its namespace and usually a height.
func (bs *Blockstore) blobsAt(ctx context.Context, loc Location) (*heightBlobs, error) {
	k := partKey{height: loc.Height, ns: loc.Namespace}
	if h, ok := bs.cache.get(k); ok {
		return h, nil
	}
	v, err, _ := bs.reads.Do(fmt.Sprintf("%d/%x", loc.Height, loc.Namespace[:]), func() (any, error) {
		if h, ok := bs.cache.get(k); ok { // cached by a read that just ended
			return h, nil
		}
		blobs, err := bs.parts.NamespaceBlobs(ctx, loc.Height, loc.Namespace)
		if err != nil {
			return nil, err
		}
		h := newHeightBlobs(blobs)
		bs.cache.put(k, h)
		return h, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: reading the parts at height %d: %w", loc.Height, err)
	}
	return v.(*heightBlobs), nil
}

// Put is refused: ErrReadOnly.
func (*Blockstore) Put(context.Context, blocks.Block) error { return ErrReadOnly }

// PutMany is refused: ErrReadOnly.
func (*Blockstore) PutMany(context.Context, []blocks.Block) error { return ErrReadOnly }

// DeleteBlock is refused: ErrReadOnly.
func (*Blockstore) DeleteBlock(context.Context, cid.Cid) error { return ErrReadOnly }

// AllKeysChan is not supported: ErrAllKeysUnsupported.
func (*Blockstore) AllKeysChan(context.Context) (<-chan cid.Cid, error) {
	return nil, ErrAllKeysUnsupported
}

// partKey names a blob.
// partKey names the blobs of a namespace at a height.
type partKey struct {
	height uint64
	ns     share.Namespace
}

// partCache keeps the most recently used heights' blobs (of a namespace),
// up to a total size. The slices it returns are shared: nobody writes them.
type partCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List // of *cached, most recent first
	items map[partKey]*list.Element
}

type cached struct {
	k partKey
	h *heightBlobs
}

func newPartCache(max int64) *partCache {
	return &partCache{max: max, order: list.New(), items: map[partKey]*list.Element{}}
}

func (pc *partCache) get(k partKey) (*heightBlobs, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	e, ok := pc.items[k]
	if !ok {
		return nil, false
	}
	pc.order.MoveToFront(e)
	return e.Value.(*cached).h, true
}

func (pc *partCache) put(k partKey, h *heightBlobs) {
	n := h.size
	if n > pc.max {
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if _, ok := pc.items[k]; ok {
		return
	}
	pc.items[k] = pc.order.PushFront(&cached{k: k, h: h})
	pc.size += n
	for pc.size > pc.max {
		last := pc.order.Back()
		c := last.Value.(*cached)
		pc.order.Remove(last)
		delete(pc.items, c.k)
		pc.size -= c.h.size
	}
}
