package api

import (
	"context"
	"testing"
	"time"
)

// startServer starts a server of mods with opts, stopped at the test's
// end; a test fails if Stop does. opts.Addr defaults to 127.0.0.1:0.
func startServer(t testing.TB, opts ServerOptions, mods Modules) *Server {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	srv, err := NewServer(opts, mods)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return srv
}
