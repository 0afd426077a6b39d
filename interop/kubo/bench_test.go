package kubo_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/internal/devnetproc"
)

// benchSize is the size of the dataset of BenchmarkDataset (issue 16: 64 MiB).
const benchSize = 64 * mib

// BenchmarkDatasetPut measures `mesh-node dataset put` of a 64 MiB file
// through the full node of a devnet (`mesh-node devnet` built from this
// checkout), from the command's start to its exit: every part and the
// manifest included in blocks. Each iteration has a fresh journal, so it
// posts the whole file again. MB/s is the publishing rate, which the
// devnet's block rate and size bound.
func BenchmarkDatasetPut(b *testing.B) {
	dn := devnetproc.Run(b, "../..")
	full := dn.Info.Nodes["full"]
	file := filepath.Join(b.TempDir(), "dataset.bin")
	writeFile(b, file, randBytes(64, benchSize))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		putFile(ctx, b, dn.Bin, full.RPC, full.Token, file)
	}
}

// BenchmarkDatasetFetch puts a 64 MiB dataset on a devnet once (not
// timed), then measures, in the same run, a fresh stock kubo with no
// routing fetching it (`ipfs cat` of the root) after `ipfs swarm connect`
// over TCP:
//
//   - impl=ours: to the devnet's full node (our bitswap server over its
//     squares);
//   - impl=kubo: to another kubo on this machine holding the same file
//     (`ipfs add` with the unixfs-v1-2025 profile, which must give the
//     same root).
//
// Each iteration starts a new empty kubo (not timed), so nothing is cached
// on the fetching side; the fetched bytes' sha256 is checked every time.
// Pipe the output to tools/benchtable for the ours/kubo ratio (make
// bench-dataset).
func BenchmarkDatasetFetch(b *testing.B) {
	bin := ipfsBinary(b)
	dn := devnetproc.Run(b, "../..")
	full := dn.Info.Nodes["full"]
	if full.Gateway == "" || len(full.P2P) == 0 {
		b.Fatalf("devnet.json: full node without gateway or p2p addresses: %+v", full)
	}
	fullAddr := tcpAddr(b, full.P2P)

	data := randBytes(64, benchSize)
	file := filepath.Join(b.TempDir(), "dataset.bin")
	writeFile(b, file, data)
	want := sha256.Sum256(data)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	root := putFile(ctx, b, dn.Bin, full.RPC, full.Token, file)
	// The full node serves the dataset once it has stored and indexed every
	// part's height.
	waitCAR(ctx, b, full.Gateway+"/ipfs/"+root+"?format=car", exportOf(b, data))

	seeder := newRepoWith(b, bin)
	if got := seeder.add(file, false).String(); got != root {
		b.Fatalf("kubo add gave root %s, dataset put %s", got, root)
	}
	seeder.run("config", "Routing.Type", "none")
	seeder.startDaemon()
	seederAddr := tcpAddr(b, seeder.addrs())

	fetch := func(addr string) func(b *testing.B) {
		return func(b *testing.B) {
			b.SetBytes(benchSize)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				r := newRepoWith(b, bin)
				r.run("config", "Routing.Type", "none")
				r.startDaemon()
				r.run("swarm", "connect", addr)
				b.StartTimer()
				got := r.run("--timeout", fetchTimeout, "cat", root)
				b.StopTimer()
				if sha256.Sum256(got) != want {
					b.Fatalf("kubo fetched %d bytes from %s; sha256 differs from the file's", len(got), addr)
				}
				b.StartTimer()
			}
		}
	}
	b.Run("impl=ours", fetch(fullAddr))
	b.Run("impl=kubo", fetch(seederAddr))
}

// putFile runs `mesh-node dataset put` of file through a node's API with a
// fresh journal and returns the root it printed.
func putFile(ctx context.Context, b *testing.B, bin, url, token, file string) string {
	b.Helper()
	cmd := exec.CommandContext(ctx, bin, "dataset", "put", file, "--url", url, "--token", token,
		"--journal", filepath.Join(b.TempDir(), "put.jsonl"), "-o", "json")
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		b.Fatalf("dataset put: %v\n%s", err, stderr)
	}
	var res struct {
		Root string `json:"root"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Root == "" {
		b.Fatalf("dataset put output %q: %v", out, err)
	}
	return res.Root
}

// addrs returns the listen addresses of the repository's running daemon,
// each with its /p2p/ peer ID.
func (r *repo) addrs() []string {
	r.t.Helper()
	var id struct {
		Addresses []string `json:"Addresses"`
	}
	if err := json.Unmarshal(r.run("id"), &id); err != nil {
		r.t.Fatalf("ipfs id: %v", err)
	}
	return id.Addresses
}

// tcpAddr picks the loopback TCP address among a peer's addresses, so that
// both fetches of BenchmarkDataset use the same transport.
func tcpAddr(t testing.TB, addrs []string) string {
	t.Helper()
	for _, a := range addrs {
		if strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") && !strings.Contains(a, "/ws") {
			return a
		}
	}
	t.Fatalf("no loopback TCP address among %v", addrs)
	return ""
}
