package api_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// goJSONRPCSubmit is blob.Submit through go-jsonrpc's own HTTP client, the
// reference for client.Client's hand-written request.
func goJSONRPCSubmit(t testing.TB, url, tok string) func(context.Context, []*blob.Blob, *state.TxConfig) (uint64, error) {
	t.Helper()
	var m struct {
		Submit func(ctx context.Context, blobs []*blob.Blob, options *state.TxConfig) (uint64, error)
	}
	hdr := http.Header{}
	if tok != "" {
		hdr.Set("Authorization", "Bearer "+tok)
	}
	closer, err := jsonrpc.NewMergeClient(context.Background(), url, "blob", []any{&m}, hdr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closer)
	return m.Submit
}

// Over HTTP, client.Client's Blob.Submit writes its request itself: the
// node receives what go-jsonrpc's client sends, and the client returns
// what go-jsonrpc's returns, the node's errors included.
func TestClientSubmitAsGoJSONRPC(t *testing.T) {
	e := newEnv(t, api.ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin := token(t, api.PermsFor(api.PermAdmin))
	ns := exampleNamespace(t)
	small, err := blob.New(ns, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	big, err := blob.New(ns, bytes.Repeat([]byte{0xfe, 0x01, 0x7f}, 400_000))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := blob.FromShare(ns, []byte("signed"), share.ShareVersionOne, bytes.Repeat([]byte{9}, 20))
	if err != nil {
		t.Fatal(err)
	}
	wrong := *small
	wrong.Commitment = bytes.Repeat([]byte{1}, 32)
	price := &state.TxConfig{GasPrice: 0.25, IsGasPriceSet: true, Gas: 99, KeyName: "k"}

	for _, c := range []struct {
		name  string
		tok   string
		blobs []*blob.Blob
		opts  *state.TxConfig
	}{
		{"two blobs", admin, []*blob.Blob{small, big}, nil},
		{"share version 1, options", admin, []*blob.Blob{signed}, price},
		{"no blobs", admin, nil, nil},
		{"empty list", admin, []*blob.Blob{}, price},
		{"nil blob", admin, []*blob.Blob{small, nil}, nil},
		{"wrong commitment", admin, []*blob.Blob{&wrong}, nil},
		{"read-only token", token(t, api.PermsFor(api.PermRead)), []*blob.Blob{small}, nil},
		{"no token", "", []*blob.Blob{small}, nil},
		{"bad token", "not-a-token", []*blob.Blob{small}, nil},
	} {
		// run submits and returns the height, what the node received and
		// the error.
		run := func(submit func(context.Context, []*blob.Blob, *state.TxConfig) (uint64, error)) (uint64, []*blob.Blob, *state.TxConfig, error) {
			e.blob.mu.Lock()
			e.blob.submitted, e.blob.cfg = nil, nil
			e.blob.mu.Unlock()
			h, err := submit(ctx, c.blobs, c.opts)
			e.blob.mu.Lock()
			defer e.blob.mu.Unlock()
			return h, e.blob.submitted, e.blob.cfg, err
		}
		wantH, wantBlobs, wantCfg, wantErr := run(goJSONRPCSubmit(t, e.http, c.tok))
		gotH, gotBlobs, gotCfg, gotErr := run(newClient(t, e.http, c.tok).Blob.Submit)

		if gotH != wantH || !reflect.DeepEqual(gotCfg, wantCfg) || len(gotBlobs) != len(wantBlobs) {
			t.Errorf("%s: height %d, options %+v, %d blobs; go-jsonrpc: %d, %+v, %d", c.name, gotH, gotCfg, len(gotBlobs), wantH, wantCfg, len(wantBlobs))
		}
		for i := range min(len(gotBlobs), len(wantBlobs)) {
			g, w := gotBlobs[i], wantBlobs[i]
			if (g == nil) != (w == nil) || g != nil && (g.Namespace != w.Namespace || !bytes.Equal(g.Data, w.Data) ||
				g.ShareVersion != w.ShareVersion || !bytes.Equal(g.Signer, w.Signer) || !bytes.Equal(g.Commitment, w.Commitment) || g.Index != w.Index) {
				t.Errorf("%s: blob %d differs from go-jsonrpc's", c.name, i)
			}
		}
		var wantRPC, gotRPC *jsonrpc.JSONRPCError
		switch {
		case (wantErr == nil) != (gotErr == nil):
			t.Errorf("%s: error %v; go-jsonrpc's %v", c.name, gotErr, wantErr)
		case errors.As(wantErr, &wantRPC):
			if !errors.As(gotErr, &gotRPC) || gotRPC.Code != wantRPC.Code || gotRPC.Message != wantRPC.Message {
				t.Errorf("%s: error %#v; go-jsonrpc's %#v", c.name, gotErr, wantErr)
			}
		case wantErr != nil:
			// A transport failure: go-jsonrpc wraps it as ErrClient.
			if _, msg, _ := strings.Cut(wantErr.Error(), "request failed, "); !strings.Contains(gotErr.Error(), msg) {
				t.Errorf("%s: error %v; go-jsonrpc's %v", c.name, gotErr, wantErr)
			}
		}
		if c.name == "two blobs" && (wantErr != nil || wantH != 2) {
			t.Fatalf("go-jsonrpc's submit: %d %v", wantH, wantErr)
		}
	}
}

// BenchmarkClientSubmit submits one 4 MB blob a call to a node's API
// (whose blob service is a fake): through go-jsonrpc's HTTP client, and
// through client.Client's hand-written request. Client and server run in
// this process, so ns/op is both sides' CPU (the server's decoding,
// commitment included, is the same in both).
func BenchmarkClientSubmit(b *testing.B) {
	e := newEnv(b, api.ServerOptions{})
	tok := token(b, api.PermsFor(api.PermAdmin))
	ns, err := share.NewV0Namespace([]byte("bench"))
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(i * 7919 >> 3)
	}
	bl, err := blob.New(ns, data)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		submit func(context.Context, []*blob.Blob, *state.TxConfig) (uint64, error)
	}{
		{"go-jsonrpc", goJSONRPCSubmit(b, e.http, tok)},
		{"client", newClient(b, e.http, tok).Blob.Submit},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := c.submit(context.Background(), []*blob.Blob{bl}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
