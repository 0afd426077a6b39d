package fraud

import (
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The judge is driven step by step: each step feeds it a proof (sender,
// height) with the store's head and the time, and checks its decision and
// what it holds afterwards.

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func cand(from peer.ID, height uint64) candidate {
	return candidate{from: from, height: height}
}

func testJudge() *judge {
	return newJudge(judgeLimits{maxAhead: 64, holdPerPeer: 2, holdTotal: 4, holdTTL: time.Minute, invalid: 2, liars: 2})
}

// holdsOf lists the held proofs as "peer@height", oldest first.
func holdsOf(j *judge) string {
	s := ""
	for _, h := range j.holds {
		s += fmt.Sprintf("%s@%d ", string(h.from), h.height)
	}
	return s
}

func TestJudgeScreen(t *testing.T) {
	j := testJudge()
	steps := []struct {
		name   string
		c      candidate
		head   uint64
		want   step
		before func()
	}{
		{name: "at the head: check", c: cand("a", 10), head: 10, want: stepCheck},
		{name: "same height while checked: busy", c: cand("b", 10), head: 10, want: stepBusy},
		{name: "another height: check", c: cand("b", 8), head: 10, want: stepCheck},
		{name: "invalid at 10: the height is free again", c: cand("b", 10), head: 10, want: stepCheck, before: func() { j.done(10, false) }},
		{name: "valid at 8: 8 is a duplicate", c: cand("c", 8), head: 10, want: stepDuplicate, before: func() { j.done(8, true); j.done(10, false) }},
		{name: "above the lowest valid: duplicate", c: cand("c", 9), head: 10, want: stepDuplicate},
		{name: "below the lowest valid: check", c: cand("c", 7), head: 10, want: stepCheck},
		{name: "above the head: held", c: cand("c", 6), head: 5, want: stepHeld, before: func() { j.done(7, false) }},
		{name: "far ahead but above the lowest valid: duplicate", c: cand("c", 71), head: 6, want: stepDuplicate},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		if got := j.screen(s.c, s.head, t0); got != s.want {
			t.Fatalf("%s: %v, want %v", s.name, got, s.want)
		}
	}
	// Too far, with no valid proof to make it a duplicate.
	j = testJudge()
	if got := j.screen(cand("a", 75), 10, t0); got != stepTooFar {
		t.Fatalf("75 with the head at 10: %v, want too far", got)
	}
	if got := j.screen(cand("a", 74), 10, t0); got != stepHeld {
		t.Fatalf("74 with the head at 10: %v, want held", got)
	}
	// From fraud sync, a peer the node asked: held however far ahead.
	far := cand("b", 10_000)
	far.synced = true
	if got := j.screen(far, 10, t0); got != stepHeld {
		t.Fatalf("10000 by fraud sync with the head at 10: %v, want held", got)
	}
}

func TestJudgeHolds(t *testing.T) {
	j := testJudge() // 2 per peer, 4 in all
	hold := func(from peer.ID, height uint64, want step) {
		t.Helper()
		if got := j.screen(cand(from, height), 10, t0); got != want {
			t.Fatalf("%s@%d: %v, want %v (holds %s)", from, height, got, want, holdsOf(j))
		}
	}
	hold("a", 11, stepHeld)
	hold("a", 12, stepHeld)
	hold("a", 13, stepNoRoom) // a holds its 2
	hold("b", 11, stepHeld)
	hold("b", 12, stepHeld)
	// Full: c holds none, a and b two each; a (the lowest ID of the two
	// holding the most) gives way, its oldest first.
	hold("c", 14, stepHeld)
	if got, want := holdsOf(j), "a@12 b@11 b@12 c@14 "; got != want {
		t.Fatalf("holds %q, want %q", got, want)
	}
	// c holds 1, the most is 2: no one gives way to it.
	hold("c", 15, stepNoRoom)
	hold("d", 15, stepHeld) // d holds none: b gives way
	if got, want := holdsOf(j), "a@12 b@12 c@14 d@15 "; got != want {
		t.Fatalf("holds %q, want %q", got, want)
	}
	// Now every sender holds one: a newcomer waits.
	hold("e", 11, stepNoRoom)

	// The head reaches 12: a@12 and b@12 come out, oldest first.
	ready, expired := j.release(12, t0.Add(time.Second))
	if len(ready) != 2 || ready[0].from != "a" || ready[1].from != "b" || expired != 0 {
		t.Fatalf("released %v (%d expired)", ready, expired)
	}
	// A liar's holds go; a valid proof at 14 makes 14 and above
	// duplicates, held ones too.
	j.liar("c")
	if got, want := holdsOf(j), "d@15 "; got != want {
		t.Fatalf("after c lied: holds %q, want %q", got, want)
	}
	hold("e", 16, stepHeld)
	j.accepted(15)
	if got, want := holdsOf(j), ""; got != want {
		t.Fatalf("after a valid proof at 15: holds %q, want %q", got, want)
	}
	// Holds expire after holdTTL.
	hold("f", 12, stepHeld)
	if ready, expired := j.release(10, t0.Add(59*time.Second)); len(ready) != 0 || expired != 0 {
		t.Fatalf("before the TTL: released %v, %d expired", ready, expired)
	}
	if ready, expired := j.release(10, t0.Add(time.Minute)); len(ready) != 0 || expired != 1 || j.held() != 0 {
		t.Fatalf("at the TTL: released %v, %d expired, %d held", ready, expired, j.held())
	}
}

func TestJudgeMemoryIsBounded(t *testing.T) {
	j := testJudge() // 2 invalid hashes, 2 liars
	j.invalidMessage([32]byte{1})
	j.invalidMessage([32]byte{2})
	j.invalidMessage([32]byte{2})
	if !j.knownInvalid([32]byte{1}) || !j.knownInvalid([32]byte{2}) {
		t.Fatal("invalid hashes forgotten")
	}
	j.invalidMessage([32]byte{3})
	if j.knownInvalid([32]byte{1}) || !j.knownInvalid([32]byte{3}) {
		t.Fatal("the oldest invalid hash was not the one forgotten")
	}
	for _, p := range []peer.ID{"a", "b", "c"} {
		j.liar(p)
	}
	if j.isLiar("a") || !j.isLiar("b") || !j.isLiar("c") {
		t.Fatal("the oldest liar was not the one forgotten")
	}
	if len(j.invalid.order) != 2 || len(j.liars.in) != 2 {
		t.Fatal("sets grew past their bound")
	}
}
