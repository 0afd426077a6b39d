package nodebuilder

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// procMemory is one "Key:  N kB" line of a /proc file, reported as a
// gauge in bytes. Where the file or the line is missing (not Linux, or an
// older kernel), it reports nothing.
type procMemory struct {
	desc *prometheus.Desc
	path string
	key  string // with its colon
}

// memoryCollectors report the process's anonymous memory, and how much of
// it the kernel may take back at will: RSS, which the process collector
// reports, also counts Badger's memory-mapped tables and value logs, and
// pages the Go runtime freed with MADV_FREE (core, bridge and full nodes,
// see lazyfree.go in cmd/mesh-node) stay in RSS and RssAnon until the
// kernel needs them. RssAnon minus LazyFree is what the process holds.
func memoryCollectors() []prometheus.Collector {
	return []prometheus.Collector{
		procMemory{
			desc: prometheus.NewDesc(metricsPrefix+"process_anon_memory_bytes",
				"Anonymous resident memory of the process (RssAnon in /proc/self/status): the heap and stacks, without the mapped files (Badger's tables and value logs) that process_resident_memory_bytes also counts. It includes pages freed lazily (meshnode_process_lazyfree_memory_bytes). Linux only.",
				nil, nil),
			path: "/proc/self/status", key: "RssAnon:",
		},
		procMemory{
			desc: prometheus.NewDesc(metricsPrefix+"process_lazyfree_memory_bytes",
				"Anonymous memory the process freed with MADV_FREE that the kernel has not reclaimed yet (LazyFree in /proc/self/smaps_rollup): counted in RSS and RssAnon, but the kernel takes it back without I/O whenever it needs memory. Linux 4.14 and later.",
				nil, nil),
			path: "/proc/self/smaps_rollup", key: "LazyFree:",
		},
	}
}

func (c procMemory) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c procMemory) Collect(ch chan<- prometheus.Metric) {
	f, err := os.Open(c.path)
	if err != nil {
		return
	}
	defer f.Close()
	if v, ok := kBLine(f, c.key); ok {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v)
	}
}

// maxProcBytes bounds the read of a /proc file (a few KB).
const maxProcBytes = 64 << 10

// kBLine returns the value of the first line "key N kB" of r, in bytes.
func kBLine(r io.Reader, key string) (float64, bool) {
	sc := bufio.NewScanner(io.LimitReader(r, maxProcBytes))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(key))
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
