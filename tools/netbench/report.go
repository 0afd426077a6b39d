package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
)

// Report is a run's result, written as JSON and as a table.
type Report struct {
	Date   string `json:"date"`
	Lights int    `json:"lights"`
	Fulls  int    `json:"fulls"`
	// LightProcs is each light node process's GOMAXPROCS (0: Go's default).
	LightProcs int     `json:"light_gomaxprocs"`
	Netem      bool    `json:"netem"`
	NetemDelay string  `json:"netem_delay,omitempty"` // each direction
	NetemRate  string  `json:"netem_rate,omitempty"`  // each direction
	BlockTime  string  `json:"block_time"`
	Seconds    float64 `json:"seconds"` // the measured window
	ChainStart uint64  `json:"chain_start"`
	ChainEnd   uint64  `json:"chain_end"`
	Rounds     int     `json:"rounds"` // scrapes of every node in the window
	RateMB     float64 `json:"target_rate_mbps"`
	WorkDir    string  `json:"work_dir"` // the homes and logs, removed at the end

	// HeadersSampled is the number of headers the light nodes sampled in
	// the window, and SampleP50Ms and SampleP99Ms the quantiles of the
	// time each took (see Quantiles).
	HeadersSampled uint64  `json:"headers_sampled"`
	SampleP50Ms    float64 `json:"sample_p50_ms"`
	SampleP99Ms    float64 `json:"sample_p99_ms"`
	Quantiles      string  `json:"quantiles"`

	// MaxLagAllowed is --max-lag; AllWithinLag says every light node's
	// sampled head stayed within it of the chain head in every round, and
	// NotWithin counts those that did not.
	MaxLagAllowed uint64 `json:"max_lag_allowed"`
	AllWithinLag  bool   `json:"all_within_lag"`
	NotWithin     int    `json:"not_within"`

	// LightCPUCores is the light nodes' CPU over the window, summed (1 is
	// one core busy all along); MachineBusy is the share of the machine's
	// CPU time (every core, /proc/stat) that was not idle in the window,
	// -1 where /proc/stat cannot be read.
	LightCPUCores float64 `json:"light_cpu_cores"`
	MachineBusy   float64 `json:"machine_busy"`

	LightNodes []LightSummary  `json:"light_nodes"`
	Servers    []ServerSummary `json:"servers"` // the bridge, then the full nodes
	Load       *loadSummary    `json:"load,omitempty"`

	pids []int // every process the run started
}

// LightSummary is one light node over the window.
type LightSummary struct {
	Name string `json:"name"`
	// MaxLag and EndLag are the chain head (the core node's /status, read
	// at the start of each round) minus the node's sampled head
	// (meshnode_das_sampled_chain_head), the largest and the last.
	MaxLag         uint64  `json:"max_lag"`
	EndLag         uint64  `json:"end_lag"`
	Within         bool    `json:"within"`
	HeadersSampled uint64  `json:"headers_sampled"`
	CPUCores       float64 `json:"cpu_cores"`  // process_cpu_seconds_total's increase / the window
	MaxRSSMB       float64 `json:"max_rss_mb"` // process_resident_memory_bytes / 10^6
	EndRSSMB       float64 `json:"end_rss_mb"`
	ScrapeErrors   int     `json:"scrape_errors"`
}

// ServerSummary is the bridge or a full node over the window.
type ServerSummary struct {
	Name string `json:"name"`
	Mode string `json:"mode"`
	// CPUCores is process_cpu_seconds_total's increase over the window
	// divided by its length: 1 is one core busy all along.
	CPUCores float64 `json:"cpu_cores"`
	// ShrexServedPerSec is meshnode_shrex_requests_total{side="server"}'s
	// increase over the window, per second, every protocol and status.
	ShrexServedPerSec float64 `json:"shrex_served_per_sec"`
	MaxRSSMB          float64 `json:"max_rss_mb"`
	EndRSSMB          float64 `json:"end_rss_mb"`
	ScrapeErrors      int     `json:"scrape_errors"`
}

func writeJSON(path string, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("netbench: report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("netbench: report: %w", err)
	}
	return nil
}

func writeTable(w io.Writer, rep *Report) error {
	link := "loopback"
	if rep.Netem {
		link = fmt.Sprintf("network namespaces behind tc netem, delay %s and rate %s each way", rep.NetemDelay, rep.NetemRate)
		if (netemShape{delay: rep.NetemDelay}).rateOnly() {
			link = fmt.Sprintf("network namespaces behind tc tbf, rate %s each way, no delay", rep.NetemRate)
		}
	}
	procs := "Go's default GOMAXPROCS"
	if rep.LightProcs > 0 {
		procs = fmt.Sprintf("GOMAXPROCS=%d", rep.LightProcs)
	}
	fmt.Fprintf(w, "network: 1 core, 1 bridge, %d full, %d light nodes (%s), separate processes; light links: %s\n", rep.Fulls, rep.Lights, procs, link)
	fmt.Fprintf(w, "window: %.0f s, chain %d → %d (block time %s)\n", rep.Seconds, rep.ChainStart, rep.ChainEnd, rep.BlockTime)
	if l := rep.Load; l != nil {
		fmt.Fprintf(w, "load: target %g MB/s of %s; included %.2f MB/s (%d blobs, %d blocks), submit p50/p99 %.0f/%.0f ms, errors %v\n",
			rep.RateMB, l.Sizes, l.IncludedMBps, l.IncludedBlobs, l.Blocks, l.LatencyP50Ms, l.LatencyP99Ms, l.Errors)
	} else {
		fmt.Fprintln(w, "load: none")
	}
	yes := "yes"
	if !rep.AllWithinLag {
		yes = fmt.Sprintf("no: %d of %d were not", rep.NotWithin, rep.Lights)
	}
	fmt.Fprintf(w, "all light nodes within %d blocks of the head: %s\n", rep.MaxLagAllowed, yes)
	fmt.Fprintf(w, "sampling time per header, all light nodes: p50 %.1f ms, p99 %.1f ms over %d headers (bucket-interpolated)\n",
		rep.SampleP50Ms, rep.SampleP99Ms, rep.HeadersSampled)
	machine := "unknown"
	if rep.MachineBusy >= 0 {
		machine = fmt.Sprintf("%.0f%% busy", 100*rep.MachineBusy)
	}
	fmt.Fprintf(w, "CPU: light nodes %.2f cores in all (%.3f each on average); the machine's cores %s\n\n",
		rep.LightCPUCores, rep.LightCPUCores/float64(max(rep.Lights, 1)), machine)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tCPU (cores)\tshrex served/s\tRSS max (MB)\tRSS end (MB)\t")
	for _, s := range rep.Servers {
		fmt.Fprintf(tw, "%s\t%.2f\t%.1f\t%.0f\t%.0f\t\n", s.Name, s.CPUCores, s.ShrexServedPerSec, s.MaxRSSMB, s.EndRSSMB)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "light\tmax lag\tend lag\twithin\theaders\tCPU (cores)\tRSS max (MB)\tRSS end (MB)\tscrape errors\t")
	for _, l := range rep.LightNodes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%v\t%d\t%.3f\t%.0f\t%.0f\t%d\t\n", l.Name, l.MaxLag, l.EndLag, l.Within, l.HeadersSampled, l.CPUCores, l.MaxRSSMB, l.EndRSSMB, l.ScrapeErrors)
	}
	return tw.Flush()
}
