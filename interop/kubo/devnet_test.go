package kubo_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"

	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/internal/devnetproc"
)

// TestDevnetDataset is issue 16's devnet test of serving: it starts
// `mesh-node devnet` (built from this checkout), puts a 20 MiB file with
// `mesh-node dataset put` through the light node, and fetches it
// byte-identical (sha256) from the full node with a stock kubo two ways —
// with no routing after `ipfs swarm connect` to the full node, and with
// only the full node's delegated router — and checks that the full node's
// gateway ?format=car equals kubo's `ipfs dag export`.
func TestDevnetDataset(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet")
	}
	bin := ipfsBinary(t) // build kubo first: minutes on a cold cache
	dn := devnetproc.Run(t, "../..")
	light, full := dn.Info.Nodes["light"], dn.Info.Nodes["full"]
	if full.Gateway == "" || len(full.P2P) == 0 {
		t.Fatalf("devnet.json: full node without gateway or p2p addresses: %+v", full)
	}

	data := randBytes(20, 20*mib)
	file := filepath.Join(t.TempDir(), "dataset.bin")
	writeFile(t, file, data)
	want := sha256.Sum256(data)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	put := exec.CommandContext(ctx, dn.Bin, "dataset", "put", file, "--url", light.RPC, "--token", light.Token,
		"--journal", filepath.Join(t.TempDir(), "put.jsonl"), "--parallel", "2", "-o", "json")
	out, err := put.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("dataset put: %v\n%s", err, stderr)
	}
	var res struct {
		Root  string `json:"root"`
		Parts []struct {
			Height uint64 `json:"height"`
		} `json:"parts"`
		Manifest struct {
			Height uint64 `json:"height"`
		} `json:"manifest"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("dataset put output %q: %v", out, err)
	}
	t.Logf("put %s: %d parts, manifest at height %d", res.Root, len(res.Parts), res.Manifest.Height)

	// The full node serves the whole dataset once it has stored and indexed
	// the heights of every part: poll its gateway until the root's CAR is
	// the export computed here from the file.
	wantCAR := exportOf(t, data)
	car := waitCAR(ctx, t, full.Gateway+"/ipfs/"+res.Root+"?format=car", wantCAR)

	// kubo with no routing, told only the full node's address.
	bitswapOnly := newRepoWith(t, bin)
	bitswapOnly.run("config", "Routing.Type", "none")
	bitswapOnly.startDaemon()
	bitswapOnly.run("swarm", "connect", full.P2P[0])
	start := time.Now()
	got := bitswapOnly.run("--timeout", fetchTimeout, "cat", res.Root)
	if sha256.Sum256(got) != want {
		t.Fatalf("kubo (swarm connect) fetched %d bytes, sha256 differs from the file's", len(got))
	}
	t.Logf("kubo (swarm connect) fetched %d bytes from the full node in %s", len(got), time.Since(start).Round(time.Millisecond))
	export := bitswapOnly.run("--timeout", fetchTimeout, "dag", "export", res.Root)
	if !bytes.Equal(car, export) {
		t.Fatalf("gateway ?format=car: %d bytes; kubo's ipfs dag export: %d bytes; first difference at %d", len(car), len(export), firstDiff(car, export))
	}

	// kubo whose only router is the full node's delegated routing endpoint.
	delegated := newRepoWith(t, bin)
	delegated.run("config", "--json", "Routing", fmt.Sprintf(`{"Type":"delegated","DelegatedRouters":[%q]}`, full.Gateway))
	delegated.run("config", "--json", "Provide.Enabled", "false")
	delegated.startDaemon()
	start = time.Now()
	got = delegated.run("--timeout", fetchTimeout, "cat", res.Root)
	if sha256.Sum256(got) != want {
		t.Fatalf("kubo (delegated routing) fetched %d bytes, sha256 differs from the file's", len(got))
	}
	t.Logf("kubo (delegated routing) found and fetched %d bytes in %s", len(got), time.Since(start).Round(time.Millisecond))
}

// newRepoWith is newRepo with the kubo binary already found.
func newRepoWith(t testing.TB, bin string) *repo {
	t.Helper()
	r := newRepo(t)
	if r.bin != bin {
		t.Fatalf("kubo binary %s, want %s", r.bin, bin)
	}
	return r
}

// exportOf is the CAR `ipfs dag export` gives for data's root: the CAR
// header of the root followed by every part's blocks, computed with the
// dataset package.
func exportOf(t testing.TB, data []byte) []byte {
	t.Helper()
	ctx := context.Background()
	bs := blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	root, err := dataset.ImportReader(ctx, bs, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := dataset.CARHeader(root)
	if err != nil {
		t.Fatal(err)
	}
	header := len(out)
	if _, err := dataset.Pack(ctx, bs, root, 2*mib, func(p dataset.Part) error {
		out = append(out, p.Data[header:]...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitCAR GETs url until it answers 200 with want (a node answers 404
// until it has indexed the dataset's root, and a shorter CAR until it has
// stored every part) and returns the body; answers other than 200 and 404
// fail the test.
func waitCAR(ctx context.Context, t testing.TB, url string, want []byte) []byte {
	t.Helper()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var body bytes.Buffer
			_, err = body.ReadFrom(resp.Body)
			resp.Body.Close()
			switch {
			case err != nil:
			case resp.StatusCode == http.StatusOK && bytes.Equal(body.Bytes(), want):
				return body.Bytes()
			case resp.StatusCode == http.StatusOK:
				err = fmt.Errorf("a CAR of %d bytes, want %d (first difference at %d)", body.Len(), len(want), firstDiff(body.Bytes(), want))
			case resp.StatusCode != http.StatusNotFound:
				t.Fatalf("GET %s: %d %s", url, resp.StatusCode, strings.TrimSpace(body.String()))
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("GET %s: not served before the deadline (last error %v)", url, err)
		case <-tick.C:
		}
	}
}
