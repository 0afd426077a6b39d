package api_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/share"
)

func newClient(t testing.TB, url, tok string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.New(ctx, url, tok)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func exampleNamespace(t *testing.T) share.Namespace {
	t.Helper()
	ns, err := share.NewV0Namespace([]byte("example"))
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func TestClientCalls(t *testing.T) {
	e := newEnv(t, api.ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, url := range []string{e.http, e.ws} {
		c := newClient(t, url, token(t, api.PermsFor(api.PermAdmin)))
		ns := exampleNamespace(t)
		b, err := blob.New(ns, []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if h, err := c.Blob.Submit(ctx, []*blob.Blob{b, b}, nil); err != nil || h != 2 {
			t.Errorf("%s: Blob.Submit: %d %v", url, h, err)
		}
		got, err := c.Blob.GetAll(ctx, 42, []share.Namespace{ns})
		if err != nil || len(got) != 1 || string(got[0].Data) != "hello" || string(got[0].Commitment) != string(b.Commitment) {
			t.Errorf("%s: Blob.GetAll: %v %v", url, got, err)
		}
		_, err = c.Blob.Get(ctx, 1, ns, b.Commitment)
		var rerr *jsonrpc.JSONRPCError
		if !errors.As(err, &rerr) || rerr.Message != blob.ErrBlobNotFound.Error() {
			t.Errorf("%s: Blob.Get: %v", url, err)
		}
		if addr, err := c.State.AccountAddress(ctx); err != nil || addr != e.state.addr {
			t.Errorf("%s: State.AccountAddress: %v %v", url, addr, err)
		}
		if bal, err := c.State.Balance(ctx); err != nil || bal.Amount != 12345 {
			t.Errorf("%s: State.Balance: %v %v", url, bal, err)
		}
		if info, err := c.Node.Info(ctx); err != nil || info.Type != api.NodeBridge {
			t.Errorf("%s: Node.Info: %v %v", url, info, err)
		}
		if ok, err := c.Node.Ready(ctx); err != nil || !ok {
			t.Errorf("%s: Node.Ready: %v %v", url, ok, err)
		}
		tok, err := c.Node.AuthNewWithExpiry(ctx, []api.Permission{api.PermRead}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if perms, err := c.Node.AuthVerify(ctx, tok); err != nil || len(perms) != 1 || perms[0] != api.PermRead {
			t.Errorf("%s: Node.AuthVerify: %v %v", url, perms, err)
		}
		if info, err := c.P2P.Info(ctx); err != nil || info.ID != e.host {
			t.Errorf("%s: P2P.Info: %v %v", url, info, err)
		}
		if st, err := c.DAS.SamplingStats(ctx); err != nil || st.NetworkHead != 10 {
			t.Errorf("%s: DAS.SamplingStats: %v %v", url, st, err)
		}
		if err := c.DAS.WaitCatchUp(ctx); err != nil {
			t.Errorf("%s: DAS.WaitCatchUp: %v", url, err)
		}
		// The header module is not served here.
		if _, err := c.Header.LocalHead(ctx); err == nil {
			t.Errorf("%s: Header.LocalHead on a server without it succeeded", url)
		}
	}
}

func TestClientUnauthorized(t *testing.T) {
	e := newEnv(t, api.ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, err := client.New(ctx, e.ws, "bad"); err == nil {
		c.Close()
		t.Error("WebSocket client with a bad token connected")
	}
	c := newClient(t, e.http, "bad")
	if _, err := c.Node.Ready(ctx); err == nil {
		t.Error("HTTP call with a bad token succeeded")
	}
	c = newClient(t, e.http, token(t, api.PermsFor(api.PermRead)))
	if _, err := c.Node.AuthNew(ctx, api.AllPerms()); err == nil {
		t.Error("AuthNew with a read token succeeded")
	}
}

func TestSubscribe(t *testing.T) {
	e := newEnv(t, api.ServerOptions{})
	ns := exampleNamespace(t)
	b, err := blob.New(ns, []byte("sub"))
	if err != nil {
		t.Fatal(err)
	}
	e.blob.sent = []*blob.SubscriptionResponse{
		{Height: 5, Blobs: []*blob.Blob{b}}, {Height: 6}, {Height: 7, Blobs: []*blob.Blob{b, b}},
	}
	c := newClient(t, e.ws, token(t, api.PermsFor(api.PermRead)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, from := range []uint64{0, 5} {
		subCtx, subCancel := context.WithCancel(ctx)
		var ch <-chan *blob.SubscriptionResponse
		if from == 0 {
			ch, err = c.Blob.Subscribe(subCtx, ns)
		} else {
			ch, err = c.Blob.SubscribeFrom(subCtx, ns, from)
		}
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []uint64{5, 6, 7} {
			select {
			case r, ok := <-ch:
				if !ok {
					t.Fatalf("channel closed after %d values", i)
				}
				if r.Height != want || len(r.Blobs) != len(e.blob.sent[i].Blobs) {
					t.Errorf("value %d: height %d with %d blobs", i, r.Height, len(r.Blobs))
				}
				if len(r.Blobs) > 0 && string(r.Blobs[0].Data) != "sub" {
					t.Errorf("value %d: blob %q", i, r.Blobs[0].Data)
				}
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			}
		}
		e.blob.mu.Lock()
		got := e.blob.from
		e.blob.mu.Unlock()
		if got != from {
			t.Errorf("service asked from %d, want %d", got, from)
		}
		subCancel()
	}

	// Over HTTP a subscription is refused, not hung.
	hc := newClient(t, e.http, token(t, api.PermsFor(api.PermRead)))
	if _, err := hc.Blob.Subscribe(ctx, ns); err == nil {
		t.Error("Subscribe over HTTP succeeded")
	}
}

func TestStopEndsSubscriptions(t *testing.T) {
	e := newEnv(t, api.ServerOptions{})
	ns := exampleNamespace(t)
	c := newClient(t, e.ws, token(t, api.PermsFor(api.PermRead)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := c.Blob.Subscribe(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("a value after Stop")
		}
	case <-ctx.Done():
		t.Fatal("subscription still open after Stop")
	}
}
