package shrex_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/shrex"
)

// observation is one ObserveRequest call, without its duration.
type observation struct{ side, protocol, status string }

func (o observation) String() string { return o.side + "/" + o.protocol + "/" + o.status }

// recorder is a shrex.Metrics that hands each observation to the test.
type recorder struct {
	ch chan observation
}

func newRecorder() *recorder { return &recorder{ch: make(chan observation, 64)} }

func (r *recorder) ObserveRequest(side, protocol, status string, d time.Duration) {
	if d <= 0 {
		status += " (no duration)"
	}
	r.ch <- observation{side, protocol, status}
}

// expect waits for len(want) observations and checks them, in any order
// (a server observes a request after answering it, so its observations of
// sequential requests may interleave).
func (r *recorder) expect(t *testing.T, want ...observation) {
	t.Helper()
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	var got []observation
	for len(got) < len(want) {
		select {
		case o := <-r.ch:
			got = append(got, o)
		case <-ctx.Done():
			t.Fatalf("observed %v, want %v", got, want)
		}
	}
	key := func(os []observation) []string {
		s := make([]string, len(os))
		for i, o := range os {
			s[i] = o.String()
		}
		slices.Sort(s)
		return s
	}
	if g, w := key(got), key(want); !slices.Equal(g, w) {
		t.Errorf("observed %v, want %v", g, w)
	}
	select {
	case o := <-r.ch:
		t.Errorf("unexpected observation %v", o)
	default:
	}
}

func server(protocol, status string) observation {
	return observation{shrex.SideServer, protocol, status}
}

func clientObs(protocol, status string) observation {
	return observation{shrex.SideClient, protocol, status}
}

func TestMetricsObserveEveryRequest(t *testing.T) {
	ctx := testCtx(t)
	b := square(t, 4, 4)
	srvM, cliM := newRecorder(), newRecorder()
	srv := serve(t, newStore(b), shrex.WithServerMetrics(srvM))
	c := client(t, srv, shrex.WithMetrics(cliM))
	present, _ := namespaces(t, b)

	if _, err := c.GetSample(ctx, srv.ID(), b.h, 1, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetRow(ctx, srv.ID(), b.h, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetNamespaceData(ctx, srv.ID(), b.h, present[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetEDS(ctx, srv.ID(), b.h); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetRow(ctx, srv.ID(), square(t, 5, 4).h, 0); !errors.Is(err, shrex.ErrNotFound) {
		t.Fatalf("unknown height: %v", err)
	}
	srvM.expect(t, server("sample", "ok"), server("row", "ok"), server("nd", "ok"), server("eds", "ok"), server("row", "not_found"))
	cliM.expect(t, clientObs("sample", "ok"), clientObs("row", "ok"), clientObs("nd", "ok"), clientObs("eds", "ok"), clientObs("row", "not_found"))

	// A malformed request, from a raw stream.
	raw := newHost(t)
	connect(t, raw, srv)
	s, err := raw.NewStream(ctx, srv.ID(), shrex.ProtocolID(netID, shrex.KindSample))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(s); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	srvM.expect(t, server("sample", "bad_request"))
}

func TestMetricsRateLimitedAndInternal(t *testing.T) {
	ctx := testCtx(t)
	b := square(t, 4, 4)
	st := newStore(b)
	srvM, cliM := newRecorder(), newRecorder()
	srv := serve(t, st, shrex.WithServerMetrics(srvM), shrex.WithPeerRateLimit(1e-6, 2))
	c := client(t, srv, shrex.WithMetrics(cliM))
	if _, err := c.GetSample(ctx, srv.ID(), b.h, 0, 0); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	st.gate = func(context.Context) error { return errors.New("disk on fire") }
	st.mu.Unlock()
	if _, err := c.GetSample(ctx, srv.ID(), b.h, 0, 0); !errors.Is(err, shrex.ErrInternal) {
		t.Fatalf("second request: %v, want ErrInternal", err)
	}
	if _, err := c.GetSample(ctx, srv.ID(), b.h, 0, 0); !errors.Is(err, shrex.ErrRateLimited) {
		t.Fatalf("third request: %v, want ErrRateLimited", err)
	}
	srvM.expect(t, server("sample", "ok"), server("sample", "internal"), server("sample", "rate_limited"))
	cliM.expect(t, clientObs("sample", "ok"), clientObs("sample", "internal"), clientObs("sample", "rate_limited"))
}

func TestMetricsClientFailures(t *testing.T) {
	ctx := testCtx(t)
	b := square(t, 4, 4)
	m := newRecorder()

	// A peer answering BAD_REQUEST to a valid request is lying.
	bad := liar(t, shrex.KindRow, func([]byte) []byte { return status(shrex.StatusBadRequest) })
	c := client(t, bad, shrex.WithMetrics(m))
	if _, err := c.GetRow(ctx, bad.ID(), b.h, 0); !errors.Is(err, shrex.ErrInvalidResponse) {
		t.Fatalf("lying peer: %v", err)
	}
	m.expect(t, clientObs("row", "invalid"))

	// A server that never answers: the client times out.
	st := newStore(b)
	st.gate = func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	srv := serve(t, st)
	slow := client(t, srv, shrex.WithMetrics(m), shrex.WithRequestTimeout(50*time.Millisecond), shrex.WithMinThroughput(1<<40))
	if _, err := slow.GetEDS(ctx, srv.ID(), b.h); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow peer: %v", err)
	}
	m.expect(t, clientObs("eds", "timeout"))

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	// (libp2p may report the stream it could not open as its own error.)
	if _, err := slow.GetSample(cctx, srv.ID(), b.h, 0, 0); err == nil {
		t.Fatal("no error with a canceled context")
	}
	m.expect(t, clientObs("sample", "canceled"))

	// A peer that does not speak shrex.
	other := newHost(t)
	c2 := client(t, other, shrex.WithMetrics(m))
	_, err := c2.GetSample(ctx, other.ID(), b.h, 0, 0)
	if err == nil {
		t.Fatal("no error from a peer without shrex")
	}
	t.Log(err)
	m.expect(t, clientObs("sample", "error"))

	// Requests refused before anything is sent are not observed.
	if _, err := c2.GetSample(ctx, other.ID(), b.h, 100, 0); err == nil {
		t.Fatal("no error for a cell out of range")
	}
	m.expect(t)
}

func TestNilMetrics(t *testing.T) {
	b := square(t, 4, 4)
	srv := serve(t, newStore(b), shrex.WithServerMetrics(nil))
	c := client(t, srv, shrex.WithMetrics(nil))
	if _, err := c.GetSample(testCtx(t), srv.ID(), b.h, 0, 0); err != nil {
		t.Fatal(err)
	}
}
