package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/share"
)

// heightWatcher is a log writer that signals when the bridge logs a stored
// header at or above a height.
type heightWatcher struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	highest uint64
	changed chan struct{} // closed and replaced on every new height
}

var storedRE = regexp.MustCompile(`msg="stored extended header" height=(\d+)`)

func newHeightWatcher() *heightWatcher { return &heightWatcher{changed: make(chan struct{})} }

func (w *heightWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for _, m := range storedRE.FindAllSubmatch(p, -1) {
		if h, err := strconv.ParseUint(string(m[1]), 10, 64); err == nil && h > w.highest {
			w.highest = h
			close(w.changed)
			w.changed = make(chan struct{})
		}
	}
	return len(p), nil
}

func (w *heightWatcher) wait(ctx context.Context, t *testing.T, height uint64) {
	t.Helper()
	for {
		w.mu.Lock()
		highest, changed := w.highest, w.changed
		w.mu.Unlock()
		if highest >= height {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			w.mu.Lock()
			defer w.mu.Unlock()
			t.Fatalf("the bridge did not store height %d (highest %d); log:\n%s", height, highest, w.buf.String())
		}
	}
}

// startBridge runs "bridge start" in the background and returns the log
// watcher and a stop function that checks the command returned no error.
func startBridge(ctx context.Context, t *testing.T, home string) (*heightWatcher, func()) {
	t.Helper()
	w := newHeightWatcher()
	root := newRootCmd(func(string) string { return "" })
	root.SetOut(&bytes.Buffer{})
	root.SetErr(w)
	root.SetArgs([]string{"bridge", "start", "--home", home, "--log.level", "info"})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(runCtx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("bridge start: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return w, stop
}

// TestBridge runs a core node and a bridge through the CLI: the bridge
// learns the chain ID at init, stores every height with its square, resumes
// after a restart, and a blob posted with tx pay-for-blob reads back from
// its store with a namespace proof that verifies against the stored header.
func TestBridge(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	coreHome, bridgeHome := t.TempDir(), t.TempDir()
	mustRun(ctx, t, "core", "init", "--home", coreHome, "--chain-id", "bridge-test", "--block-time", "100ms")
	url, stopCore := startCore(ctx, t, coreHome, 1)

	wantErr(ctx, t, "is the home initialised", "bridge", "start", "--home", bridgeHome)
	out := mustRun(ctx, t, "bridge", "init", "--home", bridgeHome, "--core.rpc", url, "--p2p.listen", "/ip4/127.0.0.1/tcp/0", "--rpc.port", "0", "--dataset.gateway-addr", "127.0.0.1:0")
	if got := field(t, out, "chain_id"); got != "bridge-test" {
		t.Fatalf("bridge init learnt chain ID %q", got)
	}
	wantErr(ctx, t, "exists", "bridge", "init", "--home", bridgeHome, "--core.rpc", url)

	watch, stopBridge := startBridge(ctx, t, bridgeHome)
	watch.wait(ctx, t, 3)

	data := []byte("bridged blob")
	out = mustRun(ctx, t, "tx", "pay-for-blob", "--home", coreHome, "--from", "dev", "--node", url,
		"--namespace", hex.EncodeToString([]byte("bridge-ns")), "--data", string(data))
	height, err := strconv.ParseUint(field(t, out, "height"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	commitment, err := base64.StdEncoding.DecodeString(field(t, out, "commitment")) // the CLI prints base64
	if err != nil {
		t.Fatal(err)
	}
	watch.wait(ctx, t, height+1)
	stopBridge()

	// A restart resumes from the stored head.
	watch, stopBridge = startBridge(ctx, t, bridgeHome)
	watch.wait(ctx, t, height+3)
	stopBridge()
	stopCore()

	db := badgertest.OpenAt(t, filepath.Join(bridgeHome, nodebuilder.DataDir))
	defer db.Close()
	store := core.NewStore(db, 1)
	if err := store.Check(ctx); err != nil {
		t.Fatalf("store check: %v", err)
	}
	if store.Height() < height+3 {
		t.Fatalf("store height %d, want at least %d", store.Height(), height+3)
	}
	for h := uint64(1); h <= store.Height(); h++ {
		if _, err := store.GetByHeight(ctx, h); err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
	}
	ns, err := share.NewV0Namespace([]byte("bridge-ns"))
	if err != nil {
		t.Fatal(err)
	}
	blob, err := store.GetBlob(ctx, height, ns, commitment)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(blob.Blob.Data(), data) {
		t.Fatalf("blob data %q, want %q", blob.Blob.Data(), data)
	}
	if err := blob.Proof.Verify(blob.Header.DAH, ns); err != nil {
		t.Fatalf("namespace proof: %v", err)
	}
}

// TestBridgeConfig checks bridge init's flags and config validation.
func TestBridgeConfig(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	mustRun(ctx, t, "bridge", "init", "--home", home, "--chain-id", "c1", "--core.rpc", "http://127.0.0.1:1", "--p2p.listen", "/ip4/127.0.0.1/tcp/0", "--rpc.port", "0", "--dataset.gateway-addr", "127.0.0.1:0")
	conf, err := nodebuilder.LoadConfig(home, nodebuilder.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	if conf.ChainID != "c1" || conf.Core.RPC != "http://127.0.0.1:1" || conf.Square.MaxSize != share.DefaultMaxSquareSize || conf.Store.CacheSquares != 16 ||
		!conf.Dataset.Bitswap || conf.Dataset.GatewayAddress != "127.0.0.1:0" {
		t.Fatalf("config %+v", conf)
	}
	wantErr(ctx, t, "dataset.gateway_address", "bridge", "init", "--home", t.TempDir(), "--chain-id", "c1", "--dataset.gateway-addr", "26661")
	// Without --chain-id, init needs the core node.
	_, err = run(ctx, nil, "bridge", "init", "--home", t.TempDir(), "--core.rpc", "http://127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "--chain-id") {
		t.Fatalf("init without a reachable core: %v", err)
	}
	// start refuses an unreachable core node instead of hanging.
	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := run(startCtx, nil, "bridge", "start", "--home", home, "--log.level", "none"); err == nil {
		t.Fatal("bridge start succeeded without a core node")
	}
}
