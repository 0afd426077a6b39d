package kubo_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/dataset/serve"
	"github.com/datamesh/mesh-node/dataset/serve/servetest"
)

// fetchTimeout bounds one `ipfs cat` or `ipfs dag export` of a served
// dataset (kubo's global --timeout).
const fetchTimeout = "2m"

// servedDataset is a file imported into an in-memory blockstore, served
// by a bitswap server on a loopback libp2p host.
type servedDataset struct {
	data  []byte
	root  cid.Cid
	store blockstore.Blockstore
	host  host.Host
}

func serveDataset(t *testing.T, size int, seed uint64) servedDataset {
	t.Helper()
	data := randBytes(seed, size)
	bs := blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	root, err := dataset.ImportReader(context.Background(), bs, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	servetest.Bitswap(t, h, bs)
	return servedDataset{data: data, root: root, store: bs, host: h}
}

// startHTTP serves the gateway and the router of ds on a loopback port and
// returns the base URL.
func startHTTP(t *testing.T, ds servedDataset) string {
	t.Helper()
	gw, err := serve.NewGateway(ds.store, serve.DefaultGatewaySettings())
	if err != nil {
		t.Fatal(err)
	}
	rt, err := serve.NewRouter(ds.store, ds.host, serve.DefaultRouterSettings())
	if err != nil {
		t.Fatal(err)
	}
	return servetest.HTTP(t, gw, rt)
}

// startDaemon runs `ipfs daemon` on the repository until the test ends and
// returns once it is ready.
func (r *repo) startDaemon() {
	t := r.t
	t.Helper()
	cmd := exec.Command(r.bin, "daemon")
	cmd.Env = append(os.Environ(), "IPFS_PATH="+r.path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	ready := make(chan struct{})
	var log syncBuffer
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			fmt.Fprintln(&log, sc.Text())
			if !signalled && strings.Contains(sc.Text(), "Daemon is ready") {
				signalled = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		shutdown := exec.Command(r.bin, "shutdown")
		shutdown.Env = cmd.Env
		if out, err := shutdown.CombinedOutput(); err != nil {
			t.Logf("ipfs shutdown: %v: %s", err, out)
		}
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Errorf("ipfs daemon still running 30 s after shutdown; killing it")
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case <-ready:
	case err := <-exited:
		t.Fatalf("ipfs daemon exited before it was ready: %v\n%s\n%s", err, log.String(), stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("ipfs daemon not ready after 60 s\n%s\n%s", log.String(), stderr.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", url, resp.StatusCode, body)
	}
	return body
}

// TestKuboFetchesOverBitswap: a stock kubo with no routing, told only to
// `ipfs swarm connect` to a host running dataset/serve's bitswap server,
// `ipfs cat`s the dataset byte-identical; then its `ipfs dag export` of the
// root equals the gateway's ?format=car.
func TestKuboFetchesOverBitswap(t *testing.T) {
	ds := serveDataset(t, 5*mib+1, 16)
	url := startHTTP(t, ds)
	r := newRepo(t)
	r.run("config", "Routing.Type", "none")
	r.startDaemon()

	addr := fmt.Sprintf("%s/p2p/%s", ds.host.Addrs()[0], ds.host.ID())
	r.run("swarm", "connect", addr)
	start := time.Now()
	got := r.run("--timeout", fetchTimeout, "cat", ds.root.String())
	if !bytes.Equal(got, ds.data) {
		t.Fatalf("ipfs cat: %d bytes, want %d (first difference at %d)", len(got), len(ds.data), firstDiff(got, ds.data))
	}
	t.Logf("kubo fetched %d bytes over bitswap in %s", len(got), time.Since(start).Round(time.Millisecond))

	export := r.run("--timeout", fetchTimeout, "dag", "export", ds.root.String())
	car := httpGet(t, url+"/ipfs/"+ds.root.String()+"?format=car")
	if !bytes.Equal(car, export) {
		t.Fatalf("gateway ?format=car: %d bytes; kubo's ipfs dag export: %d bytes; first difference at %d", len(car), len(export), firstDiff(car, export))
	}
}

// TestKuboFindsThroughDelegatedRouter: a stock kubo whose only router is
// dataset/serve's delegated routing endpoint finds the serving host by the
// root CID, connects to it and fetches the dataset, with no swarm connect.
func TestKuboFindsThroughDelegatedRouter(t *testing.T) {
	ds := serveDataset(t, 3*mib+5, 17)
	url := startHTTP(t, ds)
	r := newRepo(t)
	r.run("config", "--json", "Routing", fmt.Sprintf(`{"Type":"delegated","DelegatedRouters":[%q]}`, url))
	r.run("config", "--json", "Provide.Enabled", "false")
	r.startDaemon()
	if peers := strings.TrimSpace(string(r.run("swarm", "peers"))); peers != "" {
		t.Fatalf("kubo has peers before fetching: %s", peers)
	}

	start := time.Now()
	got := r.run("--timeout", fetchTimeout, "cat", ds.root.String())
	if !bytes.Equal(got, ds.data) {
		t.Fatalf("ipfs cat: %d bytes, want %d (first difference at %d)", len(got), len(ds.data), firstDiff(got, ds.data))
	}
	t.Logf("kubo found and fetched %d bytes in %s", len(got), time.Since(start).Round(time.Millisecond))
	if peers := string(r.run("swarm", "peers")); !strings.Contains(peers, ds.host.ID().String()) {
		t.Fatalf("kubo's peers do not include the serving host %s: %s", ds.host.ID(), peers)
	}
}
