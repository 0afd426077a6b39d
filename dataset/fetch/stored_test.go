package fetch_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"

	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/dataset/fetch"
)

// FetchToDisk leaves the parts in the cache and serves the dataset from
// there: the CAR is the parts' sections after one header, the blockstore
// has every block (hash-checked on read) and nothing else.
func TestFetchToDisk(t *testing.T) {
	ctx := context.Background()
	n := newMemNode(false)
	p := publish(t, n, 6, 12, 4096)
	f := newFetcher(t, n, fetch.Options{CacheDir: t.TempDir()})
	loc, err := f.LocateAt(ctx, p.root, p.height, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.FetchToDisk(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if s.Fetched != len(p.parts) || s.Cached != 0 || s.Dir != f.CachePath(loc) {
		t.Fatalf("fetched %d, cached %d, in %s", s.Fetched, s.Cached, s.Dir)
	}
	hdr, err := dataset.CARHeader(p.root)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(hdr)
	for i, part := range p.parts {
		got, err := os.ReadFile(s.PartPath(i))
		if err != nil || !bytes.Equal(got, part) {
			t.Fatalf("part %d's file: %v", i, err)
		}
		want = append(want, part[len(hdr):]...)
	}
	var car bytes.Buffer
	if err := s.WriteCAR(&car); err != nil || !bytes.Equal(car.Bytes(), want) {
		t.Fatalf("WriteCAR: %v (%d bytes, want %d)", err, car.Len(), len(want))
	}

	bs := s.Blockstore()
	keys, err := bs.AllKeysChan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var nkeys uint64
	for c := range keys {
		nkeys++
		b, err := bs.Get(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if size, err := bs.GetSize(ctx, c); err != nil || size != len(b.RawData()) {
			t.Fatalf("GetSize(%s) = %d, %v; the block has %d bytes", c, size, err, len(b.RawData()))
		}
	}
	if nkeys != loc.Manifest.Blocks {
		t.Fatalf("AllKeysChan sent %d CIDs, the dataset has %d blocks", nkeys, loc.Manifest.Blocks)
	}
	if has, err := bs.Has(ctx, p.root); err != nil || !has {
		t.Fatalf("Has(root): %v %v", has, err)
	}
	if _, err := bs.Get(ctx, p.manifest); !ipld.IsNotFound(err) {
		t.Fatalf("Get of a block not in the dataset: %v", err)
	}
	if err := bs.DeleteBlock(ctx, p.root); !errors.Is(err, fetch.ErrReadOnly) {
		t.Fatalf("DeleteBlock: %v", err)
	}

	// Run again, the dataset comes from the cache; then a part file
	// changed on disk fails its blocks' reads and the CAR.
	if s, err = f.FetchToDisk(ctx, loc); err != nil || s.Cached != len(p.parts) || s.Fetched != 0 {
		t.Fatalf("from the cache: %v", err)
	}
	if err := s.Blockstore().Put(ctx, nil); !errors.Is(err, fetch.ErrReadOnly) {
		t.Fatalf("Put: %v", err)
	}
	last := len(p.parts) - 1
	bad := bytes.Clone(p.parts[last])
	bad[len(bad)-1] ^= 1
	writeFile(t, s.Dir, strings.TrimPrefix(s.PartPath(last), s.Dir+"/"), bad)
	var failed int
	keys, err = s.Blockstore().AllKeysChan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for c := range keys {
		if _, err := s.Blockstore().Get(ctx, c); err != nil {
			if !errors.Is(err, dataset.ErrHashMismatch) {
				t.Fatalf("Get of a changed block: %v", err)
			}
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d blocks failed their reads, want the one changed", failed)
	}
	writeFile(t, s.Dir, strings.TrimPrefix(s.PartPath(last), s.Dir+"/"), append(bad, 0))
	if err := s.WriteCAR(&car); err == nil || !strings.Contains(err.Error(), "when it was checked") {
		t.Fatalf("WriteCAR of a part file grown: %v", err)
	}

	if _, err := newFetcher(t, n, fetch.Options{}).FetchToDisk(ctx, loc); err == nil {
		t.Fatal("FetchToDisk without a cache directory succeeded")
	}
}

// appendSection appends the CAR section of (c, data).
func appendSection(buf []byte, c cid.Cid, data []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(c.ByteLen()+len(data)))
	return append(append(buf, c.Bytes()...), data...)
}

// A part that holds as many blocks and bytes as the manifest says, every
// hash right, but another block in place of one of the DAG's, fails the
// check of the DAG: the missing block is named.
func TestFetchToDiskMissingBlock(t *testing.T) {
	ctx := context.Background()
	n := newMemNode(false)
	p := publish(t, n, 8, 4, 1<<20)
	if len(p.parts) != 1 {
		t.Fatalf("%d parts, want 1", len(p.parts))
	}
	pbs, err := dataset.DecodePart(p.parts[0], p.root, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := dataset.CARHeader(p.root)
	if err != nil {
		t.Fatal(err)
	}
	// Swap the last block (a file's raw leaf) for another raw block of
	// the same size.
	gone := pbs[len(pbs)-1]
	other := bytes.Repeat([]byte{0xee}, len(gone.Data))
	oc, err := cid.V1Builder{Codec: cid.Raw, MhType: mh.SHA2_256}.Sum(other)
	if err != nil {
		t.Fatal(err)
	}
	part := bytes.Clone(hdr)
	for _, pb := range pbs[:len(pbs)-1] {
		part = appendSection(part, pb.Cid, pb.Data)
	}
	part = appendSection(part, oc, other)
	const height = 100
	loc := fetch.Located{Namespace: p.ns, Height: height + 1, CID: p.manifest}
	loc.Manifest = dataset.Manifest{Root: p.root, Blocks: uint64(len(pbs)), Parts: []dataset.PartRef{{Height: height, Commitment: n.post(t, height, p.ns, part)}}}
	for _, pb := range pbs {
		loc.Manifest.Size += uint64(len(pb.Data))
	}
	f := newFetcher(t, n, fetch.Options{CacheDir: t.TempDir()})
	if _, err := f.FetchToDisk(ctx, loc); !errors.Is(err, dataset.ErrMissingBlock) || !strings.Contains(err.Error(), gone.Cid.String()) {
		t.Fatalf("FetchToDisk: %v", err)
	}
	rep, err := f.Verify(ctx, loc)
	if err != nil || len(rep.Bad) != 0 || !errors.Is(rep.Whole, dataset.ErrMissingBlock) {
		t.Fatalf("Verify: %v %v", err, rep.Err())
	}
}
