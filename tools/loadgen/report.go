package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"text/tabwriter"
	"time"
)

// Sample is one sampling round, T seconds after the start.
type Sample struct {
	T         float64               `json:"t"`
	ChainHead uint64                `json:"chain_head"`
	Nodes     map[string]NodeSample `json:"nodes"`
}

// NodeSample is one node's state in a round; a nil field was not
// available (the node's mode has no such head, or the call failed).
type NodeSample struct {
	HeaderHead  *uint64  `json:"header_head,omitempty"`
	SampledHead *uint64  `json:"sampled_head,omitempty"`
	StoredHead  *uint64  `json:"stored_head,omitempty"`
	RSS         *float64 `json:"rss_bytes,omitempty"`
	// AnonRSS is the process's anonymous resident memory (RssAnon:
	// heap and stacks, without mapped files such as Badger's tables and
	// value logs); HeapInuse the Go heap in use.
	AnonRSS *float64 `json:"anon_rss_bytes,omitempty"`
	// LazyFree is the part of AnonRSS the process freed with MADV_FREE
	// and the kernel has not taken back yet: counted as resident, but
	// reclaimed without I/O whenever the kernel needs memory.
	LazyFree  *float64 `json:"lazyfree_bytes,omitempty"`
	HeapInuse *float64 `json:"go_heap_inuse_bytes,omitempty"`
}

// NodeSummary sums up one node over the run. Lags are in blocks behind
// the chain head; -1 means never measured.
type NodeSummary struct {
	Name           string  `json:"name"`
	Mode           string  `json:"mode"`
	MaxHeaderLag   int64   `json:"max_header_lag"`
	MaxSampledLag  int64   `json:"max_sampled_lag"`
	MaxStoredLag   int64   `json:"max_stored_lag"`
	MeanSampledLag float64 `json:"mean_sampled_lag"`
	MaxRSSBytes    float64 `json:"max_rss_bytes"`
	RSSSource      string  `json:"rss_source"`
	// With --warmup: the RSS of the first sample at or after the warm-up,
	// the largest after it, and the growth between them in per cent
	// (0 when the run had no sample after the warm-up).
	RSSAtWarmupBytes float64 `json:"rss_at_warmup_bytes,omitempty"`
	MaxRSSAfterBytes float64 `json:"max_rss_after_warmup_bytes,omitempty"`
	RSSGrowthPct     float64 `json:"rss_growth_after_warmup_pct,omitempty"`
	// The same for anonymous memory (RssAnon) and the Go heap in use,
	// where the node's metrics report them: RSS also counts the page
	// cache of memory-mapped store files, which grows with the data
	// stored and is given back under memory pressure.
	MaxAnonBytes      float64 `json:"max_anon_rss_bytes,omitempty"`
	AnonAtWarmupBytes float64 `json:"anon_rss_at_warmup_bytes,omitempty"`
	MaxAnonAfterBytes float64 `json:"max_anon_rss_after_warmup_bytes,omitempty"`
	AnonGrowthPct     float64 `json:"anon_rss_growth_after_warmup_pct,omitempty"`
	// The same for the anonymous memory in use, RssAnon less LazyFree:
	// what the process holds, where the kernel reports LazyFree.
	MaxInUseBytes      float64 `json:"max_anon_inuse_bytes,omitempty"`
	InUseAtWarmupBytes float64 `json:"anon_inuse_at_warmup_bytes,omitempty"`
	MaxInUseAfterBytes float64 `json:"max_anon_inuse_after_warmup_bytes,omitempty"`
	InUseGrowthPct     float64 `json:"anon_inuse_growth_after_warmup_pct,omitempty"`
	MaxHeapBytes       float64 `json:"max_go_heap_inuse_bytes,omitempty"`
	HeapAtWarmupBytes  float64 `json:"go_heap_inuse_at_warmup_bytes,omitempty"`
	MaxHeapAfterBytes  float64 `json:"max_go_heap_inuse_after_warmup_bytes,omitempty"`
	HeapGrowthPct      float64 `json:"go_heap_inuse_growth_after_warmup_pct,omitempty"`
	// The trend of each series: the median of the last warm-up-long
	// window of the load against that of the first one after the warm-up,
	// in per cent (0: a load shorter than three warm-ups).
	RSSTrendPct   float64 `json:"rss_trend_pct,omitempty"`
	AnonTrendPct  float64 `json:"anon_rss_trend_pct,omitempty"`
	InUseTrendPct float64 `json:"anon_inuse_trend_pct,omitempty"`
	HeapTrendPct  float64 `json:"go_heap_inuse_trend_pct,omitempty"`
}

// growth follows one memory series of a node: its largest value, its
// value at the first sample at or after the warm-up, the largest after
// it, and the growth between those in per cent; and, for the trend, the
// samples of the first window after the warm-up and of the last of the
// load, each as long as the warm-up.
type growth struct {
	max, at, maxAfter float64
	first, last       []float64
}

func (g *growth) add(v *float64, t, warmup, loadEnd float64) {
	if v == nil {
		return
	}
	g.max = max(g.max, *v)
	if warmup > 0 && t >= warmup {
		if g.at == 0 {
			g.at = *v
		}
		g.maxAfter = max(g.maxAfter, *v)
		if t < 2*warmup {
			g.first = append(g.first, *v)
		}
		if t >= loadEnd-warmup && t <= loadEnd {
			g.last = append(g.last, *v)
		}
	}
}

// trendPct is the growth in per cent from the median of the first window
// after the warm-up to that of the last window of the load: unlike pct, a
// peak of the garbage collector's sawtooth against a random point of it
// does not decide it. It is 0 when the load was too short for two windows
// apart (under three warm-ups).
func (g growth) trendPct(warmup, loadEnd float64) float64 {
	if loadEnd < 3*warmup || len(g.first) == 0 || len(g.last) == 0 {
		return 0
	}
	a, b := median(g.first), median(g.last)
	if a <= 0 {
		return 0
	}
	return 100 * (b - a) / a
}

// median returns the median of v (not empty); it sorts v.
func median(v []float64) float64 {
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func (g growth) pct() float64 {
	if g.at <= 0 {
		return 0
	}
	return 100 * (g.maxAfter - g.at) / g.at
}

// Report is a run's result, as written to the JSON file.
type Report struct {
	Start          time.Time      `json:"start"`
	LoadSeconds    float64        `json:"load_seconds"`
	WarmupSeconds  float64        `json:"warmup_seconds,omitempty"`
	TargetMBps     float64        `json:"target_mbps"`
	Sizes          string         `json:"sizes"`
	Namespaces     int            `json:"namespaces"`
	Concurrency    int            `json:"concurrency"`
	SubmittedBlobs int            `json:"submitted_blobs"`
	SubmittedBytes int64          `json:"submitted_bytes"`
	IncludedBlobs  int            `json:"included_blobs"`
	IncludedBytes  int64          `json:"included_bytes"`
	IncludedMBps   float64        `json:"included_mbps"`
	Blocks         int            `json:"blocks"`
	LatencyP50Ms   float64        `json:"submit_latency_p50_ms"`
	LatencyP99Ms   float64        `json:"submit_latency_p99_ms"`
	Errors         map[string]int `json:"errors"`
	Retries        int            `json:"retries"`
	Failed         int            `json:"failed"`
	Nodes          []NodeSummary  `json:"nodes"`
	Throughput     []float64      `json:"included_mbps_per_second"`
	Samples        []Sample       `json:"samples"`
	Notes          []string       `json:"notes,omitempty"`
}

// report builds the Report from the runner's records and the blocks
// verify read back.
func (r *runner) report(blocks []blockBytes, missing int) *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	load := r.loadEnd.Sub(r.start)
	rep := &Report{
		Start: r.start, LoadSeconds: load.Seconds(), WarmupSeconds: r.cfg.Warmup.Seconds(), TargetMBps: r.cfg.Rate / 1e6,
		Namespaces: r.cfg.Namespaces, Concurrency: r.cfg.Concurrency,
		SubmittedBlobs: len(r.ok), Blocks: len(blocks),
		LatencyP50Ms: float64(percentile(r.latency, 50)) / 1e6,
		LatencyP99Ms: float64(percentile(r.latency, 99)) / 1e6,
		Errors:       map[string]int{}, Retries: r.retries, Failed: r.failed,
		Samples: r.samples,
	}
	for k, v := range r.errs {
		rep.Errors[k] = v
	}
	if missing > 0 {
		rep.Errors[errMissing] = missing
	}
	for _, s := range r.ok {
		rep.SubmittedBytes += int64(s.size)
	}
	for _, b := range blocks {
		rep.IncludedBytes += b.Bytes
	}
	rep.IncludedBlobs = len(r.ok) - missing
	rep.IncludedMBps = mbps(rep.IncludedBytes, load)
	sort.Slice(blocks, func(i, j int) bool { return blocks[i].Height < blocks[j].Height })
	bins := int(load/time.Second) + 1
	rep.Throughput = binThroughput(blocks, r.start, time.Second, bins)
	rep.Nodes = summarize(r.cfg.Watch, r.nodeMode, r.samples, r.cfg.Warmup.Seconds(), load.Seconds())
	if r.cfg.Rate > 0 && load > 0 {
		if got := mbps(rep.SubmittedBytes, load); got < 0.9*r.cfg.Rate/1e6 {
			p50 := percentile(r.latency, 50)
			bound := 0.0
			if p50 > 0 {
				bound = float64(r.cfg.Concurrency) * r.cfg.Sizes.Mean() / 1e6 / p50.Seconds()
			}
			rep.Notes = append(rep.Notes, fmt.Sprintf("submitted %.2f MB/s, under the %.2f MB/s target: %d in flight x %.0f KB mean blob / %.2f s p50 latency allows about %.2f MB/s (raise --concurrency)",
				got, r.cfg.Rate/1e6, r.cfg.Concurrency, r.cfg.Sizes.Mean()/1e3, p50.Seconds(), bound))
		}
	}
	if slices.ContainsFunc(r.cfg.Watch, func(n Node) bool { return n.Shared }) {
		rep.Notes = append(rep.Notes, "devnet: every node runs in one process, so each node's RSS is that process's RSS")
	}
	return rep
}

// anonInUse is AnonRSS less LazyFree, nil unless both were reported.
func (ns NodeSample) anonInUse() *float64 {
	if ns.AnonRSS == nil || ns.LazyFree == nil {
		return nil
	}
	v := *ns.AnonRSS - *ns.LazyFree
	return &v
}

// summarize computes each node's worst lags and RSS over samples.
// With warmup > 0 it also computes each node's memory growth (RSS,
// anonymous memory, anonymous memory in use, Go heap) after the first
// warmup seconds.
func summarize(nodes []Node, modes map[string]string, samples []Sample, warmup, loadEnd float64) []NodeSummary {
	var out []NodeSummary
	for _, n := range nodes {
		s := NodeSummary{Name: n.Name, Mode: modes[n.Name], MaxHeaderLag: -1, MaxSampledLag: -1, MaxStoredLag: -1}
		var sum float64
		var cnt int
		var rss, anon, inUse, heap growth
		for _, smp := range samples {
			ns, ok := smp.Nodes[n.Name]
			if !ok {
				continue
			}
			if ns.HeaderHead != nil {
				s.MaxHeaderLag = max(s.MaxHeaderLag, int64(lag(smp.ChainHead, *ns.HeaderHead)))
			}
			if ns.SampledHead != nil {
				l := lag(smp.ChainHead, *ns.SampledHead)
				s.MaxSampledLag = max(s.MaxSampledLag, int64(l))
				sum += float64(l)
				cnt++
			}
			if ns.StoredHead != nil {
				s.MaxStoredLag = max(s.MaxStoredLag, int64(lag(smp.ChainHead, *ns.StoredHead)))
			}
			rss.add(ns.RSS, smp.T, warmup, loadEnd)
			anon.add(ns.AnonRSS, smp.T, warmup, loadEnd)
			inUse.add(ns.anonInUse(), smp.T, warmup, loadEnd)
			heap.add(ns.HeapInuse, smp.T, warmup, loadEnd)
		}
		s.MaxRSSBytes, s.RSSAtWarmupBytes, s.MaxRSSAfterBytes, s.RSSGrowthPct = rss.max, rss.at, rss.maxAfter, rss.pct()
		s.MaxAnonBytes, s.AnonAtWarmupBytes, s.MaxAnonAfterBytes, s.AnonGrowthPct = anon.max, anon.at, anon.maxAfter, anon.pct()
		s.MaxInUseBytes, s.InUseAtWarmupBytes, s.MaxInUseAfterBytes, s.InUseGrowthPct = inUse.max, inUse.at, inUse.maxAfter, inUse.pct()
		s.MaxHeapBytes, s.HeapAtWarmupBytes, s.MaxHeapAfterBytes, s.HeapGrowthPct = heap.max, heap.at, heap.maxAfter, heap.pct()
		s.RSSTrendPct, s.AnonTrendPct, s.HeapTrendPct = rss.trendPct(warmup, loadEnd), anon.trendPct(warmup, loadEnd), heap.trendPct(warmup, loadEnd)
		s.InUseTrendPct = inUse.trendPct(warmup, loadEnd)
		if cnt > 0 {
			s.MeanSampledLag = sum / float64(cnt)
		}
		switch {
		case s.MaxRSSBytes == 0:
			s.RSSSource = "unavailable (no metrics URL: start the devnet with --metrics)"
		case n.Shared:
			s.RSSSource = "process (shared by every devnet node)"
		default:
			s.RSSSource = "node process"
		}
		out = append(out, s)
	}
	return out
}

// writeTable prints rep for a terminal.
func writeTable(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "load\t%.1f s, target %.2f MB/s, sizes %s, %d namespaces, %d in flight\n",
		rep.LoadSeconds, rep.TargetMBps, rep.Sizes, rep.Namespaces, rep.Concurrency)
	fmt.Fprintf(tw, "submitted\t%d blobs, %.2f MB\n", rep.SubmittedBlobs, float64(rep.SubmittedBytes)/1e6)
	fmt.Fprintf(tw, "included (read back)\t%d blobs, %.2f MB in %d blocks: %.2f MB/s\n",
		rep.IncludedBlobs, float64(rep.IncludedBytes)/1e6, rep.Blocks, rep.IncludedMBps)
	fmt.Fprintf(tw, "submit latency\tp50 %.0f ms, p99 %.0f ms\n", rep.LatencyP50Ms, rep.LatencyP99Ms)
	kinds := make([]string, 0, len(rep.Errors))
	for k := range rep.Errors {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	errs := "none"
	if len(kinds) > 0 {
		errs = ""
		for _, k := range kinds {
			errs += fmt.Sprintf("%s=%d ", k, rep.Errors[k])
		}
	}
	fmt.Fprintf(tw, "errors\t%s(retried %d, failed %d)\n", errs, rep.Retries, rep.Failed)
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "node\tmode\tmax header lag\tmax sampled lag\tmean sampled lag\tmax stored lag\tmax RSS MB\tRSS source")
	lagStr := func(l int64) string {
		if l < 0 {
			return "-"
		}
		return fmt.Sprint(l)
	}
	for _, n := range rep.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%s\t%.0f\t%s\n", n.Name, n.Mode, lagStr(n.MaxHeaderLag),
			lagStr(n.MaxSampledLag), n.MeanSampledLag, lagStr(n.MaxStoredLag), n.MaxRSSBytes/1e6, n.RSSSource)
	}
	if rep.WarmupSeconds > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintf(tw, "node\tMB at %.0f s, max after, growth; trend (median, last %.0f s against first %.0f s after):\tRSS\tanonymous (RssAnon)\tGo heap in use\n",
			rep.WarmupSeconds, rep.WarmupSeconds, rep.WarmupSeconds)
		col := func(at, maxAfter, pct, trend float64) string {
			if at == 0 {
				return "-"
			}
			t := "-"
			if rep.LoadSeconds >= 3*rep.WarmupSeconds {
				t = fmt.Sprintf("%+.1f%%", trend)
			}
			return fmt.Sprintf("%.0f, %.0f, %+.1f%%; trend %s", at/1e6, maxAfter/1e6, pct, t)
		}
		for _, n := range rep.Nodes {
			fmt.Fprintf(tw, "%s\t\t%s\t%s\t%s\t%s\n", n.Name, col(n.RSSAtWarmupBytes, n.MaxRSSAfterBytes, n.RSSGrowthPct, n.RSSTrendPct),
				col(n.AnonAtWarmupBytes, n.MaxAnonAfterBytes, n.AnonGrowthPct, n.AnonTrendPct),
				col(n.InUseAtWarmupBytes, n.MaxInUseAfterBytes, n.InUseGrowthPct, n.InUseTrendPct), col(n.HeapAtWarmupBytes, n.MaxHeapAfterBytes, n.HeapGrowthPct, n.HeapTrendPct))
		}
	}
	for _, note := range rep.Notes {
		fmt.Fprintf(tw, "note: %s\n", note)
	}
	return tw.Flush()
}

// writeJSON writes rep to path.
func writeJSON(path string, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("loadgen: report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("loadgen: report: %w", err)
	}
	return nil
}
