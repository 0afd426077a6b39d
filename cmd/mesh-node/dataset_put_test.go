package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/share"
)

// cliMainEnv, set in a test binary's environment, makes TestMain run the
// mesh-node command line with the binary's arguments instead of the tests:
// tests run mesh-node as a process of its own to kill it.
const cliMainEnv = "MESH_NODE_TEST_RUN_CLI"

// hangAfterPartsEnv, with cliMainEnv, makes that command line's dataset
// get stop for good once it has fetched and cached that many parts, so
// that a test kills it there rather than racing it.
const hangAfterPartsEnv = "MESH_NODE_TEST_HANG_AFTER_PARTS"

func TestMain(m *testing.M) {
	if os.Getenv(lazyFreeTestEnv) == "1" {
		if err := lazyFree(); err != nil {
			fmt.Println("error:", err)
		}
		fmt.Printf("pid %d GODEBUG=%s\n", os.Getpid(), os.Getenv("GODEBUG"))
		os.Exit(0)
	}
	if os.Getenv(cliMainEnv) == "1" {
		c := &cli{getenv: os.Getenv, setMemoryLimit: debug.SetMemoryLimit}
		if n, err := strconv.Atoi(os.Getenv(hangAfterPartsEnv)); err == nil {
			var fetched atomic.Int64
			c.afterPartFetched = func(int) {
				for fetched.Add(1) >= int64(n) {
					time.Sleep(time.Hour) // until killed
				}
			}
		}
		os.Exit(runMain(c))
	}
	os.Exit(m.Run())
}

// journalLines reads a put's journal: its header, then its records.
func journalLines(t *testing.T, path string) (journalHeader, []journalRecord) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	var h journalHeader
	if err := json.Unmarshal(lines[0], &h); err != nil {
		t.Fatalf("journal header: %v\n%s", err, data)
	}
	var recs []journalRecord
	for _, l := range lines[1:] {
		var r journalRecord
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatalf("journal line %s: %v", l, err)
		}
		recs = append(recs, r)
	}
	return h, recs
}

// donePart reports whether recs hold a completed record of part i.
func donePart(recs []journalRecord, i int) bool {
	for _, r := range recs {
		if r.Kind == recordPart && r.Index == i {
			return true
		}
	}
	return false
}

// pendingPart reports whether recs hold a pending record of part i.
func pendingPart(recs []journalRecord, i int) bool {
	for _, r := range recs {
		if r.Kind == recordPending && r.Of == recordPart && r.Index == i {
			return true
		}
	}
	return false
}

// headHeight returns the full node's head height.
func headHeight(ctx context.Context, t *testing.T, info devnetInfo) uint64 {
	t.Helper()
	full := info.Nodes["full"]
	return headOf(ctx, t, full.RPC, full.Token, "header.LocalHead")
}

// putFixture writes size pseudo-random bytes of seed to dir/name.bin and
// returns the file, its root, and the version 0 namespace of ID id with
// the ID in hex (for --namespace).
func putFixture(t *testing.T, dir, name string, seed byte, size int, id string) (string, cid.Cid, share.Namespace, string) {
	t.Helper()
	file := filepath.Join(dir, name+".bin")
	if err := os.WriteFile(file, pseudoRandom(seed, size), 0o600); err != nil {
		t.Fatal(err)
	}
	root, _ := importRoot(t, file)
	ns, err := share.NewV0Namespace([]byte(id))
	if err != nil {
		t.Fatal(err)
	}
	return file, root, ns, hex.EncodeToString([]byte(id))
}

// onceOnChain checks that, over every height from before the put's first
// run (from: nothing of the put can be below) up to its manifest, the
// namespace holds each of res's parts and its manifest exactly once, and
// nothing else.
func onceOnChain(ctx context.Context, t *testing.T, info devnetInfo, ns share.Namespace, from uint64, res putResult) {
	t.Helper()
	full := info.Nodes["full"]
	mustCall(ctx, t, full.RPC, full.Token, nil, "header.WaitForHeight", res.Manifest.Height)
	n := countOnChain(ctx, t, full.RPC, full.Token, ns, from, res.Manifest.Height)
	if len(n) != len(res.Parts)+1 {
		t.Fatalf("%d distinct blobs in the namespace, want %d parts and the manifest", len(n), len(res.Parts))
	}
	for i, p := range res.Parts {
		if n[string(p.Commitment)] != 1 {
			t.Fatalf("part %d (%x) is on chain %d times", i, []byte(p.Commitment), n[string(p.Commitment)])
		}
	}
	if n[string(res.Manifest.Commitment)] != 1 {
		t.Fatalf("the manifest is on chain %d times", n[string(res.Manifest.Commitment)])
	}
}

// dataset put's pending records and part size, on a devnet through the
// light node: a put stopped after a part's Submit returned, before its
// completion was recorded (as a kill during the Submit would), resumes
// and finds the part on chain instead of posting it again, while a part
// stopped before its Submit was sent is posted on resume; the part size
// defaults to the chain's max_blob_size (state.Params), and a larger
// --max-part-size is refused before anything is posted. Then a put run
// as a process of its own, SIGKILLed once its journal holds two parts,
// resumes with the same root, each blob once on chain.
func TestDatasetPutPending(t *testing.T) {
	if testing.Short() {
		t.Skip("a devnet and many blocks (90 s under the race detector): make test runs it without -race, and -short under -race")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	info, home := startTestDevnet(ctx, t)
	lightHome := filepath.Join(home, "light")
	dir := t.TempDir()
	noEnv := func(string) string { return "" }

	// Five parts, in a namespace of its own, two in flight at once: part 1
	// stops after its Submit returned; the other in flight is cancelled.
	file, root, ns, nsHex := putFixture(t, dir, "sent", 11, 5<<20, "pend-sent")
	journal := filepath.Join(dir, "sent.jsonl")
	args := []string{"--home", lightHome, "--parallel", "2", "--namespace", nsHex, "--journal", journal, file}
	from := headHeight(ctx, t, info)
	killCtx, kill := context.WithCancel(ctx)
	errKilled := errors.New("killed after the Submit")
	_, err := putJSON(killCtx, t, &cli{getenv: noEnv, afterPartSubmit: func(i int) error {
		if i == 1 {
			kill()
			return errKilled
		}
		return nil
	}}, args...)
	kill()
	// Part 1's stop, or the cancellation of the other part in flight,
	// whichever failed first.
	if err == nil || !strings.Contains(err.Error(), "run the same put again") {
		t.Fatalf("the stopped put: %v, want a stopped put that says how to resume", err)
	}
	hdr, recs := journalLines(t, journal)
	phdr, pend := journalLines(t, journal+pendingSuffix)
	if hdr.Version != 1 || hdr.MaxPartSize != tx.DefaultParams().MaxBlobSize || phdr != hdr {
		t.Fatalf("journal headers %+v, %+v: want version 1 and the devnet's max_blob_size", hdr, phdr)
	}
	if !pendingPart(pend, 1) || donePart(recs, 1) {
		t.Fatalf("journal after the stop: %+v, pending %+v; want part 1 pending, not done", recs, pend)
	}
	res, err := putJSON(ctx, t, &cli{getenv: noEnv}, args...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Root != root.String() || len(res.Parts) != 5 || res.Reused < 1 || res.Posted+res.Reused != 6 {
		t.Fatalf("resumed put: %+v, want part 1 reused", res)
	}
	onceOnChain(ctx, t, info, ns, from, res)
	_, recs = journalLines(t, journal)
	if !donePart(recs, 1) {
		t.Fatalf("journal after the resume: %+v, want part 1 done", recs)
	}

	// Stopped before the Submit of part 0 was sent: the resume waits for
	// two blocks, does not find it, and posts it.
	file, _, ns, nsHex = putFixture(t, dir, "unsent", 12, 3<<20, "pend-unsnt")
	journal = filepath.Join(dir, "unsent.jsonl")
	args = []string{"--home", lightHome, "--parallel", "1", "--namespace", nsHex, "--journal", journal, file}
	errStop := errors.New("killed before the Submit")
	from = headHeight(ctx, t, info)
	_, err = putJSON(ctx, t, &cli{getenv: noEnv, beforePartSubmit: func(int) error { return errStop }}, args...)
	if !errors.Is(err, errStop) {
		t.Fatalf("the stopped put: %v", err)
	}
	_, recs = journalLines(t, journal)
	if _, pend = journalLines(t, journal+pendingSuffix); len(recs) != 0 || len(pend) != 1 || !pendingPart(pend, 0) {
		t.Fatalf("journal after the stop: %+v, pending %+v; want part 0 pending only", recs, pend)
	}
	res, err = putJSON(ctx, t, &cli{getenv: noEnv}, args...)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Parts) != 3 || res.Posted != 4 || res.Reused != 0 || res.Parts[0].Height <= pend[0].Height+settleBlocks {
		t.Fatalf("resumed put: %+v, want every blob posted, part 0 above height %d", res, pend[0].Height+settleBlocks)
	}
	onceOnChain(ctx, t, info, ns, from, res)

	// A part larger than the chain's max_blob_size is refused before
	// anything is posted, or the journal opened.
	big := filepath.Join(dir, "big.jsonl")
	wantErr(ctx, t, "--max-part-size 3000000 is over the chain's max_blob_size, 2097152 bytes",
		"dataset", "put", "--home", lightHome, "--max-part-size", "3000000", "--journal", big, file)
	if _, err := os.Stat(big); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused put left a journal: %v", err)
	}

	testDatasetPutKilled(ctx, t, info, lightHome, dir)
}

// testDatasetPutKilled runs dataset put as a process of its own (this test
// binary, running the command line: TestMain), SIGKILLs it once its
// journal holds two completed parts, and runs it again: the second run
// finishes with the same root, and each blob is on chain once.
func testDatasetPutKilled(ctx context.Context, t *testing.T, info devnetInfo, lightHome, dir string) {
	t.Helper()
	file, root, ns, nsHex := putFixture(t, dir, "killed", 13, 8<<20, "pend-kill")
	journal := filepath.Join(dir, "killed.jsonl")
	args := []string{"dataset", "put", "-o", "json", "--home", lightHome, "--parallel", "2", "--namespace", nsHex, "--journal", journal, file}
	from := headHeight(ctx, t, info)
	parts := func() bool {
		data, err := os.ReadFile(journal)
		return err == nil && bytes.Count(data, []byte(`"kind":"part"`)) >= 2
	}
	if err := killWhen(ctx, t, args, nil, "its journal held two parts", parts); err == nil {
		t.Fatal("the killed put exited cleanly: it finished before the kill")
	}
	_, recs := journalLines(t, journal)
	if donePart(recs, 7) {
		t.Fatalf("the put finished its parts before the kill: %+v", recs)
	}

	out := runCLIProcess(ctx, t, args, "the resumed put")
	var res putResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("the resumed put printed %s: %v", out, err)
	}
	if res.Root != root.String() || len(res.Parts) != 8 || res.Reused < 2 {
		t.Fatalf("the resumed put: %+v, want root %s, 8 parts, at least 2 reused", res, root)
	}
	onceOnChain(ctx, t, info, ns, from, res)
	t.Logf("the killed put resumed: %d blobs posted, %d reused", res.Posted, res.Reused)
	testDatasetGetKilled(ctx, t, lightHome, dir, file, nsHex, res)
}

// testDatasetGetKilled runs dataset get of the dataset put (through the
// light node: verified reads) as a process of its own that stops for good
// once it has cached two parts, SIGKILLs it there, and runs it again: the
// second run uses the two cached parts, fetches only the others, and
// writes the file byte for byte.
func testDatasetGetKilled(ctx context.Context, t *testing.T, lightHome, dir, file, nsHex string, put putResult) {
	t.Helper()
	out := filepath.Join(dir, "killed.out")
	args := []string{"dataset", "get", put.Root, "--home", lightHome, "--height", strconv.FormatUint(put.Manifest.Height, 10),
		"--namespace", nsHex, "--cache", filepath.Join(dir, "get-cache"), "--out", out}
	cached := func() bool {
		n := 0
		_ = filepath.WalkDir(filepath.Join(dir, "get-cache"), func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".car") {
				n++
			}
			return nil
		})
		return n >= 2
	}
	_ = killWhen(ctx, t, args, []string{hangAfterPartsEnv + "=2"}, "it cached two parts", cached)
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the killed get left its output: %v", err)
	}

	text := runCLIProcess(ctx, t, args, "the resumed get")
	if !strings.Contains(string(text), "fetched: 6\ncached: 2\n") {
		t.Fatalf("the resumed get printed %q, want 6 parts fetched and 2 from its cache", text)
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the resumed get wrote %d bytes (%v), want the %d bytes put", len(got), err, len(want))
	}
	t.Logf("the killed get resumed: 2 parts from its cache, 6 fetched")
}

// killWhen runs the command line args as a process of its own (this test
// binary: TestMain) with env added, SIGKILLs it once reached reports true,
// and returns its exit error. It fails t if the process exits first.
func killWhen(ctx context.Context, t *testing.T, args, env []string, what string, reached func() bool) error {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), cliMainEnv+"=1"), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !reached() {
		select {
		case err := <-exited:
			t.Fatalf("%s exited before %s: %v\n%s", args[:2], what, err, stderr.Bytes())
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-tick.C:
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	return <-exited
}

// runCLIProcess runs the command line args as a process of its own and
// returns its standard output; it fails t, naming what, if it fails.
func runCLIProcess(ctx context.Context, t *testing.T, args []string, what string) []byte {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), cliMainEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, stderr.Bytes())
	}
	return out
}
