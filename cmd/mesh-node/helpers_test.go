package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/core/coretest"
)

// run executes the command line args in-process, with env as the
// environment, and returns its standard output.
func run(ctx context.Context, env map[string]string, args ...string) (string, error) {
	root := newRootCmd(func(k string) string { return env[k] })
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// serveAPI starts an API server of mods without auth on a free loopback
// port, stopped at the test's end, and returns its URL.
func serveAPI(t *testing.T, mods api.Modules) string {
	t.Helper()
	srv, err := api.NewServer(api.ServerOptions{Addr: "127.0.0.1:0", SkipAuth: true}, mods)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return "http://" + srv.Addr()
}

// mustRun is run that fails the test on an error.
func mustRun(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(ctx, nil, args...)
	if err != nil {
		t.Fatalf("mesh-node %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// wantErr runs args and checks that they fail with an error containing want.
func wantErr(ctx context.Context, t *testing.T, want string, args ...string) {
	t.Helper()
	_, err := run(ctx, nil, args...)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("mesh-node %s: got error %v, want one containing %q", strings.Join(args, " "), err, want)
	}
}

// field returns the value of "name: value" in text output.
func field(t *testing.T, out, name string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, name+": "); ok {
			return v
		}
	}
	t.Fatalf("no %q in output:\n%s", name, out)
	return ""
}

// startCore runs "core start" for home in the background on free loopback
// ports and waits until the node has committed minHeight. It returns the
// node's RPC URL and a stop function that cancels the command and checks
// that it returned no error; stop also runs at cleanup.
func startCore(ctx context.Context, t *testing.T, home string, minHeight int64) (rpcURL string, stop func()) {
	t.Helper()
	rpcAddr := fmt.Sprintf("127.0.0.1:%d", coretest.FreePort(t))
	startCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := run(startCtx, nil, "core", "start", "--home", home, "--log.level", "none",
			"--rpc.laddr", "tcp://"+rpcAddr, "--p2p.laddr", fmt.Sprintf("tcp://127.0.0.1:%d", coretest.FreePort(t)))
		done <- err
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("core start: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	rpcURL = "http://" + rpcAddr
	c, err := rpchttp.New(rpcURL, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := c.Status(ctx)
		if err == nil && st.SyncInfo.LatestBlockHeight >= minHeight {
			return rpcURL, stop
		}
		select {
		case err := <-done:
			done <- err // for stop
			t.Fatalf("core start returned early: %v", err)
		case <-ctx.Done():
			t.Fatalf("the node did not reach height %d: %v", minHeight, err)
		case <-tick.C:
		}
	}
}

// testCore is a core node started by initCore.
type testCore struct {
	home string        // its home directory
	h    string        // --home=<home>
	node string        // --node=<its RPC URL>
	dev  string        // the dev account core init funded
	rpc  *rpchttp.HTTP // a client of its RPC
}

// initCore runs core init in a new home for chainID with 100 ms blocks and
// starts the node with startCore (stopped at cleanup).
func initCore(ctx context.Context, t *testing.T, chainID string) testCore {
	t.Helper()
	home := t.TempDir()
	n := testCore{home: home, h: "--home=" + home}
	out := mustRun(ctx, t, "core", "init", n.h, "--chain-id", chainID, "--moniker", "v0", "--block-time", "100ms")
	n.dev = field(t, out, "dev_account")
	url, _ := startCore(ctx, t, home, 1)
	n.node = "--node=" + url
	c, err := rpchttp.New(url, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	n.rpc = c
	return n
}
