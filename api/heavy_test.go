package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
)

// stallingGetter is a squareGetter whose GetEDS, for the heights in stall,
// reports the call on entered and then waits for ctx to end or for
// unstall to close (a peer that is slow to send): a test holds the
// limiter's slots with it. It reports on cancelled each stalled call that
// ended by its ctx.
type stallingGetter struct {
	squareGetter
	stall     map[uint64]bool
	entered   chan uint64
	unstall   chan struct{}
	cancelled chan uint64
}

func newStallingGetter(c *chain, heights ...uint64) *stallingGetter {
	g := &stallingGetter{squareGetter: squareGetter{c}, stall: map[uint64]bool{},
		entered: make(chan uint64, 16), unstall: make(chan struct{}), cancelled: make(chan uint64, 16)}
	for _, h := range heights {
		g.stall[h] = true
	}
	return g
}

func (g *stallingGetter) GetEDS(ctx context.Context, h *header.ExtendedHeader) (*eds.ExtendedDataSquare, error) {
	if g.stall[h.Height()] {
		g.entered <- h.Height()
		select {
		case <-g.unstall:
		case <-ctx.Done():
			g.cancelled <- h.Height()
			return nil, ctx.Err()
		}
	}
	return g.squareGetter.GetEDS(ctx, h)
}

// sameSquare reports whether a and b hold the same shares (a decoded
// square's parity was checked against its original part).
func sameSquare(a, b *eds.ExtendedDataSquare) bool {
	return a != nil && b != nil && slices.EqualFunc(a.FlattenedODS(), b.FlattenedODS(), bytes.Equal)
}

// heavyServer starts a server whose share module, over c's headers and g,
// is bounded by a limiter with opts.
func heavyServer(t *testing.T, c *chain, g api.ShareGetter, opts api.HeavyOptions) string {
	t.Helper()
	ctx := testCtx(t)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, c.headers...); err != nil {
		t.Fatal(err)
	}
	shares, err := api.NewShares(api.ShareOptions{Headers: newHeaders(t, store, nil), Getter: g})
	if err != nil {
		t.Fatal(err)
	}
	opts.FreeMemoryInterval = -1 // not under test here; it would only slow the race detector
	lim, err := api.NewLimiter(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.StartServer(t, api.ServerOptions{Secret: testSecret},
		api.Modules{Share: api.NewShareModule(shares, api.ModuleOptions{Limiter: lim})})
	return "http://" + srv.Addr()
}

// getEDS calls share.GetEDS at height over HTTP with tok and ctx, and
// returns the decoded square or the JSON-RPC error's message as an error.
func getEDS(ctx context.Context, url, tok string, height uint64) (*api.ExtendedDataSquare, error) {
	body := callBody("share.GetEDS", json.RawMessage(fmt.Sprintf("[%d]", height)))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r rpcResp
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	if r.Error != nil {
		return nil, errors.New(r.Error.Message)
	}
	var e api.ExtendedDataSquare
	if err := json.Unmarshal(r.Result, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// TestHeavyCallsBounded: with share.GetEDS bounded to 3 calls in flight
// and 2 per token, a token's third call is refused at once with "busy"
// while another token is still served; a fourth call when 3 are in flight
// is refused for everyone; once the stalled calls end, every call gets its
// square.
func TestHeavyCallsBounded(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 5, 51)
	g := newStallingGetter(c, 1, 2, 3)
	url := heavyServer(t, c, g, api.HeavyOptions{EDSCalls: 3, PerCaller: 2, Wait: -1})
	tokA := token(t, api.PermsFor(api.PermRead))
	tokB := token(t, api.PermsFor(api.PermWrite))
	tokC := token(t, api.PermsFor(api.PermAdmin))

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	stalled := func(tok string, height uint64) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := getEDS(ctx, url, tok, height)
			if err == nil && !sameSquare(e.Square, c.square(height)) {
				err = fmt.Errorf("height %d: wrong square", height)
			}
			errs <- err
		}()
		select {
		case <-g.entered:
		case <-ctx.Done():
			t.Fatalf("GetEDS(%d) never reached the getter", height)
		}
	}
	stalled(tokA, 1)
	stalled(tokA, 2)

	_, err := getEDS(ctx, url, tokA, 4)
	if err == nil || !strings.Contains(err.Error(), "api: busy: 2 share.GetEDS calls in flight for this token, its limit; retry in 1s") {
		t.Fatalf("token A's third call: %v, want busy for this token", err)
	}
	// Fairness: token B is served while A holds its share.
	if e, err := getEDS(ctx, url, tokB, 4); err != nil || !sameSquare(e.Square, c.square(4)) {
		t.Fatalf("token B while A is at its limit: %v", err)
	}
	stalled(tokB, 3)
	if _, err := getEDS(ctx, url, tokC, 5); err == nil || !strings.Contains(err.Error(), "api: busy: 3 share.GetEDS calls in flight, the limit; retry in") {
		t.Fatalf("a call past the method's limit: %v, want busy", err)
	}

	close(g.unstall)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a stalled call: %v", err)
		}
	}
	if e, err := getEDS(ctx, url, tokC, 5); err != nil || !sameSquare(e.Square, c.square(5)) {
		t.Fatalf("after the stalled calls ended: %v", err)
	}
}

// TestHeavyCallWaits: a call past the bound waits for a slot (up to
// HeavyOptions.Wait) and is served when one frees.
func TestHeavyCallWaits(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 2, 52)
	g := newStallingGetter(c, 1)
	url := heavyServer(t, c, g, api.HeavyOptions{EDSCalls: 1, PerCaller: 1, Wait: 15 * time.Second})
	tok := token(t, api.PermsFor(api.PermRead))
	first := make(chan error, 1)
	go func() { _, err := getEDS(ctx, url, tok, 1); first <- err }()
	<-g.entered
	second := make(chan error, 1)
	go func() {
		e, err := getEDS(ctx, url, tok, 2)
		if err == nil && !sameSquare(e.Square, c.square(2)) {
			err = errors.New("wrong square")
		}
		second <- err
	}()
	close(g.unstall)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatalf("the waiting call: %v", err)
	}
}

// TestHeavyCallCancelled: a client that goes away ends its GetEDS (the
// getter's context ends) and frees its slot, so the next call, which
// waits for that slot, is served.
func TestHeavyCallCancelled(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 2, 53)
	g := newStallingGetter(c, 1)
	url := heavyServer(t, c, g, api.HeavyOptions{EDSCalls: 1, PerCaller: 1, Wait: 15 * time.Second})
	tok := token(t, api.PermsFor(api.PermRead))

	cctx, cancel := context.WithCancel(ctx)
	gone := make(chan error, 1)
	go func() { _, err := getEDS(cctx, url, tok, 1); gone <- err }()
	<-g.entered
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled client: %v", err)
	}
	select {
	case h := <-g.cancelled:
		if h != 1 {
			t.Fatalf("cancelled fetch of height %d", h)
		}
	case <-ctx.Done():
		t.Fatal("the getter's context did not end when the client went away")
	}
	if e, err := getEDS(ctx, url, tok, 2); err != nil || !sameSquare(e.Square, c.square(2)) {
		t.Fatalf("the call after the cancelled one: %v", err)
	}
}

// TestHeavyCallBusyIsErrBusy: called in process (not through the server),
// a refused call's error wraps ErrBusy, and the slot is freed when the
// method returns.
func TestHeavyCallBusyIsErrBusy(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 2, 54)
	g := newStallingGetter(c, 1)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, c.headers...); err != nil {
		t.Fatal(err)
	}
	shares, err := api.NewShares(api.ShareOptions{Headers: newHeaders(t, store, nil), Getter: g})
	if err != nil {
		t.Fatal(err)
	}
	lim, err := api.NewLimiter(api.HeavyOptions{EDSCalls: 1, Wait: -1, FreeMemoryInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	m := api.NewShareModule(shares, api.ModuleOptions{Limiter: lim})
	rctx := readCtx(ctx)
	first := make(chan error, 1)
	go func() { _, err := m.GetEDS(rctx, 1); first <- err }()
	<-g.entered
	if _, err := m.GetEDS(rctx, 2); !errors.Is(err, api.ErrBusy) {
		t.Fatalf("second call: %v, want ErrBusy", err)
	}
	close(g.unstall)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if e, err := m.GetEDS(rctx, 2); err != nil || !sameSquare(e.Square, c.square(2)) {
		t.Fatalf("after the first returned: %v", err)
	}
	if _, err := api.NewLimiter(api.HeavyOptions{EDSCalls: -1}); err == nil {
		t.Fatal("a negative limit was accepted")
	}
}
