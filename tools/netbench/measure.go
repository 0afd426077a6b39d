package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// scrapeParallel bounds the scrapes in flight in one round.
const scrapeParallel = 16

// lightTrack is what the rounds learn of one light node.
type lightTrack struct {
	maxLag, endLag uint64
	rounds         int // rounds in which it was scraped
	scrapeErrors   int
	maxRSS, endRSS float64
	base, end      hist    // its sampling-time histogram at the start and end
	cpu0, cpu1     float64 // process CPU seconds at the start and at its last scrape
}

// serverTrack is what the rounds learn of the bridge or a full node.
type serverTrack struct {
	cpu0, cpu1     float64 // process CPU seconds at the start and end
	shrex0, shrex1 float64 // shrex requests served
	maxRSS, endRSS float64
	scrapeErrors   int
}

// scrapeAll scrapes every node in nodes, scrapeParallel at a time.
func scrapeAll(ctx context.Context, nodes []*node) ([]map[string]*dto.MetricFamily, []error) {
	fams := make([]map[string]*dto.MetricFamily, len(nodes))
	errs := make([]error, len(nodes))
	sem := make(chan struct{}, scrapeParallel)
	var wg sync.WaitGroup
	for i, nd := range nodes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fams[i], errs[i] = scrape(ctx, nd.metrics)
		}()
	}
	wg.Wait()
	return fams, errs
}

// measure runs the load for cfg.Duration while scraping every node each
// cfg.Interval, then builds the report.
func (n *network) measure(ctx context.Context) (*Report, error) {
	cfg := n.cfg
	lights := make([]lightTrack, len(n.lights))
	servers := make([]serverTrack, len(n.servers))
	start := time.Now()
	busy0, total0, machineErr := machineCPU()
	startHead, err := chainHeight(ctx, n.coreRPC)
	if err != nil {
		return nil, err
	}
	// Baselines: the histograms and counters at the start of the window.
	fams, errs := scrapeAll(ctx, n.lights)
	for i := range lights {
		if errs[i] != nil {
			return nil, errs[i]
		}
		lights[i].base = histogram(fams[i], mSampleTime)
		lights[i].cpu0, _ = value(fams[i], mCPU)
		lights[i].cpu1 = lights[i].cpu0
	}
	fams, errs = scrapeAll(ctx, n.servers)
	for i := range servers {
		if errs[i] != nil {
			return nil, errs[i]
		}
		servers[i].cpu0, _ = value(fams[i], mCPU)
		servers[i].shrex0, _ = value(fams[i], mShrexRequests, "side", "server")
	}
	if cfg.RateMB > 0 {
		if err := n.startLoad(ctx, cfg.Duration); err != nil {
			return nil, err
		}
	}
	n.logf("measuring for %s from height %d", cfg.Duration, startHead)

	deadline := start.Add(cfg.Duration)
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	rounds := 0
	machineBusy := -1.0
	for last := false; !last; {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("netbench: interrupted: %w", ctx.Err())
		case <-tick.C:
		}
		last = !time.Now().Before(deadline)
		if err := n.checkAlive(); err != nil {
			return nil, err
		}
		// The head is read first: a node scraped later in the round can
		// only be further along, so a lag is never overstated.
		head, err := chainHeight(ctx, n.coreRPC)
		if err != nil {
			return nil, err
		}
		rounds++
		fams, errs := scrapeAll(ctx, n.lights)
		for i := range lights {
			t := &lights[i]
			if errs[i] != nil {
				t.scrapeErrors++
				continue
			}
			t.rounds++
			sampled, _ := value(fams[i], mSampledHead)
			lag := uint64(0)
			if s := uint64(sampled); s < head {
				lag = head - s
			}
			t.maxLag, t.endLag = max(t.maxLag, lag), lag
			if c, ok := value(fams[i], mCPU); ok {
				t.cpu1 = c
			}
			if rss, ok := value(fams[i], mRSS); ok {
				t.maxRSS, t.endRSS = max(t.maxRSS, rss), rss
			}
			if last {
				t.end = histogram(fams[i], mSampleTime)
			}
		}
		fams, errs = scrapeAll(ctx, n.servers)
		for i := range servers {
			t := &servers[i]
			if errs[i] != nil {
				t.scrapeErrors++
				continue
			}
			if rss, ok := value(fams[i], mRSS); ok {
				t.maxRSS, t.endRSS = max(t.maxRSS, rss), rss
			}
			t.cpu1, _ = value(fams[i], mCPU)
			t.shrex1, _ = value(fams[i], mShrexRequests, "side", "server")
		}
	}
	elapsed := time.Since(start)
	busy1, total1, err := machineCPU()
	if machineErr == nil && err == nil && total1 > total0 {
		machineBusy = float64(busy1-busy0) / float64(total1-total0)
	}
	endHead, err := chainHeight(ctx, n.coreRPC)
	if err != nil {
		return nil, err
	}
	rep := n.report(lights, servers, startHead, endHead, elapsed, rounds)
	rep.MachineBusy = machineBusy
	if n.loadgen != nil {
		n.logf("waiting for loadgen's read-back")
		load, err := n.finishLoad(ctx)
		if err != nil {
			return nil, err
		}
		rep.Load = load
	}
	return rep, nil
}

// checkAlive fails when a node has exited during the run.
func (n *network) checkAlive() error {
	all := append(append([]*node{n.core}, n.servers...), n.lights...)
	for _, nd := range all {
		select {
		case <-nd.proc.exited:
			return fmt.Errorf("netbench: %s exited during the run: %v\n%s", nd.name, nd.proc.err, tailOf(nd.proc.log))
		default:
		}
	}
	return nil
}

// report turns the tracks into the report.
func (n *network) report(lights []lightTrack, servers []serverTrack, startHead, endHead uint64, elapsed time.Duration, rounds int) *Report {
	cfg := n.cfg
	secs := elapsed.Seconds()
	rep := &Report{
		Date: time.Now().UTC().Format(time.RFC3339), Lights: cfg.Lights, Fulls: cfg.Fulls, Netem: cfg.Netem,
		Seconds: secs, LightProcs: cfg.LightProcs, BlockTime: cfg.BlockTime.String(), ChainStart: startHead, ChainEnd: endHead, Rounds: rounds,
		MaxLagAllowed: cfg.MaxLag, Quantiles: "bucket-interpolated from the merged meshnode_das_header_sample_duration_seconds histograms of every light node, over the measured window",
		RateMB: cfg.RateMB, WorkDir: n.work,
	}
	if cfg.Netem {
		rep.NetemDelay, rep.NetemRate = cfg.Shape.delay, cfg.Shape.rate
	}
	merged := hist{}
	rep.AllWithinLag = true
	for i, t := range lights {
		d := t.end.sub(t.base)
		merged.add(d)
		ls := LightSummary{Name: n.lights[i].name, MaxLag: t.maxLag, EndLag: t.endLag, HeadersSampled: d.count(),
			CPUCores: (t.cpu1 - t.cpu0) / secs, MaxRSSMB: t.maxRSS / 1e6, EndRSSMB: t.endRSS / 1e6, ScrapeErrors: t.scrapeErrors}
		rep.LightCPUCores += ls.CPUCores
		ls.Within = t.rounds > 0 && t.end != nil && t.maxLag <= cfg.MaxLag
		if !ls.Within {
			rep.AllWithinLag = false
			rep.NotWithin++
		}
		rep.LightNodes = append(rep.LightNodes, ls)
	}
	rep.HeadersSampled = merged.count()
	rep.SampleP50Ms = msOrZero(merged.quantile(0.5))
	rep.SampleP99Ms = msOrZero(merged.quantile(0.99))
	for i, t := range servers {
		rep.Servers = append(rep.Servers, ServerSummary{Name: n.servers[i].name, Mode: n.servers[i].mode,
			CPUCores: (t.cpu1 - t.cpu0) / secs, ShrexServedPerSec: (t.shrex1 - t.shrex0) / secs,
			MaxRSSMB: t.maxRSS / 1e6, EndRSSMB: t.endRSS / 1e6, ScrapeErrors: t.scrapeErrors})
	}
	return rep
}

func msOrZero(s float64) float64 {
	if math.IsNaN(s) {
		return 0
	}
	return math.Round(s*1e4) / 10 // ms, to 0.1 ms
}
