package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxMetricsBody bounds a /metrics response read.
const maxMetricsBody = 8 << 20

// scrape GETs a Prometheus text exposition and returns each sample's value
// by series name (the labels dropped; the last sample of a name wins).
func scrape(ctx context.Context, hc *http.Client, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("loadgen: metrics %s: %w", url, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("loadgen: metrics %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("loadgen: metrics %s: %s", url, resp.Status)
	}
	return parseExposition(io.LimitReader(resp.Body, maxMetricsBody))
}

// parseExposition reads the Prometheus text format: comment lines are
// skipped, each sample line is NAME[{labels}] VALUE [TIMESTAMP].
func parseExposition(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if strings.HasPrefix(rest, "{") {
			j := strings.LastIndexByte(rest, '}')
			if j < 0 {
				return nil, fmt.Errorf("loadgen: metrics: bad line %q", line)
			}
			rest = rest[j+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("loadgen: metrics: bad line %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("loadgen: metrics: bad value in %q", line)
		}
		out[name] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("loadgen: metrics: %w", err)
	}
	return out, nil
}

// series returns the value of name in m, or nil if m has none.
func series(m map[string]float64, name string) *float64 {
	v, ok := m[name]
	if !ok {
		return nil
	}
	return &v
}
