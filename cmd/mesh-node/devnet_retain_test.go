package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// --retain-blocks bounds the core node's blocks and
// --full.availability-window the full node's squares: the core node's
// earliest block and the full node's lowest square file move up with the
// head, and the window is written to the full node's config.toml.
func TestDevnetRetention(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home := t.TempDir()
	info, _ := runTestDevnet(ctx, t, home, "--base-port", "0", "--retain-blocks", "5", "--full.availability-window", "2s")

	conf, err := nodebuilder.ReadConfig(filepath.Join(home, "full"))
	if err != nil {
		t.Fatal(err)
	}
	if w := time.Duration(conf.Store.AvailabilityWindow); w != 2*time.Second {
		t.Fatalf("the full node's config.toml has availability_window %s, want 2s", w)
	}

	core, err := rpchttp.New(info.CoreRPC, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(ctx, t, "the core node to prune its first blocks", func() bool {
		st, err := core.Status(ctx)
		return err == nil && st.SyncInfo.EarliestBlockHeight > 1 &&
			st.SyncInfo.EarliestBlockHeight >= st.SyncInfo.LatestBlockHeight-6
	})

	// The full node stores every square in a file named by its height;
	// with a window of 2 s (pruned every second) its lowest height rises.
	squares := filepath.Join(home, "full", nodebuilder.DataDir, store.FileDirName)
	waitUntil(ctx, t, "the full node to prune its oldest squares", func() bool {
		low, high := fileHeights(t, squares)
		return high > 20 && low > 1 && high-low < 20
	})
}

// fileHeights returns the lowest and highest height of the square files in
// dir (0, 0 if there are none).
func fileHeights(t *testing.T, dir string) (low, high uint64) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".ods")
		hex, _, found := strings.Cut(name, "-")
		if !ok || !found {
			continue
		}
		h, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			continue
		}
		if low == 0 || h < low {
			low = h
		}
		high = max(high, h)
	}
	return low, high
}
