package dataset_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	mdag "github.com/ipfs/boxo/ipld/merkledag"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	ipld "github.com/ipfs/go-ipld-format"
	car "github.com/ipld/go-car/v2"
	_ "github.com/ipld/go-codec-dagpb" // registers dag-pb for the go-car oracle
	_ "github.com/ipld/go-ipld-prime/codec/raw"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/linking"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	selectorparse "github.com/ipld/go-ipld-prime/traversal/selector/parse"

	"github.com/datamesh/mesh-node/dataset"
)

const (
	mib = 1 << 20
	// devnetMaxBlob is the max_blob_size of a devnet chain.
	devnetMaxBlob = 2 * mib
)

func newStore() blockstore.Blockstore {
	return blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
}

func dagServ(bs blockstore.Blockstore) ipld.DAGService {
	return mdag.NewDAGService(blockservice.New(bs, nil))
}

// randBytes returns n deterministic pseudo-random bytes.
func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 16))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// packAll packs the DAG under root and returns its parts.
func packAll(t *testing.T, bs blockstore.Blockstore, root cid.Cid, maxPart int) ([]dataset.Part, dataset.Summary) {
	t.Helper()
	var parts []dataset.Part
	sum, err := dataset.Pack(context.Background(), bs, root, maxPart, func(p dataset.Part) error {
		parts = append(parts, p)
		return nil
	})
	if err != nil {
		t.Fatalf("Pack(%s, %d): %v", root, maxPart, err)
	}
	if sum.Parts != len(parts) {
		t.Fatalf("summary says %d parts, %d emitted", sum.Parts, len(parts))
	}
	for i, p := range parts {
		if p.Index != i {
			t.Fatalf("part %d has index %d", i, p.Index)
		}
		if len(p.Data) > maxPart {
			t.Fatalf("part %d is %d bytes, the limit is %d", i, len(p.Data), maxPart)
		}
	}
	return parts, sum
}

// goCarExport is the oracle: the CARv1 go-car's TraverseV1 writes for the
// DAG under root, as `ipfs dag export` calls it.
func goCarExport(t *testing.T, bs blockstore.Blockstore, root cid.Cid) []byte {
	t.Helper()
	lsys := cidlink.DefaultLinkSystem()
	lsys.StorageReadOpener = func(lc linking.LinkContext, l datamodel.Link) (io.Reader, error) {
		b, err := bs.Get(lc.Ctx, l.(cidlink.Link).Cid)
		if err != nil {
			return nil, err
		}
		return bytes.NewReader(b.RawData()), nil
	}
	var out bytes.Buffer
	if _, err := car.TraverseV1(context.Background(), &lsys, root, selectorparse.CommonSelector_ExploreAllRecursively, &out, car.AllowDuplicatePuts(false)); err != nil {
		t.Fatalf("go-car export of %s: %v", root, err)
	}
	return out.Bytes()
}

// joinParts returns CARHeader(root) followed by every part's sections.
func joinParts(t *testing.T, root cid.Cid, parts []dataset.Part) []byte {
	t.Helper()
	header, err := dataset.CARHeader(root)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte(nil), header...)
	for i, p := range parts {
		if !bytes.HasPrefix(p.Data, header) {
			t.Fatalf("part %d does not start with the root's CAR header", i)
		}
		out = append(out, p.Data[len(header):]...)
	}
	return out
}

// unpack decodes every part into a fresh store and returns it.
func unpack(t *testing.T, root cid.Cid, parts []dataset.Part, maxPart int) blockstore.Blockstore {
	t.Helper()
	bs := newStore()
	ctx := context.Background()
	for i, p := range parts {
		decoded, err := dataset.DecodePart(p.Data, root, maxPart)
		if err != nil {
			t.Fatalf("DecodePart(part %d): %v", i, err)
		}
		if len(decoded) != p.Blocks {
			t.Fatalf("part %d: decoded %d blocks, Pack said %d", i, len(decoded), p.Blocks)
		}
		for _, b := range decoded {
			if !bytes.Equal(p.Data[b.Offset:b.Offset+len(b.Data)], b.Data) {
				t.Fatalf("part %d: block %s: offset %d does not locate its data", i, b.Cid, b.Offset)
			}
			blk, err := blocks.NewBlockWithCid(b.Data, b.Cid)
			if err != nil {
				t.Fatal(err)
			}
			if err := bs.Put(ctx, blk); err != nil {
				t.Fatal(err)
			}
		}
	}
	return bs
}

// readFile reads the UnixFS file under c from bs with boxo's DAG reader.
func readFile(t *testing.T, bs blockstore.Blockstore, c cid.Cid) []byte {
	t.Helper()
	ctx := context.Background()
	ds := dagServ(bs)
	nd, err := ds.Get(ctx, c)
	if err != nil {
		t.Fatalf("get %s: %v", c, err)
	}
	r, err := uio.NewDagReader(ctx, nd, ds)
	if err != nil {
		t.Fatalf("reader of %s: %v", c, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", c, err)
	}
	return b
}
