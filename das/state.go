package das

import (
	"cmp"
	"container/heap"
	"maps"
	"slices"
	"time"

	"github.com/datamesh/mesh-node/header"
)

// This file holds the scheduler: which heights to sample next, what a
// sampled or failed height changes, and the checkpoint that captures it. It
// has no goroutines, clock or I/O (the coordinator in coordinator.go passes the
// time in and runs the jobs), so tests drive it step by step.

// JobKind says why a job runs.
type JobKind string

// Job kinds.
const (
	// JobCatchUp samples a range of heights between the sampling start and
	// the network head.
	JobCatchUp JobKind = "catchup"
	// JobRecent samples a new head as soon as OnHead brings it.
	JobRecent JobKind = "recent"
	// JobRetry samples a failed height again after its backoff.
	JobRetry JobKind = "retry"
)

// job is a contiguous range of heights [from, to] for one worker.
type job struct {
	id       int
	kind     JobKind
	from, to uint64
	header   *header.ExtendedHeader // JobRecent: the head, so no lookup
}

// outcome of sampling one height.
type outcome int

const (
	outcomeAvailable outcome = iota
	outcomeUnavailable
	// outcomeSkipped: the header is outside the sampling window or below
	// the store's base.
	outcomeSkipped
)

type activeJob struct {
	job
	cur uint64 // next height of the job to report
}

type failure struct {
	attempts int
	retryAt  time.Time
	inFlight bool
}

// scheduler is the DASer's state. The heights [from, sampled] are done:
// sampled (available or not) or skipped. Above sampled, done holds the
// heights done out of order and recent the new heads being sampled by the
// fast path; next is the lowest height not yet handed to catch-up.
// requeue holds ranges of abandoned jobs, handed out before new ones.
type scheduler struct {
	workers    int
	rangeSize  uint64
	backoff    time.Duration
	maxBackoff time.Duration

	from    uint64
	sampled uint64
	next    uint64
	network uint64
	done    map[uint64]bool
	recent  map[uint64]bool
	queued  []*header.ExtendedHeader // new heads awaiting the fast path
	requeue []Range
	failed  map[uint64]*failure
	retries retryQueue // failed heights by retry time; stale entries skipped
	active  map[int]*activeJob
	nextID  int
}

func newScheduler(o Options) *scheduler {
	return &scheduler{
		workers:    o.Workers,
		rangeSize:  o.RangeSize,
		backoff:    o.RetryBackoff,
		maxBackoff: o.MaxRetryBackoff,
		done:       map[uint64]bool{},
		recent:     map[uint64]bool{},
		failed:     map[uint64]*failure{},
		active:     map[int]*activeJob{},
	}
}

// init sets the first height to sample on a first start, and the network
// head known then.
func (s *scheduler) init(from, network uint64) {
	from = max(from, 1)
	s.from, s.sampled, s.next = from, from-1, from
	s.network = max(network, s.sampled)
}

// restore resumes from a checkpoint: done heights stay done, failed ones
// are retried at once (their backoff did not survive the restart), the rest
// is sampled.
func (s *scheduler) restore(cp Checkpoint, network uint64, now time.Time) {
	s.init(cp.SampleFrom, max(network, cp.NetworkHead))
	s.sampled = max(cp.SampledChainHead, s.sampled)
	s.next = s.sampled + 1
	for _, r := range cp.Done {
		for h := max(r.From, s.sampled+1); h <= r.To; h++ {
			s.done[h] = true
		}
	}
	for h, n := range cp.Failed {
		s.fail(h, n, now)
	}
	s.advance()
}

// head raises the network head.
func (s *scheduler) head(h uint64) { s.network = max(s.network, h) }

// onHead raises the network head and queues h for the fast path unless
// catch-up already has it.
func (s *scheduler) onHead(h *header.ExtendedHeader) {
	height := h.Height()
	s.head(height)
	if height < s.next || s.done[height] || s.recent[height] {
		return
	}
	for _, q := range s.queued {
		if q.Height() == height {
			return
		}
	}
	s.queued = append(s.queued, h)
}

// catchUpJobs counts the running jobs that take a worker: all but the
// fast path's.
func (s *scheduler) catchUpJobs() int {
	n := 0
	for _, a := range s.active {
		if a.kind != JobRecent {
			n++
		}
	}
	return n
}

// nextJob returns the job to start now, if any: a queued new head first
// (the fast path does not wait for a free worker), then, while fewer than
// workers jobs run, a failed height due for retry, an abandoned range,
// and a new catch-up range up to the network head.
func (s *scheduler) nextJob(now time.Time) (job, bool) {
	for len(s.queued) > 0 {
		h := s.queued[0]
		s.queued = s.queued[1:]
		height := h.Height()
		if height < s.next || s.done[height] || s.recent[height] {
			continue
		}
		s.recent[height] = true
		return s.start(job{kind: JobRecent, from: height, to: height, header: h}), true
	}
	if s.catchUpJobs() >= s.workers {
		return job{}, false
	}
	if h, ok := s.dueRetry(now); ok {
		s.failed[h].inFlight = true
		heap.Pop(&s.retries)
		return s.start(job{kind: JobRetry, from: h, to: h}), true
	}
	if len(s.requeue) > 0 {
		r := s.requeue[0]
		s.requeue = s.requeue[1:]
		return s.start(job{kind: JobCatchUp, from: r.From, to: r.To}), true
	}
	for s.next <= s.network && (s.done[s.next] || s.recent[s.next]) {
		s.next++
	}
	if s.next > s.network {
		return job{}, false
	}
	from := s.next
	to := min(from+s.rangeSize-1, s.network)
	for h := from + 1; h <= to; h++ {
		if s.done[h] || s.recent[h] {
			to = h - 1
			break
		}
	}
	s.next = to + 1
	return s.start(job{kind: JobCatchUp, from: from, to: to}), true
}

func (s *scheduler) start(j job) job {
	s.nextID++
	j.id = s.nextID
	s.active[j.id] = &activeJob{job: j, cur: j.from}
	return j
}

// nextRetry returns the earliest time a failed height not being sampled
// is due, and false if there is none.
func (s *scheduler) nextRetry() (time.Time, bool) {
	s.dropStale()
	if len(s.retries) == 0 {
		return time.Time{}, false
	}
	return s.retries[0].at, true
}

// dueRetry returns the failed height to retry first, at the top of the
// queue, if it is due at now.
func (s *scheduler) dueRetry(now time.Time) (uint64, bool) {
	s.dropStale()
	if len(s.retries) == 0 || now.Before(s.retries[0].at) {
		return 0, false
	}
	return s.retries[0].height, true
}

// dropStale pops the queue entries that no longer match a failed height
// waiting for its retry.
func (s *scheduler) dropStale() {
	for len(s.retries) > 0 {
		top := s.retries[0]
		if f := s.failed[top.height]; f != nil && !f.inFlight && f.retryAt.Equal(top.at) {
			return
		}
		heap.Pop(&s.retries)
	}
}

// fail records height as failed after attempts, to be retried at at.
func (s *scheduler) fail(height uint64, attempts int, at time.Time) {
	s.failed[height] = &failure{attempts: attempts, retryAt: at}
	heap.Push(&s.retries, retryItem{at: at, height: height})
}

// recheck makes height, sampled before but found not to be available
// after all (a full node's stored square was corrupt), due for a retry at
// now. A height not sampled yet (catch-up comes to it), below the sampling
// start, or failed and being retried right now is left as it is; a failed
// height waiting for its backoff is retried at now.
func (s *scheduler) recheck(height uint64, now time.Time) {
	if height < s.from {
		return
	}
	if f := s.failed[height]; f != nil {
		if !f.inFlight {
			s.fail(height, f.attempts, now)
		}
		return
	}
	if height > s.sampled && !s.done[height] {
		return
	}
	s.fail(height, 1, now)
}

// failedAttempts returns the attempts of a failed height, 0 for one that
// is not failed.
func (s *scheduler) failedAttempts(height uint64) int {
	if f := s.failed[height]; f != nil {
		return f.attempts
	}
	return 0
}

// report records the outcome of height, the next height of job id. It
// returns false for a report that does not match a running job (ignored).
func (s *scheduler) report(id int, height uint64, o outcome, now time.Time) bool {
	a := s.active[id]
	if a == nil || height != a.cur {
		return false
	}
	a.cur++
	if a.cur > a.to {
		delete(s.active, id)
	}
	if a.kind == JobRetry {
		f := s.failed[height]
		switch {
		case f == nil:
		case o == outcomeUnavailable:
			s.fail(height, f.attempts+1, now.Add(s.retryDelay(f.attempts+1)))
		default:
			delete(s.failed, height)
		}
		return true
	}
	delete(s.recent, height)
	if o == outcomeUnavailable {
		s.fail(height, 1, now.Add(s.retryDelay(1)))
	}
	if height > s.sampled {
		s.done[height] = true
	}
	s.advance()
	return true
}

// abandon ends job id before its last height (the DASer is stopping): its
// remaining heights will be sampled by a later job.
func (s *scheduler) abandon(id int) {
	a := s.active[id]
	if a == nil {
		return
	}
	delete(s.active, id)
	switch a.kind {
	case JobRetry:
		if f := s.failed[a.from]; f != nil {
			s.fail(a.from, f.attempts, f.retryAt)
		}
	case JobRecent:
		delete(s.recent, a.from)
		if a.from < s.next {
			s.requeue = append(s.requeue, Range{a.from, a.from})
		}
	default:
		s.requeue = append(s.requeue, Range{a.cur, a.to})
	}
}

func (s *scheduler) retryDelay(attempts int) time.Duration {
	d := s.backoff
	for i := 1; i < attempts && d < s.maxBackoff; i++ {
		d *= 2
	}
	return min(d, s.maxBackoff)
}

// advance moves sampled over the heights done in order.
func (s *scheduler) advance() {
	for s.done[s.sampled+1] {
		delete(s.done, s.sampled+1)
		s.sampled++
	}
	s.next = max(s.next, s.sampled+1)
}

// Range is the heights [From, To].
type Range struct{ From, To uint64 }

// Checkpoint is what the DASer persists: enough to resume without
// sampling a done height again.
type Checkpoint struct {
	// SampleFrom is the first height sampled.
	SampleFrom uint64 `json:"sample_from"`
	// SampledChainHead: every height in [SampleFrom, SampledChainHead] is
	// done (sampled, failed and recorded in Failed, or skipped).
	SampledChainHead uint64 `json:"sampled_chain_head"`
	// Done lists the heights above SampledChainHead done out of order,
	// as sorted disjoint ranges.
	Done []Range `json:"done,omitempty"`
	// InProgress lists the heights that running jobs had still to sample,
	// for information: a restart samples every height above
	// SampledChainHead that is not in Done.
	InProgress []Range `json:"in_progress,omitempty"`
	// Failed maps the heights found unavailable to the number of attempts.
	// It is stored as keys of its own (das/failed/<height>), beside the
	// checkpoint's encoding.
	Failed map[uint64]int `json:"-"`
	// NetworkHead is the highest head known.
	NetworkHead uint64 `json:"network_head"`
}

func (s *scheduler) checkpoint() Checkpoint {
	cp := Checkpoint{
		SampleFrom:       s.from,
		SampledChainHead: s.sampled,
		Done:             ranges(slices.Sorted(maps.Keys(s.done))),
		NetworkHead:      s.network,
	}
	if len(s.failed) > 0 {
		cp.Failed = make(map[uint64]int, len(s.failed))
		for h, f := range s.failed {
			cp.Failed[h] = f.attempts
		}
	}
	for _, a := range s.active {
		if a.kind != JobRetry {
			cp.InProgress = append(cp.InProgress, Range{a.cur, a.to})
		}
	}
	cp.InProgress = append(cp.InProgress, s.requeue...)
	slices.SortFunc(cp.InProgress, func(a, b Range) int { return cmp.Compare(a.From, b.From) })
	return cp
}

// ranges folds sorted heights into ranges.
func ranges(hs []uint64) []Range {
	var out []Range
	for _, h := range hs {
		if n := len(out); n > 0 && out[n-1].To+1 == h {
			out[n-1].To = h
			continue
		}
		out = append(out, Range{h, h})
	}
	return out
}

type retryItem struct {
	at     time.Time
	height uint64
}

// retryQueue is a container/heap of retries, earliest (then lowest
// height) first.
type retryQueue []retryItem

func (q retryQueue) Len() int { return len(q) }
func (q retryQueue) Less(i, j int) bool {
	if c := q[i].at.Compare(q[j].at); c != 0 {
		return c < 0
	}
	return q[i].height < q[j].height
}
func (q retryQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *retryQueue) Push(x any)   { *q = append(*q, x.(retryItem)) }
func (q *retryQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
