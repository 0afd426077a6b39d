package streamserver_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/internal/streamserver"
)

const pid = "/test/streamserver/1"

// A stream is closed after a nil Serve and reset after an error or a
// panic; Start is idempotent, Stop cancels Context, and a stopped server
// neither starts again nor serves.
func TestLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	server, client := p2ptest.Host(t), p2ptest.Host(t)
	s := streamserver.New("test", server, slog.New(slog.DiscardHandler), streamserver.Protocol{
		ID: pid,
		Serve: func(str network.Stream) error {
			b := make([]byte, 1)
			if _, err := io.ReadFull(str, b); err != nil {
				return err
			}
			switch b[0] {
			case 'e':
				return errors.New("bad request")
			case 'p':
				panic("handler bug")
			}
			_, err := str.Write(b)
			return err
		},
	})
	for range 2 {
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
	}
	p2ptest.Connect(t, ctx, client, server)
	ask := func(b byte) (string, error) {
		str, err := client.NewStream(ctx, server.ID(), pid)
		if err != nil {
			return "", err
		}
		defer str.Close()
		if _, err := str.Write([]byte{b}); err != nil {
			return "", err
		}
		out, err := io.ReadAll(str)
		return string(out), err
	}
	if got, err := ask('x'); got != "x" || err != nil {
		t.Fatalf("ok request: %q, %v", got, err)
	}
	for _, b := range []byte{'e', 'p'} {
		if _, err := ask(b); err == nil {
			t.Errorf("%c: stream not reset", b)
		}
	}
	if got, err := ask('y'); got != "y" || err != nil {
		t.Fatalf("after the panic: %q, %v", got, err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Context().Err() == nil {
		t.Error("Context not cancelled by Stop")
	}
	if err := s.Start(); err == nil || !strings.HasPrefix(err.Error(), "test: ") {
		t.Errorf("Start after Stop: %v", err)
	}
	if _, err := ask('z'); err == nil {
		t.Error("served after Stop")
	}
}

// Stop waits for in-flight handlers, or returns ctx's error.
func TestStopWaits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	server, client := p2ptest.Host(t), p2ptest.Host(t)
	entered, release := make(chan struct{}), make(chan struct{})
	s := streamserver.New("test", server, slog.New(slog.DiscardHandler), streamserver.Protocol{
		ID: pid,
		Serve: func(network.Stream) error {
			close(entered)
			<-release
			return nil
		},
	})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	p2ptest.Connect(t, ctx, client, server)
	str, err := client.NewStream(ctx, server.ID(), pid)
	if err != nil {
		t.Fatal(err)
	}
	defer str.Reset()
	if _, err := str.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	<-entered
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if err := s.Stop(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with a handler running: %v", err)
	}
	close(release)
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// A nil logger discards: a failing request is reset, not a crash.
func TestNilLogger(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	server, client := p2ptest.Host(t), p2ptest.Host(t)
	s := streamserver.New("test", server, nil, streamserver.Protocol{
		ID:    pid,
		Serve: func(network.Stream) error { return errors.New("bad request") },
	})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	p2ptest.Connect(t, ctx, client, server)
	str, err := client.NewStream(ctx, server.ID(), pid)
	if err != nil {
		t.Fatal(err)
	}
	defer str.Close()
	if _, err := str.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(str); err == nil {
		t.Error("stream of a failed request not reset")
	}
}
