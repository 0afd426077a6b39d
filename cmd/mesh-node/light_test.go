package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	headerstore "github.com/datamesh/mesh-node/header/store"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// output collects what a running command writes and lets a test wait for
// a pattern in it.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

// wait returns the first submatches of re once the output holds it.
func (o *output) wait(ctx context.Context, t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	for {
		o.mu.Lock()
		m, changed := re.FindStringSubmatch(o.buf.String()), o.changed
		o.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-changed:
		case <-ctx.Done():
			o.mu.Lock()
			defer o.mu.Unlock()
			t.Fatalf("no %q in the output:\n%s", re, o.buf.String())
		}
	}
}

// startCmd runs a long-running command in the background; stop cancels it
// and checks it returned no error.
func startCmd(ctx context.Context, t *testing.T, args ...string) (out *output, stop func()) {
	t.Helper()
	out = newOutput()
	root := newRootCmd(func(string) string { return "" })
	root.SetOut(out)
	root.SetErr(out)
	root.SetArgs(args)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(runCtx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s: %v", strings.Join(args[:2], " "), err)
			}
		})
	}
	t.Cleanup(stop)
	return out, stop
}

var (
	addressRE = regexp.MustCompile(`address: (/ip4/127\.0\.0\.1/tcp/\d+/p2p/\w+)`)
	readyRE   = regexp.MustCompile(`msg="header store ready" height=(\d+)`)
)

// TestLightFollowsBridge runs a core node, a bridge and a light node
// through the CLI: the light bootstraps from the address bridge start
// prints, initialises from the head the bridge reports, follows new
// headers, and keeps them across a restart.
func TestLightFollowsBridge(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	coreHome, bridgeHome, lightHome := t.TempDir(), t.TempDir(), t.TempDir()
	mustRun(ctx, t, "core", "init", "--home", coreHome, "--chain-id", "light-cli", "--block-time", "100ms")
	url, _ := startCore(ctx, t, coreHome, 1)
	mustRun(ctx, t, "bridge", "init", "--home", bridgeHome, "--core.rpc", url, "--p2p.listen", "/ip4/127.0.0.1/tcp/0", "--rpc.port", "0", "--dataset.gateway-addr", "127.0.0.1:0")
	bridgeOut, _ := startCmd(ctx, t, "bridge", "start", "--home", bridgeHome)
	bridgeAddr := bridgeOut.wait(ctx, t, addressRE)[1]

	wantErr(ctx, t, "bootstrap_peers is empty", "light", "init", "--home", t.TempDir(), "--chain-id", "light-cli")
	// A light node serves no datasets: it has no [dataset] flags.
	wantErr(ctx, t, "unknown flag: --dataset.gateway-addr", "light", "init", "--home", t.TempDir(), "--chain-id", "light-cli", "--bootstrap", bridgeAddr, "--dataset.gateway-addr", "127.0.0.1:0")
	wantErr(ctx, t, "trusted_hash", "light", "init", "--home", t.TempDir(), "--chain-id", "light-cli", "--bootstrap", bridgeAddr, "--trusted-hash", "abc")
	out := mustRun(ctx, t, "light", "init", "--home", lightHome, "--chain-id", "light-cli",
		"--bootstrap", bridgeAddr, "--p2p.listen", "/ip4/127.0.0.1/tcp/0", "--rpc.port", "0")
	peerID := field(t, out, "peer_id")

	lightOut, stopLight := startCmd(ctx, t, "light", "start", "--home", lightHome)
	if got := lightOut.wait(ctx, t, regexp.MustCompile(`peer_id: (\w+)`))[1]; got != peerID {
		t.Fatalf("light start prints peer ID %s, init printed %s", got, peerID)
	}
	base, err := strconv.ParseUint(lightOut.wait(ctx, t, readyRE)[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// The light follows: wait for the bridge to store five more heights.
	bridgeOut.wait(ctx, t, regexp.MustCompile(`stored extended header" height=`+strconv.FormatUint(base+5, 10)+`\b`))
	stopLight()

	// A restart resumes from the stored head rather than initialising again.
	lightOut, stopLight = startCmd(ctx, t, "light", "start", "--home", lightHome)
	lightOut.wait(ctx, t, addressRE)
	bridgeOut.wait(ctx, t, regexp.MustCompile(`stored extended header" height=`+strconv.FormatUint(base+8, 10)+`\b`))
	wantErr(ctx, t, "home is in use by another mesh-node process", "light", "reset-store", "--home", lightHome)
	stopLight()
	lightOut.mu.Lock()
	restarted := lightOut.buf.String()
	lightOut.mu.Unlock()
	if strings.Contains(restarted, "initialised from trusted header") {
		t.Error("the light initialised again after a restart")
	}

	db := badgertest.OpenAt(t, filepath.Join(lightHome, nodebuilder.DataDir))
	s := headerstore.New(db)
	if s.Height() < base+5 {
		t.Fatalf("light stored up to %d, initialised at %d: it did not follow", s.Height(), base)
	}
	for h := base; h <= s.Height(); h++ {
		if _, err := s.GetByHeight(ctx, h); err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// reset-store removes the database and keeps the config and keys.
	out = mustRun(ctx, t, "light", "reset-store", "--home", lightHome)
	if got := field(t, out, "removed"); got != filepath.Join(lightHome, nodebuilder.DataDir) {
		t.Fatalf("reset-store removed %q", got)
	}
	for path, want := range map[string]bool{nodebuilder.DataDir: false, nodebuilder.ConfigFile: true, nodebuilder.KeyFile: true} {
		if _, err := os.Stat(filepath.Join(lightHome, path)); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", path, err == nil, want)
		}
	}
}
