package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/share"
)

// noIndexText is what a node without a dataset index (a light node)
// answers every dataset.* call with (store.ErrNoIndex's message; JSON-RPC
// errors reach the client as text).
const noIndexText = "keeps no dataset index"

// getCacheDirName is the directory of dataset get's part caches in a home.
const getCacheDirName = "dataset-get"

// fetcher reads a dataset's manifest and parts through a node's API:
// blob.Get and blob.GetAll, which a light node verifies against the
// headers it sampled, and dataset.GetManifest to find the manifest on a
// node with an index.
type fetcher struct {
	blobs   client.BlobAPI
	index   client.DatasetAPI
	timeout time.Duration // of each call to the node
	// cache, if not "", is a directory where each part fetched is kept
	// (<cache>/<index>.car) and read back instead of fetched again.
	cache string
	// afterFetch, if not nil, is called after a part is fetched from the
	// node and cached, with its index (tests stop a get there).
	afterFetch func(index int)

	fetched int // parts read from the node
	cached  int // parts read from the cache
}

// located is a dataset's manifest and the blob that holds it.
type located struct {
	Manifest   dataset.Manifest
	CID        cid.Cid // the manifest's
	Namespace  share.Namespace
	Height     uint64
	Commitment blob.Commitment
}

// locate finds the manifest of c, a dataset root or a manifest CID. With
// height 0 it asks the node's index (dataset.GetManifest) where the
// manifest is; otherwise it reads the blobs of ns (override, else
// dataset.DefaultNamespace(c)) at height and takes the manifest whose root
// or CID is c. Either way the manifest is decoded from the blob's bytes as
// blob.Get or blob.GetAll return them, not taken from the index.
func (f *fetcher) locate(ctx context.Context, c cid.Cid, height uint64, override *share.Namespace) (located, error) {
	if height == 0 {
		return f.locateIndexed(ctx, c)
	}
	if override == nil && c.Prefix().Codec == cid.DagCBOR {
		return located{}, fmt.Errorf("%s is a manifest's CID, from which no namespace derives: pass --namespace, or the dataset's root CID", c)
	}
	ns, err := dataset.NamespaceFor(c, override)
	if err != nil {
		return located{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, f.timeout)
	bs, err := f.blobs.GetAll(cctx, height, []share.Namespace{ns})
	cancel()
	if err != nil {
		return located{}, fmt.Errorf("read the blobs of namespace %s at height %d: %w", ns, height, err)
	}
	for _, b := range bs {
		if b == nil || !dataset.LooksLikeCAR(b.Data) {
			continue
		}
		m, mcid, err := dataset.DecodeManifest(b.Data, share.MaxBlobSize)
		if err != nil || (!m.Root.Equals(c) && !mcid.Equals(c)) {
			continue
		}
		return located{Manifest: m, CID: mcid, Namespace: ns, Height: height, Commitment: b.Commitment}, nil
	}
	return located{}, fmt.Errorf("no manifest of %s among the blobs of namespace %s at height %d (--height is the manifest_height dataset put printed)", c, ns, height)
}

func (f *fetcher) locateIndexed(ctx context.Context, c cid.Cid) (located, error) {
	cctx, cancel := context.WithTimeout(ctx, f.timeout)
	rec, err := f.index.GetManifest(cctx, c.String())
	cancel()
	if err != nil {
		if strings.Contains(err.Error(), noIndexText) {
			return located{}, fmt.Errorf("%w: pass --height, the manifest_height dataset put printed, to read the manifest from the blobs at that height", err)
		}
		return located{}, fmt.Errorf("find the manifest of %s: %w", c, err)
	}
	loc := rec.Location
	cctx, cancel = context.WithTimeout(ctx, f.timeout)
	b, err := f.blobs.Get(cctx, loc.Height, loc.Namespace, loc.Commitment)
	cancel()
	if err != nil {
		return located{}, fmt.Errorf("read the manifest blob at height %d: %w", loc.Height, err)
	}
	if b == nil {
		return located{}, fmt.Errorf("read the manifest blob at height %d: no blob", loc.Height)
	}
	m, mcid, err := dataset.DecodeManifest(b.Data, share.MaxBlobSize)
	if err != nil {
		return located{}, fmt.Errorf("the manifest blob at height %d: %w", loc.Height, err)
	}
	if !m.Root.Equals(c) && !mcid.Equals(c) {
		return located{}, fmt.Errorf("the index named the blob at height %d, whose manifest %s is of %s, not of %s", loc.Height, mcid, m.Root, c)
	}
	return located{Manifest: m, CID: mcid, Namespace: loc.Namespace, Height: loc.Height, Commitment: loc.Commitment}, nil
}

// fetched is a dataset read back: every part's bytes and a blockstore of
// their blocks, checked as fetch documents.
type fetched struct {
	Parts  [][]byte
	Blocks blockstore.Blockstore
}

// fetch reads every part of loc's manifest, from the cache when it holds
// one whose commitment is the manifest's, else with blob.Get (then cached),
// and checks that the dataset is whole: each part's commitment is
// recomputed from its bytes and equals the manifest's, each part decodes
// as a part of the root (every block hash-checked, dataset.DecodePart), no
// block is in two parts, the blocks and bytes add up to the manifest's
// counts, and the DAG from the root is complete (dataset.Walk visits every
// block, and no other). An error about a part names its index, height
// and commitment. It holds the whole dataset in memory.
func (f *fetcher) fetch(ctx context.Context, loc located) (*fetched, error) {
	m := loc.Manifest
	out := &fetched{Parts: make([][]byte, len(m.Parts)), Blocks: memBlockstore()}
	var nblocks, size uint64
	for i, p := range m.Parts {
		what := fmt.Sprintf("part %d (height %d, commitment %x)", i, p.Height, p.Commitment)
		data, err := f.part(ctx, loc.Namespace, i, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		pbs, err := dataset.DecodePart(data, m.Root, share.MaxBlobSize)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		for _, pb := range pbs {
			if has, err := out.Blocks.Has(ctx, pb.Cid); err != nil || has {
				return nil, fmt.Errorf("%s: block %s is in an earlier part too", what, pb.Cid)
			}
			blk, err := blocks.NewBlockWithCid(pb.Data, pb.Cid)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			if err := out.Blocks.Put(ctx, blk); err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			nblocks++
			size += uint64(len(pb.Data))
		}
		out.Parts[i] = data
	}
	if nblocks != m.Blocks || size != m.Size {
		return nil, fmt.Errorf("the parts hold %d blocks of %d bytes, the manifest says %d blocks of %d bytes", nblocks, size, m.Blocks, m.Size)
	}
	var walked uint64
	if err := dataset.Walk(ctx, out.Blocks, m.Root, func(blocks.Block) error { walked++; return nil }); err != nil {
		return nil, fmt.Errorf("the DAG of %s: %w", m.Root, err)
	}
	if walked != m.Blocks {
		return nil, fmt.Errorf("the DAG of %s has %d blocks, the parts hold %d", m.Root, walked, m.Blocks)
	}
	return out, nil
}

// part returns the bytes of part i, whose blob commitment is the
// manifest's: from the cache, or from the node.
func (f *fetcher) part(ctx context.Context, ns share.Namespace, i int, p dataset.PartRef) ([]byte, error) {
	if f.cache != "" {
		data, err := os.ReadFile(f.cachePath(i))
		if err == nil && len(data) <= share.MaxBlobSize && commitmentOf(ns, data, p.Commitment) == nil {
			f.cached++
			return data, nil
		}
	}
	cctx, cancel := context.WithTimeout(ctx, f.timeout)
	b, err := f.blobs.Get(cctx, p.Height, ns, p.Commitment)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("blob.Get: %w", err)
	}
	if b == nil {
		return nil, errors.New("blob.Get: no blob")
	}
	if err := commitmentOf(ns, b.Data, p.Commitment); err != nil {
		return nil, err
	}
	f.fetched++
	if f.cache != "" {
		if err := writeFileAtomic(f.cachePath(i), b.Data); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
	}
	if f.afterFetch != nil {
		f.afterFetch(i)
	}
	return b.Data, nil
}

func (f *fetcher) cachePath(i int) string {
	return filepath.Join(f.cache, strconv.Itoa(i)+".car")
}

// commitmentOf checks that data, as a blob of ns, has commitment want.
func commitmentOf(ns share.Namespace, data []byte, want blob.Commitment) error {
	b, err := blob.New(ns, data)
	if err != nil {
		return fmt.Errorf("the blob's data: %w", err)
	}
	if !bytes.Equal(b.Commitment, want) {
		return fmt.Errorf("the blob's data has commitment %x, the manifest lists %x", []byte(b.Commitment), []byte(want))
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file renamed
// into place once synced, so that path holds all of data or nothing.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".part-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// memBlockstore returns an empty in-memory blockstore.
func memBlockstore() blockstore.Blockstore {
	return blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
}
