package serve_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"

	"github.com/datamesh/mesh-node/dataset"
)

const mib = 1 << 20

func newStore() blockstore.Blockstore {
	return blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
}

// testDataset is a file imported with dataset.ImportReader into an
// in-memory blockstore.
type testDataset struct {
	data   []byte
	root   cid.Cid
	store  blockstore.Blockstore
	blocks []blocks.Block // depth-first, each once: the order of ipfs dag export
}

func newDataset(t *testing.T, size int, seed uint64) testDataset {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 16))
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	ctx := context.Background()
	bs := newStore()
	root, err := dataset.ImportReader(ctx, bs, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	ds := testDataset{data: data, root: root, store: bs}
	if err := dataset.Walk(ctx, bs, root, func(b blocks.Block) error {
		ds.blocks = append(ds.blocks, b)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ds
}

// export is the CARv1 of the whole DAG as `ipfs dag export` writes it:
// dataset.CARHeader(root) followed by the sections of the parts
// dataset.Pack makes.
func (ds testDataset) export(t *testing.T) []byte {
	t.Helper()
	header, err := dataset.CARHeader(ds.root)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte(nil), header...)
	if _, err := dataset.Pack(context.Background(), ds.store, ds.root, 2*mib, func(p dataset.Part) error {
		out = append(out, p.Data[len(header):]...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// carOf is a CARv1 of root holding bs, in that order.
func carOf(t *testing.T, root cid.Cid, bs ...blocks.Block) []byte {
	t.Helper()
	out, err := dataset.CARHeader(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		c := b.Cid().Bytes()
		out = binary.AppendUvarint(out, uint64(len(c)+len(b.RawData())))
		out = append(append(out, c...), b.RawData()...)
	}
	return out
}
