package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/dataset/fetch"
	"github.com/datamesh/mesh-node/internal/heappeak"
	"github.com/datamesh/mesh-node/share"
)

// errNoNode is what cachedOnly answers: the test's dataset is all in the
// cache, so any call to the node is a failure.
var errNoNode = errors.New("test: the node was called")

// cachedOnly is a fetch.Node that fails every call.
type cachedOnly struct{}

func (cachedOnly) GetBlob(context.Context, uint64, share.Namespace, []byte) ([]byte, error) {
	return nil, errNoNode
}

func (cachedOnly) GetBlobs(context.Context, uint64, share.Namespace) ([][]byte, error) {
	return nil, errNoNode
}

func (cachedOnly) ManifestBlob(context.Context, cid.Cid) (uint64, share.Namespace, []byte, error) {
	return 0, share.Namespace{}, nil, errNoNode
}

// fileSum is the sha256 of the file at path, read as a stream.
func fileSum(t *testing.T, path string) ([32]byte, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil)), n
}

// TestDatasetGetBoundedMemory checks dataset get's path on a 64 MiB
// dataset whose parts are all in the cache: FetchToDisk checks them and
// writeDataset writes the file and the CAR from the part files, while the
// in-use heap is sampled (heappeak, at GOGC=20). What stays live is one
// part (2 MiB here) and the blocks boxo's UnixFS reader prefetches (10 to
// 15 children of a node, 1 MiB each): about 17 MiB whatever the dataset's
// size, measured at 16 to 22 MiB with garbage. Holding the dataset, as
// Fetch did, keeps 64 MiB live. The bound, 40 MiB, fails the latter by
// 24 MiB and leaves the former 18 MiB of margin.
func TestDatasetGetBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 320 MiB")
	}
	const (
		size    = 64 << 20
		maxPart = 2 << 20
		bound   = 40 << 20
	)
	ctx := context.Background()
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.NewChaCha8([32]byte{9}), size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	bs, err := dataset.NewDiskBlockstore(filepath.Join(tmp, "blocks"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := dataset.Import(ctx, bs, src)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := dataset.DefaultNamespace(root)
	if err != nil {
		t.Fatal(err)
	}
	// Pack the parts into what a get's cache holds once every part is
	// fetched: <cache>/<manifest CID>/<index>.car.
	staging := filepath.Join(tmp, "staging")
	if err := os.Mkdir(staging, 0o700); err != nil {
		t.Fatal(err)
	}
	var refs []dataset.PartRef
	sum, err := dataset.Pack(ctx, bs, root, maxPart, func(p dataset.Part) error {
		b, err := share.NewBlob(ns, p.Data, share.ShareVersionZero, nil)
		if err != nil {
			return err
		}
		com, err := b.Commitment()
		if err != nil {
			return err
		}
		refs = append(refs, dataset.PartRef{Height: 10 + uint64(p.Index), Commitment: com})
		return os.WriteFile(filepath.Join(staging, strconv.Itoa(p.Index)+".car"), p.Data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	mdata, mcid, err := dataset.ManifestFor(root, sum.Size, sum.Blocks, refs)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := dataset.DecodeManifest(mdata, share.MaxBlobSize)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(tmp, "cache")
	if err := os.Mkdir(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(staging, filepath.Join(cache, mcid.String())); err != nil {
		t.Fatal(err)
	}
	loc := fetch.Located{Manifest: m, CID: mcid, Namespace: ns, Height: 10 + uint64(len(refs))}
	fr, err := fetch.New(cachedOnly{}, fetch.Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}

	out, outCAR := filepath.Join(tmp, "out"), filepath.Join(tmp, "out.car")
	stop := heappeak.Start()
	got, err := fr.FetchToDisk(ctx, loc)
	if err == nil {
		err = writeDataset(ctx, out, got, false)
	}
	if err == nil {
		err = writeDataset(ctx, outCAR, got, true)
	}
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	if got.Cached != len(refs) || got.Fetched != 0 {
		t.Fatalf("%d parts cached, %d fetched; want all %d cached", got.Cached, got.Fetched, len(refs))
	}
	if want, _ := fileSum(t, src); func() bool { s, n := fileSum(t, out); return s != want || n != size }() {
		t.Fatal("the written file differs from the source")
	}
	if _, n := fileSum(t, outCAR); uint64(n) != sum.CARSize {
		t.Fatalf("the CAR has %d bytes, the DAG's export %d", n, sum.CARSize)
	}
	t.Logf("heap in use peaked %.1f MiB above the start checking and writing %d MiB from the cache", float64(peak)/(1<<20), size>>20)
	if peak > bound {
		t.Fatalf("heap in use peaked %d bytes above the start, more than %d", peak, bound)
	}
}
