package main

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/nodebuilder"
)

func TestServePprof(t *testing.T) {
	for _, bad := range []string{"0.0.0.0:0", "192.0.2.1:6060", "example.com:6060", "6060"} {
		if _, _, err := servePprof(bad); err == nil {
			t.Errorf("servePprof(%q) accepted a non-loopback address", bad)
		}
	}
	addr, stop, err := servePprof("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("GET /debug/pprof/: %d %.200s", resp.StatusCode, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Fatal("still serving after stop")
	}
}

// A node's start refuses a --pprof address that is not loopback before it
// opens anything: the home keeps no store.
func TestStartPprofRefusesNonLoopback(t *testing.T) {
	home := t.TempDir()
	mustRun(t.Context(), t, "light", "init", "--home", home, "--chain-id", "pprof-test",
		"--bootstrap", "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo")
	wantErr(t.Context(), t, "want a loopback address", "light", "start", "--home", home, "--pprof", "0.0.0.0:6060")
	if _, err := os.Stat(filepath.Join(home, nodebuilder.DataDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("refused start left %s: %v", nodebuilder.DataDir, err)
	}
}
