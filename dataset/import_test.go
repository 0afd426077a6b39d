package dataset_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	mdag "github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	unixfspb "github.com/ipfs/boxo/ipld/unixfs/pb"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/datamesh/mesh-node/dataset"
)

// TestProfileIsIPIP499 checks the profile constants against boxo's own
// description of unixfs-v1-2025, which kubo's profile applies.
func TestProfileIsIPIP499(t *testing.T) {
	p := uio.UnixFS_v1_2025
	if p.CIDVersion != 1 || p.MhType != mh.SHA2_256 || !p.RawLeaves ||
		p.ChunkSize != dataset.ChunkSize || p.FileDAGWidth != dataset.MaxLinks ||
		p.HAMTShardingSize != dataset.HAMTShardingSize || p.HAMTShardWidth != dataset.HAMTFanout ||
		p.HAMTSizeEstimation != uio.SizeEstimationBlock || p.PBNodeFieldOrder != mdag.PBNodeLinksFirst {
		t.Fatalf("boxo's unixfs-v1-2025 is %+v; dataset's constants differ", p)
	}
	if dataset.ChunkSize != 1048576 || dataset.MaxLinks != 1024 {
		t.Fatal("chunk size or link count changed")
	}
}

func rawCID(t *testing.T, data []byte) cid.Cid {
	t.Helper()
	c, err := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}.Sum(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestImportFileShape checks the DAG's shape for each size: one raw block
// up to a chunk, a dag-pb root over raw 1 MiB leaves above.
func TestImportFileShape(t *testing.T) {
	ctx := context.Background()
	// The raw CID of no bytes, as every IPFS implementation has it.
	if got := rawCID(t, nil).String(); got != "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku" {
		t.Fatalf("empty raw CID %s", got)
	}
	for _, n := range []int{0, 1, mib, mib + 1, 5 * mib} {
		data := randBytes(uint64(n), n)
		bs := newStore()
		root, err := dataset.ImportReader(ctx, bs, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if n <= mib {
			if want := rawCID(t, data); !root.Equals(want) {
				t.Fatalf("%d B: root %s, want the raw block %s", n, root, want)
			}
			continue
		}
		if root.Prefix().Codec != cid.DagProtobuf || root.Prefix().Version != 1 {
			t.Fatalf("%d B: root %s is not CIDv1 dag-pb", n, root)
		}
		nd, err := dagServ(bs).Get(ctx, root)
		if err != nil {
			t.Fatal(err)
		}
		fsn, err := unixfs.ExtractFSNode(nd)
		if err != nil {
			t.Fatal(err)
		}
		wantLinks := (n + mib - 1) / mib
		if fsn.FileSize() != uint64(n) || len(nd.Links()) != wantLinks || !fsn.ModTime().IsZero() || fsn.Mode() != 0 {
			t.Fatalf("%d B: file size %d, %d links, mode %v; want %d links, no mode", n, fsn.FileSize(), len(nd.Links()), fsn.Mode(), wantLinks)
		}
		for i, l := range nd.Links() {
			leaf := data[i*mib : min(n, (i+1)*mib)]
			if !l.Cid.Equals(rawCID(t, leaf)) {
				t.Fatalf("%d B: leaf %d is %s, not the raw block of its chunk", n, i, l.Cid)
			}
		}
	}
}

// TestImportFileEqualsReader checks that a file on disk imports as its
// bytes do.
func TestImportFileEqualsReader(t *testing.T) {
	ctx := context.Background()
	data := randBytes(9, 3*mib+17)
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := dataset.Import(ctx, newStore(), path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := dataset.ImportReader(ctx, newStore(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if !a.Equals(b) {
		t.Fatalf("file %s, reader %s", a, b)
	}
}

// writeTree makes a directory with files, a hidden file, an empty file,
// a nested directory, an empty directory and a symbolic link.
func writeTree(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{
		"a.txt":             []byte("hello dataset\n"),
		".hidden":           []byte("dot files are part of the dataset\n"),
		"empty":             nil,
		"sub/big.bin":       randBytes(1, mib+5),
		"sub/deeper/b.json": []byte(`{"b":1}`),
		"z-copy.txt":        []byte("hello dataset\n"), // the same block as a.txt
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub", "nothing"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../a.txt", filepath.Join(dir, "sub", "link")); err != nil {
		t.Fatal(err)
	}
	return dir, files
}

func TestImportDirectory(t *testing.T) {
	ctx := context.Background()
	dir, files := writeTree(t)
	bs := newStore()
	root, err := dataset.Import(ctx, bs, dir)
	if err != nil {
		t.Fatal(err)
	}
	ds := dagServ(bs)
	seen := map[string]bool{}
	var walk func(c cid.Cid, prefix string)
	walk = func(c cid.Cid, prefix string) {
		nd, err := ds.Get(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		d, err := uio.NewDirectoryFromNode(ds, nd)
		if err != nil {
			t.Fatalf("%s: %v", prefix, err)
		}
		links, err := d.Links(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if prefix == "sub/nothing/" && len(links) != 0 {
			t.Fatalf("empty directory has %d entries", len(links))
		}
		for _, l := range links {
			name := prefix + l.Name
			seen[name] = true
			if name == "sub/link" {
				ln, err := ds.Get(ctx, l.Cid)
				if err != nil {
					t.Fatal(err)
				}
				fsn, err := unixfs.ExtractFSNode(ln)
				if err != nil || fsn.Type() != unixfs.TSymlink || string(fsn.Data()) != "../a.txt" {
					t.Fatalf("sub/link: %v, %v", fsn, err)
				}
				continue
			}
			if want, ok := files[name]; ok {
				if got := readFile(t, bs, l.Cid); !bytes.Equal(got, want) {
					t.Fatalf("%s: read %d bytes, want %d", name, len(got), len(want))
				}
				continue
			}
			walk(l.Cid, name+"/")
		}
	}
	walk(root, "")
	for name := range files {
		if !seen[name] {
			t.Errorf("%s is not in the DAG", name)
		}
	}
	for _, name := range []string{"sub/nothing", "sub/link"} {
		if !seen[name] {
			t.Errorf("%s is not in the DAG", name)
		}
	}
	// The directory node has no mode or mtime, and is a basic directory.
	nd, err := ds.Get(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	fsn, err := unixfs.ExtractFSNode(nd)
	if err != nil || fsn.Type() != unixfs.TDirectory || fsn.Mode() != 0 || !fsn.ModTime().IsZero() {
		t.Fatalf("root: %v %v", fsn, err)
	}
	// A file alone is imported as Import of its path gives, inside too.
	a, err := dataset.Import(ctx, newStore(), filepath.Join(dir, "sub", "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	big := nd
	for _, name := range []string{"sub", "big.bin"} {
		d, err := uio.NewDirectoryFromNode(ds, big)
		if err != nil {
			t.Fatal(err)
		}
		if big, err = d.Find(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if !big.Cid().Equals(a) {
		t.Fatalf("sub/big.bin is %s in the directory, %s alone", big.Cid(), a)
	}
}

// manyFiles makes a directory of n small files, named so that its basic
// dag-pb block would be well over 256 KiB for n = 4000.
func manyFiles(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		name := filepath.Join(dir, "file-with-a-longish-name-"+strings.Repeat("x", i%7)+"-"+strconv.Itoa(i))
		if err := os.WriteFile(name, []byte(strconv.Itoa(i*i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestImportHAMTThreshold checks that a large directory is sharded and a
// small one is not.
func TestImportHAMTThreshold(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		n    int
		want unixfspb.Data_DataType
	}{{100, unixfs.TDirectory}, {4000, unixfs.THAMTShard}} {
		bs := newStore()
		root, err := dataset.Import(ctx, bs, manyFiles(t, tc.n))
		if err != nil {
			t.Fatal(err)
		}
		nd, err := dagServ(bs).Get(ctx, root)
		if err != nil {
			t.Fatal(err)
		}
		fsn, err := unixfs.ExtractFSNode(nd)
		if err != nil {
			t.Fatal(err)
		}
		if fsn.Type() != tc.want {
			t.Fatalf("%d files: root type %v, want %v", tc.n, fsn.Type(), tc.want)
		}
		if tc.want == unixfs.THAMTShard && fsn.Fanout() != dataset.HAMTFanout {
			t.Fatalf("fanout %d", fsn.Fanout())
		}
		if len(nd.RawData()) > dataset.HAMTShardingSize {
			t.Fatalf("%d files: root block is %d bytes", tc.n, len(nd.RawData()))
		}
	}
}

func TestImportErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if _, err := dataset.Import(ctx, newStore(), fifo); !errors.Is(err, dataset.ErrUnsupportedFile) {
		t.Fatalf("a FIFO: %v", err)
	}
	if _, err := dataset.Import(ctx, newStore(), dir); !errors.Is(err, dataset.ErrUnsupportedFile) {
		t.Fatalf("a directory holding a FIFO: %v", err)
	}
	if _, err := dataset.Import(ctx, newStore(), filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing path: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := dataset.ImportReader(cancelled, newStore(), bytes.NewReader(randBytes(2, 3*mib))); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled import: %v", err)
	}
}

// TestImportRefusesChangedGlobals checks that Import refuses to run when
// boxo's process-wide dag-pb field order is not the profile's.
func TestImportRefusesChangedGlobals(t *testing.T) {
	old := mdag.DefaultPBNodeFieldOrder
	mdag.DefaultPBNodeFieldOrder = mdag.PBNodeDataFirst
	t.Cleanup(func() { mdag.DefaultPBNodeFieldOrder = old })
	if _, err := dataset.ImportReader(context.Background(), newStore(), bytes.NewReader([]byte("x"))); !errors.Is(err, dataset.ErrProfile) {
		t.Fatalf("got %v", err)
	}
}
