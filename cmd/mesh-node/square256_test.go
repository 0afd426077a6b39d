package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/share"
)

// TestDevnetSquare256 runs a devnet with --max-square-size 256 and
// --max-blob-size 8 MiB and fills blocks with blobs submitted concurrently
// through the three nodes: one of 6 MB, which a chain of the default
// max_blob_size refuses, and ten of 1.9 MB (25 MB in all: however the
// proposer spreads them over up to three blocks, one holds more than the
// 7.8 MB a 128 square can), then checks a block whose square is 256 wide
// end to end: its header's DAH has 512 row and
// column roots, the bridge holds it, the full node holds it and serves it
// whole through share.GetEDS (the extension of its original quarter, with
// the header's DAH), and the light node sampled it.
func TestDevnetSquare256(t *testing.T) {
	if testing.Short() || raceEnabled || os.Getenv("MESH_TEST_SQUARE256") == "" {
		t.Skip("fills 32 MiB squares in a devnet (about 40 s and 2.3 GB on 2 cores): only with MESH_TEST_SQUARE256=1, not with -short or -race")
	}
	const (
		blobs    = 11
		blobSize = 1_900_000
		bigBlob  = 6_000_000 // the first blob's size
	)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	home := t.TempDir()
	info, _ := runTestDevnet(ctx, t, home, "--base-port", "0", "--max-square-size", "256", "--max-blob-size", "8388608", "--block-time", "2s", "--metrics")
	bridge, full, light := info.Nodes["bridge"], info.Nodes["full"], info.Nodes["light"]
	ingest := watchIngest(ctx, t, bridge.Metrics)
	submitters := []devnetNodeRef{bridge, full, light}

	rng := rand.New(rand.NewPCG(256, 1))
	data := make([][]byte, blobs)
	for i := range data {
		data[i] = make([]byte, blobSize)
		if i == 0 {
			data[i] = make([]byte, bigBlob)
		}
		for j := range data[i] {
			data[i][j] = byte(rng.Uint32())
		}
	}
	start := time.Now()
	heights := make([]uint64, blobs)
	errs := make([]error, blobs)
	var wg sync.WaitGroup
	for i := range blobs {
		wg.Go(func() {
			ns, err := share.NewV0Namespace([]byte("sq256-" + strconv.Itoa(i)))
			if err != nil {
				errs[i] = err
				return
			}
			b, err := blob.New(ns, data[i])
			if err != nil {
				errs[i] = err
				return
			}
			heights[i], errs[i] = submitBlob(ctx, submitters[i%len(submitters)], b)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("blob %d: %v", i, err)
		}
	}
	t.Logf("a %d-byte blob and %d of %d bytes included in %s at heights %v", bigBlob, blobs-1, blobSize, time.Since(start), heights)

	// The largest square among the blocks the blobs went into.
	var height uint64
	var dah dahJSON
	for _, h := range heights {
		var eh struct {
			DAH dahJSON `json:"dah"`
		}
		mustCall(ctx, t, bridge.RPC, bridge.Token, &eh, "header.GetByHeight", h)
		if len(eh.DAH.RowRoots) > len(dah.RowRoots) {
			height, dah = h, eh.DAH
		}
	}
	if len(dah.RowRoots) != 512 || len(dah.ColumnRoots) != 512 {
		t.Fatalf("largest square, at height %d: %d row and %d column roots, want 512 each", height, len(dah.RowRoots), len(dah.ColumnRoots))
	}

	// The bridge and the full node hold the square, the light node sampled
	// it: share.SharesAvailable answers null once the full node stored it
	// and once the light node's DASer sampled it.
	for _, n := range []struct {
		name string
		ref  devnetNodeRef
	}{{"bridge", bridge}, {"full", full}, {"light", light}} {
		waitAvailable(ctx, t, n.name, n.ref, height)
	}
	var stats struct {
		HeadOfSampledChain uint64 `json:"head_of_sampled_chain"`
	}
	mustCall(ctx, t, light.RPC, light.Token, &stats, "das.SamplingStats")
	if stats.HeadOfSampledChain < height {
		t.Fatalf("light node: head of sampled chain %d, below %d", stats.HeadOfSampledChain, height)
	}
	if d, ok := ingest.time(height); ok {
		t.Logf("bridge ingest of the 256 square at height %d (fetch, build, verify, store): %s", height, d)
	}
	checkEDS(ctx, t, full, height, dah)
}

// ingestWatch records the bridge's total ingest time
// (bridge_ingest_duration_seconds_sum) at each height it reports, scraped
// every 20 ms: the bridge ingests one block at a time, so the difference
// between consecutive heights is the later block's ingest time.
type ingestWatch struct {
	mu  sync.Mutex
	sum map[uint64]float64
}

func watchIngest(ctx context.Context, t *testing.T, url string) *ingestWatch {
	w := &ingestWatch{sum: map[uint64]float64{}}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if h, sum, err := scrapeIngest(ctx, url); err == nil {
				w.mu.Lock()
				if _, seen := w.sum[h]; !seen {
					w.sum[h] = sum
				}
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// time returns the ingest time of the block at height, if the watch saw
// both it and the one before.
func (w *ingestWatch) time(height uint64) (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	after, ok1 := w.sum[height]
	before, ok2 := w.sum[height-1]
	return time.Duration((after - before) * float64(time.Second)), ok1 && ok2
}

// scrapeIngest reads the bridge's ingested height and total ingest time
// from its Prometheus endpoint.
func scrapeIngest(ctx context.Context, url string) (height uint64, sum float64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, 0, err
	}
	var gotH, gotS bool
	for line := range strings.Lines(string(body)) {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		switch f[0] {
		case "meshnode_bridge_ingested_height":
			v, err := strconv.ParseFloat(f[1], 64)
			height, gotH = uint64(v), err == nil
		case "meshnode_bridge_ingest_duration_seconds_sum":
			v, err := strconv.ParseFloat(f[1], 64)
			sum, gotS = v, err == nil
		}
	}
	if !gotH || !gotS {
		return 0, 0, fmt.Errorf("metrics: no ingest height or time")
	}
	return height, sum, nil
}

// submitBlob submits b with blob.Submit through n and returns its height;
// unlike mustCall it may run on any goroutine.
func submitBlob(ctx context.Context, n devnetNodeRef, b *blob.Blob) (uint64, error) {
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "blob.Submit", "params": []any{[]*blob.Blob{b}, map[string]any{}}})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.RPC, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+n.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Result uint64    `json:"result"`
		Error  *rpcError `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&r); err != nil {
		return 0, fmt.Errorf("blob.Submit: HTTP %d: %w", resp.StatusCode, err)
	}
	if r.Error != nil {
		return 0, fmt.Errorf("blob.Submit: error %d: %s", r.Error.Code, r.Error.Message)
	}
	return r.Result, nil
}

type dahJSON struct {
	RowRoots    [][]byte `json:"row_roots"`
	ColumnRoots [][]byte `json:"column_roots"`
}

// waitAvailable polls share.SharesAvailable on n until it answers null for
// height (the node holds or sampled the square), failing at ctx's end.
func waitAvailable(ctx context.Context, t *testing.T, name string, n devnetNodeRef, height uint64) {
	t.Helper()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		_, rerr := rpcCall(ctx, t, n.RPC, n.Token, "share.SharesAvailable", height)
		if rerr == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s node: square %d not available: %s", name, height, rerr.Message)
		case <-tick.C:
		}
	}
}

// checkEDS fetches the square at height from n with share.GetEDS and
// checks that it is 512 wide, the extension of its original quarter, and
// has dah as its roots.
func checkEDS(ctx context.Context, t *testing.T, n devnetNodeRef, height uint64, dah dahJSON) {
	t.Helper()
	var sq struct {
		DataSquare [][]byte `json:"data_square"`
	}
	mustCall(ctx, t, n.RPC, n.Token, &sq, "share.GetEDS", height)
	const w = 512
	if len(sq.DataSquare) != w*w {
		t.Fatalf("share.GetEDS %d: %d shares, want %d", height, len(sq.DataSquare), w*w)
	}
	ods := make([][]byte, 0, w/2*w/2)
	for r := range w / 2 {
		ods = append(ods, sq.DataSquare[r*w:r*w+w/2]...)
	}
	e, err := eds.Extend(ods)
	if err != nil {
		t.Fatal(err)
	}
	for r := range w {
		for c := range w {
			if !bytes.Equal(e.Share(r, c), sq.DataSquare[r*w+c]) {
				t.Fatalf("share.GetEDS %d: share (%d, %d) is not the extension's", height, r, c)
			}
		}
	}
	got, err := eds.NewDAH(e)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equals(&eds.DataAvailabilityHeader{RowRoots: dah.RowRoots, ColumnRoots: dah.ColumnRoots}) {
		t.Fatalf("share.GetEDS %d: the square's roots are not the header's", height)
	}
}
