package das

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
)

// This file is the coordinator: the one loop goroutine that owns the
// scheduler's decisions, the timers and the goroutines running jobs, and
// writes the checkpoint. Workers report each height to it; it is the only
// writer of the scheduler after Start.

// report is a worker's message to the loop: one height's outcome, or
// (exited) the end of its goroutine.
type report struct {
	id      int
	kind    JobKind
	height  uint64
	outcome outcome
	result  *Result // for a sampled height
	befp    *eds.BadEncodingProof
	exited  bool
	// abandoned: the job exited before its last height (Stop).
	abandoned bool
}

// run is the coordinator loop. It starts the jobs the scheduler hands
// out, applies their reports, polls the head, prunes old results and
// retries failed heights when due. After ctx ends it starts nothing, waits
// for every goroutine it started, writes the checkpoint and closes d.done.
// Once a block is proven badly encoded, by a job of its own or by the
// proof of Options.Halt, it cancels the running jobs and starts no more
// (the chain is unavailable); it still follows the network head and stops
// as usual.
func (d *DASer) run(ctx context.Context) {
	defer close(d.done)
	jctx, halt := context.WithCancel(ctx)
	defer halt()
	d.republish()
	haltedCh := d.haltedChan()
	var logged *eds.BadEncodingProof // the last proof of Options.Halt logged (badEncoding logs the own)
	reports := make(chan report)
	running := 0
	poll := time.NewTicker(d.opts.PollInterval)
	defer poll.Stop()
	prune := time.NewTicker(d.opts.PruneInterval)
	defer prune.Stop()
	pruning := false
	retryTimer := time.NewTimer(time.Hour)
	retryTimer.Stop()
	defer retryTimer.Stop()
	stopping := ctx.Done()
	for {
		p := d.haltProof()
		halted := p != nil
		if halted {
			halt()
			if p != logged && !d.isOwn(p) {
				logged = p
				d.opts.Logger.Error("das: halted by a bad-encoding proof: the chain is unavailable from its block on; checking no more heights",
					"height", p.Height, "header_hash", fmt.Sprintf("%X", p.HeaderHash), "axis", p.Axis, "index", p.Index)
			}
		}
		if ctx.Err() == nil && !halted {
			running += d.startJobs(jctx, reports)
		} else if ctx.Err() == nil {
			d.followHead()
		} else if running == 0 {
			d.mu.Lock()
			cp := d.sched.checkpoint()
			d.mu.Unlock()
			if err := d.store.save(cp, nil); err != nil {
				d.opts.Logger.Error("das: final checkpoint", "err", err)
			}
			d.opts.Logger.Info("das: stopped", "sampled_chain_head", cp.SampledChainHead, "failed", len(cp.Failed))
			return
		}
		var retry <-chan time.Time
		d.mu.Lock()
		at, ok := d.sched.nextRetry()
		d.mu.Unlock()
		if ok && ctx.Err() == nil && !halted {
			retryTimer.Reset(max(at.Sub(d.opts.Now()), 0))
			retry = retryTimer.C
		}
		select {
		case r := <-reports:
			if r.exited {
				running--
				if r.id == 0 {
					pruning = false
				} else if r.abandoned {
					d.mu.Lock()
					d.sched.abandon(r.id)
					d.mu.Unlock()
				}
				continue
			}
			d.apply(r)
		case <-d.wake:
		case <-haltedCh:
			haltedCh = nil // closed for good: the loop's next turn halts
		case <-retry:
		case <-poll.C:
			h := d.headers.Height()
			d.mu.Lock()
			d.sched.head(h)
			d.notifyLocked()
			d.mu.Unlock()
		case <-prune.C:
			if !pruning && ctx.Err() == nil {
				pruning = true
				running++
				go d.prune(reports)
			}
		case <-stopping:
			stopping = nil
		}
	}
}

// startJobs hands the pending heads to the scheduler and starts a worker
// for each job it hands out; it returns how many it started.
func (d *DASer) startJobs(ctx context.Context, reports chan<- report) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, h := range d.pending {
		d.sched.onHead(h)
	}
	d.pending = nil
	n := 0
	now := d.opts.Now()
	for _, h := range d.recheck {
		d.sched.recheck(h, now)
	}
	d.recheck = nil
	for {
		j, ok := d.sched.nextJob(now)
		if !ok {
			break
		}
		n++
		go d.work(ctx, j, reports)
	}
	if n > 0 {
		d.notifyLocked()
	}
	return n
}

// followHead takes the heads OnHead brought into the network head only,
// and drops the heights Invalidate gave: a halted DASer starts no job, but
// its Stats still follow the network. (Invalidated heights stay marked
// failed in the store.)
func (d *DASer) followHead() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.pending) == 0 && len(d.recheck) == 0 {
		return
	}
	for _, h := range d.pending {
		d.sched.head(h.Height())
	}
	d.pending, d.recheck = nil, nil
	d.notifyLocked()
}

// apply records one height's report: in the scheduler, then (one Badger
// transaction) its result and the checkpoint; Stats waits for both.
func (d *DASer) apply(r report) {
	if r.befp != nil {
		d.badEncoding(r.befp)
	}
	d.published.Lock()
	defer d.published.Unlock()
	d.mu.Lock()
	if !d.sched.report(r.id, r.height, r.outcome, d.opts.Now()) {
		d.mu.Unlock()
		return
	}
	var failed map[uint64]int
	if r.kind == JobRetry || r.outcome == outcomeUnavailable {
		failed = map[uint64]int{r.height: d.sched.failedAttempts(r.height)}
	}
	switch r.outcome {
	case outcomeAvailable:
		d.counts.sampled++
	case outcomeUnavailable:
		d.counts.unavailable++
	case outcomeSkipped:
		d.counts.skipped++
	}
	cp := d.sched.checkpoint()
	d.mu.Unlock()
	var err error
	if r.result != nil {
		err = d.store.save(cp, failed, *r.result)
	} else {
		err = d.store.save(cp, failed)
	}
	if err != nil {
		d.opts.Logger.Error("das: saving", "height", r.height, "err", err)
	}
	// WaitCatchUp returns only once the results it waited for can be read.
	d.mu.Lock()
	d.saved = max(d.saved, cp.SampledChainHead)
	d.notifyLocked()
	d.mu.Unlock()
}

// work runs job j, reporting each height to the loop, then its exit. The
// loop receives reports until every worker has exited, so sends never
// block forever.
func (d *DASer) work(ctx context.Context, j job, reports chan<- report) {
	h := j.from
	for ; h <= j.to; h++ {
		r, ok := d.sampleHeight(ctx, j, h)
		if !ok {
			break
		}
		reports <- r
		if r.befp != nil {
			// The chain is unavailable from here on: the loop halts
			// every job, this one at once.
			h++
			break
		}
	}
	reports <- report{id: j.id, exited: true, abandoned: h <= j.to}
}

// sampleHeight samples height for job j. It returns false if ctx ended
// first: nothing was learnt.
func (d *DASer) sampleHeight(ctx context.Context, j job, height uint64) (report, bool) {
	r := report{id: j.id, kind: j.kind, height: height}
	h := j.header
	if h == nil {
		var err error
		h, err = d.headers.GetByHeight(ctx, height)
		switch {
		case ctx.Err() != nil:
			return r, false
		case errors.Is(err, header.ErrNotFound) && height <= d.headers.Height():
			// Below the store's base: never to be had.
			r.outcome = outcomeSkipped
			return r, true
		case err != nil:
			// Retried like an unavailable height.
			d.opts.Logger.Warn("das: reading header", "height", height, "err", err)
			r.outcome = outcomeUnavailable
			return r, true
		}
	}
	if !d.inWindow(h.Time()) {
		r.outcome = outcomeSkipped
		return r, true
	}
	start := time.Now()
	v, err := d.check.check(ctx, h)
	if ctx.Err() != nil {
		return r, false
	}
	if err == nil && v.befp == nil && d.opts.Metrics != nil {
		d.opts.Metrics.ObserveHeader(time.Since(start))
	}
	res := Result{Height: height, Time: h.Time(), SampledAt: d.opts.Now()}
	if h.DAH != nil {
		res.SquareSize = h.DAH.SquareSize()
	}
	switch {
	case v.befp != nil:
		r.outcome, r.befp = outcomeUnavailable, v.befp
		res.BadEncoding = height
	case err != nil:
		r.outcome = outcomeUnavailable
		d.opts.Logger.Warn("das: height unavailable", "height", height, "job", j.kind, "err", err)
	case v.full:
		r.outcome = outcomeAvailable
		res.Available, res.Full, res.Confidence = true, true, 1
	default:
		r.outcome = outcomeAvailable
		res.Available, res.Samples = true, v.samples
		res.Confidence = Confidence(res.SquareSize, v.samples)
	}
	r.result = &res
	return r, true
}

// badEncoding records p, a validated proof that a block is badly encoded,
// unless a lower block is already proven so by this DASer: it logs it,
// persists it and hands it to Options.OnBadEncoding, then (so that a
// WaitCatchUp it ends finds it done) makes the loop halt. Only the loop
// calls it, so d.befp does not change in between.
func (d *DASer) badEncoding(p *eds.BadEncodingProof) {
	d.mu.Lock()
	held := d.befp
	d.mu.Unlock()
	if held != nil && held.Height <= p.Height {
		return
	}
	d.opts.Logger.Error("das: block proven badly encoded: the chain is unavailable from it on; checking no more heights",
		"height", p.Height, "header_hash", fmt.Sprintf("%X", p.HeaderHash), "axis", p.Axis, "index", p.Index)
	if err := d.store.saveBadEncoding(p); err != nil {
		d.opts.Logger.Error("das: saving the bad-encoding proof", "height", p.Height, "err", err)
	}
	if d.opts.OnBadEncoding != nil {
		d.opts.OnBadEncoding(p)
	}
	d.mu.Lock()
	d.befp = p
	d.notifyLocked()
	d.mu.Unlock()
}

// isOwn reports whether p is the proof this DASer found or reloaded.
func (d *DASer) isOwn(p *eds.BadEncodingProof) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.befp == p
}

// republish hands the proof Start reloaded, if any, to
// Options.OnBadEncoding: the node may have stopped between persisting it
// and publishing it.
func (d *DASer) republish() {
	d.mu.Lock()
	p := d.befp
	d.mu.Unlock()
	if p != nil && d.opts.OnBadEncoding != nil {
		d.opts.OnBadEncoding(p)
	}
}

// prune deletes the results that left the sampling window, then reports
// its exit (id 0).
func (d *DASer) prune(reports chan<- report) {
	n, err := d.store.prune(d.opts.Now().Add(-d.opts.SamplingWindow))
	if err != nil {
		d.opts.Logger.Warn("das: pruning", "err", err)
	} else if n > 0 {
		d.opts.Logger.Info("das: pruned results outside the sampling window", "results", n)
	}
	reports <- report{exited: true}
}
