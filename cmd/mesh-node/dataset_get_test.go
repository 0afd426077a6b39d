package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-varint"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/dataset"
)

// runCLI runs args on c in-process and returns its standard output.
func runCLI(ctx context.Context, c *cli, args ...string) (string, error) {
	root := newRootCmdFor(c)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// exportCAR is the CAR `ipfs dag export root` writes of the DAG in bs:
// the header, then each block of Walk's order as a section.
func exportCAR(t *testing.T, bs blockstore.Blockstore, root cid.Cid) []byte {
	t.Helper()
	out, err := dataset.CARHeader(root)
	if err != nil {
		t.Fatal(err)
	}
	err = dataset.Walk(context.Background(), bs, root, func(b blocks.Block) error {
		c := b.Cid().Bytes()
		out = append(out, varint.ToUvarint(uint64(len(c)+len(b.RawData())))...)
		out = append(append(out, c...), b.RawData()...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("%s: %d bytes, sha256 differs from the %d bytes put", path, len(got), len(want))
	}
}

// testDatasetGet checks dataset get, stat, ls and verify on the 5 MiB file
// data that TestDatasetPut put (res) under root, through the full node (by
// its index) and the light node (by --height, with verified blob reads).
func testDatasetGet(ctx context.Context, t *testing.T, info devnetInfo, lightHome string, root cid.Cid, want blockstore.Blockstore, data []byte, res putResult) {
	full := info.Nodes["full"]
	dir := t.TempDir()
	fullArgs := func(cmd string, args ...string) []string {
		return append([]string{"dataset", cmd, "--url", full.RPC, "--token", full.Token}, args...)
	}
	height := strconv.FormatUint(res.Manifest.Height, 10)
	coretest.WaitUntil(ctx, t, "the full node to index the manifest", func() bool {
		_, rerr := rpcCall(ctx, t, full.RPC, full.Token, "dataset.GetManifest", root.String())
		return rerr == nil
	})

	// The file and the CAR, through the full node's index.
	out := mustRun(ctx, t, fullArgs("get", "-o", filepath.Join(dir, "full.bin"), "--cache", filepath.Join(dir, "cache"), root.String())...)
	sameFile(t, filepath.Join(dir, "full.bin"), data)
	if field(t, out, "root") != root.String() || field(t, out, "manifest") != res.Manifest.CID || field(t, out, "parts") != "5" ||
		field(t, out, "fetched") != "5" || field(t, out, "cached") != "0" {
		t.Fatalf("dataset get:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "cache", res.Manifest.CID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the cache is left after a get: %v", err)
	}
	mustRun(ctx, t, fullArgs("get", "--car", "-o", filepath.Join(dir, "full.car"), "--cache", filepath.Join(dir, "cache"), root.String())...)
	sameFile(t, filepath.Join(dir, "full.car"), exportCAR(t, want, root))
	wantErr(ctx, t, "exists", fullArgs("get", "-o", filepath.Join(dir, "full.bin"), root.String())...)

	// Through the light node: no index, so --height.
	wantErr(ctx, t, "pass --height", "dataset", "get", "--home", lightHome, "-o", filepath.Join(dir, "x"), root.String())
	out = mustRun(ctx, t, "dataset", "get", "--home", lightHome, "--height", height, "-o", filepath.Join(dir, "light.bin"), root.String())
	sameFile(t, filepath.Join(dir, "light.bin"), data)
	if field(t, out, "fetched") != "5" {
		t.Fatalf("dataset get on the light node:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(lightHome, getCacheDirName, res.Manifest.CID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the light node's default cache is left after a get: %v", err)
	}
	wantErr(ctx, t, "no manifest of", "dataset", "get", "--home", lightHome, "--height", strconv.FormatUint(res.Parts[0].Height, 10), root.String())

	// stat: JSON from the full node, text from the light node.
	var st statResult
	if err := json.Unmarshal([]byte(mustRun(ctx, t, fullArgs("stat", "-o", "json", root.String())...)), &st); err != nil {
		t.Fatal(err)
	}
	if st.Root != root.String() || st.Namespace != res.Namespace || st.Size != res.Size || st.Blocks != res.Blocks ||
		st.Manifest.CID != res.Manifest.CID || st.Manifest.Height != res.Manifest.Height || !bytes.Equal(st.Manifest.Commitment, res.Manifest.Commitment) || len(st.Parts) != len(res.Parts) {
		t.Fatalf("dataset stat: %+v, the put printed %+v", st, res)
	}
	for i, p := range st.Parts {
		if p.Height != res.Parts[i].Height || !bytes.Equal(p.Commitment, res.Parts[i].Commitment) {
			t.Fatalf("dataset stat part %d: %+v, the put printed %+v", i, p, res.Parts[i])
		}
	}
	wantErr(ctx, t, "pass --namespace", "dataset", "stat", "--home", lightHome, "--height", height, res.Manifest.CID)
	out = mustRun(ctx, t, "dataset", "stat", "--home", lightHome, "--height", height, "--namespace", res.Namespace, res.Manifest.CID)
	if field(t, out, "root") != root.String() || field(t, out, "parts") != "5" || field(t, out, "manifest_height") != height ||
		field(t, out, "part 4") != strconv.FormatUint(res.Parts[4].Height, 10)+" "+base64.StdEncoding.EncodeToString(st.Parts[4].Commitment) {
		t.Fatalf("dataset stat on the light node:\n%s", out)
	}

	// ls: the full node lists the manifest; the light node keeps no index.
	var list []api.DatasetManifest
	if err := json.Unmarshal([]byte(mustRun(ctx, t, fullArgs("ls", "-o", "json", "--from", height, "--limit", "10")...)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 || list[0].CID != res.Manifest.CID || list[0].Root != root.String() || list[0].Location.Height != res.Manifest.Height {
		t.Fatalf("dataset ls --from %s: %+v", height, list)
	}
	out = mustRun(ctx, t, fullArgs("ls", "--from", height, "--limit", "1")...)
	if out != fmt.Sprintf("%s %s size=%d blocks=%d parts=5 manifest=%s\n", height, root, res.Size, res.Blocks, res.Manifest.CID) {
		t.Fatalf("dataset ls:\n%s", out)
	}
	wantErr(ctx, t, "keeps no dataset index", "dataset", "ls", "--home", lightHome)

	// verify, through both nodes.
	for _, args := range [][]string{fullArgs("verify", root.String()), {"dataset", "verify", "--home", lightHome, "--height", height, root.String()}} {
		if out := mustRun(ctx, t, args...); field(t, out, "verified") != root.String() || field(t, out, "blocks") != strconv.FormatUint(res.Blocks, 10) {
			t.Fatalf("dataset verify:\n%s", out)
		}
	}

	// A get stopped after two parts, as a kill would stop it, resumes
	// from its cache and fetches only the other three.
	cache := filepath.Join(dir, "resume-cache")
	args := []string{"dataset", "get", "--home", lightHome, "--height", height, "--cache", cache, "-o", filepath.Join(dir, "resumed.bin"), root.String()}
	killCtx, kill := context.WithCancel(ctx)
	defer kill()
	fetchedN := 0
	_, err := runCLI(killCtx, &cli{getenv: func(string) string { return "" }, afterPartFetched: func(int) {
		if fetchedN++; fetchedN == 2 {
			kill()
		}
	}}, args...)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "run the same get again") {
		t.Fatalf("the stopped get: %v, want a cancelled get that says how to resume", err)
	}
	cached, err := os.ReadDir(filepath.Join(cache, res.Manifest.CID))
	if err != nil || len(cached) != 2 {
		t.Fatalf("the cache after two parts: %v %v", cached, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "resumed.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a stopped get wrote its output: %v", err)
	}
	fetchedN = 0
	out, err = runCLI(ctx, &cli{getenv: func(string) string { return "" }, afterPartFetched: func(int) { fetchedN++ }}, args...)
	if err != nil {
		t.Fatal(err)
	}
	if field(t, out, "fetched") != "3" || field(t, out, "cached") != "2" || fetchedN != 3 {
		t.Fatalf("the resumed get (%d fetched):\n%s", fetchedN, out)
	}
	sameFile(t, filepath.Join(dir, "resumed.bin"), data)

	// Manifests that lie, posted through the light node at heights of
	// their own: one lists part 0 again in place of part 1 (a block in two
	// parts), one leaves out the last part (a link with no block). verify
	// fails, naming the part or the missing block.
	ns, err := parseNamespace("namespace", res.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	refs := make([]dataset.PartRef, len(res.Parts))
	for i, p := range res.Parts {
		refs[i] = dataset.PartRef{Height: p.Height, Commitment: p.Commitment}
	}
	twice := append([]dataset.PartRef{refs[0], refs[0]}, refs[2:]...)
	light := info.Nodes["light"]
	for _, c := range []struct {
		parts        []dataset.PartRef
		blocks, size uint64
		want         string
	}{
		{twice, res.Blocks, res.Size, "part 1 (height " + strconv.FormatUint(refs[0].Height, 10)},
		{refs[:4], res.Blocks - 1, res.Size - 1<<20, "dataset: missing block"},
	} {
		m, _, err := dataset.ManifestFor(root, c.size, c.blocks, c.parts)
		if err != nil {
			t.Fatal(err)
		}
		b, err := blob.New(ns, m)
		if err != nil {
			t.Fatal(err)
		}
		var h uint64
		mustCall(ctx, t, light.RPC, light.Token, &h, "blob.Submit", []*blob.Blob{b}, nil)
		wantErr(ctx, t, c.want, "dataset", "verify", "--home", lightHome, "--height", strconv.FormatUint(h, 10), root.String())
	}
}

// Bad input to get, stat, ls and verify fails before the node is called
// (--url names a port nothing listens on).
func TestDatasetGetBadInput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	root, _ := importRoot(t, writeTemp(t, dir, "f", []byte("x")))
	cmd := func(name string, args ...string) []string {
		return append([]string{"dataset", name, "--url", "http://127.0.0.1:1"}, args...)
	}
	for _, name := range []string{"get", "stat", "verify"} {
		wantErr(ctx, t, `dataset `+name+`: CID "nope"`, cmd(name, "nope")...)
		wantErr(ctx, t, "--namespace needs --height", cmd(name, "--namespace", "aa", root.String())...)
		wantErr(ctx, t, `--namespace "zz" is not hex`, cmd(name, "--height", "3", "--namespace", "zz", root.String())...)
		wantErr(ctx, t, "--timeout 0s", cmd(name, "--timeout", "0", root.String())...)
	}
	wantErr(ctx, t, "--output \"yaml\"", cmd("stat", "-o", "yaml", root.String())...)
	wantErr(ctx, t, "--output \"yaml\"", cmd("verify", "-o", "yaml", root.String())...)
	wantErr(ctx, t, "--output \"yaml\"", cmd("ls", "-o", "yaml")...)
	wantErr(ctx, t, "dataset get: "+filepath.Join(dir, "f")+" exists", cmd("get", "-o", filepath.Join(dir, "f"), root.String())...)
	// The node is called only then, and is not there.
	wantErr(ctx, t, "connection refused", cmd("stat", root.String())...)
}

func writeTemp(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
