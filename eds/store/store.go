// Package store keeps original data squares (ODS) by height in a Badger
// database the node owns and shares with its other stores (one database
// under <home>/data). Only the k×k original square is stored; the parity
// half is recomputed on demand with eds.Extend, and the most recently
// extended squares are kept in a bounded LRU cache.
//
// Layout (height 8-byte big-endian, so keys sort by height):
//
//	"ods/" height -> version 0x01 | k*k shares of share.ShareSize bytes, row-major
//	"ods/" height -> version 0x02 | reference to a file under FileDir (StartWrite)
//
// Put stores the square as the Badger value; StartWrite (the bridge's
// writes, package core, and a full node's, package nodebuilder) writes it
// to a file of its own, beside the database, while the caller goes on (extending the square), and
// Write.Commit records the file's reference: Badger copies an 8–32 MiB
// value into its own buffer and then into its value log, a file takes the
// rows as they lie in the extended square. Reads take either form. See
// file.go for the file's layout and crash safety.
//
// Put and Write.Commit write within a transaction the caller owns, so a square and the
// header that commits to it can be written atomically (see package core).
// The value is one Badger entry: above Badger's value threshold it goes to
// the value log and counts only a pointer towards the transaction's size
// limit, so even a 512-wide square (128 MiB) fits one transaction.
//
// Prune deletes the squares below a height, those that left the
// availability window (see das.Pruner), in transactions of at most
// DefaultPruneBatch squares each, and drops them from the cache; Base
// returns the lowest height still stored.
package store

import (
	"container/list"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/share"
)

// ErrNotFound is wrapped when the store holds no square for a height.
var ErrNotFound = errors.New("eds/store: square not found")

// ErrCorrupt is wrapped when the stored square of a height cannot be
// read back: its value is not a square (Badger returns an empty value for
// one it cannot read from a damaged value log) or does not extend.
var ErrCorrupt = errors.New("eds/store: corrupt square")

// Options configure a Store. The zero value takes the defaults.
type Options struct {
	// CacheSize is the number of extended squares kept in memory
	// (DefaultCacheSize for 0; a negative size disables the cache).
	CacheSize int
	// CacheBytes bounds the bytes of the squares kept in memory
	// (DefaultCacheBytes for 0; negative: no bound but CacheSize). A
	// square larger than the bound is not cached.
	CacheBytes int64
	// OnCorrupt, if not nil, is called, after the read has failed, each
	// time a read finds the square of height corrupt (err wraps
	// ErrCorrupt). It is called concurrently and must not call back into
	// the read that found it; the node uses it to report the square,
	// Delete it and fetch it again.
	OnCorrupt func(height uint64, err error)
	// UnsyncedFiles: StartWrite does not sync a square's file before its
	// reference is recorded. A power loss (not a crash of the process) may
	// then leave a reference to a short or altered file, which reads
	// report as ErrCorrupt, and OnCorrupt can fetch the square again; a
	// full node, which can, sets it, so that a sync of each square does
	// not hold up the next one. A bridge, which cannot, syncs.
	UnsyncedFiles bool
}

// DefaultCacheSize is the number of extended squares the cache keeps when
// Options.CacheSize is 0.
const DefaultCacheSize = 16

// DefaultCacheBytes bounds the cache's squares when Options.CacheBytes is
// 0: 256 MiB, two extended squares of k = 256 (128 MiB each) or eight of
// k = 128. Counting squares alone let 16 squares of k = 256, 2 GiB, stay
// in memory per store.
const DefaultCacheBytes = 256 << 20

// DefaultPruneBatch is the number of squares Prune deletes per
// transaction: few enough that a transaction stays far below Badger's
// size limit and a long backlog of old squares does not hold one open for
// long, many enough that a day of blocks takes a few hundred transactions.
const DefaultPruneBatch = 256

const odsVersion = 0x01

var prefixODS = []byte("ods/")

// Key returns the key of the square at height.
func Key(height uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte{}, prefixODS...), height)
}

// Store reads and writes squares. It is safe for concurrent use.
type Store struct {
	db    *badger.DB
	cache *lru

	// pruneBatch is the number of squares Prune deletes per transaction;
	// afterBatch, set by white-box tests only, runs after each.
	pruneBatch int
	afterBatch func(deleted int)

	onCorrupt func(height uint64, err error)
	// noSync: Options.UnsyncedFiles.
	noSync bool

	// dir is the directory of square files (FileDir), "" for an
	// in-memory database.
	dir string
}

// New returns a store on db configured by opts. It does no I/O; the
// caller owns db and closes it after the last call.
func New(db *badger.DB, opts Options) *Store {
	cacheSize := opts.CacheSize
	if cacheSize == 0 {
		cacheSize = DefaultCacheSize
	}
	cacheBytes := opts.CacheBytes
	if cacheBytes == 0 {
		cacheBytes = DefaultCacheBytes
	}
	s := &Store{db: db, cache: newLRU(cacheSize, cacheBytes), pruneBatch: DefaultPruneBatch, onCorrupt: opts.OnCorrupt, noSync: opts.UnsyncedFiles}
	if o := db.Opts(); !o.InMemory && o.Dir != "" {
		s.dir = filepath.Join(o.Dir, FileDirName)
	}
	return s
}

// Delete deletes the square of height within txn, which it does not
// commit; call Forget once txn has committed.
func (s *Store) Delete(txn *badger.Txn, height uint64) error {
	if err := txn.Delete(Key(height)); err != nil {
		return fmt.Errorf("eds/store: deleting height %d: %w", height, err)
	}
	return nil
}

// Forget drops the square of height from the cache and removes its file
// (StartWrite) if no stored reference names it any more, as after Delete;
// a file it fails to remove is left for Prune.
func (s *Store) Forget(height uint64) {
	s.cache.remove(height)
	_ = s.removeStale(height, height+1)
}

// corrupt reports err, if it wraps ErrCorrupt, to the OnCorrupt hook.
func (s *Store) corrupt(height uint64, err error) {
	if s.onCorrupt != nil && errors.Is(err, ErrCorrupt) {
		s.onCorrupt(height, err)
	}
}

// Put writes the original square of e under height within txn. It does not
// commit txn, and does not cache e: call Cache once txn has committed.
func (s *Store) Put(txn *badger.Txn, height uint64, e *eds.ExtendedDataSquare) error {
	k := e.K()
	v := e.AppendODS(append(make([]byte, 0, 1+k*k*share.ShareSize), odsVersion))
	if err := txn.Set(Key(height), v); err != nil {
		return fmt.Errorf("eds/store: height %d: %w", height, err)
	}
	return nil
}

// Cache remembers e as the extended square of height, for a square whose
// Put has committed.
func (s *Store) Cache(height uint64, e *eds.ExtendedDataSquare) { s.cache.add(height, e) }

// Has reports whether the store holds the square of height.
func (s *Store) Has(ctx context.Context, height uint64) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if s.cache.get(height) != nil {
		return true, nil
	}
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(Key(height))
		return err
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("eds/store: height %d: %w", height, err)
	}
	return true, nil
}

// ODS returns the original square of height: k*k shares in row-major order,
// owned by the caller. Errors wrap ErrNotFound for a missing square and
// ErrCorrupt for one that cannot be read back.
func (s *Store) ODS(ctx context.Context, height uint64) ([][]byte, error) {
	if e := s.cache.get(height); e != nil {
		return e.FlattenedODS(), nil
	}
	return s.readODS(ctx, height)
}

// SharedODS is ODS without the copy of a cached square: the shares alias
// the cached square (or a buffer read for this call) and must not be
// modified. It is for readers of whole squares that only parse them.
func (s *Store) SharedODS(ctx context.Context, height uint64) ([][]byte, error) {
	if e := s.cache.get(height); e != nil {
		return e.ODS(), nil
	}
	return s.readODS(ctx, height)
}

func (s *Store) readODS(ctx context.Context, height uint64) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ods, err := s.viewODS(height)
	s.corrupt(height, err)
	return ods, err
}

func (s *Store) viewODS(height uint64) ([][]byte, error) {
	var ods [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(Key(height))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: height %d", ErrNotFound, height)
		}
		if err != nil {
			return fmt.Errorf("eds/store: height %d: %w", height, err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("eds/store: height %d: %w", height, err)
		}
		if len(v) > 0 && v[0] == odsFileVersion {
			ods, err = s.readFile(height, v)
			return err
		}
		ods, err = decode(v)
		if err != nil {
			return fmt.Errorf("%w at height %d: %w", ErrCorrupt, height, err)
		}
		return nil
	})
	return ods, err
}

// EDS returns the extended square of height, from the cache or extended
// from the stored original square (and then cached). The square is
// immutable and may be shared with other callers. Errors wrap ErrNotFound
// for a missing square and ErrCorrupt for one that cannot be read back.
func (s *Store) EDS(ctx context.Context, height uint64) (*eds.ExtendedDataSquare, error) {
	if e := s.cache.get(height); e != nil {
		return e, nil
	}
	ods, err := s.readODS(ctx, height)
	if err != nil {
		return nil, err
	}
	e, err := eds.Extend(ods)
	if err != nil {
		err = fmt.Errorf("%w at height %d: %w", ErrCorrupt, height, err)
		s.corrupt(height, err)
		return nil, err
	}
	s.cache.add(height, e)
	return e, nil
}

// Base returns the lowest height the store holds a square for, and false
// when it holds none.
func (s *Store) Base(ctx context.Context) (uint64, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	var (
		base  uint64
		found bool
	)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixODS})
		defer it.Close()
		it.Rewind()
		if !it.Valid() {
			return nil
		}
		h, err := heightOf(it.Item().Key())
		base, found = h, err == nil
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("eds/store: base: %w", err)
	}
	return base, found, nil
}

// Prune deletes the squares of every height below below, and drops them
// from the cache. It deletes in transactions of at most DefaultPruneBatch
// squares, lowest heights first, checking ctx between them; n counts the
// squares deleted, also when it fails or ctx ends part way (those stay
// deleted, and a later Prune goes on from there). Squares at or above below
// are untouched. Once every square below is deleted it removes the files
// of heights below below that no reference names (StartWrite); no square
// below below may be being written meanwhile. A square read through EDS while Prune runs may stay cached
// until it is evicted.
func (s *Store) Prune(ctx context.Context, below uint64) (n int, err error) {
	defer s.cache.removeBelow(below)
	batch := max(s.pruneBatch, 1)
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var keys [][]byte
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixODS})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(keys) < batch; it.Next() {
				h, err := heightOf(it.Item().Key())
				if err != nil {
					return err
				}
				if h >= below {
					break
				}
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("eds/store: pruning below %d: %w", below, err)
		}
		if len(keys) == 0 {
			return n, s.removeStale(0, below)
		}
		err = s.db.Update(func(txn *badger.Txn) error {
			for _, k := range keys {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("eds/store: pruning below %d: %w", below, err)
		}
		n += len(keys)
		for _, k := range keys {
			h, _ := heightOf(k)
			s.cache.remove(h)
		}
		if s.afterBatch != nil {
			s.afterBatch(len(keys))
		}
	}
}

// heightOf returns the height of a square's key.
func heightOf(key []byte) (uint64, error) {
	if len(key) != len(prefixODS)+8 {
		return 0, fmt.Errorf("corrupt square key %x", key)
	}
	return binary.BigEndian.Uint64(key[len(prefixODS):]), nil
}

// decode splits a stored value into shares that alias it.
func decode(v []byte) ([][]byte, error) {
	if len(v) < 1 || v[0] != odsVersion {
		return nil, errors.New("unknown encoding version")
	}
	v = v[1:]
	if len(v)%share.ShareSize != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of shares", len(v))
	}
	n := len(v) / share.ShareSize
	k := 1
	for k*k < n {
		k *= 2
	}
	if n == 0 || k*k != n || k > eds.MaxSquareSize {
		return nil, fmt.Errorf("%d shares is not a square of power-of-two width up to %d", n, eds.MaxSquareSize)
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = v[i*share.ShareSize : (i+1)*share.ShareSize : (i+1)*share.ShareSize]
	}
	return out, nil
}

// lru is a cache of extended squares by height, bounded in entries and
// in bytes.
type lru struct {
	mu       sync.Mutex
	max      int
	maxBytes int64                    // negative: no bound
	bytes    int64                    // of the squares held
	order    *list.List               // front is the most recently used; values are *entry
	byKey    map[uint64]*list.Element // height -> element
}

type entry struct {
	height uint64
	eds    *eds.ExtendedDataSquare
}

func newLRU(max int, maxBytes int64) *lru {
	return &lru{max: max, maxBytes: maxBytes, order: list.New(), byKey: map[uint64]*list.Element{}}
}

// squareBytes is the memory of e's shares.
func squareBytes(e *eds.ExtendedDataSquare) int64 {
	w := int64(e.Width())
	return w * w * share.ShareSize
}

func (c *lru) get(height uint64) *eds.ExtendedDataSquare {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[height]
	if !ok {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry).eds
}

func (c *lru) add(height uint64, e *eds.ExtendedDataSquare) {
	size := squareBytes(e)
	if c.max <= 0 || (c.maxBytes >= 0 && size > c.maxBytes) {
		c.remove(height) // an older square of this height must not stay
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[height]; ok {
		en := el.Value.(*entry)
		c.bytes += size - squareBytes(en.eds)
		en.eds = e
		c.order.MoveToFront(el)
	} else {
		c.byKey[height] = c.order.PushFront(&entry{height: height, eds: e})
		c.bytes += size
	}
	for c.order.Len() > c.max || (c.maxBytes >= 0 && c.bytes > c.maxBytes) {
		el := c.order.Back()
		c.order.Remove(el)
		en := el.Value.(*entry)
		delete(c.byKey, en.height)
		c.bytes -= squareBytes(en.eds)
	}
}

func (c *lru) remove(height uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[height]; ok {
		c.order.Remove(el)
		delete(c.byKey, height)
		c.bytes -= squareBytes(el.Value.(*entry).eds)
	}
}

// removeBelow drops the squares of heights below below.
func (c *lru) removeBelow(below uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, el := range c.byKey {
		if h < below {
			c.order.Remove(el)
			delete(c.byKey, h)
			c.bytes -= squareBytes(el.Value.(*entry).eds)
		}
	}
}

// len returns the number of cached squares.
func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
