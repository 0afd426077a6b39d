package fraud

import "context"

// HeadAdvanced releases, synchronously, the held proofs whose height the
// store's head has reached: when it returns, each of them has been judged
// (against the stored header, as a proof at or below the head always is),
// and a valid one has set the Halt and gone to the subscribers. The node
// calls it from the header syncer's OnHead hook, before it hands the head
// to the DASer, so that a light node never samples a block the moment it
// learns of it while a proof of that block waits here. (header/syncer
// calls OnHead after store.Append has returned, so the store holds the
// header by then; HeadAdvanced reads the store's head, not height, which
// only serves to log a store behind the head it is told of.)
//
// With nothing held it costs a lock and a length check. Otherwise it
// judges each released proof (a store read and a validation, about 1 ms
// at k = 128, or a wait of at most ValidatorTimeout for the check of
// another proof of its height) and waits for a release the poll
// (PollInterval) had begun. It never waits for a subscriber, and leaves
// the gossiping of the valid proofs to the Service's goroutine. It ends
// early when ctx ends or the Service stops, and does nothing unless the
// Service is started. It is safe for concurrent use.
func (s *Service) HeadAdvanced(ctx context.Context, height uint64) {
	s.mu.Lock()
	idle := s.state != stateStarted || (s.judge.held() == 0 && !s.releasing)
	s.mu.Unlock()
	if idle {
		return
	}
	if head := s.deps.Headers.Height(); head < height {
		s.log.Warn("fraud: HeadAdvanced before the store holds the head", "height", height, "store", head)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)() // Stop ends it
	s.releaseHeld(ctx, func(data []byte) {
		s.mu.Lock()
		s.toGossip = append(s.toGossip, data)
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default: // run is woken already
		}
	})
}

// releaseHeld judges again the held proofs whose height the store has
// reached, and hands the encoding of each valid one to publish (the topic
// validator ignored them when they came, so gossipsub did not forward
// them). It drops the holds older than HoldTTL.
func (s *Service) releaseHeld(ctx context.Context, publish func(data []byte)) {
	s.releaseMu.Lock()
	defer s.releaseMu.Unlock()
	head, now := s.deps.Headers.Height(), s.opts.Now()
	s.mu.Lock()
	ready, expired := s.judge.release(head, now)
	s.releasing = len(ready) > 0
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.releasing = false
		s.mu.Unlock()
	}()
	if expired > 0 {
		s.log.Info("fraud: held proofs expired before the store reached their height", "count", expired, "head", head)
		s.setTrouble()
	}
	for _, c := range ready {
		cctx, cancel := context.WithTimeout(ctx, s.opts.ValidatorTimeout)
		v := s.judgeProof(cctx, c)
		cancel()
		if v == verdictHeld {
			continue // the store went back below it: held again
		}
		// A topic validator still waiting for it lets gossipsub
		// forward the message; otherwise the Service gossips it.
		if !s.tellWaiters(c.data, v) && v == verdictAccept {
			publish(c.data)
		}
	}
}

// gossipLeft gossips the proofs HeadAdvanced found valid.
func (s *Service) gossipLeft() {
	s.mu.Lock()
	left := s.toGossip
	s.toGossip = nil
	s.mu.Unlock()
	for _, data := range left {
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.ValidatorTimeout)
		s.gossip(ctx, data)
		cancel()
	}
}
