package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	mdag "github.com/ipfs/boxo/ipld/merkledag"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/share"
)

func memStore() blockstore.Blockstore {
	return blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
}

// pseudoRandom returns n deterministic pseudo-random bytes.
func pseudoRandom(seed byte, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed}).Read(b) // never fails
	return b
}

// importRoot returns the root and blocks dataset.Import makes of path.
func importRoot(t *testing.T, path string) (cid.Cid, blockstore.Blockstore) {
	t.Helper()
	bs := memStore()
	root, err := dataset.Import(context.Background(), bs, path)
	if err != nil {
		t.Fatal(err)
	}
	return root, bs
}

// readBack reads a put's parts and manifest from the node at url with
// blob.Get, decodes them with the dataset decoders, checks the manifest
// against the put's output, including its shares and bytes, and returns a
// blockstore of the parts' blocks.
func readBack(ctx context.Context, t *testing.T, url, token string, root cid.Cid, ns share.Namespace, res putResult) blockstore.Blockstore {
	t.Helper()
	maxPart := tx.DefaultParams().MaxBlobSize
	mustCall(ctx, t, url, token, nil, "header.WaitForHeight", res.Manifest.Height)
	got := memStore()
	shares, size := 0, 0
	for i, p := range res.Parts {
		var b blob.Blob
		mustCall(ctx, t, url, token, &b, "blob.Get", p.Height, ns, p.Commitment)
		shares += share.SparseSharesNeeded(len(b.Data), false)
		size += len(b.Data)
		pbs, err := dataset.DecodePart(b.Data, root, maxPart)
		if err != nil {
			t.Fatalf("part %d at %d: %v", i, p.Height, err)
		}
		for _, pb := range pbs {
			blk, err := blocks.NewBlockWithCid(bytes.Clone(pb.Data), pb.Cid)
			if err != nil {
				t.Fatal(err)
			}
			if err := got.Put(ctx, blk); err != nil {
				t.Fatal(err)
			}
		}
	}
	var mb blob.Blob
	mustCall(ctx, t, url, token, &mb, "blob.Get", res.Manifest.Height, ns, res.Manifest.Commitment)
	shares += share.SparseSharesNeeded(len(mb.Data), false)
	size += len(mb.Data)
	if shares != res.Shares || size != res.Bytes {
		t.Fatalf("the blobs read back are %d shares, %d bytes; the put printed %d, %d", shares, size, res.Shares, res.Bytes)
	}
	m, mcid, err := dataset.DecodeManifest(mb.Data, maxPart)
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if mcid.String() != res.Manifest.CID || !m.Root.Equals(root) || m.Size != res.Size || m.Blocks != res.Blocks || len(m.Parts) != len(res.Parts) {
		t.Fatalf("manifest %s: %+v; the put printed %+v", mcid, m, res)
	}
	for i, p := range m.Parts {
		if p.Height != res.Parts[i].Height || !bytes.Equal(p.Commitment, res.Parts[i].Commitment) {
			t.Fatalf("manifest part %d: %d %x, the put printed %+v", i, p.Height, p.Commitment, res.Parts[i])
		}
	}
	return got
}

// sameBlocks checks that the DAG under root in got has exactly the blocks
// of want's (Walk fails on a missing block).
func sameBlocks(t *testing.T, want, got blockstore.Blockstore, root cid.Cid, n uint64) {
	t.Helper()
	var count uint64
	err := dataset.Walk(context.Background(), got, root, func(b blocks.Block) error {
		count++
		w, err := want.Get(context.Background(), b.Cid())
		if err != nil {
			return err
		}
		if !bytes.Equal(w.RawData(), b.RawData()) {
			return errors.New("block " + b.Cid().String() + " differs")
		}
		return nil
	})
	if err != nil || count != n {
		t.Fatalf("the DAG read back: %d blocks, %v; want %d", count, err, n)
	}
}

// fileBytes reads the UnixFS file under root from bs.
func fileBytes(t *testing.T, bs blockstore.Blockstore, root cid.Cid) []byte {
	t.Helper()
	ctx := context.Background()
	dserv := mdag.NewDAGService(blockservice.New(bs, nil))
	nd, err := dserv.Get(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	r, err := uio.NewDagReader(ctx, nd, dserv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func putJSON(ctx context.Context, t *testing.T, c *cli, args ...string) (putResult, error) {
	t.Helper()
	root := newRootCmdFor(c)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(append([]string{"dataset", "put", "-o", "json"}, args...))
	if err := root.ExecuteContext(ctx); err != nil {
		return putResult{}, err
	}
	var res putResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("dataset put -o json: %v\n%s", err, out.Bytes())
	}
	return res, nil
}

// countOnChain returns how many blobs of ns the node at url holds with
// each commitment, over heights from..to.
func countOnChain(ctx context.Context, t *testing.T, url, token string, ns share.Namespace, from, to uint64) map[string]int {
	t.Helper()
	n := map[string]int{}
	for h := from; h <= to; h++ {
		var bs []*blob.Blob
		mustCall(ctx, t, url, token, &bs, "blob.GetAll", h, []share.Namespace{ns})
		for _, b := range bs {
			n[string(b.Commitment)]++
		}
	}
	return n
}

// dataset put on a devnet, through the light node: a 5 MiB file (text
// output) and a small directory (JSON output) read back from the full node
// with blob.Get, decoded with the dataset decoders, equal to what Import
// makes; then a put stopped after two parts, as a kill would stop it,
// resumes and posts only the other parts and the manifest, each blob once
// on chain; a third run reuses everything. The 5 MiB file is read back
// with dataset get, stat, ls and verify too (testDatasetGet), and the
// directory with dataset get.
func TestDatasetPut(t *testing.T) {
	if testing.Short() {
		t.Skip("a devnet and many blocks (90 s under the race detector): make test runs it without -race, and -short under -race")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	info, home := startTestDevnet(ctx, t)
	full := info.Nodes["full"]
	lightHome := filepath.Join(home, "light")
	dir := t.TempDir()

	// A 5 MiB file: five parts of one 1 MiB leaf (the first with the root).
	data := pseudoRandom(1, 5<<20)
	file := filepath.Join(dir, "five.bin")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	root, want := importRoot(t, file)
	out := mustRun(ctx, t, "dataset", "put", "--home", lightHome, "--parallel", "2", file)
	if !strings.HasPrefix(out, "root: "+root.String()+"\n") {
		t.Fatalf("dataset put printed\n%s\nwant first the line root: %s", out, root)
	}
	ns, err := dataset.DefaultNamespace(root)
	if err != nil {
		t.Fatal(err)
	}
	if field(t, out, "namespace") != ns.String() || field(t, out, "parts") != "5" || field(t, out, "posted") != "6" || field(t, out, "reused") != "0" {
		t.Fatalf("dataset put:\n%s", out)
	}
	jpath := field(t, out, "journal")
	if filepath.Dir(jpath) != filepath.Join(lightHome, journalDirName) {
		t.Fatalf("journal %s, want it in %s", jpath, filepath.Join(lightHome, journalDirName))
	}
	// The text output's heights and manifest are the JSON's: a run on the
	// finished journal posts nothing and prints the same.
	res, err := putJSON(ctx, t, &cli{getenv: func(string) string { return "" }}, "--home", lightHome, file)
	if err != nil {
		t.Fatal(err)
	}
	if res.Posted != 0 || res.Reused != 6 || field(t, out, "manifest_height") != strconv.FormatUint(res.Manifest.Height, 10) ||
		field(t, out, "manifest") != res.Manifest.CID || field(t, out, "shares") != strconv.Itoa(res.Shares) {
		t.Fatalf("second put: %+v\nfirst:\n%s", res, out)
	}
	heights := make([]string, len(res.Parts))
	for i, p := range res.Parts {
		heights[i] = strconv.FormatUint(p.Height, 10)
	}
	if field(t, out, "part_heights") != strings.Join(heights, " ") || field(t, out, "bytes") != strconv.Itoa(res.Bytes) || res.Bytes <= len(data) {
		t.Fatalf("dataset put: %+v\n%s", res, out)
	}
	got := readBack(ctx, t, full.RPC, full.Token, root, ns, res)
	sameBlocks(t, want, got, root, res.Blocks)
	if sha256.Sum256(fileBytes(t, got, root)) != sha256.Sum256(data) {
		t.Fatal("the file read back from the parts differs")
	}
	testDatasetGet(ctx, t, info, lightHome, root, want, data, res)

	// A small directory, with --url and --token and a journal of its own.
	tree := filepath.Join(dir, "tree")
	treeFiles := map[string][]byte{
		"a.txt": []byte("alpha"), ".hidden": []byte("hidden"), "sub/b.bin": pseudoRandom(2, 300_000), "sub/empty": nil,
	}
	for name, content := range treeFiles {
		p := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	droot, dwant := importRoot(t, tree)
	light := info.Nodes["light"]
	dres, err := putJSON(ctx, t, &cli{getenv: func(string) string { return "" }},
		"--url", light.RPC, "--token", light.Token, "--journal", filepath.Join(dir, "tree.jsonl"), tree)
	if err != nil {
		t.Fatal(err)
	}
	dns, err := dataset.DefaultNamespace(droot)
	if err != nil {
		t.Fatal(err)
	}
	if dres.Root != droot.String() || dres.Namespace != dns.String() || len(dres.Parts) != 1 || dres.Posted != 2 {
		t.Fatalf("dataset put of a directory: %+v, want root %s, one part", dres, droot)
	}
	sameBlocks(t, dwant, readBack(ctx, t, full.RPC, full.Token, droot, dns, dres), droot, dres.Blocks)
	// dataset get writes the tree back (through the light node, by height).
	gotTree := filepath.Join(dir, "tree-got")
	mustRun(ctx, t, "dataset", "get", "--home", lightHome, "--height", strconv.FormatUint(dres.Manifest.Height, 10), "-o", gotTree, droot.String())
	if r, _ := importRoot(t, gotTree); !r.Equals(droot) {
		t.Fatalf("the tree dataset get wrote imports as %s, want %s", r, droot)
	}
	for name, content := range treeFiles {
		if got, err := os.ReadFile(filepath.Join(gotTree, name)); err != nil || !bytes.Equal(got, content) {
			t.Fatalf("%s in the tree dataset get wrote: %d bytes, %v; want %d bytes", name, len(got), err, len(content))
		}
	}

	// Stopped after two parts, as a kill between parts would stop it
	// (the journal is synced before the next part starts), in a namespace
	// of its own.
	data = pseudoRandom(3, 5<<20)
	file = filepath.Join(dir, "resumed.bin")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	root, want = importRoot(t, file)
	ns, err = share.NewV0Namespace([]byte("resume"))
	if err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(dir, "resume.jsonl")
	args := []string{"--home", lightHome, "--parallel", "1", "--namespace", "726573756d65", "--journal", journal, file}
	killCtx, kill := context.WithCancel(ctx)
	defer kill()
	recorded := 0
	_, err = putJSON(killCtx, t, &cli{getenv: func(string) string { return "" }, afterPartRecorded: func(int) {
		if recorded++; recorded == 2 {
			kill()
		}
	}}, args...)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "run the same put again") {
		t.Fatalf("the stopped put: %v, want a cancelled put that says how to resume", err)
	}
	lines, err := os.ReadFile(journal)
	if err != nil || bytes.Count(lines, []byte("\n")) != 3 {
		t.Fatalf("journal after two parts: %v\n%s", err, lines)
	}
	var first journalRecord
	if err := json.Unmarshal(bytes.Split(lines, []byte("\n"))[1], &first); err != nil || first.Kind != recordPart || first.Index != 0 {
		t.Fatalf("journal's first record %+v: %v", first, err)
	}
	res, err = putJSON(ctx, t, &cli{getenv: func(string) string { return "" }}, args...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Root != root.String() || res.Namespace != ns.String() || len(res.Parts) != 5 || res.Reused != 2 || res.Posted != 4 {
		t.Fatalf("resumed put: %+v, want 2 parts reused, 3 and the manifest posted", res)
	}
	if res.Parts[0].Height != first.Height || !bytes.Equal(res.Parts[0].Commitment, first.Commitment) {
		t.Fatalf("resumed put: part 0 %+v, the journal recorded %+v", res.Parts[0], first)
	}
	got = readBack(ctx, t, full.RPC, full.Token, root, ns, res)
	sameBlocks(t, want, got, root, res.Blocks)
	if sha256.Sum256(fileBytes(t, got, root)) != sha256.Sum256(data) {
		t.Fatal("the resumed file read back from the parts differs")
	}
	onChain := countOnChain(ctx, t, full.RPC, full.Token, ns, first.Height, res.Manifest.Height)
	if len(onChain) != 6 {
		t.Fatalf("%d distinct blobs in the namespace, want 5 parts and the manifest", len(onChain))
	}
	for c, n := range onChain {
		if n != 1 {
			t.Fatalf("blob %x is on chain %d times", c, n)
		}
	}

	// A journal whose record of part 1 names a height the part is not at
	// (as a journal of another chain would) and whose last line was cut
	// short: part 1 is posted again, so is the manifest that lists it, and
	// the rest is reused.
	moved := journalRecord{Kind: recordPart, Index: 1, Height: res.Parts[0].Height, Commitment: res.Parts[1].Commitment}
	line, err := json.Marshal(moved)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(journal, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(append(append(line, '\n'), `{"kind":"part","ind`...)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := putJSON(ctx, t, &cli{getenv: func(string) string { return "" }}, args...)
	if err != nil {
		t.Fatal(err)
	}
	if again.Posted != 2 || again.Reused != 4 || again.Parts[1].Height <= res.Manifest.Height || again.Manifest.Height < again.Parts[1].Height {
		t.Fatalf("put with a wrong record: %+v, want part 1 and the manifest posted again", again)
	}
	readBack(ctx, t, full.RPC, full.Token, root, ns, again)
	lines, err = os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range bytes.Split(bytes.TrimSuffix(lines, []byte("\n")), []byte("\n")) {
		if !json.Valid(l) {
			t.Fatalf("journal after the cut line: line %s\n%s", l, lines)
		}
	}
}

// Bad input fails before the node is called (--url names a port nothing
// listens on, so a put that got that far would fail to connect).
func TestDatasetPutBadInput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	sockDir := filepath.Join(dir, "withsocket")
	if err := os.Mkdir(sockDir, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(sockDir, "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	put := func(args ...string) []string {
		return append([]string{"dataset", "put", "--url", "http://127.0.0.1:1", "--journal", filepath.Join(dir, "j.jsonl")}, args...)
	}
	wantErr(ctx, t, "no such file or directory", put(filepath.Join(dir, "missing"))...)
	wantErr(ctx, t, "dataset put: "+filepath.Join(sockDir, "s.sock")+" is S", put(filepath.Join(sockDir, "s.sock"))...)
	wantErr(ctx, t, "dataset: unsupported file type", put(sockDir)...)
	wantErr(ctx, t, `--namespace "zz" is not hex`, put("--namespace", "zz", file)...)
	wantErr(ctx, t, `--namespace "`+strings.Repeat("00", 29)+`"`, put("--namespace", strings.Repeat("00", 29), file)...)
	wantErr(ctx, t, "--parallel 0", put("--parallel", "0", file)...)
	wantErr(ctx, t, "--max-part-size 100", put("--max-part-size", "100", file)...)
	wantErr(ctx, t, "--output \"yaml\"", put("-o", "yaml", file)...)
	if _, err := os.Stat(filepath.Join(dir, "j.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused put left a journal: %v", err)
	}
	// A journal of another put is not taken over.
	if err := os.WriteFile(filepath.Join(dir, "j.jsonl"), []byte(`{"journal":"mesh-node dataset put","version":1,"root":"x","namespace":"y","max_part_size":1,"parts":1}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantErr(ctx, t, "is of another put", put(file)...)
}
