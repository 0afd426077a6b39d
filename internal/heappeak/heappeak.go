// Package heappeak measures, for tests, how far the Go heap in use grows
// while some work runs: Start samples runtime.MemStats.HeapInuse in a
// goroutine until the stop function it returns is called.
package heappeak

import (
	"runtime"
	"runtime/debug"
)

// GCPercent is the GOGC Start sets while it measures.
const GCPercent = 20

// Start runs a garbage collection, reads the heap in use, and samples it
// as fast as it can (yielding between reads) until stop is called. stop
// returns the peak seen above that start (0 if it never grew) and
// returns only once the sampling goroutine has exited.
//
// Until stop, the collector runs at GOGC=GCPercent, so that the heap in
// use follows the live heap (garbage adds at most a fifth of it, or the
// runtime's 4 MiB minimum goal) rather than doubling it: the peak then
// measures what the work keeps live, steadily from run to run. The
// process-wide setting is restored by stop; a test measuring must not
// run in parallel with others (the heap is the process's, too).
func Start() (stop func() uint64) {
	old := debug.SetGCPercent(GCPercent)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var top uint64
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			top = max(top, ms.HeapInuse)
			select {
			case <-done:
				peak <- top
				return
			default:
				runtime.Gosched()
			}
		}
	}()
	return func() uint64 {
		close(done)
		top := <-peak
		debug.SetGCPercent(old)
		return max(top, base) - base
	}
}
