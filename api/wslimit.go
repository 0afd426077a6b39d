package api

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
)

// wsLimitWriter hands go-jsonrpc's WebSocket upgrader a connection that
// refuses any message (the payloads of a data frame and its
// continuations) longer than limit: go-jsonrpc reads whole WebSocket
// messages into memory with no bound of its own.
type wsLimitWriter struct {
	http.ResponseWriter
	limit int64
}

// Hijack returns the connection wrapped in the limit, and a reader over
// the wrapped connection (the upgrader reads through it).
func (w wsLimitWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Reader.Buffered() > 0 {
		// The client sent data before the handshake ended; the upgrader
		// refuses that, so the limit is moot.
		return conn, brw, nil
	}
	lc := &wsLimitConn{Conn: conn, limit: uint64(w.limit)}
	return lc, bufio.NewReadWriter(bufio.NewReader(lc), brw.Writer), nil
}

// wsLimitConn follows the WebSocket frames read from the client (RFC
// 6455 §5.2) and fails the read that completes a frame header taking a
// message past limit.
type wsLimitConn struct {
	net.Conn
	limit uint64

	hdr     [14]byte
	nhdr    int
	payload uint64 // payload bytes of the current frame still to come
	message uint64 // data payload bytes of the current message so far
}

func (c *wsLimitConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if serr := c.scan(p[:n]); serr != nil {
		_ = c.Conn.Close()
		return 0, serr
	}
	return n, err
}

func (c *wsLimitConn) scan(b []byte) error {
	for len(b) > 0 {
		if c.payload > 0 {
			k := min(c.payload, uint64(len(b)))
			c.payload -= k
			b = b[k:]
			continue
		}
		c.hdr[c.nhdr] = b[0]
		c.nhdr++
		b = b[1:]
		if c.nhdr < 2 {
			continue
		}
		size := 2
		switch c.hdr[1] & 0x7f {
		case 126:
			size += 2
		case 127:
			size += 8
		}
		if c.hdr[1]&0x80 != 0 {
			size += 4 // masking key
		}
		if c.nhdr < size {
			continue
		}
		var length uint64
		switch l := c.hdr[1] & 0x7f; l {
		case 126:
			length = uint64(binary.BigEndian.Uint16(c.hdr[2:4]))
		case 127:
			length = binary.BigEndian.Uint64(c.hdr[2:10])
		default:
			length = uint64(l)
		}
		c.nhdr = 0
		c.payload = length
		if opcode := c.hdr[0] & 0x0f; opcode < 8 { // data or continuation
			if length > c.limit || c.message+length > c.limit {
				return fmt.Errorf("api: websocket message exceeds the limit of %d bytes", c.limit)
			}
			c.message += length
			if c.hdr[0]&0x80 != 0 { // FIN
				c.message = 0
			}
		}
	}
	return nil
}
