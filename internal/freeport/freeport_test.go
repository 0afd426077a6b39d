package freeport

import (
	"errors"
	"net"
	"runtime"
	"strconv"
	"testing"
)

func TestTCPPortsAreDistinctBindableAndBelowEphemeral(t *testing.T) {
	lo, hi := bounds()
	seen := map[int]bool{}
	for range 50 {
		p, err := TCP()
		if err != nil {
			t.Fatal(err)
		}
		if p < lo || p > hi {
			t.Fatalf("port %d outside %d–%d", p, lo, hi)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("reserved port %d: %v", p, err)
		}
		l.Close()
	}
}

func TestRangeIsConsecutiveAndFreeForUDP(t *testing.T) {
	base, err := Range(12, true)
	if err != nil {
		t.Fatal(err)
	}
	for p := base; p < base+12; p++ {
		if reserved[p] == nil {
			t.Fatalf("port %d of the range is not reserved", p)
		}
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("udp %d: %v", p, err)
		}
		u.Close()
	}
}

// A reserved port's lock is held: another open of its file (as another
// process would make) cannot take it.
func TestReservedPortIsLockedForOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no cross-process lock on windows")
	}
	p, err := TCP()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock(p); !errors.Is(err, errLocked) {
		t.Fatalf("second lock of port %d: %v, want errLocked", p, err)
	}
}

// A port someone listens on is not reserved, and a range that cannot be
// reserved whole leaves none of its ports reserved.
func TestBusyPortIsSkipped(t *testing.T) {
	lo, hi := bounds()
	var l net.Listener
	var busy int
	for p := lo + 1; p < hi; p++ {
		if reserved[p] != nil || reserved[p-1] != nil {
			continue
		}
		var err error
		if l, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			busy = p
			break
		}
	}
	if l == nil {
		t.Skip("no port to hold")
	}
	defer l.Close()
	mu.Lock()
	defer mu.Unlock()
	if tryRange(busy-1, 2, false) {
		t.Fatalf("range %d–%d reserved while %d is in use", busy-1, busy, busy)
	}
	if reserved[busy-1] != nil {
		t.Fatalf("port %d stayed reserved after its range failed", busy-1)
	}
}

func TestRangeRejectsBadSizes(t *testing.T) {
	if _, err := Range(0, false); err == nil {
		t.Fatal("Range(0) succeeded")
	}
	if _, err := Range(1<<20, false); err == nil {
		t.Fatal("Range(1<<20) succeeded")
	}
}
