package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/header/syncer"
)

func TestGetByHeightStored(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 5, 1)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, c.headers...); err != nil {
		t.Fatal(err)
	}
	h := newHeaders(t, store, nil)
	for height := uint64(1); height <= 5; height++ {
		got, err := h.GetByHeight(ctx, height)
		if err != nil {
			t.Fatalf("height %d: %v", height, err)
		}
		if !bytes.Equal(got.Hash(), c.at(height).Hash()) {
			t.Fatalf("height %d: got %v", height, got)
		}
	}
	if _, err := h.GetByHeight(ctx, 0); !errors.Is(err, api.ErrHeightZero) ||
		err.Error() != "header/store: height must be bigger than zero" {
		t.Fatalf("height 0: %v", err)
	}
	if _, err := h.WaitForHeight(ctx, 0); !errors.Is(err, api.ErrHeightZero) {
		t.Fatalf("WaitForHeight 0: %v", err)
	}
}

func TestGetByHeightFuture(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 5, 2)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, c.headers...); err != nil {
		t.Fatal(err)
	}
	// A bridge: the store is the chain.
	h := newHeaders(t, store, nil)
	_, err := h.GetByHeight(ctx, 7)
	if !errors.Is(err, api.ErrHeightFromFuture) ||
		err.Error() != "header: given height is from the future: networkHeight: 5, requestedHeight: 7" {
		t.Fatalf("head+2: %v", err)
	}

	// A syncing node: the syncer's target is the network height.
	sync := &fakeSync{state: syncer.State{Height: 5, Target: 9, Syncing: true}}
	h = newHeaders(t, store, sync)
	_, err = h.GetByHeight(ctx, 11)
	if err == nil || err.Error() != "header: given height is from the future: networkHeight: 9, requestedHeight: 11" {
		t.Fatalf("target+2: %v", err)
	}
	_, err = h.GetByHeight(ctx, 8)
	if !errors.Is(err, api.ErrSyncing) ||
		err.Error() != "header: syncing in progress: localHeadHeight: 5, requestedHeight: 8" {
		t.Fatalf("between store and target: %v", err)
	}
}

func TestGetByHeightBelowBase(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 6, 3)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, c.headers[3:]...); err != nil { // base 4
		t.Fatal(err)
	}
	h := newHeaders(t, store, nil)
	_, err := h.GetByHeight(ctx, 2)
	if !errors.Is(err, header.ErrNotFound) || !strings.HasPrefix(err.Error(), "header: not found") {
		t.Fatalf("below base: %v", err)
	}
}

// TestGetByHeightWaitsForNext checks that the height above the head waits
// until the header is appended, then returns it.
func TestGetByHeightWaitsForNext(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 6, 4)
	store := newWatchedStore()
	if err := store.Append(ctx, c.headers[:5]...); err != nil {
		t.Fatal(err)
	}
	h := newHeaders(t, store, nil)
	type result struct {
		h   *header.ExtendedHeader
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := h.GetByHeight(ctx, 6)
		done <- result{got, err}
	}()
	// Two Height calls decide; every further one is the waiter polling.
	store.awaitPolls(ctx, t, 5)
	select {
	case r := <-done:
		t.Fatalf("returned before the header was appended: %v, %v", r.h, r.err)
	default:
	}
	if err := store.Append(ctx, c.at(6)); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || !bytes.Equal(r.h.Hash(), c.at(6).Hash()) {
			t.Fatalf("got %v, %v", r.h, r.err)
		}
	case <-ctx.Done():
		t.Fatal("GetByHeight did not return after the append")
	}

	// A waiter whose context ends returns its error.
	short, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.GetByHeight(short, 7); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
}

func TestWaitForHeight(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 8, 5)
	store := newWatchedStore()
	if err := store.Append(ctx, c.headers[:3]...); err != nil {
		t.Fatal(err)
	}
	h := newHeaders(t, store, nil)
	done := make(chan error, 1)
	go func() {
		got, err := h.WaitForHeight(ctx, 8) // head+5: no future limit
		if err == nil && got.Height() != 8 {
			err = errors.New("wrong header")
		}
		done <- err
	}()
	store.awaitPolls(ctx, t, 3)
	for _, eh := range c.headers[3:] {
		if err := store.Append(ctx, eh); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("WaitForHeight did not return")
	}
}

func TestGetByHash(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 3, 6)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, c.headers...); err != nil {
		t.Fatal(err)
	}
	h := newHeaders(t, store, nil)

	// The hash as a client sends it: go-header's JSON.
	var hash api.Hash
	js, _ := json.Marshal(api.Hash(c.at(2).Hash()))
	if err := json.Unmarshal(js, &hash); err != nil {
		t.Fatal(err)
	}
	got, err := h.GetByHash(ctx, hash)
	if err != nil || got.Height() != 2 {
		t.Fatalf("got %v, %v", got, err)
	}
	other := newChain(t, 1, 99)
	if _, err := h.GetByHash(ctx, other.at(1).Hash()); !errors.Is(err, header.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	if _, err := h.GetByHash(ctx, nil); !errors.Is(err, header.ErrNotFound) {
		t.Fatalf("empty hash: %v", err)
	}
}

func TestHashJSON(t *testing.T) {
	h := api.Hash{0xab, 0x01, 0xff}
	js, err := json.Marshal(h)
	if err != nil || string(js) != `"AB01FF"` {
		t.Fatalf("got %s, %v", js, err)
	}
	var back api.Hash
	if err := json.Unmarshal([]byte(`"ab01ff"`), &back); err != nil || !bytes.Equal(back, h) {
		t.Fatalf("lower case: %X, %v", back, err)
	}
	for _, bad := range []string{`"abc"`, `"zz"`, `12`, `null`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
	if h.String() != "AB01FF" {
		t.Fatal(h.String())
	}
}

func TestGetRangeByHeight(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 6, 7)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, c.headers...); err != nil {
		t.Fatal(err)
	}
	h := newHeaders(t, store, nil)
	got, err := h.GetRangeByHeight(ctx, c.at(2), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Height() != 3 || got[1].Height() != 4 {
		t.Fatalf("got %v", got)
	}
	if _, err := h.GetRangeByHeight(ctx, c.at(2), 3); !errors.Is(err, api.ErrInvalidRange) ||
		err.Error() != "header/store: invalid range(3,3)" {
		t.Fatalf("empty range: %v", err)
	}
	if _, err := h.GetRangeByHeight(ctx, c.at(1), 2+header.MaxRangeSize+1); !errors.Is(err, header.ErrRangeTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	if _, err := h.GetRangeByHeight(ctx, nil, 3); err == nil {
		t.Fatal("nil from accepted")
	}
	// A from that is not the stored header at its height.
	foreign := newChain(t, 2, 77)
	if _, err := h.GetRangeByHeight(ctx, foreign.at(2), 4); !errors.Is(err, header.ErrNotAdjacent) {
		t.Fatalf("foreign from: %v", err)
	}
	// A range reaching past the head waits for it.
	short, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.GetRangeByHeight(short, c.at(5), 9); !errors.Is(err, context.Canceled) {
		t.Fatalf("beyond head: %v", err)
	}
}

func TestHeaderSubscribe(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 9, 8)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, c.headers[:3]...); err != nil {
		t.Fatal(err)
	}
	h := newHeaders(t, store, nil)
	sub, cancel := context.WithCancel(ctx)
	ch, err := h.Subscribe(sub)
	if err != nil {
		t.Fatal(err)
	}
	// Appended one by one and in a batch: delivered in order, none missed.
	if err := store.Append(ctx, c.at(4)); err != nil {
		t.Fatal(err)
	}
	if err := store.Append(ctx, c.headers[4:9]...); err != nil {
		t.Fatal(err)
	}
	for want := uint64(4); want <= 9; want++ {
		select {
		case got := <-ch:
			if got.Height() != want || !bytes.Equal(got.Hash(), c.at(want).Hash()) {
				t.Fatalf("got %v, want height %d", got, want)
			}
		case <-ctx.Done():
			t.Fatalf("header %d never came", want)
		}
	}
	cancel()
	for range ch { // closed after ctx ends
	}
}

func TestSubscribeEmptyStore(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 4, 9)
	store := headertest.NewMemStore()
	h := newHeaders(t, store, nil)
	ch, err := h.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Append(ctx, c.at(3)); err != nil { // base 3
		t.Fatal(err)
	}
	for want := uint64(3); want <= 4; want++ {
		if want == 4 {
			if err := store.Append(ctx, c.at(4)); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case got := <-ch:
			if got.Height() != want {
				t.Fatalf("got %d, want %d", got.Height(), want)
			}
		case <-ctx.Done():
			t.Fatalf("header %d never came", want)
		}
	}
}

func TestSyncState(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 5, 10)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, c.headers...); err != nil {
		t.Fatal(err)
	}
	sync := &fakeSync{state: syncer.State{Height: 5, Target: 9, Syncing: true}}
	h := newHeaders(t, store, sync)
	st, err := h.SyncState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Height != 5 || st.FromHeight != 6 || st.ToHeight != 9 || st.Finished() ||
		!bytes.Equal(st.FromHash, c.at(5).Hash()) || st.ToHash != nil || st.Error != "" {
		t.Fatalf("syncing: %+v", st)
	}
	js, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": 0.0, "height": 5.0, "from_height": 6.0, "to_height": 9.0,
		"from_hash": api.Hash(c.at(5).Hash()).String(), "to_hash": "",
		"start": "0001-01-01T00:00:00Z", "end": "0001-01-01T00:00:00Z"}
	if len(m) != len(want) {
		t.Fatalf("JSON %s: want the fields %v", js, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}

	// Once the syncer reports a range sync, it names its number, first
	// height and times.
	start := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
	sync.mu.Lock()
	sync.state.Round = syncer.Round{ID: 3, From: 4, Start: start, End: start.Add(time.Second)}
	sync.mu.Unlock()
	if st, _ = h.SyncState(ctx); st.ID != 3 || st.FromHeight != 5 || !st.Start.Equal(start) || !st.End.Equal(start.Add(time.Second)) {
		t.Fatalf("with a round: %+v", st)
	}

	// A bridge is always synced.
	h = newHeaders(t, store, nil)
	st, _ = h.SyncState(ctx)
	if !st.Finished() || st.FromHeight != 5 || st.ToHeight != 5 || !bytes.Equal(st.ToHash, c.at(5).Hash()) {
		t.Fatalf("bridge: %+v", st)
	}
	if err := h.SyncWait(ctx); err != nil {
		t.Fatal(err)
	}
	sync.err = syncer.ErrStopped
	if err := newHeaders(t, store, sync).SyncWait(ctx); !errors.Is(err, syncer.ErrStopped) {
		t.Fatalf("SyncWait: %v", err)
	}
}

func TestNetworkHead(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 3, 11)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, c.headers[:2]...); err != nil {
		t.Fatal(err)
	}
	h := newHeaders(t, store, nil)
	if got, err := h.NetworkHead(ctx); err != nil || got.Height() != 2 {
		t.Fatalf("bridge network head: %v, %v", got, err)
	}
	h, err := api.NewHeaders(api.HeaderOptions{Store: store, NetworkHead: func(context.Context) (*header.ExtendedHeader, error) {
		return c.at(3), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := h.NetworkHead(ctx); err != nil || got.Height() != 3 {
		t.Fatalf("network head: %v, %v", got, err)
	}
	if got, err := h.LocalHead(ctx); err != nil || got.Height() != 2 {
		t.Fatalf("local head: %v, %v", got, err)
	}
	if _, err := api.NewHeaders(api.HeaderOptions{}); err == nil {
		t.Fatal("no store accepted")
	}
}

func TestHeaderModulePermissions(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 2, 12)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, c.headers...); err != nil {
		t.Fatal(err)
	}
	m := api.NewHeaderModule(newHeaders(t, store, nil))
	_, err := m.GetByHeight(ctx, 1)
	if err == nil || err.Error() != "missing permission to invoke 'GetByHeight' (need 'read')" {
		t.Fatalf("no token: %v", err)
	}
	calls := map[string]func(context.Context) error{
		"LocalHead":   func(ctx context.Context) error { _, err := m.LocalHead(ctx); return err },
		"NetworkHead": func(ctx context.Context) error { _, err := m.NetworkHead(ctx); return err },
		"GetByHash":   func(ctx context.Context) error { _, err := m.GetByHash(ctx, c.at(1).Hash()); return err },
		"GetRangeByHeight": func(ctx context.Context) error {
			_, err := m.GetRangeByHeight(ctx, &api.HeaderRef{Height: 1, Hash: c.at(1).Hash()}, 3)
			return err
		},
		"WaitForHeight": func(ctx context.Context) error { _, err := m.WaitForHeight(ctx, 2); return err },
		"SyncState":     func(ctx context.Context) error { _, err := m.SyncState(ctx); return err },
		"SyncWait":      func(ctx context.Context) error { return m.SyncWait(ctx) },
		"Subscribe":     func(ctx context.Context) error { _, err := m.Subscribe(ctx); return err },
		"GetByHeight":   func(ctx context.Context) error { _, err := m.GetByHeight(ctx, 2); return err },
		"Tail":          func(ctx context.Context) error { _, err := m.Tail(ctx); return err },
	}
	for name, call := range calls {
		if err := call(api.WithPerms(ctx, nil)); err == nil || !strings.Contains(err.Error(), "'"+name+"'") {
			t.Errorf("%s without permission: %v", name, err)
		}
		if err := call(readCtx(ctx)); err != nil {
			t.Errorf("%s with read: %v", name, err)
		}
	}
}
