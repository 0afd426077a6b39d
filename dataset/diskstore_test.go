package dataset_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"

	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/internal/heappeak"
)

// rawBlock is a raw block of data with its dataset CID.
func rawBlock(t testing.TB, data []byte) blocks.Block {
	t.Helper()
	c, err := cid.V1Builder{Codec: cid.Raw, MhType: mh.SHA2_256}.Sum(data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := blocks.NewBlockWithCid(data, c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newDiskStore(t testing.TB) *dataset.DiskBlockstore {
	t.Helper()
	s, err := dataset.NewDiskBlockstore(filepath.Join(t.TempDir(), "blocks"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDiskBlockstoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newDiskStore(t)
	b := rawBlock(t, randBytes(1, 5000))
	if has, err := s.Has(ctx, b.Cid()); err != nil || has {
		t.Fatalf("Has before Put: %v %v", has, err)
	}
	if _, err := s.Get(ctx, b.Cid()); !ipld.IsNotFound(err) {
		t.Fatalf("Get of a missing block: %v", err)
	}
	if _, err := s.GetSize(ctx, b.Cid()); !ipld.IsNotFound(err) {
		t.Fatalf("GetSize of a missing block: %v", err)
	}
	if err := s.Put(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, b); err != nil { // again: kept
		t.Fatal(err)
	}
	got, err := s.Get(ctx, b.Cid())
	if err != nil || !got.Cid().Equals(b.Cid()) || string(got.RawData()) != string(b.RawData()) {
		t.Fatalf("Get: %v", err)
	}
	if n, err := s.GetSize(ctx, b.Cid()); err != nil || n != 5000 {
		t.Fatalf("GetSize: %d %v", n, err)
	}
	if has, err := s.Has(ctx, b.Cid()); err != nil || !has {
		t.Fatalf("Has: %v %v", has, err)
	}
	// A second store over the same directory sees the block.
	again, err := dataset.NewDiskBlockstore(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Get(ctx, b.Cid()); err != nil {
		t.Fatalf("Get through a second store: %v", err)
	}
	if err := s.DeleteBlock(ctx, b.Cid()); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBlock(ctx, b.Cid()); err != nil {
		t.Fatalf("DeleteBlock of a missing block: %v", err)
	}
	if _, err := s.Get(ctx, b.Cid()); !ipld.IsNotFound(err) {
		t.Fatalf("Get after DeleteBlock: %v", err)
	}
	if _, err := s.Get(ctx, cid.Undef); !ipld.IsNotFound(err) {
		t.Fatalf("Get of cid.Undef: %v", err)
	}
}

func TestDiskBlockstoreRefuses(t *testing.T) {
	ctx := context.Background()
	s := newDiskStore(t)
	v0, err := cid.V0Builder{}.Sum([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := blocks.NewBlockWithCid([]byte("x"), v0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, b); !errors.Is(err, dataset.ErrUnsupportedCID) {
		t.Errorf("Put of a CIDv0 block: %v", err)
	}
	if err := s.Put(ctx, rawBlock(t, make([]byte, dataset.MaxBlockSize+1))); !errors.Is(err, dataset.ErrTooLarge) {
		t.Errorf("Put of an oversized block: %v", err)
	}
	if _, err := dataset.NewDiskBlockstore(""); err == nil {
		t.Error("NewDiskBlockstore(\"\") succeeded")
	}
}

func TestDiskBlockstoreCorruptFile(t *testing.T) {
	ctx := context.Background()
	s := newDiskStore(t)
	b := rawBlock(t, randBytes(2, 3000))
	if err := s.Put(ctx, b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.Dir(), b.Cid().String())
	data := append([]byte(nil), b.RawData()...)
	data[100] ^= 1
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, b.Cid()); !errors.Is(err, dataset.ErrHashMismatch) {
		t.Fatalf("Get of a changed file: %v", err)
	}
	if err := os.WriteFile(path, data[:10], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, b.Cid()); !errors.Is(err, dataset.ErrHashMismatch) {
		t.Fatalf("Get of a truncated file: %v", err)
	}
	if err := os.WriteFile(path, make([]byte, dataset.MaxBlockSize+10), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, b.Cid()); !errors.Is(err, dataset.ErrTooLarge) {
		t.Fatalf("Get of an oversized file: %v", err)
	}
}

func TestDiskBlockstoreConcurrent(t *testing.T) {
	ctx := context.Background()
	s := newDiskStore(t)
	const n = 64
	blks := make([]blocks.Block, n)
	for i := range blks {
		blks[i] = rawBlock(t, randBytes(uint64(i), 100+i*37))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for w := range 4 {
		wg.Go(func() {
			// Every writer puts every block (the same blocks race), and
			// reads back the ones it put.
			for i := range n {
				b := blks[(i+w*16)%n]
				if err := s.Put(ctx, b); err != nil {
					errs <- err
					return
				}
				got, err := s.Get(ctx, b.Cid())
				if err != nil {
					errs <- err
					return
				}
				if string(got.RawData()) != string(b.RawData()) {
					errs <- fmt.Errorf("block %s read back wrong", b.Cid())
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	keys, err := s.AllKeysChan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[cid.Cid]bool{}
	for c := range keys {
		if got[c] {
			t.Errorf("AllKeysChan sent %s twice", c)
		}
		got[c] = true
	}
	if len(got) != n {
		t.Fatalf("AllKeysChan sent %d keys, want %d", len(got), n)
	}
	for _, b := range blks {
		if !got[b.Cid()] {
			t.Errorf("AllKeysChan did not send %s", b.Cid())
		}
	}
}

func TestDiskBlockstoreAllKeysChan(t *testing.T) {
	s := newDiskStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 300 { // more than a directory read's batch
		if err := s.Put(ctx, rawBlock(t, []byte(fmt.Sprint(i)))); err != nil {
			t.Fatal(err)
		}
	}
	// A leftover temporary file and a stray file are not blocks.
	for _, name := range []string{".tmp-123", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := s.AllKeysChan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range keys {
		n++
	}
	if n != 300 {
		t.Fatalf("AllKeysChan sent %d keys, want 300", n)
	}
	// A cancelled context closes the channel before the end.
	keys, err = s.AllKeysChan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-keys
	cancel()
	n = 1
	for range keys {
		n++
	}
	if n >= 300 {
		t.Fatalf("AllKeysChan sent all %d keys after its context was cancelled", n)
	}
}

// writeRandomFile writes size seeded pseudo-random bytes to path a MiB at
// a time.
func writeRandomFile(t testing.TB, path string, seed uint64, size int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var key [32]byte
	key[0] = byte(seed)
	if _, err := io.CopyN(f, rand.NewChaCha8(key), int64(size)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestDiskBlockstoreBoundedMemory imports a 64 MiB file into a
// DiskBlockstore and packs it, and checks that the in-use heap (sampled by
// heappeak, at GOGC=20) never grew by more than 32 MiB meanwhile. What is
// live is a chunk or two (1 MiB each), the importer's open nodes and one
// part (2 MiB here): measured at 7 to 9 MiB with garbage. An in-memory
// store keeps all 64 MiB live (measured: 142 MiB at GOGC=100). The bound,
// half the dataset, fails the latter and leaves the former a wide margin.
func TestDiskBlockstoreBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 128 MiB")
	}
	const size = 64 * mib
	const bound = 32 * mib
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "big")
	writeRandomFile(t, path, 7, size)
	s := newDiskStore(t)
	stop := heappeak.Start()
	root, err := dataset.Import(ctx, s, path)
	if err != nil {
		stop()
		t.Fatal(err)
	}
	var parts int
	sum, err := dataset.Pack(ctx, s, root, devnetMaxBlob, func(p dataset.Part) error {
		parts++
		return nil
	})
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Size < size || sum.Parts != parts || parts < 32 {
		t.Fatalf("packed %d bytes in %d parts (%d emitted)", sum.Size, sum.Parts, parts)
	}
	t.Logf("heap in use peaked %.1f MiB above the start importing and packing %d MiB", float64(peak)/mib, size/mib)
	if peak > bound {
		t.Fatalf("heap in use peaked %d bytes above the start, more than %d", peak, bound)
	}
}
