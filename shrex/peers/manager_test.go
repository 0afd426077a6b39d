package peers_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/shrex/peers"
)

// clock is a fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Unix(1_700_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// blocker records BlockPeer calls.
type blocker struct {
	mu      sync.Mutex
	blocked []peer.ID
}

func (b *blocker) BlockPeer(id peer.ID, reason error) {
	if !errors.Is(reason, peers.ErrInvalidResponse) {
		panic(fmt.Sprintf("blocked %s for %v", id, reason))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blocked = append(b.blocked, id)
}

func (b *blocker) list() []peer.ID {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.blocked)
}

var (
	rootA = []byte("root-a-32-bytes-long-------------")
	rootB = []byte("root-b-32-bytes-long-------------")
)

type fixture struct {
	m       *peers.Manager
	clock   *clock
	blocker *blocker
	full    []peer.ID
}

func newFixture(t *testing.T, opts peers.Options) *fixture {
	t.Helper()
	f := &fixture{clock: newClock(), blocker: &blocker{}}
	opts.Now = f.clock.Now
	opts.Blocker = f.blocker
	if opts.Rand == nil {
		opts.Rand = rand.New(rand.NewPCG(1, 2))
	}
	if opts.FullNodes == nil {
		opts.FullNodes = func() []peer.ID { return f.full }
	}
	m, err := peers.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	return f
}

func set(ps []peer.ID) map[peer.ID]bool {
	s := map[peer.ID]bool{}
	for _, p := range ps {
		s[p] = true
	}
	return s
}

func sameSet(a, b []peer.ID) bool {
	if len(a) != len(b) {
		return false
	}
	sa := set(a)
	for _, p := range b {
		if !sa[p] {
			return false
		}
	}
	return true
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]peers.Options{
		"cooldown":           {Cooldown: -1},
		"not-found cooldown": {NotFoundCooldown: -1},
		"max peers per root": {MaxPeersPerRoot: -1},
		"max roots":          {MaxRoots: -1},
	} {
		if _, err := peers.New(o); !errors.Is(err, peers.ErrInvalidOptions) {
			t.Errorf("%s: err = %v, want ErrInvalidOptions", name, err)
		}
	}
	m, err := peers.New(peers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Peers(1, rootA, 3); got != nil {
		t.Fatalf("empty manager offered %v", got)
	}
}

func TestAnnouncersFirstThenFallback(t *testing.T) {
	f := newFixture(t, peers.Options{})
	f.full = []peer.ID{"c", "b", "d", "c", ""}
	f.m.Announced(10, rootA, "a")
	f.m.Announced(10, rootA, "b")
	f.m.Announced(10, rootA, "a") // again

	got := f.m.Peers(10, rootA, 10)
	if len(got) != 4 || !sameSet(got[:2], []peer.ID{"a", "b"}) || !sameSet(got[2:], []peer.ID{"c", "d"}) {
		t.Fatalf("Peers = %v, want a and b, then c and d", got)
	}
	if got := f.m.Peers(10, rootA, 1); len(got) != 1 || (got[0] != "a" && got[0] != "b") {
		t.Fatalf("Peers(1) = %v, want an announcer", got)
	}
	if got := f.m.Peers(10, rootA, 3); len(got) != 3 || !sameSet(got[:2], []peer.ID{"a", "b"}) {
		t.Fatalf("Peers(3) = %v", got)
	}
	// Another root at the same height, or the same root at another
	// height, has no announcers.
	for _, k := range []struct {
		h    uint64
		root []byte
	}{{10, rootB}, {11, rootA}} {
		if got := f.m.Peers(k.h, k.root, 10); !sameSet(got, []peer.ID{"b", "c", "d"}) {
			t.Fatalf("Peers(%d, %s) = %v, want the full nodes", k.h, k.root, got)
		}
	}
	if got := f.m.Peers(10, rootA, 0); got != nil {
		t.Fatalf("Peers(0) = %v", got)
	}
	// Ignored announcements.
	f.m.Announced(12, nil, "a")
	f.m.Announced(12, rootA, "")
	if f.m.Len() != 1 {
		t.Fatalf("Len = %d, want 1", f.m.Len())
	}
}

func TestOutcomes(t *testing.T) {
	const cooldown, notFound = 3 * time.Second, 10 * time.Second
	for _, tc := range []struct {
		outcome peers.Outcome
		// offered for rootA and rootB right after, after cooldown, after
		// notFound; whether blocked.
		now, afterCooldown, afterNotFound [2]bool
		blocked                           bool
	}{
		{peers.Success, [2]bool{true, true}, [2]bool{true, true}, [2]bool{true, true}, false},
		{peers.NotFound, [2]bool{false, true}, [2]bool{false, true}, [2]bool{true, true}, false},
		{peers.RateLimited, [2]bool{false, false}, [2]bool{true, true}, [2]bool{true, true}, false},
		{peers.Timeout, [2]bool{false, false}, [2]bool{true, true}, [2]bool{true, true}, false},
		{peers.Invalid, [2]bool{false, false}, [2]bool{false, false}, [2]bool{false, false}, true},
	} {
		t.Run(tc.outcome.String(), func(t *testing.T) {
			f := newFixture(t, peers.Options{Cooldown: cooldown, NotFoundCooldown: notFound})
			f.full = []peer.ID{"x"} // x: a full node, the fallback
			f.m.Announced(5, rootA, "x")
			f.m.Announced(5, rootB, "x")
			f.m.Result(5, rootA, "x", tc.outcome)
			check := func(when string, want [2]bool) {
				t.Helper()
				for i, root := range [][]byte{rootA, rootB} {
					got := slices.Contains(f.m.Peers(5, root, 5), "x")
					if got != want[i] {
						t.Errorf("%s: x offered for root %d: %v, want %v", when, i, got, want[i])
					}
				}
			}
			check("right after", tc.now)
			f.clock.Advance(cooldown)
			check("after the cooldown", tc.afterCooldown)
			f.clock.Advance(notFound - cooldown)
			check("after the not-found cooldown", tc.afterNotFound)
			if got := f.blocker.list(); (len(got) == 1) != tc.blocked {
				t.Errorf("blocked %v, want blocked: %v", got, tc.blocked)
			}
		})
	}
}

func TestNotFoundForgetsTheAnnouncer(t *testing.T) {
	f := newFixture(t, peers.Options{NotFoundCooldown: time.Second})
	f.m.Announced(5, rootA, "relay")
	f.m.Announced(5, rootA, "holder")
	f.m.Result(5, rootA, "relay", peers.NotFound)
	f.clock.Advance(time.Hour)
	// relay is not a full node: once forgotten as an announcer it is not
	// offered again for this square.
	if got := f.m.Peers(5, rootA, 5); !slices.Equal(got, []peer.ID{"holder"}) {
		t.Fatalf("Peers = %v, want [holder]", got)
	}
	// A new announcement brings it back.
	f.m.Announced(5, rootA, "relay")
	if got := f.m.Peers(5, rootA, 5); !sameSet(got, []peer.ID{"holder", "relay"}) {
		t.Fatalf("Peers = %v, want holder and relay", got)
	}
}

func TestInvalidBlocksAndForgets(t *testing.T) {
	f := newFixture(t, peers.Options{})
	f.full = []peer.ID{"bad", "good"}
	f.m.Announced(5, rootA, "bad")
	f.m.Announced(6, rootB, "bad")
	f.m.Result(5, rootA, "bad", peers.Invalid)
	f.m.Result(6, rootB, "bad", peers.Invalid) // reported once only
	f.m.Result(6, rootB, "bad", peers.Success) // ignored
	f.m.Announced(7, rootA, "bad")             // ignored
	for _, h := range []uint64{5, 6, 7} {
		for _, root := range [][]byte{rootA, rootB} {
			if got := f.m.Peers(h, root, 5); !slices.Equal(got, []peer.ID{"good"}) {
				t.Fatalf("Peers(%d) = %v, want [good]", h, got)
			}
		}
	}
	if got := f.blocker.list(); !slices.Equal(got, []peer.ID{"bad"}) {
		t.Fatalf("blocked %v, want [bad] once", got)
	}
}

func TestScoreOrders(t *testing.T) {
	f := newFixture(t, peers.Options{Cooldown: time.Second})
	for _, p := range []peer.ID{"a", "b", "c", "d"} {
		f.m.Announced(1, rootA, p)
	}
	f.m.Result(1, rootA, "c", peers.Success)
	f.m.Result(1, rootA, "c", peers.Success)
	f.m.Result(1, rootA, "b", peers.Success)
	f.m.Result(1, rootA, "d", peers.Timeout)
	f.clock.Advance(time.Second) // d's cooldown over, its score stays low
	for range 20 {
		got := f.m.Peers(1, rootA, 4)
		if !slices.Equal(got, []peer.ID{"c", "b", "a", "d"}) {
			t.Fatalf("Peers = %v, want [c b a d] by score", got)
		}
	}
	// A success clears a cooldown at once.
	f.m.Result(1, rootA, "a", peers.RateLimited)
	f.m.Result(1, rootA, "a", peers.Success)
	if got := f.m.Peers(1, rootA, 4); !slices.Contains(got, "a") {
		t.Fatalf("Peers = %v, want a back after a success", got)
	}
}

func TestEqualPeersSpreadLoad(t *testing.T) {
	f := newFixture(t, peers.Options{})
	all := []peer.ID{"a", "b", "c", "d"}
	for _, p := range all {
		f.m.Announced(1, rootA, p)
	}
	first := map[peer.ID]int{}
	for range 200 {
		first[f.m.Peers(1, rootA, 1)[0]]++
	}
	for _, p := range all {
		if first[p] < 20 {
			t.Fatalf("first choices %v: %s is starved", first, p)
		}
	}
}

func TestSeededOrderIsReproducible(t *testing.T) {
	order := func() [][]peer.ID {
		f := newFixture(t, peers.Options{Rand: rand.New(rand.NewPCG(7, 7))})
		f.full = []peer.ID{"x", "y", "z"}
		for _, p := range []peer.ID{"a", "b", "c", "d", "e"} {
			f.m.Announced(1, rootA, p)
		}
		var out [][]peer.ID
		for range 10 {
			out = append(out, f.m.Peers(1, rootA, 8))
		}
		return out
	}
	a, b := order(), order()
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Fatalf("call %d: %v then %v with the same seed", i, a[i], b[i])
		}
	}
}

func TestPrune(t *testing.T) {
	f := newFixture(t, peers.Options{})
	for h := uint64(1); h <= 10; h++ {
		f.m.Announced(h, rootA, "a")
	}
	f.m.Prune(6)
	if f.m.Len() != 5 {
		t.Fatalf("Len after Prune(6) = %d, want 5", f.m.Len())
	}
	if got := f.m.Peers(5, rootA, 1); got != nil {
		t.Fatalf("pruned height 5 offers %v", got)
	}
	if got := f.m.Peers(6, rootA, 1); !slices.Equal(got, []peer.ID{"a"}) {
		t.Fatalf("height 6 offers %v, want [a]", got)
	}
	f.m.Announced(3, rootA, "b") // below the floor: ignored
	f.m.Prune(2)                 // never lowers the floor
	f.m.Announced(4, rootA, "b")
	if f.m.Len() != 5 {
		t.Fatalf("Len = %d, want 5: announcements below the floor were kept", f.m.Len())
	}
}

func TestMaxRoots(t *testing.T) {
	f := newFixture(t, peers.Options{MaxRoots: 3})
	for h := uint64(1); h <= 5; h++ {
		f.m.Announced(h, rootA, "a")
	}
	f.m.Announced(5, rootB, "a") // fourth square at the cap: evicts height 3
	if f.m.Len() != 3 {
		t.Fatalf("Len = %d, want 3", f.m.Len())
	}
	for h, want := range map[uint64]bool{1: false, 2: false, 3: false, 4: true, 5: true} {
		if got := len(f.m.Peers(h, rootA, 1)) == 1; got != want {
			t.Errorf("height %d tracked: %v, want %v", h, got, want)
		}
	}
	f.m.Announced(2, rootA, "a") // lower than everything tracked: dropped
	if got := f.m.Peers(2, rootA, 1); got != nil {
		t.Fatalf("height 2 tracked at the cap: %v", got)
	}
	// Spam across many roots stays within the cap.
	for i := range 10_000 {
		f.m.Announced(uint64(100+i), fmt.Appendf(nil, "%032d", i), peer.ID(fmt.Sprint("spam", i)))
	}
	if f.m.Len() != 3 {
		t.Fatalf("Len after spam = %d, want 3", f.m.Len())
	}
}

func TestMaxPeersPerRoot(t *testing.T) {
	f := newFixture(t, peers.Options{MaxPeersPerRoot: 2})
	f.m.Announced(1, rootA, "a")
	f.m.Announced(1, rootA, "b")
	f.m.Announced(1, rootA, "c") // evicts a, the oldest
	if got := f.m.Peers(1, rootA, 5); !sameSet(got, []peer.ID{"b", "c"}) {
		t.Fatalf("Peers = %v, want b and c", got)
	}
	f.m.Announced(1, rootA, "b") // refreshes b
	f.m.Announced(1, rootA, "d") // evicts c
	if got := f.m.Peers(1, rootA, 5); !sameSet(got, []peer.ID{"b", "d"}) {
		t.Fatalf("Peers = %v, want b and d", got)
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[peers.Outcome]string{
		peers.Success: "success", peers.NotFound: "not found", peers.RateLimited: "rate limited",
		peers.Timeout: "timeout", peers.Invalid: "invalid", 0: "Outcome(0)", 99: "Outcome(99)",
	} {
		if got := o.String(); got != want {
			t.Errorf("%d: %q, want %q", int(o), got, want)
		}
	}
	// An unknown outcome is ignored.
	f := newFixture(t, peers.Options{})
	f.m.Announced(1, rootA, "a")
	f.m.Result(1, rootA, "a", 99)
	if got := f.m.Peers(1, rootA, 1); !slices.Equal(got, []peer.ID{"a"}) {
		t.Fatalf("Peers = %v after an unknown outcome", got)
	}
}

// TestConcurrentUse runs every method at once; run it with -race.
func TestConcurrentUse(t *testing.T) {
	f := newFixture(t, peers.Options{MaxRoots: 64, MaxPeersPerRoot: 8})
	f.full = []peer.ID{"f1", "f2"}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				h := uint64(i % 100)
				p := peer.ID(fmt.Sprint("p", (w*7+i)%20))
				f.m.Announced(h, rootA, p)
				for _, q := range f.m.Peers(h, rootA, 3) {
					f.m.Result(h, rootA, q, peers.Outcome(1+(i+w)%5))
				}
				if i%50 == 0 {
					f.m.Prune(uint64(i / 10))
					f.clock.Advance(time.Second)
				}
				_ = f.m.Len()
			}
		})
	}
	wg.Wait()
	if f.m.Len() > 64 {
		t.Fatalf("Len = %d over the cap", f.m.Len())
	}
}
