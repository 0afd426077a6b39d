package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/datamesh/mesh-node/header"
)

// run is the sync loop: the one goroutine the Syncer starts. It asks the
// exchange for the network head, fetches ranges up to the target, then
// waits for gossip to raise the target or for the poll interval, and on
// transient errors pauses with a doubling backoff, which gossip cuts
// short: a peer that lacked the range a moment ago (it was one header
// behind) has it once the next header arrives. It returns on Stop or a
// fatal error (recorded by fail).
func (s *Syncer) run(ctx context.Context) {
	defer close(s.done)
	needHead := true
	backoff := s.opts.RetryBackoff
	pause := func(what string, err error) bool {
		s.opts.Logger.Warn("syncer: "+what+"; retrying", "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		defer t.Stop()
		backoff = min(2*backoff, s.opts.MaxRetryBackoff)
		select {
		case <-t.C:
			return true
		case <-s.wake:
			return true
		case <-ctx.Done():
			return false
		}
	}
	var round *progress
	for ctx.Err() == nil {
		if needHead {
			if err := s.pollHead(ctx); err != nil {
				if s.stopOn(ctx, err) || !pause("asking for the network head", err) {
					return
				}
				continue
			}
			needHead = false
		}
		s.mu.Lock()
		to, ok := s.plan.next()
		head := s.plan.head
		s.mu.Unlock()
		if ok {
			if round == nil {
				round = s.startRound(head.Height())
			}
			n, err := s.fetchAndAppend(ctx, head, to)
			if err != nil {
				if s.stopOn(ctx, err) || !pause(fmt.Sprintf("fetching headers %d..%d", head.Height()+1, to), err) {
					return
				}
				continue
			}
			backoff = s.opts.RetryBackoff
			s.record(round, n, false)
			continue
		}
		if round != nil {
			s.record(round, 0, true)
			round = nil
		}
		poll := time.NewTimer(s.opts.HeadPollInterval)
		select {
		case <-ctx.Done():
		case <-s.wake:
			// Gossip brought a header beyond what our head's validators
			// can vouch for: the chain moved on; ask where it is now.
			needHead = s.hint.Swap(false)
		case <-poll.C:
			needHead = true
		}
		poll.Stop()
	}
}

// stopOn reports whether err ends the loop, recording it if it is fatal.
func (s *Syncer) stopOn(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	if !fatal(err) {
		return false
	}
	if errors.Is(err, header.ErrExpiredTrust) {
		s.mu.Lock()
		head := s.plan.head
		s.mu.Unlock()
		err = s.expiredHead(head, err)
	}
	s.fail(err)
	return true
}

// pollHead asks the exchange for the highest head verifiable from ours and
// raises the target to it. If none is higher, it also asks for the head the
// trusted peers agree on: when the validators changed too much since our
// head for a non-adjacent check, that is the only way to learn the chain
// moved on. Such a target is unverified: the range sync verifies every
// header up to it adjacently and checks it is on the chain.
func (s *Syncer) pollHead(ctx context.Context) error {
	s.mu.Lock()
	head := s.plan.head
	s.mu.Unlock()
	h, err := s.ex.Head(ctx, head)
	// Heads above ours that our head's validators cannot vouch for (they
	// changed too much) are not an error: ask the trusted peers instead.
	unvouched := errors.Is(err, header.ErrNotEnoughTrust)
	if err != nil && !unvouched {
		return fmt.Errorf("syncer: network head from height %d: %w", head.Height(), err)
	}
	verified := true
	if unvouched || h.Height() <= head.Height() {
		agreed, aerr := s.ex.Head(ctx, nil)
		switch {
		case aerr != nil:
			s.opts.Logger.Debug("syncer: asking the trusted peers for their head", "err", aerr)
		case agreed.ChainID() == head.ChainID() && agreed.Height() > head.Height():
			s.opts.Logger.Info("syncer: trusted peers report a head the stored head's validators cannot vouch for; syncing to it adjacently",
				"height", head.Height(), "peers_head", agreed.Height())
			h, verified = agreed, false
		}
		if h == nil || !verified && unvouched && aerr != nil {
			return fmt.Errorf("syncer: network head from height %d: %w", head.Height(), err)
		}
		if h.Height() < head.Height() && unvouched {
			h = head
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.plan.raise(h, verified); err != nil {
		return err
	}
	// Known now, even if no higher than ours: SyncWait may return.
	if s.plan.target == nil || s.plan.target.Height() < s.plan.head.Height() {
		s.plan.target = s.plan.head
	}
	s.notifyLocked()
	return nil
}

// fetchAndAppend fetches the verified range trusted+1..to and appends what
// the head has not passed meanwhile. It returns how many it appended.
func (s *Syncer) fetchAndAppend(ctx context.Context, trusted *header.ExtendedHeader, to uint64) (int, error) {
	hs, err := s.ex.GetVerifiedRange(ctx, trusted, to)
	if err != nil {
		return 0, fmt.Errorf("syncer: headers %d..%d: %w", trusted.Height()+1, to, err)
	}
	// The exchange verified them; check it returned what was asked, so a
	// faulty one cannot make the store's chain jump.
	if uint64(len(hs)) != to-trusted.Height() {
		return 0, fmt.Errorf("syncer: headers %d..%d: exchange returned %d", trusted.Height()+1, to, len(hs))
	}
	if err := header.CheckChain(trusted, hs); err != nil {
		return 0, fmt.Errorf("syncer: headers %d..%d from the exchange: %w", trusted.Height()+1, to, err)
	}

	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	s.mu.Lock()
	hs, err = s.plan.trim(trusted, hs)
	s.mu.Unlock()
	if err != nil || len(hs) == 0 {
		return 0, err
	}
	if err := s.store.Append(ctx, hs...); err != nil {
		// The store may have kept a prefix (see header.Store): continue
		// from its head, not from before the batch.
		if sh, herr := s.store.Head(ctx); herr == nil && sh.Height() >= hs[0].Height() && sh.Height() <= hs[len(hs)-1].Height() {
			s.mu.Lock()
			if perr := s.plan.appended(hs[:sh.Height()-hs[0].Height()+1]); perr != nil {
				s.opts.Logger.Error("syncer: after a partial append", "err", perr)
			}
			s.notifyLocked()
			s.mu.Unlock()
		}
		return 0, fmt.Errorf("syncer: storing headers %d..%d: %w", hs[0].Height(), to, err)
	}
	s.mu.Lock()
	err = s.plan.appended(hs)
	s.notifyLocked()
	s.mu.Unlock()
	if s.opts.OnHead != nil {
		s.opts.OnHead(hs[len(hs)-1])
	}
	if errors.Is(err, errTargetNotOnChain) {
		s.opts.Logger.Error("syncer: dropping target", "err", err)
		err = nil
	}
	return len(hs), err
}

// progress is one range sync: from the moment the head fell behind the
// target until it caught up.
type progress struct {
	from     uint64
	start    time.Time
	lastLog  time.Time
	appended int
}

func (s *Syncer) startRound(from uint64) *progress {
	now := time.Now()
	s.mu.Lock()
	s.round = Round{ID: s.round.ID + 1, From: from, Start: now}
	s.mu.Unlock()
	return &progress{from: from, start: now, lastLog: now}
}

// record counts n appended headers, updates the rate and logs progress at
// most every ProgressInterval, and once when the round is done.
func (s *Syncer) record(r *progress, n int, done bool) {
	r.appended += n
	now := time.Now()
	rate := 0.0
	if el := now.Sub(r.start).Seconds(); el > 0 {
		rate = float64(r.appended) / el
	}
	s.mu.Lock()
	s.rate = rate
	if done {
		s.round.End = now
	}
	st := State{Height: s.plan.head.Height(), Target: s.plan.target.Height()}
	s.mu.Unlock()
	switch {
	case done:
		s.opts.Logger.Info("syncer: synced", "height", st.Height, "from", r.from, "headers", r.appended,
			"took", now.Sub(r.start).Round(time.Millisecond), "headers_per_second", int(rate))
	case now.Sub(r.lastLog) >= s.opts.ProgressInterval:
		r.lastLog = now
		s.opts.Logger.Info("syncer: syncing", "height", st.Height, "target", st.Target, "headers_per_second", int(rate))
	}
}
