package serve

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// ErrReadOnly is returned by the servers' view of the caller's blockstore
// for any write or enumeration: they only read (Has, Get, GetSize).
var ErrReadOnly = errors.New("serve: read-only blockstore")

// readOnly is the servers' view of the caller's blockstore: reads only, and
// a block of more than max bytes is reported as not found (a stock IPFS
// peer would refuse it anyway), so that no server hands one out.
type readOnly struct {
	bs  blockstore.Blockstore
	max int
}

var _ blockstore.Blockstore = readOnly{}

func newReadOnly(bs blockstore.Blockstore, maxBlockSize int) (readOnly, error) {
	if bs == nil {
		return readOnly{}, errors.New("serve: nil blockstore")
	}
	if maxBlockSize < 1 {
		return readOnly{}, fmt.Errorf("serve: max block size %d, want >= 1", maxBlockSize)
	}
	return readOnly{bs: bs, max: maxBlockSize}, nil
}

func (r readOnly) Has(ctx context.Context, c cid.Cid) (bool, error) {
	_, err := r.GetSize(ctx, c)
	if ipld.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func (r readOnly) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	n, err := r.bs.GetSize(ctx, c)
	if err != nil {
		return 0, err
	}
	if n > r.max {
		return 0, ipld.ErrNotFound{Cid: c}
	}
	return n, nil
}

func (r readOnly) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	b, err := r.bs.Get(ctx, c)
	if err != nil {
		return nil, err
	}
	if len(b.RawData()) > r.max {
		return nil, ipld.ErrNotFound{Cid: c}
	}
	return b, nil
}

func (readOnly) DeleteBlock(context.Context, cid.Cid) error          { return ErrReadOnly }
func (readOnly) Put(context.Context, blocks.Block) error             { return ErrReadOnly }
func (readOnly) PutMany(context.Context, []blocks.Block) error       { return ErrReadOnly }
func (readOnly) AllKeysChan(context.Context) (<-chan cid.Cid, error) { return nil, ErrReadOnly }
