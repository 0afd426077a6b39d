package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/share"
)

// A square written by StartWrite lives in a file of its own under FileDir,
// named by its height and a random id (height and id in 16 hexadecimal
// digits each, "<height>-<id>.ods"), holding the k·k shares of the original
// square row-major and nothing else. Its Badger entry, under the same key
// as an inline square, is a reference:
//
//	"ods/" height -> version 0x02 | k (2 bytes) | CRC-32C of the file (4 bytes) | id (8 bytes), big-endian
//
// The file is complete and synced before its reference is written, and a
// reference names one file that no later write reuses (the id), so a
// square is visible exactly when its reference has committed: a crash or a
// failed transaction leaves at most a file no reference names, which
// Prune and Forget remove.
const (
	odsFileVersion = 0x02
	refSize        = 1 + 2 + 4 + 8
	// FileDirName is the directory of square files within the database's
	// directory.
	FileDirName = "squares"
	fileMode    = 0o600
	dirMode     = 0o700
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FileDir returns the directory StartWrite writes squares in, inside the
// database's directory; "" when the database is in memory (Files is false).
func (s *Store) FileDir() string { return s.dir }

// Files reports whether the store can keep squares in files (StartWrite):
// its database is on disk.
func (s *Store) Files() bool { return s.dir != "" }

// fileName returns the name of the file of the square at height with id.
func fileName(height, id uint64) string {
	return fmt.Sprintf("%016x-%016x.ods", height, id)
}

// parseFileName returns the height and id of a square file's name.
func parseFileName(name string) (height, id uint64, ok bool) {
	base, found := strings.CutSuffix(name, ".ods")
	if !found || len(base) != 33 || base[16] != '-' {
		return 0, 0, false
	}
	h, err1 := strconv.ParseUint(base[:16], 16, 64)
	i, err2 := strconv.ParseUint(base[17:], 16, 64)
	return h, i, err1 == nil && err2 == nil
}

// ref is a decoded file reference.
type ref struct {
	k   int
	crc uint32
	id  uint64
}

func (r ref) encode() []byte {
	v := make([]byte, 0, refSize)
	v = append(v, odsFileVersion)
	v = binary.BigEndian.AppendUint16(v, uint16(r.k))
	v = binary.BigEndian.AppendUint32(v, r.crc)
	return binary.BigEndian.AppendUint64(v, r.id)
}

func decodeRef(v []byte) (ref, error) {
	if len(v) != refSize || v[0] != odsFileVersion {
		return ref{}, fmt.Errorf("a file reference of %d bytes", len(v))
	}
	r := ref{k: int(binary.BigEndian.Uint16(v[1:])), crc: binary.BigEndian.Uint32(v[3:]), id: binary.BigEndian.Uint64(v[7:])}
	if r.k <= 0 || r.k&(r.k-1) != 0 || r.k > eds.MaxSquareSize {
		return ref{}, fmt.Errorf("file reference to a square of width %d", r.k)
	}
	return r, nil
}

// Write is an original square being written to a file of its own by
// StartWrite. Exactly one of Commit (followed, if its transaction fails, by
// Abort) or Abort must end it.
type Write struct {
	height uint64
	ref    ref
	path   string
	done   chan struct{}
	err    error // set before done is closed
}

// StartWrite starts writing the original square of height, given as its k
// rows of k·share.ShareSize bytes each (eds.ODSBuffer.Rows,
// eds.ExtendedDataSquare.ODSRows), to a new file under FileDir, on a
// goroutine of its own: the caller must not modify rows until Commit or
// Abort has returned. The file is synced, and so is the directory, before
// Commit returns, unless Options.UnsyncedFiles. Nothing is visible to readers before the transaction
// Commit writes into has committed. It fails for a store without Files,
// and for rows that are not a square of power-of-two width up to
// eds.MaxSquareSize.
func (s *Store) StartWrite(height uint64, rows [][]byte) (*Write, error) {
	if !s.Files() {
		return nil, errors.New("eds/store: square files need a database on disk")
	}
	k := len(rows)
	if k == 0 || k&(k-1) != 0 || k > eds.MaxSquareSize {
		return nil, fmt.Errorf("eds/store: height %d: %d rows is not a square of power-of-two width up to %d", height, k, eds.MaxSquareSize)
	}
	for i, r := range rows {
		if len(r) != k*share.ShareSize {
			return nil, fmt.Errorf("eds/store: height %d: row %d is %d bytes, want %d", height, i, len(r), k*share.ShareSize)
		}
	}
	id := rand.Uint64()
	w := &Write{height: height, ref: ref{k: k, id: id}, path: filepath.Join(s.dir, fileName(height, id)), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.ref.crc, w.err = writeFile(s.dir, w.path, rows, !s.noSync)
		if w.err != nil {
			w.err = fmt.Errorf("eds/store: writing height %d: %w", height, w.err)
		}
	}()
	return w, nil
}

// writeFile writes rows to a new file at path in dir, syncs it and dir
// when sync, and returns the rows' CRC-32C. On error it removes what it
// created.
func writeFile(dir, path string, rows [][]byte, sync bool) (crc uint32, err error) {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, os.Remove(path))
		}
	}()
	for _, r := range rows {
		crc = crc32.Update(crc, castagnoli, r)
		if _, err := f.Write(r); err != nil {
			return 0, errors.Join(err, f.Close())
		}
	}
	if !sync {
		return crc, f.Close()
	}
	if err := f.Sync(); err != nil {
		return 0, errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return crc, syncDir(dir)
}

// syncDir syncs a directory, so that the names created in it last.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// Commit waits for the file to be written and synced and then records it,
// within txn, as the square of the Write's height (replacing any square
// stored there). It does not commit txn: once txn has committed, Cache the
// square; if Commit or txn's commit fails, call Abort. On error nothing is
// written to txn.
func (w *Write) Commit(txn *badger.Txn) error {
	<-w.done
	if w.err != nil {
		return w.err
	}
	if err := txn.Set(Key(w.height), w.ref.encode()); err != nil {
		return fmt.Errorf("eds/store: height %d: %w", w.height, err)
	}
	return nil
}

// Abort waits for the write to end and removes its file, for a Write whose
// square is not to be stored: Commit failed, or the transaction it wrote
// into did not commit. The file is the Write's own, never a stored
// square's.
func (w *Write) Abort() error {
	<-w.done
	if w.err != nil {
		return nil // writeFile removed it
	}
	if err := os.Remove(w.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("eds/store: removing the unstored square of height %d: %w", w.height, err)
	}
	return nil
}

// readFile reads the square a reference value v of height names, verifies
// it against the reference and returns its shares (aliasing one buffer).
// Errors other than a missing directory wrap ErrCorrupt: a stored
// reference whose file is missing, short or altered is a damaged square.
func (s *Store) readFile(height uint64, v []byte) ([][]byte, error) {
	r, err := decodeRef(v)
	if err != nil {
		return nil, fmt.Errorf("%w at height %d: %w", ErrCorrupt, height, err)
	}
	if s.dir == "" {
		return nil, fmt.Errorf("%w at height %d: a square file in an in-memory database", ErrCorrupt, height)
	}
	path := filepath.Join(s.dir, fileName(height, r.id))
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w at height %d: %w", ErrCorrupt, height, err)
	}
	defer f.Close()
	size := r.k * r.k * share.ShareSize
	buf := make([]byte, size+1)
	n, err := io.ReadFull(f, buf)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		if err == nil {
			return nil, fmt.Errorf("%w at height %d: %s is longer than %d bytes", ErrCorrupt, height, path, size)
		}
		return nil, fmt.Errorf("%w at height %d: %w", ErrCorrupt, height, err)
	}
	if n != size {
		return nil, fmt.Errorf("%w at height %d: %s is %d bytes, want %d", ErrCorrupt, height, path, n, size)
	}
	buf = buf[:size:size]
	if crc := crc32.Checksum(buf, castagnoli); crc != r.crc {
		return nil, fmt.Errorf("%w at height %d: %s has CRC-32C %08x, its reference %08x", ErrCorrupt, height, path, crc, r.crc)
	}
	out := make([][]byte, r.k*r.k)
	for i := range out {
		out[i] = buf[i*share.ShareSize : (i+1)*share.ShareSize : (i+1)*share.ShareSize]
	}
	return out, nil
}

// removeStale removes the square files of the heights in [from, to) that
// no stored reference names: those of deleted or pruned squares, and those
// a crash or a failed transaction left behind. A file whose reference is
// being committed concurrently is one of the current writes: callers run
// it only for heights no write is in progress for.
func (s *Store) removeStale(from, to uint64) error {
	if s.dir == "" {
		return nil
	}
	es, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("eds/store: %w", err)
	}
	var errs []error
	for _, e := range es {
		h, id, ok := parseFileName(e.Name())
		if !ok || h < from || h >= to {
			continue
		}
		var cur ref
		var indexed bool
		err := s.db.View(func(txn *badger.Txn) error {
			item, err := txn.Get(Key(h))
			if errors.Is(err, badger.ErrKeyNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			return item.Value(func(v []byte) error {
				if r, err := decodeRef(v); err == nil {
					cur, indexed = r, true
				}
				return nil
			})
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if indexed && cur.id == id {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("eds/store: removing stale square files: %w", err)
	}
	return nil
}
