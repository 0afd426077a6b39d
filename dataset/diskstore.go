package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// tmpPrefix starts the names of a DiskBlockstore's files being written;
// no CID's string starts with a dot.
const tmpPrefix = ".tmp-"

// DiskBlockstore is a boxo blockstore.Blockstore of a dataset's blocks
// (dataset CIDs only) on disk, one file per block in one directory, named
// by the CID's string (base32 for CIDv1): a client's scratch store that
// holds a DAG of any size in bounded memory while dataset put packs it or
// a fetched dataset is written out. It is keyed by CID, not multihash.
//
// A block is written to a temporary file and renamed into place, so a
// reader never sees part of one; files are not fsynced (the store is
// scratch: rebuild it after a crash). Get re-checks every block's hash and
// size, so a file cut short or changed on disk fails with
// ErrHashMismatch or ErrTooLarge rather than yielding wrong bytes. Its
// methods may be called concurrently, from several processes too.
type DiskBlockstore struct {
	dir string
}

var _ blockstore.Blockstore = (*DiskBlockstore)(nil)

// NewDiskBlockstore returns the DiskBlockstore in dir, made (mode 0700)
// if missing. Blocks already there are kept.
func NewDiskBlockstore(dir string) (*DiskBlockstore, error) {
	if dir == "" {
		return nil, errors.New("dataset: disk blockstore: empty directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("dataset: disk blockstore: %w", err)
	}
	return &DiskBlockstore{dir: dir}, nil
}

// Dir is the store's directory.
func (s *DiskBlockstore) Dir() string { return s.dir }

func (s *DiskBlockstore) path(c cid.Cid) string { return filepath.Join(s.dir, c.String()) }

// Has reports whether a file of c is in the store.
func (s *DiskBlockstore) Has(_ context.Context, c cid.Cid) (bool, error) {
	if !c.Defined() {
		return false, nil
	}
	_, err := os.Stat(s.path(c))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("dataset: disk blockstore: %w", err)
	}
}

// Get reads the block of c and checks it (CheckBlock). A block not in the
// store is ipld.ErrNotFound.
func (s *DiskBlockstore) Get(_ context.Context, c cid.Cid) (blocks.Block, error) {
	if !c.Defined() {
		return nil, ipld.ErrNotFound{Cid: c}
	}
	path := s.path(c)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ipld.ErrNotFound{Cid: c}
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: disk blockstore: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxBlockSize+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: disk blockstore: %w", err)
	}
	if err := CheckBlock(c, data); err != nil {
		return nil, fmt.Errorf("dataset: disk blockstore: file %s: %w", path, err)
	}
	return blocks.NewBlockWithCid(data, c)
}

// GetSize returns the size of the file of c (unchecked); a block not in
// the store is ipld.ErrNotFound.
func (s *DiskBlockstore) GetSize(_ context.Context, c cid.Cid) (int, error) {
	if !c.Defined() {
		return -1, ipld.ErrNotFound{Cid: c}
	}
	fi, err := os.Stat(s.path(c))
	if errors.Is(err, fs.ErrNotExist) {
		return -1, ipld.ErrNotFound{Cid: c}
	}
	if err != nil {
		return -1, fmt.Errorf("dataset: disk blockstore: %w", err)
	}
	return int(fi.Size()), nil
}

// Put writes b unless the store has it. A block whose CID is not a
// dataset CID fails with ErrUnsupportedCID, one over MaxBlockSize with
// ErrTooLarge; b's hash is not checked here (Get checks it).
func (s *DiskBlockstore) Put(ctx context.Context, b blocks.Block) error {
	c, data := b.Cid(), b.RawData()
	if err := checkDataCID(c); err != nil {
		return fmt.Errorf("dataset: disk blockstore: put: %w", err)
	}
	if len(data) > MaxBlockSize {
		return fmt.Errorf("dataset: disk blockstore: put: %w: block %s is %d bytes, the limit is %d", ErrTooLarge, c, len(data), MaxBlockSize)
	}
	if has, err := s.Has(ctx, c); err != nil || has {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("dataset: disk blockstore: put %s: %w", c, err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path(c))
	}
	if err != nil {
		_ = os.Remove(tmp.Name()) // best effort: the put failed already
		return fmt.Errorf("dataset: disk blockstore: put %s: %w", c, err)
	}
	return nil
}

// PutMany puts each block, stopping at the first error.
func (s *DiskBlockstore) PutMany(ctx context.Context, bs []blocks.Block) error {
	for _, b := range bs {
		if err := s.Put(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// DeleteBlock removes the block of c; one not in the store is no error.
func (s *DiskBlockstore) DeleteBlock(_ context.Context, c cid.Cid) error {
	if !c.Defined() {
		return nil
	}
	if err := os.Remove(s.path(c)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("dataset: disk blockstore: delete %s: %w", c, err)
	}
	return nil
}

// AllKeysChan sends the CID of every block file in the store, in no
// particular order, reading the directory a batch of names at a time; the
// channel is closed at the end, on a read error or once ctx is done.
func (s *DiskBlockstore) AllKeysChan(ctx context.Context) (<-chan cid.Cid, error) {
	d, err := os.Open(s.dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: disk blockstore: %w", err)
	}
	out := make(chan cid.Cid, 64)
	go func() {
		defer close(out)
		defer d.Close()
		for {
			names, err := d.Readdirnames(256)
			for _, name := range names {
				if strings.HasPrefix(name, tmpPrefix) {
					continue
				}
				c, err := cid.Decode(name)
				if err != nil {
					continue // not a block file
				}
				select {
				case out <- c:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				return // io.EOF at the end
			}
		}
	}()
	return out, nil
}
