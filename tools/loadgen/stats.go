package main

import (
	"math"
	"sort"
	"strings"
	"time"
)

// percentile returns the p-th percentile (0 < p <= 100) of xs by the
// nearest-rank method, 0 for no values. It sorts a copy.
func percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// Error kinds of a failed submit.
const (
	errBusy     = "busy"     // the node or its core refused for load (rate limit, too many requests)
	errMempool  = "mempool"  // the core node's mempool refused the transaction
	errSequence = "sequence" // account sequence mismatch: retried with a fresh one
	errTimeout  = "timeout"
	errTooLarge = "too_large"
	errTxFailed = "tx_failed"
	errOther    = "other"
	errMissing  = "not_on_chain" // blob.Submit returned a height whose block lacks the blob
)

// classify sorts a submit error into a kind by its message (errors do not
// survive JSON-RPC as values).
func classify(err error) string {
	m := strings.ToLower(err.Error())
	switch {
	case strings.Contains(m, "mempool"):
		return errMempool
	case strings.Contains(m, "busy"), strings.Contains(m, "too many"), strings.Contains(m, "rate limit"),
		strings.Contains(m, "429"), strings.Contains(m, "503"):
		return errBusy
	case strings.Contains(m, "sequence"):
		return errSequence
	case strings.Contains(m, "deadline exceeded"), strings.Contains(m, "timeout"), strings.Contains(m, "timed out"):
		return errTimeout
	case strings.Contains(m, "too large"), strings.Contains(m, "over size limit"):
		return errTooLarge
	case strings.Contains(m, "transaction failed"):
		return errTxFailed
	}
	return errOther
}

// retryable reports whether a submit refused with this kind is tried again.
func retryable(kind string) bool {
	return kind == errBusy || kind == errMempool || kind == errSequence
}

// lag is how far head is behind chain, 0 when it is not.
func lag(chain, head uint64) uint64 {
	if head >= chain {
		return 0
	}
	return chain - head
}

// blockBytes is the bytes of our blobs found in one block.
type blockBytes struct {
	Height uint64
	Time   time.Time
	Bytes  int64
}

// binThroughput sums the bytes of blocks into bins of width after start
// (bin i covers [start+i*width, start+(i+1)*width)) and returns MB/s per
// bin (MB = 10^6 bytes). Blocks before start go in bin 0, after the last
// bin in the last.
func binThroughput(blocks []blockBytes, start time.Time, width time.Duration, n int) []float64 {
	if n <= 0 || width <= 0 {
		return nil
	}
	out := make([]float64, n)
	for _, b := range blocks {
		i := int(b.Time.Sub(start) / width)
		i = min(max(i, 0), n-1)
		out[i] += float64(b.Bytes)
	}
	for i := range out {
		out[i] = out[i] / 1e6 / width.Seconds()
	}
	return out
}

// mbps is bytes over d in MB/s (10^6 bytes), 0 for no time.
func mbps(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / 1e6 / d.Seconds()
}
