package kubo_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"

	"github.com/datamesh/mesh-node/dataset"
)

// kuboVersion is the stock kubo the suite builds.
const kuboVersion = "v0.43.1"

const (
	mib = 1 << 20
	// devnetMaxBlob is the max_blob_size of a devnet chain.
	devnetMaxBlob = 2 * mib
)

var (
	buildOnce sync.Once
	kuboBin   string
	kuboErr   error
)

// ipfsBinary returns the path of a stock kubo binary: KUBO_BIN, the cached
// build, or a build made now and cached.
func ipfsBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { kuboBin, kuboErr = findOrBuild(t) })
	if kuboErr != nil {
		t.Fatal(kuboErr)
	}
	return kuboBin
}

func findOrBuild(t testing.TB) (string, error) {
	if p := os.Getenv("KUBO_BIN"); p != "" {
		return p, checkVersion(p)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the kubo build: %w (set KUBO_BIN)", err)
	}
	dir := filepath.Join(cache, "mesh-node", "kubo-"+kuboVersion)
	bin := filepath.Join(dir, "ipfs")
	if checkVersion(bin) == nil {
		t.Logf("kubo %s: %s (cached)", kuboVersion, bin)
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	build, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(build)
	start := time.Now()
	t.Logf("building kubo %s in %s (a few minutes the first time)", kuboVersion, build)
	// The recipe of shared/recipes/kubo.md: kubo's go.mod replaces go-libp2p
	// with a fork no proxy serves (ignored in a dependency), so the build
	// requires go-libp2p v0.51.0 itself; pebble's swiss refuses Go 1.26
	// without untested_go_version.
	files := map[string]string{
		"go.mod":   "module example.com/kubobuild\n\ngo 1.26.8\n\nrequire github.com/ipfs/kubo " + kuboVersion + "\n",
		"tools.go": "//go:build tools\n\npackage tools\n\nimport _ \"github.com/ipfs/kubo/cmd/ipfs\"\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(build, name), []byte(body), 0o644); err != nil {
			return "", err
		}
	}
	out := filepath.Join(build, "ipfs")
	for _, args := range [][]string{
		{"mod", "tidy"},
		{"mod", "edit", "-require=github.com/libp2p/go-libp2p@v0.51.0"},
		{"mod", "tidy"},
		{"build", "-tags", "untested_go_version", "-o", out, "github.com/ipfs/kubo/cmd/ipfs"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = build
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, b)
		}
	}
	if err := os.Rename(out, bin); err != nil {
		return "", err
	}
	t.Logf("built kubo %s in %s: %s", kuboVersion, time.Since(start).Round(time.Second), bin)
	return bin, checkVersion(bin)
}

func checkVersion(bin string) error {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return fmt.Errorf("%s version: %w", bin, err)
	}
	if want := "ipfs version " + strings.TrimPrefix(kuboVersion, "v"); strings.TrimSpace(string(out)) != want {
		return fmt.Errorf("%s says %q, want %q", bin, strings.TrimSpace(string(out)), want)
	}
	return nil
}

// repo is a kubo repository with the unixfs-v1-2025 profile, used offline.
type repo struct {
	t    testing.TB
	bin  string
	path string
}

func newRepo(t testing.TB) *repo {
	t.Helper()
	r := &repo{t: t, bin: ipfsBinary(t), path: t.TempDir()}
	r.run("init", "--profile", "test")
	r.run("config", "profile", "apply", "unixfs-v1-2025")
	r.run("config", "--json", "AutoConf.Enabled", "false")
	r.run("config", "--json", "AutoTLS.Enabled", "false")
	return r
}

// run runs ipfs with args against the repository and returns its
// standard output.
func (r *repo) run(args ...string) []byte {
	r.t.Helper()
	cmd := exec.Command(r.bin, args...)
	cmd.Env = append(os.Environ(), "IPFS_PATH="+r.path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		r.t.Fatalf("ipfs %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// add adds path as `ipfs add` does with the profile (a directory with -r
// --hidden: every entry, no wrapping directory) and returns the root.
func (r *repo) add(path string, dir bool) cid.Cid {
	r.t.Helper()
	args := []string{"add", "-Q", "--offline"}
	if dir {
		args = append(args, "-r", "--hidden")
	}
	out := r.run(append(args, path)...)
	c, err := cid.Decode(strings.TrimSpace(string(out)))
	if err != nil {
		r.t.Fatalf("ipfs add printed %q: %v", out, err)
	}
	return c
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 499))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tree makes the small directory: files, a hidden file, an empty file, two
// files with the same bytes, a subdirectory, an empty directory and a
// symbolic link.
func tree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tree")
	writeFile(t, filepath.Join(dir, "README"), []byte("a dataset of a few files\n"))
	writeFile(t, filepath.Join(dir, ".hidden"), []byte("dot files are part of it\n"))
	writeFile(t, filepath.Join(dir, "empty"), nil)
	writeFile(t, filepath.Join(dir, "copy-of-readme"), []byte("a dataset of a few files\n"))
	writeFile(t, filepath.Join(dir, "data", "big.bin"), randBytes(7, mib+3))
	writeFile(t, filepath.Join(dir, "data", "nested", "small.json"), []byte(`{"n":1}`))
	if err := os.Mkdir(filepath.Join(dir, "data", "nothing"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../README", filepath.Join(dir, "data", "readme-link")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// wideDir makes a directory of n small files: for n = 4000 its basic
// dag-pb block would exceed 256 KiB, so kubo and dataset make a HAMT.
func wideDir(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "wide")
	for i := range n {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("entry-%05d.txt", i)), []byte(strconv.Itoa(i*i)))
	}
	return dir
}

// TestImportMatchesKubo checks dataset's root CIDs and parts against kubo's
// `ipfs add` and `ipfs dag export` with the unixfs-v1-2025 profile.
func TestImportMatchesKubo(t *testing.T) {
	start := time.Now()
	r := newRepo(t)
	files := t.TempDir()
	type input struct {
		name string
		path string
		dir  bool
	}
	var inputs []input
	for _, n := range []int{0, 1, mib, mib + 1, 5 * mib} {
		p := filepath.Join(files, fmt.Sprintf("file-%d", n))
		writeFile(t, p, randBytes(uint64(n), n))
		inputs = append(inputs, input{fmt.Sprintf("%dB", n), p, false})
	}
	inputs = append(inputs, input{"tree", tree(t), true}, input{"hamt", wideDir(t, 4000), true})

	ctx := context.Background()
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			bs := blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
			ours, err := dataset.Import(ctx, bs, in.path)
			if err != nil {
				t.Fatal(err)
			}
			theirs := r.add(in.path, in.dir)
			if !ours.Equals(theirs) {
				t.Fatalf("root %s, kubo's %s", ours, theirs)
			}
			export := r.run("dag", "export", "--offline", theirs.String())
			header, err := dataset.CARHeader(ours)
			if err != nil {
				t.Fatal(err)
			}
			joined := append([]byte(nil), header...)
			var parts int
			_, err = dataset.Pack(ctx, bs, ours, devnetMaxBlob, func(p dataset.Part) error {
				if _, err := dataset.DecodePart(p.Data, ours, devnetMaxBlob); err != nil {
					return err
				}
				joined = append(joined, p.Data[len(header):]...)
				parts++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(joined, export) {
				t.Fatalf("header + sections of %d parts: %d bytes; ipfs dag export: %d bytes; first difference at %d",
					parts, len(joined), len(export), firstDiff(joined, export))
			}
			t.Logf("%s: %s, %d parts, export %d bytes", in.name, ours, parts, len(export))
		})
	}
	t.Logf("suite (kubo build or cache lookup included): %s", time.Since(start).Round(time.Millisecond))
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
