package api

import (
	"errors"
	"net"
	"net/http"
	"sync"
)

// connLimiter is a listener that serves at most max connections at once,
// so that clients cannot take every file descriptor of the process.
//
// A connection accepted while max are open takes the place of the oldest
// open connection that is idle (it has sent no request yet, or waits
// between keep-alive requests), which is closed. When none is idle (every
// open connection is in a request or is a WebSocket) the accepted
// connection waits, unserved, until one closes or turns idle; meanwhile
// Accept is not called again, so further connections wait in the
// kernel's backlog and hold no descriptor of ours. At most max+1
// descriptors are thus used: max served, one waiting.
//
// The http.Server serving from it must report connection states to
// connState (its ConnState hook).
type connLimiter struct {
	net.Listener
	max int

	mu     sync.Mutex
	conns  map[*limitedConn]struct{}
	seq    uint64        // accept order, to find the oldest idle connection
	wake   chan struct{} // signalled when a connection closes or turns idle
	closed chan struct{} // closed by Close
	once   sync.Once
	peak   int // most connections open at once
}

func newConnLimiter(ln net.Listener, max int) *connLimiter {
	return &connLimiter{
		Listener: ln,
		max:      max,
		conns:    map[*limitedConn]struct{}{},
		wake:     make(chan struct{}, 1),
		closed:   make(chan struct{}),
	}
}

// limitedConn is a connection counted by its connLimiter until closed.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	seq  uint64
	idle bool // guarded by l.mu: New or Idle, so it may be closed for another
	once sync.Once
}

// Close closes the connection and frees its place.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
}

// Accept returns the next connection once there is a place for it.
func (l *connLimiter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		l.mu.Lock()
		if len(l.conns) < l.max {
			l.seq++
			lc := &limitedConn{Conn: c, l: l, seq: l.seq, idle: true}
			l.conns[lc] = struct{}{}
			l.peak = max(l.peak, len(l.conns))
			l.mu.Unlock()
			return lc, nil
		}
		victim := l.oldestIdleLocked()
		if victim != nil {
			victim.idle = false
		}
		l.mu.Unlock()
		if victim != nil {
			_ = victim.Close() // frees its place before the loop looks again
			continue
		}
		select {
		case <-l.wake:
		case <-l.closed:
			_ = c.Close()
			return nil, net.ErrClosed
		}
	}
}

func (l *connLimiter) oldestIdleLocked() *limitedConn {
	var old *limitedConn
	for c := range l.conns {
		if c.idle && (old == nil || c.seq < old.seq) {
			old = c
		}
	}
	return old
}

func (l *connLimiter) release(c *limitedConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	l.signal()
}

func (l *connLimiter) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// connState is the http.Server's ConnState hook: it tracks which
// connections are idle.
func (l *connLimiter) connState(nc net.Conn, st http.ConnState) {
	c, ok := nc.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	_, open := l.conns[c]
	c.idle = open && (st == http.StateNew || st == http.StateIdle)
	l.mu.Unlock()
	if c.idle {
		l.signal()
	}
}

// Close closes the listener and ends a wait for a place.
func (l *connLimiter) Close() error {
	l.once.Do(func() { close(l.closed) })
	err := l.Listener.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// counts returns the connections open now and the most open at once.
func (l *connLimiter) counts() (open, peak int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns), l.peak
}
