package main

import "time"

// pacer spaces submits so that the blob bytes handed out follow a target
// rate: the i-th reservation may start when the bytes reserved before it,
// at rate bytes/s, have had their time since start. It is pure (the caller
// passes the clock) and not safe for concurrent use.
type pacer struct {
	rate     float64 // bytes/s; 0: no limit
	start    time.Time
	reserved float64 // bytes reserved so far
}

func newPacer(rate float64, start time.Time) *pacer {
	return &pacer{rate: rate, start: start}
}

// reserve takes n bytes and returns how long after now they may be sent
// (0: at once). A caller that falls behind is not given a burst larger than
// one second's worth to catch up: the schedule is moved up to now minus a
// second.
func (p *pacer) reserve(n int, now time.Time) time.Duration {
	if p.rate <= 0 {
		return 0
	}
	due := p.start.Add(time.Duration(p.reserved / p.rate * float64(time.Second)))
	if lag := now.Sub(due); lag > time.Second {
		// Behind by more than a second: forget the debt beyond one second.
		p.reserved += (lag - time.Second).Seconds() * p.rate
		due = now.Add(-time.Second)
	}
	p.reserved += float64(n)
	if due.After(now) {
		return due.Sub(now)
	}
	return 0
}
