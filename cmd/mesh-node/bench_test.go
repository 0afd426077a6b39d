package main

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/share"
)

// BenchmarkDevnetAPI measures JSON-RPC calls over HTTP on loopback against
// a devnet (one process: core, bridge, full, light), after one blob.Submit
// of two blobs (100 B and 20 kB) in two namespaces through the light node:
//   - submit: blob.Submit through the light node until inclusion (the
//     devnet's block time, 200 ms here, dominates);
//   - getall-full / getall-light: blob.GetAll of both namespaces from the
//     full node (its own square) and the light node (namespace data over
//     shrex from its peers, verified);
//   - get-header-light: header.GetByHeight;
//   - available-light: share.SharesAvailable (the DASer's stored result).
//
// Each reports p50 and p99 latency besides the mean.
func BenchmarkDevnetAPI(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	info, _ := startTestDevnet(ctx, b)
	light, full := info.Nodes["light"], info.Nodes["full"]
	b1, b2 := testBlob(b, "bench-a", strings.Repeat("a", 100)), testBlob(b, "bench-b", strings.Repeat("b", 20_000))
	var height uint64
	mustCall(ctx, b, light.RPC, light.Token, &height, "blob.Submit", []*blob.Blob{b1, b2}, nil)
	mustCall(ctx, b, full.RPC, full.Token, nil, "header.WaitForHeight", height)
	mustCall(ctx, b, light.RPC, light.Token, nil, "das.WaitCatchUp")
	nss := []share.Namespace{b1.Namespace, b2.Namespace}

	run := func(name string, call func()) {
		b.Run(name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				call()
				lat = append(lat, time.Since(start))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
	run("submit", func() {
		var h uint64
		mustCall(ctx, b, light.RPC, light.Token, &h, "blob.Submit", []*blob.Blob{b1}, nil)
	})
	getAll := func(url, token string) func() {
		return func() {
			var got []*blob.Blob
			mustCall(ctx, b, url, token, &got, "blob.GetAll", height, nss)
			if len(got) != 2 {
				b.Fatalf("blob.GetAll: %d blobs", len(got))
			}
		}
	}
	run("getall-full", getAll(full.RPC, full.Token))
	run("getall-light", getAll(light.RPC, light.Token))
	run("get-header-light", func() { mustCall(ctx, b, light.RPC, light.Token, nil, "header.GetByHeight", height) })
	run("available-light", func() { mustCall(ctx, b, light.RPC, light.Token, nil, "share.SharesAvailable", height) })
}
