package serve_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/datamesh/mesh-node/dataset/serve"
	"github.com/datamesh/mesh-node/dataset/serve/servetest"
)

func newGateway(t *testing.T, ds testDataset, s serve.GatewaySettings) http.Handler {
	t.Helper()
	g, err := serve.NewGateway(ds.store, s)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

type response struct {
	status      int
	contentType string
	body        []byte
}

func get(t *testing.T, url string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header.Get("Content-Type"), body}
}

// TestGatewayCAR: ?format=car of the root is `ipfs dag export` (the CAR
// header of the root and every block depth-first), and dag-scope and
// entity-bytes select blocks as the trustless gateway specification says.
func TestGatewayCAR(t *testing.T) {
	ds := newDataset(t, 3*mib+7, 4) // a dag-pb root over 4 raw leaves
	if len(ds.blocks) != 5 {
		t.Fatalf("%d blocks, want 5", len(ds.blocks))
	}
	url := servetest.HTTP(t, newGateway(t, ds, serve.DefaultGatewaySettings()), nil)
	base := url + "/ipfs/" + ds.root.String()
	root, leaves := ds.blocks[0], ds.blocks[1:]

	for _, tc := range []struct {
		name  string
		query string
		want  []byte
	}{
		{"all", "?format=car", ds.export(t)},
		{"explicit all", "?format=car&dag-scope=all", ds.export(t)},
		{"entity", "?format=car&dag-scope=entity", ds.export(t)},
		{"block", "?format=car&dag-scope=block", carOf(t, ds.root, root)},
		{"first bytes", "?format=car&dag-scope=entity&entity-bytes=0:99", carOf(t, ds.root, root, leaves[0])},
		{"second leaf", "?format=car&dag-scope=entity&entity-bytes=1048576:2097151", carOf(t, ds.root, root, leaves[1])},
		{"tail", "?format=car&dag-scope=entity&entity-bytes=-3:*", carOf(t, ds.root, root, leaves[3])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, base+tc.query)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if !strings.HasPrefix(r.contentType, "application/vnd.ipld.car") {
				t.Fatalf("content type %q", r.contentType)
			}
			if !bytes.Equal(r.body, tc.want) {
				t.Fatalf("CAR of %d bytes, want %d", len(r.body), len(tc.want))
			}
		})
	}
}

// TestGatewayRaw: ?format=raw is a block's bytes, for the root and a leaf.
func TestGatewayRaw(t *testing.T) {
	ds := newDataset(t, 2*mib+1, 5)
	url := servetest.HTTP(t, newGateway(t, ds, serve.DefaultGatewaySettings()), nil)
	for _, b := range ds.blocks {
		r := get(t, url+"/ipfs/"+b.Cid().String()+"?format=raw")
		if r.status != http.StatusOK || r.contentType != "application/vnd.ipld.raw" {
			t.Fatalf("%s: status %d, content type %q: %s", b.Cid(), r.status, r.contentType, r.body)
		}
		if !bytes.Equal(r.body, b.RawData()) {
			t.Fatalf("%s: %d bytes, want %d", b.Cid(), len(r.body), len(b.RawData()))
		}
	}
}

// TestGatewayNotFound: a CID the blockstore does not hold is a 404, at
// once (an offline exchange: no network search, so well under the
// retrieval timeout), for a block and for a CAR; other paths are 404 too,
// a malformed CID 400, and a deserialised response is refused.
func TestGatewayNotFound(t *testing.T) {
	ds := newDataset(t, 100, 6)
	s := serve.DefaultGatewaySettings()
	s.RetrievalTimeout = time.Hour
	url := servetest.HTTP(t, newGateway(t, ds, s), nil)
	mh, err := multihash.Sum([]byte("not in the dataset"), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	unknown := cid.NewCidV1(cid.Raw, mh)
	for _, path := range []string{
		"/ipfs/" + unknown.String() + "?format=raw",
		"/ipfs/" + unknown.String() + "?format=car",
		"/ipfs/" + unknown.String() + "/some/path?format=car",
		"/ipns/" + ds.root.String(),
		"/",
		"/routing/v1/providers/" + ds.root.String(), // no router mounted
	} {
		start := time.Now()
		if r := get(t, url+path); r.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404: %s", path, r.status, r.body)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: 404 after %v", path, d)
		}
	}
	if r := get(t, url+"/ipfs/not-a-cid?format=raw"); r.status != http.StatusBadRequest {
		t.Errorf("malformed CID: status %d, want 400: %s", r.status, r.body)
	}
	// The trustless gateway serves no deserialised response.
	if r := get(t, url+"/ipfs/"+ds.root.String()); r.status != http.StatusNotAcceptable {
		t.Errorf("deserialised response: status %d, want 406: %s", r.status, r.body)
	}
}

// TestGatewayMaxBlockSize: a block over the settings' limit is not served.
func TestGatewayMaxBlockSize(t *testing.T) {
	ds := newDataset(t, 2*mib+1, 7) // a small dag-pb root over 1 MiB leaves
	s := serve.DefaultGatewaySettings()
	s.MaxBlockSize = 4096
	url := servetest.HTTP(t, newGateway(t, ds, s), nil)
	if r := get(t, url+"/ipfs/"+ds.root.String()+"?format=raw"); r.status != http.StatusOK {
		t.Fatalf("root of %d bytes: status %d", len(ds.blocks[0].RawData()), r.status)
	}
	if r := get(t, url+"/ipfs/"+ds.blocks[1].Cid().String()+"?format=raw"); r.status != http.StatusNotFound {
		t.Fatalf("leaf of %d bytes: status %d, want 404", len(ds.blocks[1].RawData()), r.status)
	}
}

func TestGatewaySettingsRejected(t *testing.T) {
	ds := newDataset(t, 10, 8)
	for name, mutate := range map[string]func(*serve.GatewaySettings){
		"block size":  func(s *serve.GatewaySettings) { s.MaxBlockSize = 0 },
		"retrieval":   func(s *serve.GatewaySettings) { s.RetrievalTimeout = 0 },
		"duration":    func(s *serve.GatewaySettings) { s.MaxRequestDuration = -1 },
		"concurrency": func(s *serve.GatewaySettings) { s.MaxConcurrentRequests = 0 },
	} {
		s := serve.DefaultGatewaySettings()
		mutate(&s)
		if _, err := serve.NewGateway(ds.store, s); err == nil {
			t.Errorf("%s: accepted %+v", name, s)
		}
	}
	if _, err := serve.NewGateway(nil, serve.DefaultGatewaySettings()); err == nil {
		t.Error("accepted a nil blockstore")
	}
}
