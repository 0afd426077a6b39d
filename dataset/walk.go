package dataset

import (
	"context"
	"fmt"

	mdag "github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// BlockGetter is where Walk and Pack read a DAG's blocks: a boxo
// blockstore.Blockstore is one. Get returns an error for a block it does
// not have.
type BlockGetter interface {
	Get(ctx context.Context, c cid.Cid) (blocks.Block, error)
}

// Walk calls visit with every block of the DAG under root, each once, in
// depth-first order: a node before its children, children in link order,
// a block met a second time skipped with everything under it. This is the
// order and the set of blocks of `ipfs dag export root` (go-car's
// TraverseV1 over all links, visiting each link once).
//
// Every block is checked before visit sees it: its CID is a dataset CID
// (CIDv1, sha2-256, dag-pb or raw; ErrUnsupportedCID), its data hashes to
// it (ErrHashMismatch), its data is at most MaxBlockSize (ErrTooLarge) and
// a dag-pb block decodes (ErrMalformedBlock). A block src does not have
// fails with ErrMissingBlock. Walk stops at the first error, visit's
// included, and returns it; visit must not keep the block's data past the
// call unless src hands out blocks it may keep.
func Walk(ctx context.Context, src BlockGetter, root cid.Cid, visit func(blocks.Block) error) error {
	seen := map[cid.Cid]struct{}{}
	stack := []cid.Cid{root}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("dataset: walk: %w", err)
		}
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := seen[c]; ok {
			continue
		}
		seen[c] = struct{}{}
		b, links, err := getBlock(ctx, src, c)
		if err != nil {
			return err
		}
		if err := visit(b); err != nil {
			return err
		}
		for i := len(links) - 1; i >= 0; i-- {
			stack = append(stack, links[i])
		}
	}
	return nil
}

// getBlock fetches c from src, checks it as Walk documents and returns it
// with the CIDs it links to, in order.
func getBlock(ctx context.Context, src BlockGetter, c cid.Cid) (blocks.Block, []cid.Cid, error) {
	if err := checkDataCID(c); err != nil {
		return nil, nil, err
	}
	b, err := src.Get(ctx, c)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrMissingBlock, c, err)
	}
	data := b.RawData()
	if len(data) > MaxBlockSize {
		return nil, nil, fmt.Errorf("%w: block %s is %d bytes, the limit is %d", ErrTooLarge, c, len(data), MaxBlockSize)
	}
	if err := verifyBlock(c, data); err != nil {
		return nil, nil, err
	}
	if !b.Cid().Equals(c) {
		// A store keyed by multihash may answer with another codec.
		if b, err = blocks.NewBlockWithCid(data, c); err != nil {
			return nil, nil, fmt.Errorf("dataset: walk: %w", err)
		}
	}
	links, err := Links(c, data)
	if err != nil {
		return nil, nil, err
	}
	return b, links, nil
}

// Links returns the CIDs the block (c, data) links to, in order: none for
// a raw block, a dag-pb block's links otherwise (ErrMalformedBlock if it
// does not decode). It does not check the hash.
func Links(c cid.Cid, data []byte) ([]cid.Cid, error) {
	if c.Prefix().Codec != cid.DagProtobuf {
		return nil, nil
	}
	nd, err := mdag.DecodeProtobuf(data)
	if err != nil {
		return nil, fmt.Errorf("%w: dag-pb block %s: %v", ErrMalformedBlock, c, err)
	}
	links := make([]cid.Cid, len(nd.Links()))
	for i, l := range nd.Links() {
		links[i] = l.Cid
	}
	return links, nil
}
