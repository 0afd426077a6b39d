package core

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/dgraph-io/badger/v4"
)

func TestLimitTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length
		}
		io.WriteString(w, strings.Repeat("x", 100))
	}))
	defer srv.Close()
	for _, tt := range []struct {
		path string
		max  int64
		ok   bool
	}{{"/", 100, true}, {"/", 99, false}, {"/chunked", 100, true}, {"/chunked", 99, false}} {
		c := &http.Client{Transport: limitTransport{base: http.DefaultTransport, max: tt.max}}
		res, err := c.Get(srv.URL + tt.path)
		if err == nil {
			_, err = io.ReadAll(res.Body)
			res.Body.Close()
		}
		if tt.ok && err != nil || !tt.ok && !errors.Is(err, ErrResponseTooLarge) {
			t.Errorf("%s with limit %d: %v", tt.path, tt.max, err)
		}
	}
}

// A core node that accepts connections but never answers makes Start fail
// after the request timeout, not hang.
func TestStartSilentCoreTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f, err := New(Options{RPC: srv.URL, ChainID: "c", Store: NewStore(db, 0), RequestTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = f.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Start against a silent node: %v", err)
	}
}

// TestDefaultMaxResponseBytesFitsLargestBlock checks that the follower's
// default response limit admits the largest block CometBFT allows (a chain
// of max_square_size 512) as /block's JSON: its transactions in base64,
// plus 8 MiB for the header, commit and JSON around them.
func TestDefaultMaxResponseBytesFitsLargestBlock(t *testing.T) {
	need := int64(cmttypes.MaxBlockSizeBytes)*4/3 + 8<<20
	if DefaultMaxResponseBytes < need {
		t.Fatalf("DefaultMaxResponseBytes %d, below %d", int64(DefaultMaxResponseBytes), need)
	}
}
