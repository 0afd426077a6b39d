package shrex_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/shrex"
)

// cellsOf returns n distinct cells of a square of width w, drawn from seed.
func cellsOf(seed uint64, w, n int) []shrex.Cell {
	perm := rand.New(rand.NewPCG(seed, 1)).Perm(w * w)
	cells := make([]shrex.Cell, n)
	for i := range cells {
		cells[i] = shrex.Cell{Row: perm[i] / w, Col: perm[i] % w}
	}
	return cells
}

func TestGetSamples(t *testing.T) {
	b := square(t, 4, 4)
	srv := serve(t, newStore(b))
	c := client(t, srv)
	for _, n := range []int{1, 16, shrex.MaxSamplesPerRequest} {
		cells := cellsOf(uint64(n), b.eds.Width(), n)
		got, err := c.GetSamples(testCtx(t), srv.ID(), b.h, cells)
		if err != nil {
			t.Fatalf("%d cells: %v", n, err)
		}
		if len(got) != n {
			t.Fatalf("%d cells: %d samples", n, len(got))
		}
		for i, cell := range cells {
			want := marshalSample(t, sampleOf(t, b.eds, cell.Row, cell.Col, eds.Row))
			if !bytes.Equal(marshalSample(t, got[i]), want) {
				t.Fatalf("%d cells: sample %d (%d, %d) differs from eds.Sample's", n, i, cell.Row, cell.Col)
			}
		}
	}
}

// TestGetSamplesCallerErrors: requests the client refuses to send are the
// caller's error, never the peer's.
func TestGetSamplesCallerErrors(t *testing.T) {
	b := square(t, 5, 8)
	srv := serve(t, newStore(b))
	c := client(t, srv)
	w := b.eds.Width()
	for name, cells := range map[string][]shrex.Cell{
		"none":         nil,
		"too many":     cellsOf(1, w, shrex.MaxSamplesPerRequest+1),
		"duplicate":    {{1, 2}, {3, 4}, {1, 2}},
		"out of range": {{1, 2}, {w, 0}},
		"negative":     {{-1, 0}},
	} {
		_, err := c.GetSamples(testCtx(t), srv.ID(), b.h, cells)
		if err == nil || errors.Is(err, shrex.ErrInvalidResponse) {
			t.Errorf("%s: %v, want a caller's error", name, err)
		}
		if !errors.Is(err, eds.ErrInvalidID) && !errors.Is(err, eds.ErrOutOfRange) {
			t.Errorf("%s: %v wraps neither eds.ErrInvalidID nor eds.ErrOutOfRange", name, err)
		}
	}
}

func TestLyingSamplesServer(t *testing.T) {
	b := square(t, 4, 4)
	cells := cellsOf(7, b.eds.Width(), 4)
	honest := make([][]byte, len(cells))
	for i, c := range cells {
		honest[i] = frame(marshalSample(t, sampleOf(t, b.eds, c.Row, c.Col, eds.Row)))
	}
	flipped := sampleOf(t, b.eds, cells[2].Row, cells[2].Col, eds.Row)
	flipped.Share[100] ^= 1
	ok := status(shrex.StatusOK)
	for name, tc := range map[string]struct {
		resp []byte
		bad  []shrex.Cell // the cells an *InvalidSamplesError names, if any
	}{
		"flipped byte": {cat(ok, honest[0], honest[1], frame(marshalSample(t, flipped)), honest[3]), cells[2:3]},
		"wrong order":  {cat(ok, honest[1], honest[0], honest[2], honest[3]), cells[:2]},
		"missing":      {cat(ok, honest[0], honest[1], honest[2]), nil},
		"extra sample": {cat(ok, honest[0], honest[1], honest[2], honest[3], honest[0]), nil},
		"extra bytes":  {cat(ok, honest[0], honest[1], honest[2], honest[3], []byte{0}), nil},
		"truncated":    {cat(ok, honest[0], honest[1], honest[2], honest[3][:40]), nil},
		"garbage":      {cat(ok, honest[0], frame(bytes.Repeat([]byte{0xAB}, 600)), honest[2], honest[3]), nil},
		"bad request":  {status(shrex.StatusBadRequest), nil},
		"no payload":   {ok, nil},
	} {
		srv := liar(t, shrex.KindSamples, func([]byte) []byte { return tc.resp })
		_, err := client(t, srv).GetSamples(testCtx(t), srv.ID(), b.h, cells)
		checkFault(t, name, err)
		var inv *shrex.InvalidSamplesError
		switch {
		case tc.bad == nil && errors.As(err, &inv):
			t.Errorf("%s: %v names cells, want a framing fault", name, err)
		case tc.bad != nil && (!errors.As(err, &inv) || !slices.Equal(inv.Cells, tc.bad) || len(inv.Errs) != len(tc.bad)):
			t.Errorf("%s: %v, want an InvalidSamplesError naming %v", name, err, tc.bad)
		}
	}
	// The honest response from the same fake passes: the test can fail.
	srv := liar(t, shrex.KindSamples, func([]byte) []byte { return cat(ok, cat(honest...)) })
	if _, err := client(t, srv).GetSamples(testCtx(t), srv.ID(), b.h, cells); err != nil {
		t.Fatalf("honest: %v", err)
	}
}

// TestGetSamplesNotSupported: a peer without the samples protocol (an
// older one) is not at fault; the error says to ask it cell by cell.
func TestGetSamplesNotSupported(t *testing.T) {
	b := square(t, 4, 4)
	srv := liar(t, shrex.KindSample, func([]byte) []byte { return status(shrex.StatusNotFound) })
	_, err := client(t, srv).GetSamples(testCtx(t), srv.ID(), b.h, cellsOf(1, b.eds.Width(), 3))
	if !errors.Is(err, shrex.ErrNotSupported) || errors.Is(err, shrex.ErrInvalidResponse) {
		t.Fatalf("%v, want ErrNotSupported and no fault", err)
	}
}

// samplesReq encodes a samples request by hand: height | count | cells.
func samplesReq(h uint64, count int, cells ...[2]int) []byte {
	b := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint64(nil, h), uint16(count))
	for _, c := range cells {
		b = binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(b, uint16(c[0])), uint16(c[1]))
	}
	return b
}

func TestSamplesServerRefusesBadRequests(t *testing.T) {
	b := square(t, 4, 4) // width 8
	srv := serve(t, newStore(b))
	c := newHost(t)
	connect(t, c, srv)
	many := make([][2]int, shrex.MaxSamplesPerRequest+1)
	for i := range many {
		many[i] = [2]int{i / 8, i % 8}
	}
	for _, tc := range []struct {
		name string
		req  []byte
		want shrex.Status
	}{
		{"ok", samplesReq(4, 2, [2]int{1, 1}, [2]int{7, 0}), shrex.StatusOK},
		{"max", samplesReq(4, 64, many[:64]...), shrex.StatusOK},
		{"zero cells", samplesReq(4, 0), shrex.StatusBadRequest},
		{"over the max", samplesReq(4, 65, many...), shrex.StatusBadRequest},
		{"duplicate", samplesReq(4, 3, [2]int{1, 1}, [2]int{2, 2}, [2]int{1, 1}), shrex.StatusBadRequest},
		{"row out of range", samplesReq(4, 2, [2]int{1, 1}, [2]int{8, 0}), shrex.StatusBadRequest},
		{"col out of range", samplesReq(4, 1, [2]int{0, 0xFFFF}), shrex.StatusBadRequest},
		{"count above cells", samplesReq(4, 3, [2]int{1, 1}), shrex.StatusBadRequest},
		{"count below cells", samplesReq(4, 1, [2]int{1, 1}, [2]int{2, 2}), shrex.StatusBadRequest},
		{"height 0", samplesReq(0, 1, [2]int{1, 1}), shrex.StatusBadRequest},
		{"short", samplesReq(4, 1)[:9], shrex.StatusBadRequest},
		{"empty", nil, shrex.StatusBadRequest},
		{"unknown height", samplesReq(5, 1, [2]int{1, 1}), shrex.StatusNotFound},
	} {
		got := rawRequest(t, c, srv, shrex.KindSamples, tc.name, tc.req)
		if len(got) < 3 || !bytes.Equal(got[:3], status(tc.want)) || tc.want != shrex.StatusOK && len(got) != 3 {
			t.Errorf("%s: response %x, want status %v", tc.name, got[:min(len(got), 8)], tc.want)
		}
	}
}
