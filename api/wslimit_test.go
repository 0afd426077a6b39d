package api

import (
	"encoding/binary"
	"testing"
)

// frame returns a client frame header (masked) of opcode with fin and a
// payload of n bytes.
func frame(fin bool, opcode byte, n int) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	var h []byte
	switch {
	case n < 126:
		h = []byte{b0, 0x80 | byte(n)}
	case n < 1<<16:
		h = []byte{b0, 0x80 | 126, 0, 0}
		binary.BigEndian.PutUint16(h[2:], uint16(n))
	default:
		h = make([]byte, 10)
		h[0], h[1] = b0, 0x80|127
		binary.BigEndian.PutUint64(h[2:], uint64(n))
	}
	h = append(h, 1, 2, 3, 4) // masking key
	return append(h, make([]byte, n)...)
}

func TestWSLimitScan(t *testing.T) {
	cat := func(fs ...[]byte) []byte {
		var out []byte
		for _, f := range fs {
			out = append(out, f...)
		}
		return out
	}
	const limit = 70000
	for _, tc := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"small", frame(true, 1, 10), true},
		{"16-bit length", frame(true, 2, 60000), true},
		{"64-bit length at the limit", frame(true, 2, limit), true},
		{"64-bit length over", frame(true, 2, limit+1), false},
		{"messages each under the limit", cat(frame(true, 1, 60000), frame(true, 1, 60000)), true},
		{"fragments over the limit", cat(frame(false, 1, 40000), frame(false, 0, 20000), frame(true, 0, 20000)), false},
		{"pings between fragments do not count", cat(frame(false, 1, 40000), frame(true, 9, 100), frame(true, 0, 29950)), true},
	} {
		// Whole, and byte by byte.
		for _, step := range []int{len(tc.in), 1, 7} {
			c := &wsLimitConn{limit: limit}
			var err error
			for i := 0; i < len(tc.in) && err == nil; i += step {
				err = c.scan(tc.in[i:min(i+step, len(tc.in))])
			}
			if (err == nil) != tc.ok {
				t.Errorf("%s (step %d): err %v, want ok=%v", tc.name, step, err, tc.ok)
			}
		}
	}
	// A huge declared length fails without waiting for the payload.
	h := make([]byte, 10)
	h[0], h[1] = 0x82, 127
	binary.BigEndian.PutUint64(h[2:], 1<<63)
	if err := (&wsLimitConn{limit: limit}).scan(h); err == nil {
		t.Error("a 2^63-byte frame passed")
	}
}
