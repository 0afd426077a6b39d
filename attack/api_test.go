//go:build attack

package attack_test

import (
	"context"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestIdleConnections: as many idle TCP connections to the light node's
// API as this process may open (20,000 where the descriptor limit allows),
// and a few that send half a request body. Before, 21,000 of them
// exhausted the devnet's descriptors and stopped consensus. Now: blocks
// keep coming, an honest client's header.LocalHead stays under 100 ms at
// the 99th percentile, and every attacking connection is closed within the
// idle timeout (60 s by default) plus a margin.
func TestIdleConnections(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	d := startDevnet(t, "")
	addr := strings.TrimPrefix(d.info.Nodes["light"].RPC, "http://")
	start, err := d.height(ctx, "light")
	if err != nil {
		t.Fatal(err)
	}

	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < 21_000 {
		// Room for 20,000 connections where the limit may be raised (root
		// may raise the hard limit too); else as many as it allows.
		want := syscall.Rlimit{Cur: 21_000, Max: max(lim.Max, 21_000)}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
			lim = want
		}
	}
	n := min(20_000, int(lim.Cur)-500)
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	dialer := net.Dialer{Timeout: 2 * time.Second}
	parallel(64, func(w int) {
		for i := w; i < n; i += 64 {
			c, err := dialer.DialContext(ctx, "tcp", addr)
			if err != nil {
				continue // the kernel's backlog is full: the SYN waits
			}
			if i%100 == 0 {
				// A slow body: headers, then a body that never ends.
				_, _ = c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + d.info.Nodes["light"].Token + "\r\nContent-Length: 1000000\r\n\r\n{\"jsonrpc\":"))
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	opened := time.Now()
	t.Logf("%d of %d attacking connections open (descriptor limit %d)", len(conns), n, lim.Cur)

	// An honest client, on fresh connections, while the attack holds.
	var lat []time.Duration
	for range 100 {
		tr := time.Now()
		if _, err := d.height(ctx, "light"); err != nil {
			t.Fatalf("honest header.LocalHead during the attack: %v", err)
		}
		lat = append(lat, time.Since(tr))
		time.Sleep(20 * time.Millisecond) // pace the honest client: it is not the attack
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("honest header.LocalHead during the attack: p50 %v, p99 %v", p50, p99)
	if p99 > 100*time.Millisecond {
		t.Errorf("header.LocalHead p99 %v, over 100 ms", p99)
	}

	// Every attacking connection is closed by the node.
	const idle = 60 * time.Second
	var open atomic.Int64
	parallel(len(conns), func(i int) {
		c := conns[i]
		defer c.Close()
		_ = c.SetReadDeadline(opened.Add(idle + 30*time.Second))
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				if os.IsTimeout(err) {
					open.Add(1)
				}
				return
			}
		}
	})
	if open.Load() > 0 {
		t.Errorf("%d of %d attacking connections still open %v after they were made", open.Load(), len(conns), idle+30*time.Second)
	}
	end, err := d.height(ctx, "light")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("light node head %d -> %d during the attack (%v)", start, end, time.Since(opened).Round(time.Second))
	if end < start+10 {
		t.Errorf("blocks stopped: head %d -> %d", start, end)
	}
}

// TestLogInjection: a method name with a newline and a 1 MB method name.
// Before, go-jsonrpc logged them raw through its own logger: a forged log
// line and a 1 MB line. Now no line of the devnet's log starts with the
// forged text and no line is longer than 64 KiB.
func TestLogInjection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d := startDevnet(t, "")
	for _, method := range []string{"blob.Get\nFORGED level=ERROR msg=\"validator key leaked\"", strings.Repeat("m", 1<<20)} {
		if _, err := d.call(ctx, "light", method); err != nil {
			t.Fatalf("post: %v", err)
		}
	}
	d.stop(t)
	b, err := os.ReadFile(d.log)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "FORGED") {
			t.Errorf("forged log line: %q", line)
		}
		if len(line) > 64<<10 {
			t.Errorf("log line of %d bytes", len(line))
		}
	}
}
