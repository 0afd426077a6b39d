package main

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"testing"
)

const dashboardPath = "../../deploy/grafana/mesh-node.json"

// metricRef matches a metric name of ours, Go's or the process's in a
// PromQL expression.
var metricRef = regexp.MustCompile(`\b(meshnode_[a-z0-9_]+|process_[a-z0-9_]+|go_[a-z0-9_]+)\b`)

// dashboardMetrics returns every metric name the dashboard's panels query.
func dashboardMetrics(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	set := map[string]bool{}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Fatalf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			names := metricRef.FindAllString(tg.Expr, -1)
			if len(names) == 0 {
				t.Fatalf("panel %q: %q names no metric", p.Title, tg.Expr)
			}
			for _, n := range names {
				set[n] = true
			}
		}
	}
	var out []string
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// TestDashboardParses checks the dashboard's shape without a node; the
// metric names are checked against live nodes in TestDevnetLoad.
func TestDashboardParses(t *testing.T) {
	names := dashboardMetrics(t)
	for _, want := range []string{"meshnode_header_height", "meshnode_das_sampled_chain_head", "process_resident_memory_bytes",
		"meshnode_shrex_requests_total", "meshnode_bridge_ingested_height"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("dashboard does not show %s", want)
		}
	}
}
