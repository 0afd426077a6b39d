// Package das is data availability: a DASer checks every header from its
// start to the network head and records whether the header's block is
// available. A light node's DASer (New) samples each block; a full node's
// (NewFull) fetches, verifies and stores each whole square. The Pruner
// deletes the squares of bridge and full nodes that left the availability
// window.
//
// # Sampling one header
//
// For each header the DASer draws SamplesPerHeader (default 16) distinct
// cells uniformly over the whole 2k×2k extended square, from crypto/rand so
// a producer cannot predict them (Coordinates), fetches them through a
// Getter (all in one call when it is a SamplesGetter, in parallel
// otherwise), and verifies each against the header's DAH
// (eds.Sample.Verify at the coordinates it asked for; it never trusts the
// Getter). A sample that fails, or does not verify (ErrInvalidSample), is
// asked for again after a short pause until the header's SampleTimeout
// (default 30 s). A header is available only when all its samples verify;
// Confidence gives the probability this implies, at least 1-(3/4)^s for s
// samples (0.990 for 16).
//
// # Full availability
//
// A full DASer (NewFull) checks a header by making sure its SquareStore
// holds the block's whole square: a square already stored is available at
// once; otherwise it asks the EDSGetter for it (within FullTimeout,
// default 2 min: the share exchange fetches it whole from a bridge or full
// node, or rebuilds it from rows and samples of several peers), checks its
// roots against the DAH, stores it, calls Options.OnStored (the node
// announces the height on eds-sub) and records the height available
// (Result.Full, Confidence 1). A square the getter cannot deliver
// (ErrUnavailable) makes the height unavailable, retried like a failed
// sample.
//
// When the getter finds the shares contradicting the DAH
// (*eds.ErrByzantineData), the DASer turns the evidence into an
// eds.BadEncodingProof (axis, index, shares with proofs), checks that it
// validates against the header's DAH, logs an error, writes it under
// "das/befp/<height>", hands it to Options.OnBadEncoding (the node gossips
// it) and halts. A restart reloads the proof, hands it over again and
// stays halted.
//
// # Halting
//
// A DASer halts on the lowest block proven badly encoded: by its own full
// check, or by the proof of Options.Halt (a Halter: the node's halting
// rule, *fraud.Halt, which learns proofs from gossip and fraud sync; this
// is how a light node halts). Halted, it treats the chain as unavailable
// from that block on: it cancels its jobs at once and checks or fetches
// nothing more (it still follows the network head); Result reports every
// height at or above the block unavailable (Result.BadEncoding names it)
// and those below it as before; SharesAvailable refuses those heights
// without fetching, the error naming the proof (height, header hash, row
// or column); Stats.BadEncoding and BadEncoding expose the proof;
// WaitCatchUp returns ErrBadEncoding. The loop logs an error when a proof
// of Options.Halt halts it. Spreading and validating proofs is the
// node's business (package fraud), not this package's.
//
// # Scheduling
//
// The scheduler (state.go) is synchronous: it is told the network head,
// new heads and each height's outcome, and answers with the next job; the
// coordinator loop (coordinator.go) is the one goroutine that consults it,
// starts a goroutine per job, and owns the timers; the job runs the
// height's check (sample.go for light nodes, check.go for full nodes).
// Jobs are:
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
// # Pruning squares
//
// Bridge and full nodes keep squares for DefaultAvailabilityWindow (7 days
// plus 1 hour). A Pruner finds, every Interval (default 1 h) and at Start,
// the lowest height whose header time is inside the window by binary
// search over Headers, and has its SquarePruner (eds/store.Store.Prune or
// core.Store.PruneSquares, through PruneFunc) delete the squares below it
// in bounded batches. The head's square is always kept. With
// PrunerOptions.Archival (--archival) it keeps everything.
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
// A full node:
//
//	d, err := das.NewFull(headerStore, shrexEDSGetter, squareStore, das.Options{DB: db, OnStored: announce,
//		Halt: halt, OnBadEncoding: publish})
//	p, err := das.NewPruner(headerStore, das.PruneFunc(edsStore.Prune), das.PrunerOptions{Archival: archival})
//	err = p.Start(ctx)
//	...
//	if befp := d.BadEncoding(); befp != nil { ... }
//
// das declares the Getter, EDSGetter, SquareStore, SquarePruner and
// Halter it needs and never imports the share exchange, fraud or libp2p:
// shrex implements the getters, fraud the Halter, and the node wires
// them.
package das
