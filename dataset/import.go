package dataset

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	chunk "github.com/ipfs/boxo/chunker"
	mdag "github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// Import builds the UnixFS DAG of the file or directory at path with the
// unixfs-v1-2025 profile, writes its blocks to bs and returns its root:
// the CID kubo's `ipfs add -r --hidden` prints for path once the profile
// is applied (`ipfs config profile apply unixfs-v1-2025`).
//
//   - A regular file becomes a balanced file DAG: ChunkSize raw leaves
//     under dag-pb nodes of at most MaxLinks links (a file of one chunk or
//     less is a single raw block, the empty file included).
//   - A directory becomes a UnixFS directory of its entries, by name, all
//     of them (names starting with a dot too); its own name is not part of
//     the DAG (no wrapping directory). Empty directories are kept. A
//     directory whose dag-pb block would exceed HAMTShardingSize is a HAMT
//     of fanout HAMTFanout.
//   - A symbolic link inside a directory becomes a UnixFS symlink node (its
//     target is recorded, not followed); path itself is followed if it is
//     one. Anything else (devices, sockets, pipes) fails with
//     ErrUnsupportedFile.
//
// No file mode or modification time is recorded, as the profile asks.
// Blocks already in bs are written again (the store deduplicates). On
// error, bs may hold some of the DAG's blocks.
func Import(ctx context.Context, bs blockstore.Blockstore, path string) (cid.Cid, error) {
	if err := checkGlobals(); err != nil {
		return cid.Undef, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return cid.Undef, fmt.Errorf("dataset: import: %w", err)
	}
	im := importer{ctx: ctx, dserv: dagService(bs)}
	var nd ipld.Node
	switch {
	case fi.Mode().IsRegular():
		nd, err = im.file(path)
	case fi.IsDir():
		nd, err = im.dir(path)
	default:
		err = fmt.Errorf("%w: %s is %s", ErrUnsupportedFile, path, fi.Mode().Type())
	}
	if err != nil {
		return cid.Undef, err
	}
	return nd.Cid(), nil
}

// ImportReader builds the UnixFS file DAG of the bytes r yields, as Import
// does for a regular file, writes its blocks to bs and returns its root.
func ImportReader(ctx context.Context, bs blockstore.Blockstore, r io.Reader) (cid.Cid, error) {
	if err := checkGlobals(); err != nil {
		return cid.Undef, err
	}
	im := importer{ctx: ctx, dserv: dagService(bs)}
	nd, err := im.reader(r, "reader")
	if err != nil {
		return cid.Undef, err
	}
	return nd.Cid(), nil
}

// dagService is an offline DAG service over bs.
func dagService(bs blockstore.Blockstore) ipld.DAGService {
	return mdag.NewDAGService(blockservice.New(bs, nil))
}

type importer struct {
	ctx   context.Context
	dserv ipld.DAGService
}

func (im importer) file(path string) (ipld.Node, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: import: %w", err)
	}
	nd, err := im.reader(f, path)
	if cerr := f.Close(); err == nil && cerr != nil {
		return nil, fmt.Errorf("dataset: import: %w", cerr)
	}
	return nd, err
}

// reader builds a file DAG; name is for errors.
func (im importer) reader(r io.Reader, name string) (ipld.Node, error) {
	params := helpers.DagBuilderParams{
		Dagserv:    im.dserv,
		RawLeaves:  true,
		Maxlinks:   MaxLinks,
		CidBuilder: cidBuilder,
	}
	db, err := params.New(chunk.NewSizeSplitter(ctxReader{im.ctx, r}, ChunkSize))
	if err != nil {
		return nil, fmt.Errorf("dataset: import %s: %w", name, err)
	}
	nd, err := balanced.Layout(db)
	if err != nil {
		return nil, fmt.Errorf("dataset: import %s: %w", name, err)
	}
	return nd, nil
}

// dir builds the directory at path and, first, everything under it.
func (im importer) dir(path string) (ipld.Node, error) {
	entries, err := os.ReadDir(path) // sorted by name
	if err != nil {
		return nil, fmt.Errorf("dataset: import: %w", err)
	}
	d, err := uio.NewDirectory(im.dserv,
		uio.WithCidBuilder(cidBuilder),
		uio.WithMaxHAMTFanout(HAMTFanout),
		uio.WithSizeEstimationMode(uio.SizeEstimationBlock))
	if err != nil {
		return nil, fmt.Errorf("dataset: import %s: %w", path, err)
	}
	d.SetHAMTShardingSize(HAMTShardingSize)
	for _, e := range entries {
		if err := im.ctx.Err(); err != nil {
			return nil, fmt.Errorf("dataset: import: %w", err)
		}
		child := filepath.Join(path, e.Name())
		var nd ipld.Node
		switch t := e.Type(); {
		case t.IsRegular():
			nd, err = im.file(child)
		case t.IsDir():
			nd, err = im.dir(child)
		case t&fs.ModeSymlink != 0:
			nd, err = im.symlink(child)
		default:
			err = fmt.Errorf("%w: %s is %s", ErrUnsupportedFile, child, t)
		}
		if err != nil {
			return nil, err
		}
		if err := d.AddChild(im.ctx, e.Name(), nd); err != nil {
			return nil, fmt.Errorf("dataset: import %s: %w", child, err)
		}
	}
	nd, err := d.GetNode()
	if err != nil {
		return nil, fmt.Errorf("dataset: import %s: %w", path, err)
	}
	if err := im.dserv.Add(im.ctx, nd); err != nil {
		return nil, fmt.Errorf("dataset: import %s: %w", path, err)
	}
	return nd, nil
}

func (im importer) symlink(path string) (ipld.Node, error) {
	target, err := os.Readlink(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: import: %w", err)
	}
	data, err := unixfs.SymlinkData(target)
	if err != nil {
		return nil, fmt.Errorf("dataset: import %s: %w", path, err)
	}
	nd := mdag.NodeWithData(data)
	if err := nd.SetCidBuilder(cidBuilder); err != nil {
		return nil, fmt.Errorf("dataset: import %s: %w", path, err)
	}
	if err := im.dserv.Add(im.ctx, nd); err != nil {
		return nil, fmt.Errorf("dataset: import %s: %w", path, err)
	}
	return nd, nil
}

// ctxReader stops reading once ctx is done, so a long import can be
// cancelled between chunks.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
