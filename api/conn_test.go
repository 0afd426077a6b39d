package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

var connTestSecret = []byte("conn-test-secret-0123456789abcde")

// startConnServer starts a server with a node module and opts, stopped at
// the test's end.
func startConnServer(t *testing.T, opts ServerOptions) *Server {
	t.Helper()
	node, err := NewNodeModule(NodeOptions{Type: NodeLight, Version: "v-test", Secret: connTestSecret, Ready: func() bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	opts.Addr = "127.0.0.1:0"
	opts.Secret = connTestSecret
	return startServer(t, opts, Modules{Node: node})
}

func connTestToken(t *testing.T, ttl time.Duration) string {
	t.Helper()
	tok, err := NewToken(connTestSecret, PermsFor(PermRead), ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// ready calls node.Ready over a new connection and fails the test unless
// it answers true within limit.
func ready(t *testing.T, addr, tok string, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	body := `{"jsonrpc":"2.0","id":1,"method":"node.Ready","params":[]}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("node.Ready within %s: %v", limit, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"result":true`)) {
		t.Fatalf("node.Ready: status %d: %s", resp.StatusCode, out)
	}
}

// closedBy fails the test unless the server closes c before deadline:
// reading from c must end with EOF or a reset, never with the deadline.
func closedBy(t *testing.T, c net.Conn, deadline time.Time, what string) {
	t.Helper()
	if err := c.SetReadDeadline(deadline); err != nil {
		t.Fatal(err)
	}
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: still open at the deadline", what)
	}
}

// TestConnectionFlood is the attack of issue 12, item 1, in small: many
// idle connections and authenticated slow bodies against a server capped
// at 50 connections. A client's calls keep succeeding, the attackers'
// connections are closed within the configured times, and the server
// never holds more than its cap.
func TestConnectionFlood(t *testing.T) {
	const (
		maxConns = 50
		idle     = 200
		slow     = 20
		timeout  = 500 * time.Millisecond
	)
	srv := startConnServer(t, ServerOptions{MaxConns: maxConns, ReadHeaderTimeout: timeout,
		ReadTimeout: timeout, IdleTimeout: timeout})
	addr := srv.Addr()
	tok := connTestToken(t, 0)
	var d net.Dialer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	start := time.Now()
	var idles, slows []net.Conn
	for range idle {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idles = append(idles, c)
	}
	for range slow {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Headers, then 10 of the 1000 bytes the body claims.
		_, err = fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\"", tok)
		if err != nil {
			t.Fatal(err)
		}
		slows = append(slows, c)
	}
	// (a) A client's calls succeed promptly, over fresh connections.
	for range 10 {
		ready(t, addr, tok, 2*time.Second)
	}
	// (b) Every attacker's connection is closed within the configured
	// time (plus scheduling slack): idle ones by eviction or the header
	// timeout, slow bodies by the read timeout, which answers 400.
	deadline := time.Now().Add(timeout + 2*time.Second)
	for i, c := range idles {
		closedBy(t, c, deadline, fmt.Sprintf("idle connection %d", i))
	}
	for i, c := range slows {
		if err := c.SetReadDeadline(deadline); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("slow body %d: %v", i, err)
		}
		if resp.StatusCode != http.StatusBadRequest || !resp.Close {
			t.Errorf("slow body %d: status %d, close %v", i, resp.StatusCode, resp.Close)
		}
		closedBy(t, c, deadline, fmt.Sprintf("slow body %d", i))
	}
	t.Logf("attack of %d idle and %d slow connections ended in %s", idle, slow, time.Since(start))
	// (c) The server never held more than its cap.
	if _, peak := srv.conns.counts(); peak > maxConns {
		t.Errorf("peak of %d connections, cap %d", peak, maxConns)
	}
	ready(t, addr, tok, 2*time.Second)
	waitConns(ctx, t, srv, 0)
}

// waitConns polls until srv holds want connections or ctx ends.
func waitConns(ctx context.Context, t *testing.T, srv *Server, want int) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		open, _ := srv.conns.counts()
		if open == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d connections open, want %d", open, want)
		case <-tick.C:
		}
	}
}

// TestUnauthorizedCloses checks that a connection refused with 401 is
// closed, not kept alive for another try.
func TestUnauthorizedCloses(t *testing.T) {
	srv := startConnServer(t, ServerOptions{})
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	if err := c.SetReadDeadline(deadline); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
		t.Errorf("status %d, close %v", resp.StatusCode, resp.Close)
	}
	closedBy(t, c, deadline, "refused connection")
}

// TestWebSocketLimits checks that WebSockets outlive the idle and read
// timeouts, count against the connection cap, and end when their token
// expires.
func TestWebSocketLimits(t *testing.T) {
	const timeout = 200 * time.Millisecond
	srv := startConnServer(t, ServerOptions{MaxConns: 3, ReadHeaderTimeout: timeout,
		ReadTimeout: timeout, IdleTimeout: timeout})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok := connTestToken(t, 0)
	hdr := http.Header{"Authorization": {"Bearer " + tok}}
	var wss []*websocket.Conn
	for range 3 {
		ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+srv.Addr(), hdr)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		wss = append(wss, ws)
	}
	// Quiet for several idle timeouts: the client's read times out, the
	// server keeps the connection.
	if err := wss[0].SetReadDeadline(time.Now().Add(5 * timeout)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := wss[0].ReadMessage(); !isTimeout(err) {
		t.Fatalf("quiet websocket: %v", err)
	}
	if open, _ := srv.conns.counts(); open != 3 {
		t.Fatalf("%d connections open with 3 websockets", open)
	}
	// The cap is reached: a call waits until a WebSocket closes.
	done := make(chan struct{})
	go func() {
		defer close(done)
		ready(t, srv.Addr(), tok, 10*time.Second)
	}()
	if err := wss[1].Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("call after a websocket closed: no answer")
	}

	// A WebSocket ends when its token expires.
	short := connTestToken(t, time.Second)
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+srv.Addr(),
		http.Header{"Authorization": {"Bearer " + short}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.ReadMessage(); err == nil || isTimeout(err) {
		t.Fatalf("websocket past its token's expiry: %v", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
