package core_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
)

const (
	crashDirEnv   = "MESH_CORE_CRASH_DIR"
	crashStartEnv = "MESH_CORE_CRASH_START"
	crashBlocks   = 40
)

// TestCrashChild is the process TestBridgeKilledMidWrite kills: a follower
// storing blocks from a fake core node, printing each stored height.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestBridgeKilledMidWrite")
	}
	start, err := strconv.ParseInt(os.Getenv(crashStartEnv), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fc := &fakeCore{chainID: "test-chain", blocks: genBlocksAt(t, crashBlocks, time.Unix(start, 0), nil)}
	fc.latest.Store(crashBlocks)
	db := badgertest.OpenAt(t, dir)
	s := core.NewStore(db, 0)
	opts := fakeOptions(t, fc, s, newCollector())
	opts.OnHeader = func(h *header.ExtendedHeader) { fmt.Printf("stored %d\n", h.Height()) }
	startFollower(ctx, t, opts)
	<-ctx.Done() // killed long before
}

// A bridge killed (SIGKILL) while it writes leaves a consistent store: a
// header for every stored square and a square for every header; a new
// follower on it resumes where it stopped and ends with every height.
func TestBridgeKilledMidWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashStartEnv+"="+strconv.FormatInt(start.Unix(), 10))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	killedAt := 0
	for sc.Scan() {
		if h, ok := strings.CutPrefix(sc.Text(), "stored "); ok {
			if killedAt, _ = strconv.Atoi(h); killedAt >= 5 {
				break
			}
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed: the error says so
	if killedAt < 5 {
		t.Fatalf("the child stopped at height %d before it was killed", killedAt)
	}

	db := badgertest.OpenAt(t, dir)
	defer db.Close()
	s := core.NewStore(db, 0)
	if err := s.Check(ctx); err != nil {
		t.Fatalf("after the kill: %v", err)
	}
	if s.Height() < uint64(killedAt) || s.Height() > crashBlocks {
		t.Fatalf("height %d after a kill at %d", s.Height(), killedAt)
	}
	t.Logf("killed after height %d was reported; the store holds %d", killedAt, s.Height())
	fc := &fakeCore{chainID: "test-chain", blocks: genBlocksAt(t, crashBlocks, start, nil)}
	fc.latest.Store(crashBlocks)
	col := newCollector()
	f, err := core.New(fakeOptions(t, fc, s, col))
	if err != nil {
		t.Fatal(err)
	}
	resumeFrom := s.Height() + 1
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if resumeFrom <= crashBlocks {
		col.waitHeight(ctx, t, crashBlocks)
	}
	if err := f.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if resumeFrom <= crashBlocks {
		col.checkContiguous(t, resumeFrom, crashBlocks)
	}
	checkChain(ctx, t, s, crashBlocks)
}
