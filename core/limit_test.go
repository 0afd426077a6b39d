package core

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
