package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Limits of what netbench reads from a node.
const (
	maxScrape    = 8 << 20
	scrapeTimout = 10 * time.Second
)

// The series netbench reads.
const (
	mSampledHead   = "meshnode_das_sampled_chain_head"
	mSampleTime    = "meshnode_das_header_sample_duration_seconds"
	mShrexRequests = "meshnode_shrex_requests_total"
	mCPU           = "process_cpu_seconds_total"
	mRSS           = "process_resident_memory_bytes"
)

var httpClient = &http.Client{Timeout: scrapeTimout}

// scrape reads a node's /metrics in Prometheus's text format.
func scrape(ctx context.Context, url string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("netbench: scrape %s: %w", url, err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("netbench: scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("netbench: scrape %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(io.LimitReader(resp.Body, maxScrape))
	if err != nil {
		return nil, fmt.Errorf("netbench: scrape %s: %w", url, err)
	}
	return fams, nil
}

// value returns the sum of the gauge, counter or untyped samples of name
// whose labels include want (label=value pairs), and whether any was
// there.
func value(fams map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	var sum float64
	found := false
	for _, m := range f.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		default:
			continue
		}
		found = true
	}
	return sum, found
}

func hasLabels(m *dto.Metric, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		ok := false
		for _, l := range m.GetLabel() {
			if l.GetName() == want[i] && l.GetValue() == want[i+1] {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// hist is a histogram's cumulative bucket counts by upper bound (+Inf
// included), as Prometheus serves them.
type hist map[float64]uint64

// histogram returns the histogram name, its series summed.
func histogram(fams map[string]*dto.MetricFamily, name string) hist {
	f := fams[name]
	if f == nil {
		return nil
	}
	h := hist{}
	for _, m := range f.GetMetric() {
		if m.Histogram == nil {
			continue
		}
		for _, b := range m.Histogram.GetBucket() {
			if !math.IsInf(b.GetUpperBound(), 1) { // the text format lists +Inf; the count is the same
				h[b.GetUpperBound()] += b.GetCumulativeCount()
			}
		}
		h[math.Inf(1)] += m.Histogram.GetSampleCount()
	}
	return h
}

// add adds o's counts to h's (merging two nodes' histograms of the same
// buckets).
func (h hist) add(o hist) {
	for b, c := range o {
		h[b] += c
	}
}

// sub returns h − base: the observations made between two scrapes of one
// node (a bucket missing from base counts 0; a counter that went down, a
// restart, is taken from zero).
func (h hist) sub(base hist) hist {
	out := hist{}
	for b, c := range h {
		if bc := base[b]; bc <= c {
			c -= bc
		}
		out[b] = c
	}
	return out
}

// count returns the number of observations.
func (h hist) count() uint64 { return h[math.Inf(1)] }

// quantile returns the q-quantile of h by linear interpolation inside the
// bucket it falls in, as Prometheus's histogram_quantile does: the lower
// bound of the first bucket is 0, and a quantile in the +Inf bucket is the
// highest finite bound. NaN when h is empty.
func (h hist) quantile(q float64) float64 {
	total := h.count()
	if total == 0 || q < 0 || q > 1 {
		return math.NaN()
	}
	bounds := make([]float64, 0, len(h))
	for b := range h {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	rank := q * float64(total)
	lower, below := 0.0, uint64(0)
	for _, b := range bounds {
		c := h[b]
		if float64(c) >= rank && c > below {
			if math.IsInf(b, 1) {
				return lower
			}
			return lower + (b-lower)*(rank-float64(below))/float64(c-below)
		}
		if !math.IsInf(b, 1) {
			lower = b
		}
		below = c
	}
	return lower
}

// chainHeight returns the latest block height of the CometBFT node whose
// RPC is at url.
func chainHeight(ctx context.Context, url string) (uint64, error) {
	c, err := rpchttp.NewWithClient(url, "/websocket", httpClient)
	if err != nil {
		return 0, fmt.Errorf("netbench: core status: %w", err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("netbench: core status: %w", err)
	}
	if st.SyncInfo.LatestBlockHeight < 0 {
		return 0, fmt.Errorf("netbench: core status: height %d", st.SyncInfo.LatestBlockHeight)
	}
	return uint64(st.SyncInfo.LatestBlockHeight), nil
}

// machineCPU reads the first line of /proc/stat: the jiffies every core
// spent busy (everything but idle and iowait) and in all, over its first
// eight fields (guest time is counted in user time already).
func machineCPU() (busy, total uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseCPULine(line)
}

// parseCPULine parses /proc/stat's "cpu ..." line.
func parseCPULine(line string) (busy, total uint64, err error) {
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("netbench: /proc/stat: unexpected first line %q", line)
	}
	f = f[1:min(len(f), 9)]
	for i, s := range f {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("netbench: /proc/stat: %w", err)
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, nil
}
