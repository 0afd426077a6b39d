package fetch

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

	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/internal/atomicfile"
	"github.com/datamesh/mesh-node/share"
)

// Node is the part of a node's API a Fetcher reads through. Its errors
// reach the Fetcher's caller wrapped.
type Node interface {
	// GetBlob is blob.Get: the data of the blob of namespace ns with share
	// commitment com at height (an error if there is none).
	GetBlob(ctx context.Context, height uint64, ns share.Namespace, com []byte) ([]byte, error)
	// GetBlobs is blob.GetAll for one namespace: the data of every blob of
	// ns at height, in square order (none is not an error).
	GetBlobs(ctx context.Context, height uint64, ns share.Namespace) ([][]byte, error)
	// ManifestBlob is where dataset.GetManifest says the manifest of c (a
	// dataset root or a manifest CID) is: the height, namespace and
	// commitment of its blob. A node without a dataset index fails with an
	// error whose text contains "keeps no dataset index".
	ManifestBlob(ctx context.Context, c cid.Cid) (height uint64, ns share.Namespace, com []byte, err error)
}

// noIndexText is what a node without a dataset index (a light node)
// answers dataset.GetManifest with (store.ErrNoIndex's message; JSON-RPC
// errors reach a client as text).
const noIndexText = "keeps no dataset index"

var (
	// ErrNoIndex is returned by Locate when the node keeps no dataset
	// index (a light node): locate the manifest with LocateAt instead.
	ErrNoIndex = errors.New("the node keeps no dataset index")
	// ErrNeedNamespace is returned by LocateAt for a manifest CID with no
	// namespace given: a namespace derives only from a dataset root.
	ErrNeedNamespace = errors.New("no namespace derives from a manifest's CID")
	// ErrNoManifest is returned by LocateAt when no blob of the namespace
	// at the height is a manifest of the CID.
	ErrNoManifest = errors.New("no manifest")
)

// Options configure a Fetcher.
type Options struct {
	// Timeout bounds each call to the Node; 0 leaves only ctx's bound.
	Timeout time.Duration
	// CacheDir, if not "", is where Fetch keeps the parts it fetches, in
	// CachePath(loc) (a directory per manifest), and reads them back from
	// instead of fetching them again: a Fetch stopped part way resumes.
	// Verify never reads the cache.
	CacheDir string
	// AfterFetch, if not nil, is called by Fetch after a part is fetched
	// from the Node (and cached), with its index.
	AfterFetch func(index int)
}

// Fetcher reads datasets through a Node. Its methods may be called
// concurrently.
type Fetcher struct {
	node Node
	opts Options
}

// New returns a Fetcher over node. It does no I/O.
func New(node Node, opts Options) (*Fetcher, error) {
	if node == nil {
		return nil, errors.New("fetch: nil Node")
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("fetch: timeout %s: must not be negative", opts.Timeout)
	}
	return &Fetcher{node: node, opts: opts}, nil
}

// Located is a dataset's manifest and the blob that holds it.
type Located struct {
	Manifest   dataset.Manifest
	CID        cid.Cid // the manifest's
	Namespace  share.Namespace
	Height     uint64
	Commitment []byte
}

func (f *Fetcher) call(ctx context.Context) (context.Context, context.CancelFunc) {
	if f.opts.Timeout == 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, f.opts.Timeout)
}

// Locate finds the manifest of c, a dataset root or a manifest CID, where
// the node's dataset index says it is (Node.ManifestBlob), and decodes it
// from the blob's bytes as Node.GetBlob returns them: the index is not
// trusted for the manifest's content. It wraps ErrNoIndex on a node
// without an index.
func (f *Fetcher) Locate(ctx context.Context, c cid.Cid) (Located, error) {
	cctx, cancel := f.call(ctx)
	height, ns, com, err := f.node.ManifestBlob(cctx, c)
	cancel()
	if err != nil {
		if strings.Contains(err.Error(), noIndexText) {
			return Located{}, fmt.Errorf("%w: %w", ErrNoIndex, err)
		}
		return Located{}, fmt.Errorf("find the manifest of %s: %w", c, err)
	}
	cctx, cancel = f.call(ctx)
	data, err := f.node.GetBlob(cctx, height, ns, com)
	cancel()
	if err != nil {
		return Located{}, fmt.Errorf("read the manifest blob at height %d: %w", height, err)
	}
	if err := commitmentOf(ns, data, com); err != nil {
		return Located{}, fmt.Errorf("the manifest blob at height %d: %w", height, err)
	}
	m, mcid, err := dataset.DecodeManifest(data, share.MaxBlobSize)
	if err != nil {
		return Located{}, fmt.Errorf("the manifest blob at height %d: %w", height, err)
	}
	if !m.Root.Equals(c) && !mcid.Equals(c) {
		return Located{}, fmt.Errorf("the index named the blob at height %d, whose manifest %s is of %s, not of %s", height, mcid, m.Root, c)
	}
	return Located{Manifest: m, CID: mcid, Namespace: ns, Height: height, Commitment: com}, nil
}

// LocateAt finds the manifest of c among the blobs of namespace ns (nil:
// dataset.DefaultNamespace(c)) at height, the manifest's height: the
// first blob that decodes as a manifest whose root or CID is c. It needs
// no dataset index, so it works on a light node. It wraps
// ErrNeedNamespace for a manifest CID without ns and ErrNoManifest when
// no blob matches.
func (f *Fetcher) LocateAt(ctx context.Context, c cid.Cid, height uint64, ns *share.Namespace) (Located, error) {
	if ns == nil && c.Prefix().Codec == cid.DagCBOR {
		return Located{}, fmt.Errorf("%s is a manifest's CID: %w", c, ErrNeedNamespace)
	}
	n, err := dataset.NamespaceFor(c, ns)
	if err != nil {
		return Located{}, err
	}
	cctx, cancel := f.call(ctx)
	datas, err := f.node.GetBlobs(cctx, height, n)
	cancel()
	if err != nil {
		return Located{}, fmt.Errorf("read the blobs of namespace %s at height %d: %w", n, height, err)
	}
	for _, data := range datas {
		if !dataset.LooksLikeCAR(data) {
			continue
		}
		m, mcid, err := dataset.DecodeManifest(data, share.MaxBlobSize)
		if err != nil || (!m.Root.Equals(c) && !mcid.Equals(c)) {
			continue
		}
		b, err := share.NewBlob(n, data, share.ShareVersionZero, nil)
		if err != nil {
			continue
		}
		com, err := b.Commitment()
		if err != nil {
			continue
		}
		return Located{Manifest: m, CID: mcid, Namespace: n, Height: height, Commitment: com}, nil
	}
	return Located{}, fmt.Errorf("%w of %s among the blobs of namespace %s at height %d", ErrNoManifest, c, n, height)
}

// PartError is a part that failed its checks: its index in the
// manifest, the height and commitment the manifest lists, and why.
type PartError struct {
	Index      int
	Height     uint64
	Commitment []byte
	Err        error
}

func (e *PartError) Error() string {
	return fmt.Sprintf("part %d (height %d, commitment %x): %v", e.Index, e.Height, e.Commitment, e.Err)
}

func (e *PartError) Unwrap() error { return e.Err }

// Dataset is a dataset read back whole, in memory: every part's bytes
// and a blockstore of their blocks, checked as Fetch documents. The
// caller owns both.
//
// Deprecated: it holds the whole dataset in memory; use FetchToDisk and
// its Stored.
type Dataset struct {
	Parts  [][]byte
	Blocks blockstore.Blockstore
	// Fetched counts the parts read from the Node, Cached those read from
	// the cache.
	Fetched, Cached int
}

// Fetch reads and checks every part of loc's manifest as FetchToDisk
// does, and returns them and their blocks in memory. It works without
// Options.CacheDir.
//
// Deprecated: it holds the whole dataset in memory; use FetchToDisk.
func (f *Fetcher) Fetch(ctx context.Context, loc Located) (*Dataset, error) {
	out := &Dataset{Parts: make([][]byte, len(loc.Manifest.Parts)), Blocks: memBlockstore()}
	var err error
	out.Fetched, out.Cached, err = f.checkParts(ctx, loc, func(i int, data []byte, pbs []dataset.PartBlock) error {
		out.Parts[i] = data
		return putBlocks(ctx, out.Blocks, pbs)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkParts reads each part of loc's manifest from the cache or the
// Node, checks it and hands it and its blocks to keep, then checks the
// whole dataset. It returns how many parts it fetched and read from the
// cache, and a *PartError for the first bad part.
func (f *Fetcher) checkParts(ctx context.Context, loc Located, keep func(i int, data []byte, pbs []dataset.PartBlock) error) (fetched, cached int, err error) {
	c := newChecker(loc)
	for i, p := range loc.Manifest.Parts {
		if err := ctx.Err(); err != nil {
			return 0, 0, &PartError{Index: i, Height: p.Height, Commitment: p.Commitment, Err: err}
		}
		data, fromCache, err := f.cachedPart(ctx, loc, i, p)
		var pbs []dataset.PartBlock
		if err == nil {
			pbs, err = c.add(data)
		}
		if err == nil {
			err = keep(i, data, pbs)
		}
		if err != nil {
			return 0, 0, &PartError{Index: i, Height: p.Height, Commitment: p.Commitment, Err: err}
		}
		if fromCache {
			cached++
		} else {
			fetched++
		}
	}
	if err := c.whole(ctx); err != nil {
		return 0, 0, err
	}
	return fetched, cached, nil
}

// putBlocks puts a part's blocks in bs.
func putBlocks(ctx context.Context, bs blockstore.Blockstore, pbs []dataset.PartBlock) error {
	blks := make([]blocks.Block, 0, len(pbs))
	for _, pb := range pbs {
		blk, err := blocks.NewBlockWithCid(pb.Data, pb.Cid)
		if err != nil {
			return err
		}
		blks = append(blks, blk)
	}
	return bs.PutMany(ctx, blks)
}

// FetchToDisk reads every part of loc's manifest into the cache
// (Options.CacheDir, which it needs), reusing a cached part whose
// commitment is the manifest's, else fetching it with Node.GetBlob, and
// checks that the dataset is whole: each part's commitment is recomputed
// from its bytes and equals the manifest's, each part decodes as a part
// of the root (every block hash-checked, dataset.DecodePart), no block is
// in two parts, the blocks and bytes add up to the manifest's counts, and
// the DAG from the root is complete (every block reachable from the root
// is in a part, every dag-pb block decodes, and no other block is in the
// parts). It stops at the first bad part, returning a *PartError.
//
// It holds one part in memory at a time, plus each block's CID, location
// and links: memory bounded by the part size and the number of blocks,
// not the dataset's size. The dataset stays on disk in the returned
// Stored, whose files the caller removes (CachePath) when done.
func (f *Fetcher) FetchToDisk(ctx context.Context, loc Located) (*Stored, error) {
	dir := f.CachePath(loc)
	if dir == "" {
		return nil, errors.New("fetch: FetchToDisk needs Options.CacheDir")
	}
	out := &Stored{Located: loc, Dir: dir, index: map[cid.Cid]blockAt{}, sizes: make([]int64, len(loc.Manifest.Parts))}
	var err error
	out.Fetched, out.Cached, err = f.checkParts(ctx, loc, func(i int, data []byte, pbs []dataset.PartBlock) error {
		for _, pb := range pbs {
			out.index[pb.Cid] = blockAt{part: i, off: int64(pb.Offset), size: len(pb.Data)}
		}
		out.sizes[i] = int64(len(data))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Report is what Verify found.
type Report struct {
	Located
	// Bad lists the parts that failed their checks, by index; every
	// other part passed them.
	Bad []*PartError
	// Whole is the failure of the checks of the dataset as a whole (the
	// manifest's counts, the DAG from the root), which run only when no
	// part is bad; nil if they passed.
	Whole error
}

// Err is nil if the dataset verified, else the bad parts' errors and the
// whole dataset's, joined.
func (r *Report) Err() error {
	errs := make([]error, 0, len(r.Bad)+1)
	for _, e := range r.Bad {
		errs = append(errs, e)
	}
	return errors.Join(append(errs, r.Whole)...)
}

// Verify reads every part of loc's manifest from the Node, never from the
// cache, and checks each as FetchToDisk does, going on past a bad part so
// that the Report names every bad part and only those. It holds one part
// in memory at a time, plus each block's CID and links. The error is ctx's when
// it ends; every other failure is in the Report.
func (f *Fetcher) Verify(ctx context.Context, loc Located) (*Report, error) {
	rep := &Report{Located: loc}
	c := newChecker(loc)
	for i, p := range loc.Manifest.Parts {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("part %d: %w", i, ctx.Err())
		}
		data, err := f.fetchPart(ctx, loc.Namespace, p)
		if err == nil {
			_, err = c.add(data)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("part %d: %w", i, ctx.Err())
		}
		if err != nil {
			rep.Bad = append(rep.Bad, &PartError{Index: i, Height: p.Height, Commitment: p.Commitment, Err: err})
		}
	}
	if len(rep.Bad) == 0 {
		rep.Whole = c.whole(ctx)
	}
	return rep, nil
}

// checker checks a dataset's parts in order and then the whole. It holds
// no block data: the CIDs of the blocks seen, the links of the dag-pb
// ones (or why they do not decode) and the counts.
type checker struct {
	loc           Located
	links         map[cid.Cid][]cid.Cid // every block seen: its links
	malformed     map[cid.Cid]error     // dag-pb blocks that do not decode
	nblocks, size uint64
}

func newChecker(loc Located) *checker {
	return &checker{loc: loc, links: map[cid.Cid][]cid.Cid{}, malformed: map[cid.Cid]error{}}
}

// add checks data as the next part and returns its blocks (aliasing
// data); a part that fails adds none.
func (c *checker) add(data []byte) ([]dataset.PartBlock, error) {
	pbs, err := dataset.DecodePart(data, c.loc.Manifest.Root, share.MaxBlobSize)
	if err != nil {
		return nil, err
	}
	links := make([][]cid.Cid, len(pbs))
	bad := map[cid.Cid]error{}
	var size uint64
	for i, pb := range pbs {
		if _, dup := c.links[pb.Cid]; dup {
			return nil, fmt.Errorf("block %s is in an earlier part too", pb.Cid)
		}
		// DecodePart refused a block twice in one part.
		if links[i], err = dataset.Links(pb.Cid, pb.Data); err != nil {
			// Reported by whole if the block is in the DAG.
			bad[pb.Cid] = err
		}
		size += uint64(len(pb.Data))
	}
	for i, pb := range pbs {
		c.links[pb.Cid] = links[i]
	}
	for k, e := range bad {
		c.malformed[k] = e
	}
	c.nblocks += uint64(len(pbs))
	c.size += size
	return pbs, nil
}

// whole checks the counts and the DAG once every part is added: a
// depth-first walk from the root over the blocks' links reaches only
// blocks of the parts, each a dag-pb block that decodes or a raw one, and
// all of them.
func (c *checker) whole(ctx context.Context) error {
	m := c.loc.Manifest
	if c.nblocks != m.Blocks || c.size != m.Size {
		return fmt.Errorf("the parts hold %d blocks of %d bytes, the manifest says %d blocks of %d bytes", c.nblocks, c.size, m.Blocks, m.Size)
	}
	seen := make(map[cid.Cid]struct{}, len(c.links))
	stack := []cid.Cid{m.Root}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("the DAG of %s: %w", m.Root, err)
		}
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := seen[k]; ok {
			continue
		}
		seen[k] = struct{}{}
		links, ok := c.links[k]
		if !ok {
			return fmt.Errorf("the DAG of %s: %w: %s is in no part", m.Root, dataset.ErrMissingBlock, k)
		}
		if err := c.malformed[k]; err != nil {
			return fmt.Errorf("the DAG of %s: %w", m.Root, err)
		}
		stack = append(stack, links...)
	}
	if uint64(len(seen)) != m.Blocks {
		return fmt.Errorf("the DAG of %s has %d blocks, the parts hold %d", m.Root, len(seen), m.Blocks)
	}
	return nil
}

// CachePath is the directory where Fetch caches the parts of loc's
// dataset ("" without Options.CacheDir): a directory of the manifest's
// CID under CacheDir. The caller removes it when done with the dataset.
func (f *Fetcher) CachePath(loc Located) string {
	if f.opts.CacheDir == "" {
		return ""
	}
	return filepath.Join(f.opts.CacheDir, loc.CID.String())
}

// cachedPart returns the bytes of part i, from the cache or else from the
// Node (then cached), and whether they came from the cache.
func (f *Fetcher) cachedPart(ctx context.Context, loc Located, i int, p dataset.PartRef) ([]byte, bool, error) {
	dir := f.CachePath(loc)
	path := filepath.Join(dir, strconv.Itoa(i)+".car")
	if dir != "" {
		if data, err := readLimited(path, share.MaxBlobSize); err == nil && commitmentOf(loc.Namespace, data, p.Commitment) == nil {
			return data, true, nil
		}
	}
	data, err := f.fetchPart(ctx, loc.Namespace, p)
	if err != nil {
		return nil, false, err
	}
	if dir != "" {
		if err := atomicfile.Write(path, data, 0o600); err != nil {
			return nil, false, fmt.Errorf("cache: %w", err)
		}
	}
	if f.opts.AfterFetch != nil {
		f.opts.AfterFetch(i)
	}
	return data, false, nil
}

// fetchPart reads part p from the Node and checks its commitment.
func (f *Fetcher) fetchPart(ctx context.Context, ns share.Namespace, p dataset.PartRef) ([]byte, error) {
	cctx, cancel := f.call(ctx)
	data, err := f.node.GetBlob(cctx, p.Height, ns, p.Commitment)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("blob.Get: %w", err)
	}
	if err := commitmentOf(ns, data, p.Commitment); err != nil {
		return nil, err
	}
	return data, nil
}

// commitmentOf checks that data, as a blob of ns, has commitment want.
func commitmentOf(ns share.Namespace, data []byte, want []byte) error {
	b, err := share.NewBlob(ns, data, share.ShareVersionZero, nil)
	if err != nil {
		return fmt.Errorf("the blob's data: %w", err)
	}
	got, err := b.Commitment()
	if err != nil {
		return fmt.Errorf("the blob's data: %w", err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("the blob's data has commitment %x, the manifest lists %x", got, want)
	}
	return nil
}

// readLimited reads the file at path if it holds at most max bytes.
func readLimited(path string, max int) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > int64(max) {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", path, fi.Size(), max)
	}
	return os.ReadFile(path)
}

// memBlockstore returns an empty in-memory blockstore, safe for
// concurrent use.
func memBlockstore() blockstore.Blockstore {
	return blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
}
