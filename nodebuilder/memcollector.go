package nodebuilder

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// anonMemoryDesc describes meshnode_process_anon_memory_bytes.
var anonMemoryDesc = prometheus.NewDesc(metricsPrefix+"process_anon_memory_bytes",
	"Anonymous resident memory of the process (RssAnon in /proc/self/status): the heap and stacks, without the mapped files (Badger's tables and value logs) that process_resident_memory_bytes also counts. Linux only.",
	nil, nil)

// anonMemoryCollector reports the process's RssAnon at scrape time. Where
// /proc/self/status has no RssAnon line (not Linux), it reports nothing.
type anonMemoryCollector struct{ path string }

func (c anonMemoryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- anonMemoryDesc }

func (c anonMemoryCollector) Collect(ch chan<- prometheus.Metric) {
	f, err := os.Open(c.path)
	if err != nil {
		return
	}
	defer f.Close()
	if v, ok := rssAnon(f); ok {
		ch <- prometheus.MustNewConstMetric(anonMemoryDesc, prometheus.GaugeValue, v)
	}
}

// maxStatusBytes bounds the read of /proc/self/status (a few KB).
const maxStatusBytes = 64 << 10

// rssAnon returns the RssAnon line of a /proc/PID/status, in bytes.
func rssAnon(r io.Reader) (float64, bool) {
	sc := bufio.NewScanner(io.LimitReader(r, maxStatusBytes))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("RssAnon:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, false
		}
		return float64(kb) * 1024, true
	}
	return 0, false
}
