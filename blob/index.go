package blob

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/share"
)

// Key layout of the commitment index, under prefixes no other Badger user
// of the node shares (header/store "eh/", eds/store "ods/", core/store
// "core/", das "das/"):
//
//	blob/c/<commitment 32><height 8>  -> <namespace 29><index 4>
//	blob/h/<height 8>                 -> empty: the height is indexed
//	blob/h/<height 8><commitment 32>  -> empty: reverse entry, for Prune
//	blob/caught-up                    -> <height 8>: CatchUp's checkpoint
//	blob/x/<height 8><key>            -> empty: an IndexExtension's entry
//	                                     under key, for Prune and Delete
//
// Heights and indices are big-endian, so a commitment's entries sort by
// height and the reverse entries by height first.
var (
	prefixByCommitment = []byte("blob/c/")
	prefixByHeight     = []byte("blob/h/")
	keyCaughtUp        = []byte("blob/caught-up")
	prefixExtension    = []byte("blob/x/")
)

// checkpointEvery is how many heights CatchUp goes between saving its
// checkpoint.
const checkpointEvery = 1024

const (
	commitmentSize = 32
	entryValueSize = share.NamespaceSize + 4
	// pruneBatch is how many keys of prefixByHeight one Prune transaction
	// deletes at most (each reverse entry takes its commitment entry along).
	pruneBatch = 1000
)

func commitmentKey(c []byte, height uint64) []byte {
	k := make([]byte, 0, len(prefixByCommitment)+commitmentSize+8)
	k = append(append(k, prefixByCommitment...), c...)
	return binary.BigEndian.AppendUint64(k, height)
}

func extensionKey(height uint64, key []byte) []byte {
	k := make([]byte, 0, len(prefixExtension)+8+len(key))
	return append(binary.BigEndian.AppendUint64(append(k, prefixExtension...), height), key...)
}

func heightKey(height uint64) []byte {
	k := make([]byte, 0, len(prefixByHeight)+8+commitmentSize)
	return binary.BigEndian.AppendUint64(append(k, prefixByHeight...), height)
}

// SquareSource gives the squares CatchUp indexes: core.Store on bridge
// nodes and eds/store.Store on full nodes have this method.
type SquareSource interface {
	EDS(ctx context.Context, height uint64) (*eds.ExtendedDataSquare, error)
}

// IndexOptions are the dependencies of an Index.
type IndexOptions struct {
	// DB is the node's Badger database; required.
	DB *badger.DB
	// Squares is what CatchUp reads; it may be nil if CatchUp is not used.
	Squares SquareSource
	// IsNotFound tells a square Squares does not hold (skipped by CatchUp)
	// from a failure. Nil treats every error as a failure.
	IsNotFound func(error) bool
	// Extension, if not nil, records entries of its own for every blob
	// indexed (the dataset index); nil records none.
	Extension IndexExtension
	// Logger defaults to one that discards.
	Logger *slog.Logger
}

// IndexExtension records more about each blob the Index records: its
// entries are written in the same transactions as the blob's (so they
// share the height's mark and CatchUp's checkpoint) and deleted with them
// by Prune and Delete.
type IndexExtension interface {
	// BlobEntries returns the entries to record for blob b, whose
	// commitment is c, included at height (b's first occurrence in the
	// square only). It is called once per blob while a height is indexed
	// and must be deterministic. It cannot fail the indexing: a blob it
	// does not understand gets no entry. Keys must not start with "blob/"
	// and must be unique to (height, c) or hold the same value wherever
	// they repeat.
	BlobEntries(height uint64, b *share.Blob, c Commitment) []IndexEntry
}

// IndexEntry is a key and value an IndexExtension records.
type IndexEntry struct {
	Key, Value []byte
}

// Index maps blob commitments to where they were included, for bridge and
// full nodes, which hold squares. It is safe for concurrent use.
type Index struct {
	db         *badger.DB
	squares    SquareSource
	isNotFound func(error) bool
	ext        IndexExtension
	log        *slog.Logger
}

// NewIndex returns the index over opts.DB. It does no I/O.
func NewIndex(opts IndexOptions) (*Index, error) {
	if opts.DB == nil {
		return nil, errors.New("blob: NewIndex needs a DB")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	isNotFound := opts.IsNotFound
	if isNotFound == nil {
		isNotFound = func(error) bool { return false }
	}
	return &Index{db: opts.DB, squares: opts.Squares, isNotFound: isNotFound, ext: opts.Extension, log: log}, nil
}

// Index records every blob of e, the square at height: its commitment maps
// to (height, namespace, index of its first share in the extended square).
// It writes one Badger transaction, which also marks the height indexed (a
// square too large for one is written in several, the mark last); a height
// already marked is left as it is, so Index is idempotent. A blob
// repeated within the square is recorded at its first position. A square
// that does not parse (share.ParseSquare) is an error and nothing is
// written. The Extension's entries of each blob go in the same
// transactions.
func (ix *Index) Index(ctx context.Context, height uint64, e *eds.ExtendedDataSquare) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e == nil {
		return fmt.Errorf("blob: indexing height %d: nil square", height)
	}
	parsed, err := share.ParseSquare(e.ODS())
	if err != nil {
		return fmt.Errorf("blob: indexing height %d: %w", height, err)
	}
	k := e.K()
	entries := make([]indexEntry, 0, len(parsed.Blobs))
	var ext []IndexEntry
	seen := make(map[string]bool, len(parsed.Blobs))
	for _, p := range parsed.Blobs {
		c, err := p.Blob.Commitment()
		if err != nil {
			return fmt.Errorf("blob: indexing height %d: %w", height, err)
		}
		if seen[string(c)] {
			continue
		}
		seen[string(c)] = true
		index := (p.Start/k)*2*k + p.Start%k
		ns := p.Blob.Namespace()
		val := binary.BigEndian.AppendUint32(append(make([]byte, 0, entryValueSize), ns[:]...), uint32(index))
		entries = append(entries, indexEntry{c: c, val: val})
		if ix.ext != nil {
			ext = append(ext, ix.ext.BlobEntries(height, p.Blob, c)...)
		}
	}
	if err := ix.write(height, entries, ext); err != nil {
		return fmt.Errorf("blob: indexing height %d: %w", height, err)
	}
	return nil
}

// write stores the entries of height, the extension's entries ext with
// their reverse entries, and its mark in one transaction,
// unless the height is marked already. A square of tens of thousands of
// blobs can exceed Badger's transaction size; then the entries are
// committed in several transactions and the mark in the last, so a crash
// midway leaves the height unmarked and CatchUp rewrites it (the entries
// are the same).
func (ix *Index) write(height uint64, entries []indexEntry, ext []IndexEntry) error {
	marker := heightKey(height)
	txn := ix.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	if _, err := txn.Get(marker); err == nil {
		return nil
	} else if !errors.Is(err, badger.ErrKeyNotFound) {
		return err
	}
	set := func(key, val []byte) error {
		err := txn.Set(key, val)
		if !errors.Is(err, badger.ErrTxnTooBig) {
			return err
		}
		if err := txn.Commit(); err != nil {
			return err
		}
		txn = ix.db.NewTransaction(true)
		return txn.Set(key, val)
	}
	for _, en := range entries {
		if err := set(commitmentKey(en.c, height), en.val); err != nil {
			return err
		}
		if err := set(append(heightKey(height), en.c...), nil); err != nil {
			return err
		}
	}
	for _, en := range ext {
		if bytes.HasPrefix(en.Key, []byte("blob/")) || len(en.Key) == 0 {
			return fmt.Errorf("index extension key %q is empty or under blob/", en.Key)
		}
		if err := set(en.Key, en.Value); err != nil {
			return err
		}
		if err := set(extensionKey(height, en.Key), nil); err != nil {
			return err
		}
	}
	if err := set(marker, nil); err != nil {
		return err
	}
	return txn.Commit()
}

// indexEntry is one blob of a height: its commitment and the value stored
// under it.
type indexEntry struct {
	c   []byte
	val []byte
}

// Indexed reports whether height is marked indexed.
func (ix *Index) Indexed(ctx context.Context, height uint64) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	var ok bool
	err := ix.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(heightKey(height))
		switch {
		case err == nil:
			ok = true
		case errors.Is(err, badger.ErrKeyNotFound):
		default:
			return err
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("blob: index of height %d: %w", height, err)
	}
	return ok, nil
}

// Lookup returns where the blob with commitment c was included: the newest
// height holding it, its namespace and the index of its first share in the
// extended square. It returns ErrBlobNotFound (unwrapped) for a commitment
// the index does not hold, including one that is not 32 bytes.
func (ix *Index) Lookup(ctx context.Context, c Commitment) (height uint64, ns share.Namespace, index int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, ns, 0, err
	}
	if len(c) != commitmentSize {
		return 0, ns, 0, ErrBlobNotFound
	}
	prefix := append(append([]byte{}, prefixByCommitment...), c...)
	found := false
	err = ix.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
		defer it.Close()
		it.Seek(append(bytes.Clone(prefix), bytes.Repeat([]byte{0xFF}, 8)...))
		if !it.ValidForPrefix(prefix) {
			return nil
		}
		item := it.Item()
		key := item.Key()
		if len(key) != len(prefix)+8 {
			return fmt.Errorf("malformed index key %x", key)
		}
		val, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if len(val) != entryValueSize {
			return fmt.Errorf("malformed index value of %d bytes under %x", len(val), key)
		}
		height = binary.BigEndian.Uint64(key[len(prefix):])
		copy(ns[:], val)
		index = int(binary.BigEndian.Uint32(val[share.NamespaceSize:]))
		found = true
		return nil
	})
	if err != nil {
		return 0, share.Namespace{}, 0, fmt.Errorf("blob: looking up commitment %X: %w", []byte(c), err)
	}
	if !found {
		return 0, share.Namespace{}, 0, ErrBlobNotFound
	}
	return height, ns, index, nil
}

// CatchUp indexes every height in [from, to] that is not marked indexed,
// reading its square from Squares and skipping heights whose square is not
// held (IsNotFound). It is for restarts after a crash between storing a
// square and indexing it. It starts above its checkpoint: the highest
// height h such that an earlier CatchUp found every height from its start
// to h indexed or indexed it (a skipped height stops the checkpoint, so a
// square stored later is still caught up). It fails without Squares and
// stops at the first other error, leaving the heights before it indexed;
// an empty range does nothing.
func (ix *Index) CatchUp(ctx context.Context, from, to uint64) error {
	if ix.squares == nil {
		return errors.New("blob: CatchUp needs IndexOptions.Squares")
	}
	done, err := ix.checkpoint()
	if err != nil {
		return err
	}
	from = max(from, done+1)
	if from > to {
		return nil
	}
	contiguous := true
	for h := from; ; h++ {
		indexed, err := ix.catchUp(ctx, h)
		if err != nil {
			return err
		}
		if contiguous = contiguous && indexed; contiguous && (h == to || h%checkpointEvery == 0) {
			if err := ix.setCheckpoint(h); err != nil {
				return err
			}
		}
		if h == to {
			return nil
		}
	}
}

// checkpoint returns CatchUp's checkpoint, 0 if none.
func (ix *Index) checkpoint() (uint64, error) {
	var h uint64
	err := ix.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyCaughtUp)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("malformed %s of %d bytes", keyCaughtUp, len(v))
			}
			h = binary.BigEndian.Uint64(v)
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("blob: reading the catch-up checkpoint: %w", err)
	}
	return h, nil
}

func (ix *Index) setCheckpoint(h uint64) error {
	if err := ix.db.Update(func(txn *badger.Txn) error {
		return txn.Set(keyCaughtUp, binary.BigEndian.AppendUint64(nil, h))
	}); err != nil {
		return fmt.Errorf("blob: saving the catch-up checkpoint: %w", err)
	}
	return nil
}

// catchUp indexes height h unless it is marked or its square is not held;
// it reports whether h is indexed after the call.
func (ix *Index) catchUp(ctx context.Context, h uint64) (bool, error) {
	ok, err := ix.Indexed(ctx, h)
	if err != nil || ok {
		return ok, err
	}
	e, err := ix.squares.EDS(ctx, h)
	if err != nil {
		if ix.isNotFound(err) {
			ix.log.Debug("blob index: no square to catch up", "height", h)
			return false, nil
		}
		return false, fmt.Errorf("blob: catching up height %d: %w", h, err)
	}
	if err := ix.Index(ctx, h, e); err != nil {
		return false, err
	}
	ix.log.Debug("blob index: caught up", "height", h)
	return true, nil
}

// Delete deletes the index entries of height within txn, which it does
// not commit: with the square's own deletion in the same transaction, a
// square dropped from the store (found corrupt) leaves no commitment
// pointing at it. The height is indexed again when its square is stored
// again.
func (ix *Index) Delete(txn *badger.Txn, height uint64) error {
	prefix := heightKey(height)
	keys := keysWithPrefix(txn, prefix)
	extPrefix := extensionKey(height, nil)
	for _, key := range keysWithPrefix(txn, extPrefix) {
		if err := txn.Delete(key); err != nil {
			return fmt.Errorf("blob: deleting the index of height %d: %w", height, err)
		}
		if err := txn.Delete(key[len(extPrefix):]); err != nil {
			return fmt.Errorf("blob: deleting the index of height %d: %w", height, err)
		}
	}
	for _, key := range keys {
		if err := txn.Delete(key); err != nil {
			return fmt.Errorf("blob: deleting the index of height %d: %w", height, err)
		}
		if c := key[len(prefix):]; len(c) == commitmentSize {
			if err := txn.Delete(commitmentKey(c, height)); err != nil {
				return fmt.Errorf("blob: deleting the index of height %d: %w", height, err)
			}
		}
	}
	return nil
}

// keysWithPrefix returns copies of the keys under prefix in txn.
func keysWithPrefix(txn *badger.Txn, prefix []byte) [][]byte {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var keys [][]byte
	for it.Rewind(); it.Valid(); it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	return keys
}

// Prune deletes every entry and mark of heights below below (the
// Extension's entries too), in
// transactions of at most a few thousand keys, so it never holds a large
// transaction. On error (or when ctx ends) the heights pruned so far stay
// pruned; a later Prune continues.
func (ix *Index) Prune(ctx context.Context, below uint64) error {
	// The Extension's entries first: their reverse entries are the only
	// way to them.
	if err := ix.pruneReverse(ctx, prefixExtension, below, func(rest []byte) []byte {
		if len(rest) == 8 {
			return nil // malformed: no key follows the height
		}
		return rest[8:]
	}); err != nil {
		return err
	}
	return ix.pruneReverse(ctx, prefixByHeight, below, func(rest []byte) []byte {
		if len(rest) != 8+commitmentSize {
			return nil // the height's mark
		}
		return commitmentKey(rest[8:], binary.BigEndian.Uint64(rest))
	})
}

// pruneReverse deletes the keys under prefix (prefix + height 8 + rest)
// of heights below below, each with the key forward gives for what
// follows the prefix (nil: none), in transactions of at most pruneBatch
// keys under prefix.
func (ix *Index) pruneReverse(ctx context.Context, prefix []byte, below uint64, forward func(rest []byte) []byte) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var keys [][]byte
		err := ix.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(keys) < pruneBatch; it.Next() {
				key := it.Item().KeyCopy(nil)
				if len(key) < len(prefix)+8 {
					return fmt.Errorf("malformed index key %x", key)
				}
				if binary.BigEndian.Uint64(key[len(prefix):]) >= below {
					break
				}
				keys = append(keys, key)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("blob: pruning the index below %d: %w", below, err)
		}
		if len(keys) == 0 {
			return nil
		}
		err = ix.db.Update(func(txn *badger.Txn) error {
			for _, key := range keys {
				if err := txn.Delete(key); err != nil {
					return err
				}
				if fwd := forward(key[len(prefix):]); fwd != nil {
					if err := txn.Delete(fwd); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("blob: pruning the index below %d: %w", below, err)
		}
		ix.log.Debug("blob index: pruned", "keys", len(keys), "below", below, "prefix", string(prefix))
		if len(keys) < pruneBatch {
			return nil
		}
	}
}
