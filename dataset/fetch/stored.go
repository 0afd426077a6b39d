package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"

	"github.com/datamesh/mesh-node/dataset"
)

// Stored is a dataset FetchToDisk read and checked, kept on disk: its
// parts are files in Dir, and an index in memory says where each block is
// in them. Its methods may be called concurrently.
type Stored struct {
	Located
	// Dir holds the parts (Fetcher.CachePath of the dataset); the caller
	// removes it when done.
	Dir string
	// Fetched counts the parts read from the Node, Cached those read from
	// the cache.
	Fetched, Cached int

	index map[cid.Cid]blockAt // written by FetchToDisk only
	sizes []int64             // of the part files, as checked
}

// blockAt is where a block is: its data is size bytes at off in part's
// file.
type blockAt struct {
	part int
	off  int64
	size int
}

// ErrReadOnly is returned by the writing methods of Stored.Blockstore.
var ErrReadOnly = errors.New("fetch: the dataset's blockstore is read-only")

// PartPath is the file of part i.
func (s *Stored) PartPath(i int) string {
	return filepath.Join(s.Dir, strconv.Itoa(i)+".car")
}

// WriteCAR writes the CAR of the dataset's DAG to w: CARHeader(root) then
// every part's bytes after its header, part after part, streamed from the
// part files (the bytes of `ipfs dag export root` when the parts are
// Pack's). A part file changed since FetchToDisk fails it.
func (s *Stored) WriteCAR(w io.Writer) error {
	hdr, err := dataset.CARHeader(s.Manifest.Root)
	if err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("fetch: write CAR: %w", err)
	}
	for i := range s.Manifest.Parts {
		if err := s.copyPart(w, i, int64(len(hdr))); err != nil {
			return fmt.Errorf("fetch: write CAR: part %d: %w", i, err)
		}
	}
	return nil
}

// copyPart copies part i's file from off (its header's end) to w.
func (s *Stored) copyPart(w io.Writer, i int, off int64) error {
	f, err := os.Open(s.PartPath(i))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != s.sizes[i] || fi.Size() < off {
		return fmt.Errorf("%s is %d bytes, %d when it was checked", f.Name(), fi.Size(), s.sizes[i])
	}
	_, err = io.Copy(w, io.NewSectionReader(f, off, fi.Size()-off))
	return err
}

// Blockstore is a read-only boxo blockstore of the dataset's blocks, read
// from the part files; Get re-checks each block's hash (a part file
// changed on disk fails with dataset.ErrHashMismatch). Put, PutMany and
// DeleteBlock fail with ErrReadOnly. It is keyed by CID.
func (s *Stored) Blockstore() blockstore.Blockstore { return storedBlockstore{s} }

type storedBlockstore struct{ s *Stored }

func (b storedBlockstore) Has(_ context.Context, c cid.Cid) (bool, error) {
	_, ok := b.s.index[c]
	return ok, nil
}

func (b storedBlockstore) GetSize(_ context.Context, c cid.Cid) (int, error) {
	at, ok := b.s.index[c]
	if !ok {
		return -1, ipld.ErrNotFound{Cid: c}
	}
	return at.size, nil
}

func (b storedBlockstore) Get(_ context.Context, c cid.Cid) (blocks.Block, error) {
	at, ok := b.s.index[c]
	if !ok {
		return nil, ipld.ErrNotFound{Cid: c}
	}
	f, err := os.Open(b.s.PartPath(at.part))
	if err != nil {
		return nil, fmt.Errorf("fetch: block %s: %w", c, err)
	}
	data := make([]byte, at.size)
	_, err = f.ReadAt(data, at.off)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = dataset.CheckBlock(c, data)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch: block %s in %s: %w", c, b.s.PartPath(at.part), err)
	}
	return blocks.NewBlockWithCid(data, c)
}

func (b storedBlockstore) Put(context.Context, blocks.Block) error       { return ErrReadOnly }
func (b storedBlockstore) PutMany(context.Context, []blocks.Block) error { return ErrReadOnly }
func (b storedBlockstore) DeleteBlock(context.Context, cid.Cid) error    { return ErrReadOnly }

func (b storedBlockstore) AllKeysChan(ctx context.Context) (<-chan cid.Cid, error) {
	out := make(chan cid.Cid)
	go func() {
		defer close(out)
		for c := range b.s.index {
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
