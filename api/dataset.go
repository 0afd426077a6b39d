package api

import (
	"context"
	"errors"
	"fmt"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/datamesh/mesh-node/blob"
	dsstore "github.com/datamesh/mesh-node/dataset/store"
	"github.com/datamesh/mesh-node/share"
)

// DatasetIndex is what the dataset module reads: *store.Catalog of
// package dataset/store (the index, then what the pins recorded).
type DatasetIndex interface {
	// Manifest returns the newest manifest of a manifest CID or a
	// dataset root, or an error wrapping store.ErrManifestNotFound.
	Manifest(ctx context.Context, c cid.Cid) (dsstore.ManifestRecord, error)
	// Locate returns where block c is, newest first (none if unknown).
	Locate(ctx context.Context, c cid.Cid) ([]dsstore.Location, error)
	// Has reports whether block c is held (pinned or located).
	Has(ctx context.Context, c cid.Cid) (bool, error)
	// List returns the manifests from height from on, at most limit.
	List(ctx context.Context, from uint64, limit int) ([]dsstore.ManifestRecord, error)
	// NotFound returns a "not found" error with what the node knows of
	// why (the height it pruned below); other errors as they are.
	NotFound(ctx context.Context, err error) error
}

// DatasetBlocks is what the dataset module reads blocks through:
// *store.Blockstore.
type DatasetBlocks interface {
	// Get returns block c, hash-checked, or ipld.ErrNotFound.
	Get(ctx context.Context, c cid.Cid) (blocks.Block, error)
}

// DatasetLocation is where a block is: the blob (height, namespace,
// commitment) of a dataset part or manifest and the block's bytes in the
// blob's data, [offset, offset+length).
type DatasetLocation struct {
	Height     uint64          `json:"height"`
	Namespace  share.Namespace `json:"namespace"`
	Commitment blob.Commitment `json:"commitment"`
	Offset     int             `json:"offset"`
	Length     int             `json:"length"`
	// Pinned: the node keeps the block in its pinned store ([dataset]
	// pin) and serves it from there even once the height is pruned.
	Pinned bool `json:"pinned,omitempty"`
}

// DatasetPart is a manifest's reference to a part.
type DatasetPart struct {
	Height     uint64          `json:"height"`
	Commitment blob.Commitment `json:"commitment"`
}

// DatasetManifest is an indexed manifest: its CID, the dataset's root,
// size (bytes of block data), block count and parts as the manifest says
// (not checked against the chain), and where the manifest's block is.
type DatasetManifest struct {
	CID      string          `json:"cid"`
	Root     string          `json:"root"`
	Size     uint64          `json:"size"`
	Blocks   uint64          `json:"blocks"`
	Parts    []DatasetPart   `json:"parts"`
	Location DatasetLocation `json:"location"`
}

func datasetLocation(l dsstore.Location) DatasetLocation {
	return DatasetLocation{Height: l.Height, Namespace: l.Namespace, Commitment: l.Commitment, Offset: l.Offset, Length: l.Length,
		Pinned: l.Pinned}
}

func datasetManifest(r dsstore.ManifestRecord) *DatasetManifest {
	m := &DatasetManifest{CID: r.CID.String(), Root: r.Manifest.Root.String(), Size: r.Manifest.Size,
		Blocks: r.Manifest.Blocks, Parts: make([]DatasetPart, len(r.Manifest.Parts)), Location: datasetLocation(r.Location)}
	for i, p := range r.Manifest.Parts {
		m.Parts[i] = DatasetPart{Height: p.Height, Commitment: p.Commitment}
	}
	return m
}

// ErrInvalidCID wraps a CID parameter that does not parse.
var ErrInvalidCID = errors.New("dataset: invalid CID")

// DatasetModule is the "dataset" RPC module (every method read; not in
// celestia-node): the dataset index of a bridge or full node. On a node
// without one (a light node) every method answers store.ErrNoIndex. CIDs
// are strings (any multibase). Once the node halts on a bad-encoding proof
// (ModuleOptions.Halt), what was posted at or above the proven block is
// refused with the halt's error.
type DatasetModule struct {
	index  DatasetIndex
	blocks DatasetBlocks
	lim    *Limiter
	halt   Halt
}

// datasetMethods is the dataset module's table (see rpcTable).
var datasetMethods = rpcTable{namespace: "dataset", methods: map[string]rpcMethod{
	"GetManifest": {perm: PermRead},
	"Locate":      {perm: PermRead},
	"Has":         {perm: PermRead},
	"GetBlock":    {perm: PermRead, cost: costHeavy},
	"List":        {perm: PermRead},
}}

func (*DatasetModule) rpcTable() *rpcTable { return &datasetMethods }

// NewDatasetModule returns the dataset module over index and blocks; with
// either nil (a light node) every call answers store.ErrNoIndex.
// opts.Limiter bounds GetBlock, which reads a blob; opts.Halt refuses what
// a bad-encoding proof stops.
func NewDatasetModule(index DatasetIndex, blocks DatasetBlocks, opts ModuleOptions) *DatasetModule {
	if index == nil || blocks == nil {
		index, blocks = nil, nil
	}
	return &DatasetModule{index: index, blocks: blocks, lim: opts.Limiter, halt: checkHalt(opts.Halt)}
}

// parseCID parses a CID parameter of a call to a module with an index;
// it answers store.ErrNoIndex on a module without one.
func (m *DatasetModule) parseCID(s string) (cid.Cid, error) {
	if m.index == nil {
		return cid.Undef, dsstore.ErrNoIndex
	}
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w %q: %v", ErrInvalidCID, s, err)
	}
	return c, nil
}

// GetManifest (dataset.GetManifest, read) returns the newest indexed
// manifest of c, a manifest's CID or a dataset's root CID, or the one
// recorded when its dataset was pinned (location.pinned); a message
// starting with store.ErrManifestNotFound's if there is none, which names
// the height the node pruned below if it pruned.
func (m *DatasetModule) GetManifest(ctx context.Context, c string) (*DatasetManifest, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	id, err := m.parseCID(c)
	if err != nil {
		return nil, err
	}
	r, err := m.index.Manifest(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := haltErr(m.halt, r.Location.Height); err != nil {
		return nil, err
	}
	return datasetManifest(r), nil
}

// Locate (dataset.Locate, read) returns where block c is, newest height
// first, at most store.MaxLocations entries; for a pinned block, with
// pinned set, where it was published as recorded when it was pinned (the
// height may be pruned); an empty list for a CID the node does not hold.
func (m *DatasetModule) Locate(ctx context.Context, c string) ([]DatasetLocation, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	id, err := m.parseCID(c)
	if err != nil {
		return nil, err
	}
	locs, err := m.index.Locate(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]DatasetLocation, 0, len(locs))
	for _, l := range locs {
		if haltErr(m.halt, l.Height) == nil {
			out = append(out, datasetLocation(l))
		}
	}
	return out, nil
}

// Has (dataset.Has, read) reports whether block c is pinned or the index
// locates it (below the halted height, if the node halted). It reads no
// blob.
func (m *DatasetModule) Has(ctx context.Context, c string) (bool, error) {
	if err := requirePerm(ctx, m); err != nil {
		return false, err
	}
	id, err := m.parseCID(c)
	if err != nil {
		return false, err
	}
	if m.halt == nil {
		return m.index.Has(ctx, id)
	}
	locs, err := m.index.Locate(ctx, id)
	if err != nil {
		return false, err
	}
	return len(locs) > 0 && haltErr(m.halt, locs[len(locs)-1].Height) == nil, nil
}

// GetBlock (dataset.GetBlock, read, heavy) returns the bytes of block c
// (base64 in JSON), read from the node's pinned store or its squares and
// checked against c; ipld.ErrNotFound's message ("ipld: could not find
// <cid>"), with the height the node pruned below if it pruned, for a
// block the node does not hold. It refuses, once the node halts, a block located
// only at or above the proven height.
func (m *DatasetModule) GetBlock(ctx context.Context, c string) ([]byte, error) {
	done, err := enter(ctx, m, m.lim)
	if err != nil {
		return nil, err
	}
	defer done()
	id, err := m.parseCID(c)
	if err != nil {
		return nil, err
	}
	if m.halt != nil {
		locs, err := m.index.Locate(ctx, id)
		if err != nil {
			return nil, err
		}
		if len(locs) > 0 {
			if err := haltErr(m.halt, locs[len(locs)-1].Height); err != nil {
				return nil, err
			}
		}
	}
	b, err := m.blocks.Get(ctx, id)
	if err != nil {
		return nil, m.index.NotFound(ctx, err)
	}
	return b.RawData(), nil
}

// List (dataset.List, read) returns the indexed manifests of heights from
// from on, and those recorded for the pinned datasets (at the heights they
// were published, location.pinned), each once, by height then commitment, at most limit (1 to
// store.MaxListLimit). A page ends on a whole height (unless one height
// alone exceeds limit), so the next page starts at the last height + 1;
// an empty list means no more.
func (m *DatasetModule) List(ctx context.Context, from uint64, limit int) ([]*DatasetManifest, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	if m.index == nil {
		return nil, dsstore.ErrNoIndex
	}
	recs, err := m.index.List(ctx, from, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*DatasetManifest, 0, len(recs))
	for _, r := range recs {
		if haltErr(m.halt, r.Location.Height) != nil {
			break
		}
		out = append(out, datasetManifest(r))
	}
	return out, nil
}
