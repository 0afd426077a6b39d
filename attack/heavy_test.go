//go:build attack

package attack_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestGetEDSFlood: 100 concurrent share.GetEDS of a k = 128 square from the
// full node, spread over 10 tokens. Before the heavy-call limiter, 20 such
// calls took a node from 1.2 to 6 GB. Every call must get the square or a
// "busy" error within its deadline, and the devnet process (all four nodes)
// must stay under 1.5 GB.
func TestGetEDSFlood(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	d := startDevnet(t, "")

	// One blob of 2,000,000 bytes needs about 4,200 shares: a k = 128 square.
	data := make([]byte, 2_000_000)
	_, _ = rand.Read(data)
	ns := append(make([]byte, 19), []byte("attack-eds")...)
	r, err := d.call(ctx, "light", "blob.Submit", []map[string]any{{"namespace": ns, "data": data, "share_version": 0}}, nil)
	if err != nil || r.Error != nil {
		t.Fatalf("blob.Submit: %v %+v", err, r.Error)
	}
	var height uint64
	if err := json.Unmarshal(r.Result, &height); err != nil {
		t.Fatal(err)
	}
	if r, err := d.call(ctx, "full", "header.WaitForHeight", height); err != nil || r.Error != nil {
		t.Fatalf("full node WaitForHeight(%d): %v %+v", height, err, r.Error)
	}
	if r, err := d.call(ctx, "full", "share.SharesAvailable", height); err != nil || r.Error != nil {
		t.Fatalf("full node SharesAvailable(%d): %v %+v", height, err, r.Error)
	}

	tokens := make([]string, 10)
	for i := range tokens {
		r, err := d.call(ctx, "full", "node.AuthNew", []string{"read"})
		if err != nil || r.Error != nil || json.Unmarshal(r.Result, &tokens[i]) != nil {
			t.Fatalf("node.AuthNew: %v %+v", err, r.Error)
		}
	}
	before, _ := d.rss()
	rssCtx, stopRSS := context.WithCancel(ctx)
	peak := d.peakRSS(rssCtx)

	const calls = 100
	const deadline = time.Minute
	var served, busy atomic.Int64
	errs := make(chan string, calls)
	start := time.Now()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "share.GetEDS", "params": []any{height}})
	parallel(calls, func(i int) {
		cctx, cancel := context.WithTimeout(ctx, deadline)
		defer cancel()
		r, err := d.post(cctx, "full", tokens[i%len(tokens)], body)
		switch {
		case err != nil:
			errs <- err.Error()
		case r.Error != nil && strings.Contains(r.Error.Message, "busy"):
			busy.Add(1)
		case r.Error != nil:
			errs <- r.Error.Message
		default:
			var eds struct {
				DataSquare [][]byte `json:"data_square"`
			}
			if err := json.Unmarshal(r.Result, &eds); err != nil || len(eds.DataSquare) != 256*256 {
				errs <- "a square of other size"
				return
			}
			served.Add(1)
		}
	})
	elapsed := time.Since(start)
	stopRSS()
	p := <-peak
	close(errs)
	for e := range errs {
		t.Errorf("a call got neither the square nor busy: %s", e)
	}
	t.Logf("%d calls: %d served, %d busy in %v; devnet RSS %d MB before, %d MB peak", calls, served.Load(), busy.Load(), elapsed.Round(time.Millisecond), before>>20, p>>20)
	if served.Load() == 0 {
		t.Error("no call was served")
	}
	if p > 1500<<20 {
		t.Errorf("devnet peak RSS %d MB, over 1.5 GB", p>>20)
	}
	// The node keeps serving: a light call still answers.
	if _, err := d.height(ctx, "light"); err != nil {
		t.Errorf("light node after the flood: %v", err)
	}
}
