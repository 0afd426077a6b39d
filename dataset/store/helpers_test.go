package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/share"
)

// fileData is deterministic content of n bytes.
func fileData(seed, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed*2654435761 + 1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// smallDataset imports a directory of files small enough that several
// blocks share a part, packs it into parts of at most maxPart bytes, and
// returns the DAG's blocks too.
func smallDataset(t *testing.T, seed, files, maxPart int) (cid.Cid, []dataset.Part, dataset.Summary, blockstore.Blockstore) {
	t.Helper()
	dir := t.TempDir()
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d", i)), fileData(seed*100+i, 300+97*i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bs := blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	root, err := dataset.Import(context.Background(), bs, dir)
	if err != nil {
		t.Fatal(err)
	}
	var parts []dataset.Part
	sum, err := dataset.Pack(context.Background(), bs, root, maxPart, func(p dataset.Part) error {
		parts = append(parts, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	return root, parts, sum, bs
}

func newBlob(t *testing.T, ns share.Namespace, data []byte) (*share.Blob, []byte) {
	t.Helper()
	b, err := share.NewBlob(ns, data, share.ShareVersionZero, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Commitment()
	if err != nil {
		t.Fatal(err)
	}
	return b, c
}

// square builds a square holding blobs, one PayForBlobs each.
func square(t *testing.T, blobs ...*share.Blob) *eds.ExtendedDataSquare {
	t.Helper()
	var txs [][]byte
	for i, b := range blobs {
		tx, err := share.MarshalBlobTx(fmt.Appendf(nil, "pfb %d", i), b)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	txs = append(txs, []byte("transfer"))
	return edstest.BuildEDS(t, txs, share.SquareSizeUpperBound)
}

// squares is the node's squares in a test: the blob index's SquareSource
// and the blockstore's PartSource (it reads a namespace's blobs by parsing
// the square, as the node does from its stored squares), counting its
// reads.
type squares struct {
	mu        sync.Mutex
	byHeight  map[uint64]*eds.ExtendedDataSquare
	edsReads  []uint64
	blobReads int
	readsAt   map[uint64]int // NamespaceBlobs calls by height
}

var errNoSquare = fmt.Errorf("test: no square")

func (s *squares) EDS(_ context.Context, height uint64) (*eds.ExtendedDataSquare, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.edsReads = append(s.edsReads, height)
	e, ok := s.byHeight[height]
	if !ok {
		return nil, errNoSquare
	}
	return e, nil
}

func (s *squares) NamespaceBlobs(_ context.Context, height uint64, ns share.Namespace) ([][]byte, error) {
	s.mu.Lock()
	s.blobReads++
	s.readsAt[height]++
	e, ok := s.byHeight[height]
	s.mu.Unlock()
	if !ok {
		return nil, blob.ErrBlobNotFound
	}
	parsed, err := share.ParseSquare(e.ODS())
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, p := range parsed.Blobs {
		if p.Blob.Namespace() == ns {
			out = append(out, p.Blob.Data())
		}
	}
	return out, nil
}

func (s *squares) reads() (eds []uint64, blobs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint64(nil), s.edsReads...), s.blobReads
}

// countKeys counts the keys under prefix.
func countKeys(t *testing.T, db *badger.DB, prefix string) int {
	t.Helper()
	n := 0
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
