// Package das is data availability sampling: a light node's DASer samples
// every header from its sampling start to the network head and records
// whether the header's block is available.
//
// # Sampling one header
//
// For each header the DASer draws SamplesPerHeader (default 16) distinct
// cells uniformly over the whole 2k×2k extended square, from crypto/rand so
// a producer cannot predict them (Coordinates), fetches them in parallel
// through a Getter, and verifies each against the header's DAH
// (eds.Sample.Verify at the coordinates it asked for; it never trusts the
// Getter). A sample that fails, or does not verify (ErrInvalidSample), is
// asked for again after a short pause until the header's SampleTimeout
// (default 30 s). A header is available only when all its samples verify;
// Confidence gives the probability this implies, at least 1-(3/4)^s for s
// samples (0.990 for 16).
//
// # Scheduling
//
// The scheduler (state.go) is synchronous: it is told the network head,
// new heads and each height's outcome, and answers with the next job; the
// coordinator loop (coordinator.go) is the one goroutine that consults it,
// starts a goroutine per job, and owns the timers. Jobs are:
//
//   - catch-up: ranges of RangeSize heights (default 64) from the sampling
//     start to the network head, at most Workers (default 4) at once;
//   - recent: each head given to OnHead, sampled at once, beside the
//     workers (the fast path); Headers.Height is also polled;
//   - retry: a height found unavailable, sampled again after RetryBackoff
//     (default 1 min), doubling per attempt up to MaxRetryBackoff (1 h),
//     for as long as the header is inside the sampling window.
//
// A height found unavailable is recorded (Stats.Failed, Result) and counts
// as done, so it does not hold back the sampled chain head; a withholding
// producer thus gets its heights marked unavailable within SampleTimeout
// while the DASer keeps sampling the others (celestia-node does the same).
// Headers older than SamplingWindow (default 7 days, the availability
// window of full nodes) are skipped. On a first start sampling begins at
// Options.SampleFrom, or by default at the lowest height the store holds
// inside the window.
//
// # Checkpoint
//
// With Options.DB set, each height's Result, the change to its failed
// attempts (a key per failed height) and the scheduler's Checkpoint
// (sampled chain head, heights done above it, ranges in progress) are
// written under the key prefix "das/" in one Badger transaction per height,
// so a crash leaves all or nothing, and a restart samples no done height
// again. Failed heights are retried at once after a restart. Results of
// headers that left the window are pruned in the background every
// PruneInterval.
//
// # Use
//
//	d, err := das.New(headerStore, shrexGetter, das.Options{DB: db, Logger: log})
//	err = d.Start(ctx)
//	// on each header the syncer appends:
//	d.OnHead(h)
//	...
//	err = d.WaitCatchUp(ctx)
//	r, err := d.Result(ctx, height) // r.Available, r.Confidence
//	st := d.Stats()
//	err = d.Stop(ctx) // waits for every goroutine, writes the checkpoint
//
// das declares the Getter it needs and never imports the share exchange or
// libp2p: shrex implements Getter, and the node wires them.
package das
