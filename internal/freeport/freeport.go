// Package freeport hands out loopback ports for servers that must be told
// their port before they listen (CometBFT's RPC and P2P addresses, a
// devnet's fixed ports).
//
// Asking the kernel for port 0 and closing the listener leaves a window in
// which the port is free for anyone: an outgoing connection of any process
// takes ports from the same ephemeral range, and a second test binary
// asking the kernel gets the same kind of port. Both have made tests fail
// with "bind: address already in use". This package instead picks ports
// below the kernel's ephemeral range, which outgoing connections never use,
// and reserves each one across processes with an advisory lock on a file
// under the temporary directory, held until the process exits. Two processes
// of ours never receive the same port, and a port is handed out only if it
// could be bound when it was reserved.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// The range ports are picked from when the ephemeral range cannot be read
// or leaves too little room below it.
const (
	lowest         = 15000
	defaultHighest = 32767 // below Linux's default ephemeral range, 32768–60999
	minRoom        = 2000
)

var (
	mu       sync.Mutex
	reserved = map[int]*os.File{} // port → its lock file, open until exit
)

// TCP reserves one loopback port that was free for TCP when reserved.
func TCP() (int, error) {
	return Range(1, false)
}

// Range reserves n consecutive loopback ports, each free for TCP (and for
// UDP when udp is set) when reserved, and returns the first.
func Range(n int, udp bool) (int, error) {
	if n < 1 {
		return 0, fmt.Errorf("freeport: want at least 1 port, got %d", n)
	}
	lo, hi := bounds()
	span := hi - lo + 1
	if n > span {
		return 0, fmt.Errorf("freeport: %d ports do not fit in %d–%d", n, lo, hi)
	}
	mu.Lock()
	defer mu.Unlock()
	start := rand.IntN(span - n + 1)
	for i := 0; i < span; i += n {
		base := lo + (start+i)%(span-n+1)
		if ok := tryRange(base, n, udp); ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("freeport: no %d consecutive free ports in %d–%d", n, lo, hi)
}

// tryRange reserves base…base+n-1 or none of them.
func tryRange(base, n int, udp bool) bool {
	var got []int
	for p := base; p < base+n; p++ {
		if _, taken := reserved[p]; taken || !bindable(p, udp) {
			break
		}
		f, err := lock(p)
		if err != nil {
			break
		}
		reserved[p] = f
		got = append(got, p)
	}
	if len(got) == n {
		return true
	}
	for _, p := range got {
		reserved[p].Close() // releases the lock
		delete(reserved, p)
	}
	return false
}

func bindable(port int, udp bool) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	if !udp {
		return true
	}
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	u.Close()
	return true
}

// lock takes the process-wide advisory lock of port, without waiting.
func lock(port int) (*os.File, error) {
	dir := filepath.Join(os.TempDir(), "mesh-node-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := tryLock(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

var errLocked = errors.New("freeport: port reserved by another process")

// bounds returns the range to pick from: lowest up to just below the
// kernel's ephemeral ports.
func bounds() (lo, hi int) {
	hi = defaultHighest
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if first, err := strconv.Atoi(f[0]); err == nil && first-1-lowest >= minRoom {
				hi = first - 1
			}
		}
	}
	return lowest, hi
}
