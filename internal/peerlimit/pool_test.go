package peerlimit

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestReserve(t *testing.T) {
	for size, want := range map[int]int{1: 0, 2: 1, 3: 1, 4: 1, 7: 1, 8: 2, 64: 16, 512: 128} {
		if got := Reserve(size); got != want {
			t.Errorf("Reserve(%d) = %d, want %d", size, got, want)
		}
	}
}

// A peer alone takes all but the reserve; then peers that hold nothing
// take the reserve, one slot each, and the pool is full.
func TestPoolGreedyPeer(t *testing.T) {
	for _, size := range []int{2, 3, 8, 64} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			l := NewPool(size)
			n := 0
			for {
				ok, _ := l.Take("greedy")
				if !ok {
					break
				}
				n++
			}
			if want := size - Reserve(size); n != want {
				t.Fatalf("a peer alone took %d slots, want %d", n, want)
			}
			for i := range Reserve(size) {
				p := peer.ID(fmt.Sprint("other", i))
				if ok, _ := l.Take(p); !ok {
					t.Fatalf("peer %d refused with %d of %d slots used", i, l.Used(), size)
				}
				if ok, _ := l.Take(p); ok {
					t.Fatalf("peer %d took a second slot of the reserve", i)
				}
			}
			if l.Used() != size {
				t.Fatalf("%d of %d used", l.Used(), size)
			}
			if ok, _ := l.Take("late"); ok {
				t.Fatal("a slot beyond the pool's size")
			}
		})
	}
}

// Released slots go back; a release called twice counts once.
func TestPoolRelease(t *testing.T) {
	l := NewPool(1)
	ok, release := l.Take("a")
	if !ok {
		t.Fatal("refused from an empty pool")
	}
	if ok, _ := l.Take("b"); ok {
		t.Fatal("a second slot of a pool of one")
	}
	release()
	release()
	if l.Used() != 0 {
		t.Fatalf("%d used after release", l.Used())
	}
	if ok, _ := l.Take("b"); !ok {
		t.Fatal("refused after release")
	}
}

// TestPoolGuarantee takes and releases slots at random among a few peers
// and checks, after every step, that the pool is full only when more than
// Reserve peers hold slots, and that while at most Reserve do, a peer
// holding nothing is given a slot.
func TestPoolGuarantee(t *testing.T) {
	for _, size := range []int{2, 5, 8, 64} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(size), 1))
			l := NewPool(size)
			r := Reserve(size)
			var releases []func()
			for step := range 20000 {
				// Between 1 and r+2 peers are active, so both sides of
				// the guarantee are reached.
				if rng.IntN(3) > 0 || len(releases) == 0 {
					p := peer.ID(fmt.Sprint(rng.IntN(r + 2)))
					if ok, release := l.Take(p); ok {
						releases = append(releases, release)
					}
				} else {
					i := rng.IntN(len(releases))
					releases[i]()
					releases = append(releases[:i], releases[i+1:]...)
				}
				l.mu.Lock()
				used, holders := l.used, len(l.held)
				l.mu.Unlock()
				if holders > 0 && used-(holders-1) > size-r {
					t.Fatalf("step %d: %d used by %d peers, size %d reserve %d", step, used, holders, size, r)
				}
				if holders <= r {
					ok, release := l.Take("newcomer")
					if !ok {
						t.Fatalf("step %d: a newcomer refused while %d peers hold %d slots", step, holders, used)
					}
					release()
				}
			}
		})
	}
}
