// Package badgerdb opens the node's Badger databases: the one place that
// checks a store on disk before Badger touches it, turns Badger's panics
// on damaged files into errors, and keeps the files private to the
// node's user.
//
// Badger v4 repairs what it cannot read by deleting it: with a MANIFEST
// it cannot find or that ends early, it starts from an empty one and
// removes every table file the new MANIFEST does not name; with a table
// whose index cannot be read it panics in a goroutine of its own, which
// no caller can recover. Open checks, without writing anything, that the
// MANIFEST exists when tables do, that it reads to the end or to a torn
// last record, that every table it names exists and that each table's
// footer and index read back, before it lets Badger open the directory.
// A store that fails a check is left exactly as it was, and Open returns
// a *DamagedError naming the file.
//
// Compactor compacts a store opened without Badger's own compactors, whose
// tickers wake an idle process 20 times a second each (light nodes).
package badgerdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
)

// ErrDamaged is wrapped by every *DamagedError.
var ErrDamaged = errors.New("badgerdb: damaged store")

// DamagedError is a store Open refused to open, with the file found
// damaged. Nothing in the directory was changed.
type DamagedError struct {
	Dir  string // the database directory
	File string // the damaged file's name in Dir
	// Reason says what is wrong with File.
	Reason string
	Err    error // the underlying error, if any
}

func (e *DamagedError) Error() string {
	s := fmt.Sprintf("%v: %s: %s", ErrDamaged, filepath.Join(e.Dir, e.File), e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s + " (nothing was changed)"
}

func (e *DamagedError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrDamaged}
	}
	return []error{ErrDamaged, e.Err}
}

// File and directory modes Open sets: the database is the node's alone.
const (
	DirMode  fs.FileMode = 0o700
	FileMode fs.FileMode = 0o600
)

// Options returns Badger's defaults for dir with what every node store
// wants on top: no Badger logger (errors come back as errors), and
// checksums verified on every block and value read, so that a damaged
// table block or value-log entry is an error, not wrong data.
func Options(dir string) badger.Options {
	return badger.DefaultOptions(dir).WithLogger(nil).
		WithChecksumVerificationMode(options.OnBlockRead).
		WithVerifyValueChecksum(true)
}

// Open checks the store in opts.Dir (see the package doc), opens it with
// Badger, turning a panic into an error, and makes the directory DirMode
// and every file in it FileMode. An in-memory store is opened as is. A
// store that fails a check gives an error wrapping ErrDamaged, a
// *DamagedError, with the directory as it was.
func Open(opts badger.Options) (db *badger.DB, err error) {
	if opts.InMemory {
		return badger.Open(opts)
	}
	if err := Check(opts); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, DirMode); err != nil {
		return nil, fmt.Errorf("badgerdb: %w", err)
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				db, err = nil, &DamagedError{Dir: opts.Dir, File: ".", Reason: "Badger failed opening it", Err: fmt.Errorf("%v", firstLine(r))}
			}
		}()
		db, err = badger.Open(opts)
	}()
	if err != nil {
		return nil, err
	}
	if err := restrict(opts.Dir); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

// restrict makes dir DirMode and each file in it FileMode. Badger creates
// its files 0666 less the umask; a directory only its user can enter
// keeps those created later private too.
func restrict(dir string) error {
	if err := os.Chmod(dir, DirMode); err != nil {
		return fmt.Errorf("badgerdb: %w", err)
	}
	es, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("badgerdb: %w", err)
	}
	for _, e := range es {
		if !e.Type().IsRegular() {
			continue
		}
		if err := os.Chmod(filepath.Join(dir, e.Name()), FileMode); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("badgerdb: %w", err)
		}
	}
	return nil
}

// Check reads the store in opts.Dir as Open does before opening it, and
// returns a *DamagedError for the first damaged file it finds. It writes
// nothing. A directory that does not exist, or holds no table and no
// MANIFEST, passes.
func Check(opts badger.Options) error {
	es, err := os.ReadDir(opts.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("badgerdb: %w", err)
	}
	onDisk := map[uint64]bool{}
	hasManifest := false
	for _, e := range es {
		if id, ok := table.ParseFileID(e.Name()); ok && strings.HasSuffix(e.Name(), ".sst") {
			onDisk[id] = true
		}
		if e.Name() == badger.ManifestFilename {
			hasManifest = true
		}
	}
	damaged := func(file, reason string, err error) error {
		return &DamagedError{Dir: opts.Dir, File: file, Reason: reason, Err: err}
	}
	if !hasManifest {
		if len(onDisk) > 0 {
			return damaged(badger.ManifestFilename, fmt.Sprintf("missing, and %d table files exist that Badger would delete", len(onDisk)), nil)
		}
		return nil
	}
	mf, torn, err := replay(opts)
	if err != nil {
		return damaged(badger.ManifestFilename, "cannot be read", err)
	}
	for _, id := range sortedKeys(mf.Tables) {
		if !onDisk[id] {
			return damaged(table.IDToFilename(id), "named by the MANIFEST but missing", nil)
		}
	}
	var unnamed []string
	for _, id := range sortedKeys(onDisk) {
		if _, ok := mf.Tables[id]; !ok {
			unnamed = append(unnamed, table.IDToFilename(id))
		}
	}
	// A flush or compaction interrupted by a crash leaves tables the
	// MANIFEST never named, which Badger deletes: their data is still in
	// the write-ahead log or in the tables they were made from. A MANIFEST
	// that names no table at all, or ends in a partial record, while
	// tables it does not name exist, has lost records instead.
	if len(unnamed) > 0 && (torn || len(mf.Tables) == 0) {
		how := "names no table"
		if torn {
			how = fmt.Sprintf("ends in a partial record and names %d tables", len(mf.Tables))
		}
		return damaged(badger.ManifestFilename, fmt.Sprintf("%s, but %d more table files exist (%s) that Badger would delete: it was cut short",
			how, len(unnamed), abbreviate(unnamed)), nil)
	}
	for _, id := range sortedKeys(mf.Tables) {
		if err := checkTable(opts, id, mf.Tables[id]); err != nil {
			return damaged(table.IDToFilename(id), "cannot be read (cut short or corrupt)", err)
		}
	}
	for _, e := range es {
		if !strings.HasSuffix(e.Name(), ".vlog") {
			continue
		}
		if err := checkValueLog(filepath.Join(opts.Dir, e.Name())); err != nil {
			return damaged(e.Name(), "cannot be read (cut short or corrupt)", err)
		}
	}
	return nil
}

// Value-log layout (Badger v4's value.go and structs.go): a 20-byte file
// header, then entries of a header (meta, user meta, then uvarints key
// length, value length, expiry), the key, the value and a CRC-32. The file
// of the log being written may end in zeros.
const (
	vlogFileHeader  = 20
	vlogEntryHeader = 2 + 3*binary.MaxVarintLen64
	vlogCRC         = 4
)

// checkValueLog walks the entry headers of the value log at path,
// reading only the headers, and fails if an entry runs past the end of
// the file or a header does not decode: the file was cut short or
// overwritten. It does not check the values' checksums (Badger does on
// each read, see Options).
func checkValueLog(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size < vlogFileHeader {
		if size == 0 {
			return nil // created, never written
		}
		return fmt.Errorf("%d bytes is shorter than its header", size)
	}
	buf := make([]byte, vlogEntryHeader)
	for off := int64(vlogFileHeader); off < size; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		h := buf[:n]
		if !slices.ContainsFunc(h, func(b byte) bool { return b != 0 }) {
			return nil // the unwritten end of the log being written
		}
		if len(h) < 5 {
			return fmt.Errorf("the entry at offset %d is cut short", off)
		}
		hlen, klen, vlen := 2, uint64(0), uint64(0)
		for _, v := range []*uint64{&klen, &vlen, nil} {
			x, c := binary.Uvarint(h[hlen:])
			if c <= 0 {
				return fmt.Errorf("the entry at offset %d has a malformed header", off)
			}
			if v != nil {
				*v = x
			}
			hlen += c
		}
		if klen > 1<<32 || vlen > 1<<32 {
			return fmt.Errorf("the entry at offset %d has a malformed header", off)
		}
		end := off + int64(hlen) + int64(klen) + int64(vlen) + vlogCRC
		if end > size {
			return fmt.Errorf("the entry at offset %d runs to %d, past the end of the file at %d: it was cut short", off, end, size)
		}
		off = end
	}
	return nil
}

// replay reads the MANIFEST read-only. torn reports a partial last record
// (Badger would truncate it).
func replay(opts badger.Options) (badger.Manifest, bool, error) {
	f, err := os.Open(filepath.Join(opts.Dir, badger.ManifestFilename))
	if err != nil {
		return badger.Manifest{}, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return badger.Manifest{}, false, err
	}
	mf, end, err := badger.ReplayManifestFile(f, opts.ExternalMagicVersion, opts)
	if err != nil {
		return badger.Manifest{}, false, err
	}
	return mf, end < fi.Size(), nil
}

// checkTable reads table id's footer, index and first and last keys, as
// Badger does when it opens it, recovering Badger's panic on a table cut
// short. An encrypted table is not checked.
func checkTable(opts badger.Options, id uint64, tm badger.TableManifest) (err error) {
	if tm.KeyID != 0 {
		return nil
	}
	mf, err := z.OpenMmapFile(table.NewFilename(id, opts.Dir), os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	pool := z.NewAllocatorPool(1)
	defer pool.Release()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", firstLine(r))
		}
		if cerr := mf.Close(-1); cerr != nil && err == nil {
			err = cerr
		}
	}()
	_, err = table.OpenTable(mf, table.Options{
		ReadOnly:    true,
		BlockSize:   opts.BlockSize,
		Compression: tm.Compression,
		ChkMode:     options.NoVerification,
		AllocPool:   pool,
	})
	return err
}

func sortedKeys[V any](m map[uint64]V) []uint64 {
	ks := make([]uint64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func abbreviate(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, ... %s", strings.Join(names[:2], ", "), names[len(names)-1])
}

// firstLine is the first non-empty line of a recovered panic's value.
func firstLine(r any) string {
	for l := range strings.SplitSeq(fmt.Sprint(r), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "==") {
			return l
		}
	}
	return fmt.Sprint(r)
}

// ReadUint64 reads a number (a height) stored at key as 8 bytes
// big-endian; a missing key is 0, a value of another size an error.
func ReadUint64(txn *badger.Txn, key []byte) (uint64, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	b, err := item.ValueCopy(nil)
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("stored value %q of %d bytes, want 8", key, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}
