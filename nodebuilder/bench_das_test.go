package nodebuilder_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// sampleChain is BenchmarkSampleHeader's chain.
var sampleChain benchChain

// BenchmarkSampleHeader is the time a light node takes to sample one header
// of a 32-wide square: 16 distinct random cells of the 64×64 extended square,
// fetched in parallel through the node's own getter (nodebuilder's
// shrex/getter over its shrex.Client and peers.Manager) from one test bridge
// over loopback TCP, each verified against the header's DAH as the DASer
// does. The light node (trusting height 1) first syncs and samples the 64
// headers of the chain with its DASer, untimed, so that it is idle during the
// timed loop. Each iteration samples one header (the chain's headers in
// turn); p50-ms and p99-ms are the median and 99th percentile of the
// iterations' durations.
func BenchmarkSampleHeader(b *testing.B) {
	const (
		n       = 64
		samples = das.DefaultSamplesPerHeader
		chainID = "bench-sample"
	)
	opts := benchChainOptions(chainID, time.Time{})
	opts.Seed = 13
	chain := sampleChain.get(b, opts, n)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	light := startBenchLight(ctx, b, sampleChain.lightOn(ctx, b, chainID))
	waitSampled(ctx, b, light, n)

	rng := rand.New(rand.NewPCG(1, 2))
	durations := make([]time.Duration, 0, b.N)
	errs := make(chan error, samples)
	b.ResetTimer()
	for i := range b.N {
		h := chain[i%n]
		coords := das.Coordinates(rng, 2*h.DAH.SquareSize(), samples)
		start := time.Now()
		for _, c := range coords {
			go func() {
				smp, err := light.Getter().GetSample(ctx, h, c.Row, c.Col)
				if err == nil {
					err = smp.Verify(h.DAH, c.Row, c.Col)
				}
				errs <- err
			}()
		}
		for range coords {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(percentile(durations, 0.50).Seconds()*1e3, "p50-ms")
	b.ReportMetric(percentile(durations, 0.99).Seconds()*1e3, "p99-ms")
}

// percentile returns the q-quantile of sorted ds (nearest rank).
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(q*float64(len(ds))+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// catchUpChain is BenchmarkDASCatchUp's chain.
var catchUpChain benchChain

// BenchmarkDASCatchUp: a fresh light node (Badger on disk, default options
// and DASer options, trusting height 1) catches up on a chain of 1,000
// headers of 32-wide squares, all already at one test bridge that serves
// them over header-ex and their squares over shrex (default limits), over
// loopback TCP. Each iteration is one light node,
// timed from Start until its DASer's sampled chain head is 1,000 and
// WaitCatchUp has returned; New and Stop are not timed. The syncer and the
// DASer run at once, as in production: the DASer samples each range of
// headers as soon as the syncer has stored it. headers/s is 1,000 over the
// timed duration; synced-ms is when the header store first reached 1,000
// (polled), sampled-ms the end.
func BenchmarkDASCatchUp(b *testing.B) {
	const (
		n       = 1000
		chainID = "bench-das"
	)
	opts := benchChainOptions(chainID, time.Time{})
	opts.Seed = 14
	catchUpChain.get(b, opts, n)
	ctx := context.Background()
	conf := catchUpChain.lightOn(ctx, b, chainID)

	var total, synced time.Duration
	headers := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		light, err := nodebuilder.New(nodebuilder.Light, b.TempDir(), conf, nodebuilder.Options{Logger: benchLogger()})
		if err != nil {
			b.Fatal(err)
		}
		waitCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		b.StartTimer()
		start := time.Now()
		if err := light.Start(waitCtx); err != nil {
			b.Fatal(err)
		}
		syncedAt := waitSampled(waitCtx, b, light, n)
		took := time.Since(start)
		b.StopTimer()
		cancel()
		total += took
		synced += syncedAt.Sub(start)
		headers += n
		if st := light.DASer().Stats(); st.Sampled < n || st.Unavailable != 0 {
			b.Fatalf("DASer stats after catch-up: %+v", st)
		}
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := light.Stop(stopCtx); err != nil {
			b.Fatal(err)
		}
		cancel()
		b.StartTimer()
	}
	b.ReportMetric(float64(headers)/total.Seconds(), "headers/s")
	b.ReportMetric(synced.Seconds()*1e3/float64(b.N), "synced-ms")
	b.ReportMetric(total.Seconds()*1e3/float64(b.N), "sampled-ms")
}

// startBenchLight starts a light node with conf (benchChain.lightOn); it
// is stopped when the benchmark ends.
func startBenchLight(ctx context.Context, b *testing.B, conf nodebuilder.Config) *nodebuilder.Node {
	b.Helper()
	light, err := nodebuilder.New(nodebuilder.Light, b.TempDir(), conf, nodebuilder.Options{Logger: benchLogger()})
	if err != nil {
		b.Fatal(err)
	}
	if err := light.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := light.Stop(stopCtx); err != nil {
			b.Errorf("stop light: %v", err)
		}
	})
	return light
}

// waitSampled polls n's DASer until its sampled chain head is at least h,
// then waits for WaitCatchUp. It returns when the header store was first
// seen at h.
func waitSampled(ctx context.Context, b *testing.B, n *nodebuilder.Node, h uint64) (synced time.Time) {
	b.Helper()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if synced.IsZero() && n.Headers().Height() >= h {
			synced = time.Now()
		}
		if n.DASer().Stats().SampledChainHead >= h {
			break
		}
		select {
		case <-ctx.Done():
			b.Fatalf("light node sampled up to %d of %d (store at %d): %v", n.DASer().Stats().SampledChainHead, h, n.Headers().Height(), ctx.Err())
		case <-tick.C:
		}
	}
	if synced.IsZero() {
		synced = time.Now()
	}
	if err := n.DASer().WaitCatchUp(ctx); err != nil {
		b.Fatal(err)
	}
	return synced
}
