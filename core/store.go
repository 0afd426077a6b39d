package core

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/eds"
	edsstore "github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/header"
	headerstore "github.com/datamesh/mesh-node/header/store"
	"github.com/datamesh/mesh-node/share"
)

// Store errors.
var (
	// ErrBlobNotFound is wrapped when no blob of the namespace at the
	// height has the commitment asked for.
	ErrBlobNotFound = errors.New("core: blob not found")
	// ErrInconsistentStore is wrapped by Store.Check when a header lacks
	// its square or a square its header.
	ErrInconsistentStore = errors.New("core: inconsistent store")
	// ErrDiskFull is wrapped by Put when the database's filesystem has less
	// free space than the write needs plus MinFreeBytes. Nothing is written.
	ErrDiskFull = errors.New("core: disk full")
)

// MinFreeBytes is the free space Put leaves on the database's filesystem
// beyond the square it writes. Badger writes its value log through a
// memory-mapped, sparsely allocated file: when the filesystem runs out of
// space under it, the process dies of SIGBUS instead of getting an error
// (seen with badger v4.9.6 on a full tmpfs). Checking before each write turns
// that into ErrDiskFull while memtable flushes and compactions still have
// room.
const MinFreeBytes = 64 << 20

// Store keeps the bridge's extended headers and their original data squares
// in one Badger database: headers through header/store, squares through
// eds/store, each header written in the same transaction as its square. It
// is safe for concurrent use; writes are serialised.
type Store struct {
	db      *badger.DB
	headers *headerstore.Store
	squares *edsstore.Store

	// beforeHeaders, set by white-box tests only, runs within Put's
	// transaction after the square is written and before the header is.
	beforeHeaders func() error
	// freeBytes returns the free space of a directory's filesystem and
	// whether it is known; white-box tests replace it.
	freeBytes func(dir string) (uint64, bool, error)
}

// NewStore returns a store on db caching up to cacheSize extended squares
// (as eds/store's Options.CacheSize: 0 and negative sizes mean the same).
// It does no I/O; the caller owns db and closes it after the last call.
func NewStore(db *badger.DB, cacheSize int) *Store {
	return NewStoreCache(db, edsstore.Options{CacheSize: cacheSize})
}

// NewStoreCache is NewStore with the square cache's bounds (CacheSize and
// CacheBytes) given in full; its OnCorrupt is ignored.
func NewStoreCache(db *badger.DB, cache edsstore.Options) *Store {
	cache.OnCorrupt = nil
	return &Store{db: db, headers: headerstore.New(db), squares: edsstore.New(db, cache), freeBytes: freeBytes}
}

// checkSpace fails with ErrDiskFull unless the filesystems of the database's
// directories have room for need bytes plus MinFreeBytes. An in-memory
// database, or a platform where free space is unknown, always passes.
func (s *Store) checkSpace(need uint64) error {
	opts := s.db.Opts()
	if opts.InMemory {
		return nil
	}
	for _, dir := range []string{opts.Dir, opts.ValueDir} {
		free, known, err := s.freeBytes(dir)
		if err != nil {
			return fmt.Errorf("core: free space of %s: %w", dir, err)
		}
		if known && free < need+MinFreeBytes {
			return fmt.Errorf("%w: %d MiB free on the filesystem of %s, a write needs %d MiB plus %d MiB of headroom; free space and the bridge resumes",
				ErrDiskFull, free>>20, dir, (need+(1<<20)-1)>>20, MinFreeBytes>>20)
		}
	}
	return nil
}

// Headers returns the header store, for readers that need only headers
// (header exchange, syncers). Writing through it would store headers
// without squares: use Put.
func (s *Store) Headers() header.Store { return s.headers }

// Put stores h and its extended square e atomically: either both are
// committed or, on error, neither. h must be the next header (see
// header.Store.Append) and e its square; the caller has validated and
// verified h. e is cached as the most recent square.
//
// On a database on disk the original square goes to a file of its own
// (eds/store StartWrite) that the transaction storing h references;
// in memory it is the Badger value of that reference.
func (s *Store) Put(ctx context.Context, h *header.ExtendedHeader, e *eds.ExtendedDataSquare) error {
	if h == nil || e == nil || h.DAH == nil {
		return errors.New("core: put: nil header or square")
	}
	dah, err := eds.NewDAH(e)
	if err != nil {
		return fmt.Errorf("core: put height %d: %w", h.Height(), err)
	}
	if !dah.Equals(h.DAH) {
		return fmt.Errorf("core: put height %d: the square is not the header's", h.Height())
	}
	w, err := s.startWrite(h.Height(), e.ODSRows())
	if err != nil {
		return err
	}
	return s.put(ctx, h, e, w)
}

// Ingest builds the block's header and square, as BuildHeader does, and
// stores them, as Put does, overlapping the two: the original square is
// written to its file (on a database on disk) while it is extended and its
// roots computed, and the header is committed, referencing that file, only
// once both are done and check (when not nil) has accepted the header.
// Either both are stored or, on error, neither, and no file is left
// behind: BuildHeader's errors (ErrMalformedBlock), check's error and
// Put's are returned as they are. The header and square are those
// BuildHeader returns, the square cached as Put caches it.
func (s *Store) Ingest(ctx context.Context, block *cmttypes.Block, commit *cmttypes.Commit, vals *cmttypes.ValidatorSet,
	maxSquareSize int, check func(*header.ExtendedHeader) error) (*header.ExtendedHeader, *eds.ExtendedDataSquare, error) {
	var (
		w        *edsstore.Write
		startErr error
	)
	laidOut := func(rows [][]byte) {
		if block.Height > 0 {
			w, startErr = s.startWrite(uint64(block.Height), rows)
		}
	}
	h, ext, err := buildHeader(block, commit, vals, maxSquareSize, laidOut)
	if err == nil {
		err = startErr
	}
	if err == nil && check != nil {
		err = check(h)
	}
	if err != nil {
		if w != nil {
			err = errors.Join(err, w.Abort())
		}
		return nil, nil, err
	}
	if err := s.put(ctx, h, ext, w); err != nil {
		return nil, nil, err
	}
	return h, ext, nil
}

// startWrite checks the free space for a square of rows and, on a
// database on disk, starts writing it to its file; it returns a nil Write
// for a database in memory.
func (s *Store) startWrite(height uint64, rows [][]byte) (*edsstore.Write, error) {
	k := uint64(len(rows))
	if err := s.checkSpace(k * k * share.ShareSize); err != nil {
		return nil, fmt.Errorf("core: storing height %d: %w", height, err)
	}
	if !s.squares.Files() {
		return nil, nil
	}
	w, err := s.squares.StartWrite(height, rows)
	if err != nil {
		return nil, fmt.Errorf("core: storing height %d: %w", height, err)
	}
	return w, nil
}

// put commits h with its square e: a reference to the file w writes, or,
// when w is nil, e's original square as the Badger value. On error it
// aborts w.
func (s *Store) put(ctx context.Context, h *header.ExtendedHeader, e *eds.ExtendedDataSquare, w *edsstore.Write) error {
	height := h.Height()
	err := s.headers.AppendWith(ctx, func(txn *badger.Txn) error {
		var err error
		if w != nil {
			err = w.Commit(txn)
		} else {
			err = s.squares.Put(txn, height, e)
		}
		if err == nil && s.beforeHeaders != nil {
			err = s.beforeHeaders()
		}
		return err
	}, h)
	if err != nil && w != nil {
		err = errors.Join(err, w.Abort())
	}
	if err != nil {
		return fmt.Errorf("core: storing height %d: %w", height, err)
	}
	s.squares.Cache(height, e)
	return nil
}

// Head returns the highest stored header; its error wraps header.ErrNotFound
// for an empty store.
func (s *Store) Head(ctx context.Context) (*header.ExtendedHeader, error) {
	return s.headers.Head(ctx)
}

// Height returns the height of the highest stored header, 0 when empty.
func (s *Store) Height() uint64 { return s.headers.Height() }

// GetByHeight returns the header at height (header.ErrNotFound if none).
func (s *Store) GetByHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	return s.headers.GetByHeight(ctx, height)
}

// Get returns the header whose hash is hash (header.ErrNotFound if none).
func (s *Store) Get(ctx context.Context, hash []byte) (*header.ExtendedHeader, error) {
	return s.headers.Get(ctx, hash)
}

// ODS returns the original square at height, k*k shares owned by the
// caller (eds/store.ErrNotFound if none).
func (s *Store) ODS(ctx context.Context, height uint64) ([][]byte, error) {
	return s.squares.ODS(ctx, height)
}

// SharedODS is ODS whose shares may alias a cached square: they must not
// be modified (eds/store.ErrNotFound if none).
func (s *Store) SharedODS(ctx context.Context, height uint64) ([][]byte, error) {
	return s.squares.SharedODS(ctx, height)
}

// EDS returns the extended square at height, recomputed from the original
// square unless cached; it is immutable and may be shared
// (eds/store.ErrNotFound if none).
func (s *Store) EDS(ctx context.Context, height uint64) (*eds.ExtendedDataSquare, error) {
	return s.squares.EDS(ctx, height)
}

// Blob is a blob read back from the store and the proof that it was
// published: all the shares of its namespace in the block's square, with
// namespace proofs against the header's row roots. Proof.Verify(Header.DAH,
// namespace) checks them, and the blob is one that
// share.ParseBlobs(Proof.Flatten()) returns.
type Blob struct {
	Blob   *share.Blob
	Header *header.ExtendedHeader
	Proof  eds.NamespaceData
}

// GetBlob returns the blob of namespace ns with share commitment commitment
// at height, with its namespace proof. Errors wrap header.ErrNotFound or
// eds/store.ErrNotFound for a height the store does not hold, and
// ErrBlobNotFound when no blob matches. The result is owned by the caller.
func (s *Store) GetBlob(ctx context.Context, height uint64, ns share.Namespace, commitment []byte) (*Blob, error) {
	h, err := s.headers.GetByHeight(ctx, height)
	if err != nil {
		return nil, err
	}
	e, err := s.squares.EDS(ctx, height)
	if err != nil {
		return nil, err
	}
	nd, err := e.NamespaceData(ns)
	if err != nil {
		return nil, fmt.Errorf("core: height %d namespace %s: %w", height, ns, err)
	}
	blobs, err := share.ParseBlobs(nd.Flatten())
	if err != nil {
		return nil, fmt.Errorf("core: height %d namespace %s: %w", height, ns, err)
	}
	for _, pb := range blobs {
		c, err := pb.Blob.Commitment()
		if err != nil {
			return nil, fmt.Errorf("core: height %d namespace %s: %w", height, ns, err)
		}
		if bytes.Equal(c, commitment) {
			return &Blob{Blob: pb.Blob, Header: h, Proof: nd}, nil
		}
	}
	return nil, fmt.Errorf("%w: height %d namespace %s commitment %X", ErrBlobNotFound, height, ns, commitment)
}

// keyPrunedBelow holds the height PruneSquares last pruned below, 8 bytes
// big-endian: Check then expects headers without squares below it.
var keyPrunedBelow = []byte("core/squares-pruned-below")

// PruneSquares deletes the original squares of the heights below below,
// keeping their headers, as eds/store.Store.Prune does (in bounded
// transactions; n counts the squares deleted even when it fails part way).
// The head's square is never pruned: below is lowered to the head's height,
// so the follower's CheckHead holds. It records below first, so that Check
// accepts the headers left without squares.
func (s *Store) PruneSquares(ctx context.Context, below uint64) (n int, err error) {
	below = min(below, s.headers.Height())
	if below <= 1 {
		return 0, nil
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		prev, err := prunedBelow(txn)
		if err != nil || prev >= below {
			return err
		}
		return txn.Set(keyPrunedBelow, binary.BigEndian.AppendUint64(nil, below))
	})
	if err != nil {
		return 0, fmt.Errorf("core: pruning squares below %d: %w", below, err)
	}
	n, err = s.squares.Prune(ctx, below)
	if err != nil {
		return n, fmt.Errorf("core: %w", err)
	}
	return n, nil
}

// prunedBelow reads keyPrunedBelow, 0 when absent.
func prunedBelow(txn *badger.Txn) (uint64, error) {
	item, err := txn.Get(keyPrunedBelow)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var h uint64
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("%w: corrupt %s", ErrInconsistentStore, keyPrunedBelow)
		}
		h = binary.BigEndian.Uint64(v)
		return nil
	})
	return h, err
}

// SquaresFrom returns the lowest height whose square the store may hold:
// 1, or the height PruneSquares last pruned below.
func (s *Store) SquaresFrom(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var from uint64
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		from, err = prunedBelow(txn)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("core: squares from: %w", err)
	}
	return max(from, 1), nil
}

// CheckHead returns an error wrapping ErrInconsistentStore if the head
// header has no square. It reads two keys: the follower calls it on Start.
func (s *Store) CheckHead(ctx context.Context) error {
	h, err := s.headers.Head(ctx)
	if errors.Is(err, header.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("core: reading the head: %w", err)
	}
	head := h.Height()
	ok, err := s.squares.Has(ctx, head)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: head header %d has no square", ErrInconsistentStore, head)
	}
	return nil
}

// Check scans the store and returns an error wrapping ErrInconsistentStore
// unless the stored squares are exactly those of the stored headers: every
// height from the lowest stored square to the head has both, there is no
// square above the head and no header just below the lowest square unless
// PruneSquares pruned below it (headers outlive their pruned squares). It
// reads every key of the square prefix, so it is for tests and repair
// tools, not for every start.
func (s *Store) Check(ctx context.Context) error {
	var (
		heights []uint64
		pruned  uint64
	)
	prefix := edsstore.Key(0)[:len(edsstore.Key(0))-8]
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		if pruned, err = prunedBelow(txn); err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != len(prefix)+8 {
				return fmt.Errorf("%w: square key %q", ErrInconsistentStore, k)
			}
			heights = append(heights, binary.BigEndian.Uint64(k[len(prefix):]))
		}
		return nil
	})
	if err != nil {
		return err
	}
	head := s.headers.Height()
	if len(heights) == 0 {
		if head != 0 {
			return fmt.Errorf("%w: headers up to %d and no square", ErrInconsistentStore, head)
		}
		return nil
	}
	base := heights[0]
	for i, h := range heights {
		if h != base+uint64(i) {
			return fmt.Errorf("%w: no square at height %d", ErrInconsistentStore, base+uint64(i))
		}
	}
	if last := heights[len(heights)-1]; last != head {
		return fmt.Errorf("%w: squares up to %d, headers up to %d", ErrInconsistentStore, last, head)
	}
	for h := base; h <= head; h++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := s.headers.GetByHeight(ctx, h); err != nil {
			return fmt.Errorf("%w: square at height %d without its header: %w", ErrInconsistentStore, h, err)
		}
	}
	if base > 1 && base > pruned {
		if _, err := s.headers.GetByHeight(ctx, base-1); !errors.Is(err, header.ErrNotFound) {
			return fmt.Errorf("%w: header at height %d without its square", ErrInconsistentStore, base-1)
		}
	}
	return nil
}
