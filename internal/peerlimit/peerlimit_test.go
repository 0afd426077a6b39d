package peerlimit

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestLimits(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(2, 1, 3, func() time.Time { return now })
	const p, q = peer.ID("p"), peer.ID("q")
	var releases []func()
	admit := func(id peer.ID) bool {
		ok, release := l.Admit(id)
		releases = append(releases, release)
		return ok
	}
	for i := range 2 {
		if !admit(p) {
			t.Fatalf("stream %d refused", i)
		}
	}
	if admit(p) {
		t.Fatal("a third concurrent stream was admitted")
	}
	if !admit(q) {
		t.Fatal("another peer was refused")
	}
	for _, r := range releases {
		r()
	}
	// p spent 2 of 3 tokens (the refused stream took none).
	if !admit(p) {
		t.Fatal("the last token refused")
	}
	releases[len(releases)-1]()
	if admit(p) {
		t.Fatal("admitted without a token")
	}
	releases[len(releases)-1]()
	now = now.Add(time.Second) // one token back
	if !admit(p) {
		t.Fatal("refilled token refused")
	}
	releases[len(releases)-1]()
	now = now.Add(time.Hour)
	l.mu.Lock()
	l.sweep(now)
	l.mu.Unlock()
	if n := l.Len(); n != 0 {
		t.Errorf("idle peers with full buckets kept: %d", n)
	}
}

// An idle peer is forgotten by the next Admit a sweep interval later.
func TestForgetsIdlePeers(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(1, 1, 1, func() time.Time { return now })
	for i := range 100 {
		_, release := l.Admit(peer.ID(rune('a' + i)))
		release()
	}
	now = now.Add(2 * sweepInterval)
	_, release := l.Admit("z")
	release()
	if n := l.Len(); n != 1 {
		t.Fatalf("remembers %d peers, want 1", n)
	}
}
