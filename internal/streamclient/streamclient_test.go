package streamclient_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"

	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/internal/streamclient"
)

const (
	pid     protocol.ID = "/test/streamclient/1"
	service string      = "test.streamclient"
)

var errFault = errors.New("test: invalid response")

// peers returns a client host connected to a server host that answers pid
// with serve; serve's stream is reset when it returns, unless serve closed
// it.
func peers(t *testing.T, serve func(network.Stream), opts ...libp2p.Option) (client, server host.Host) {
	t.Helper()
	server, client = p2ptest.Host(t), p2ptest.Host(t, opts...)
	server.SetStreamHandler(pid, func(str network.Stream) {
		serve(str)
		_ = str.Reset()
	})
	p2ptest.Connect(t, p2ptest.Context(t), client, server)
	return client, server
}

// hold returns a channel the test closes when it ends: servers that stall
// wait on it.
func hold(t *testing.T) <-chan struct{} {
	ch := make(chan struct{})
	t.Cleanup(func() { close(ch) })
	return ch
}

func newClient(h host.Host) *streamclient.Client {
	return streamclient.New(h, streamclient.Config{Name: "test", Service: service, Fault: errFault})
}

// readAll is a ReadFunc that reads the whole response into *out.
func readAll(out *[]byte) streamclient.ReadFunc {
	return func(r *bufio.Reader, _ network.ResourceScope) (err error) {
		*out, err = io.ReadAll(r)
		return err
	}
}

// checkNothingLeft fails t if h holds a stream of the service or memory
// reserved in it, or if a goroutine of the package runs, after Do
// returned. (Other streams, identify's, come and go on their own.)
func checkNothingLeft(t *testing.T, h host.Host) {
	t.Helper()
	err := h.Network().ResourceManager().ViewService(service, func(s network.ServiceScope) error {
		if st := s.Stat(); st.NumStreamsOutbound != 0 || st.NumStreamsInbound != 0 || st.Memory != 0 {
			return fmt.Errorf("left in the service: %+v", st)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 2); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "internal/streamclient.") {
		t.Errorf("a goroutine of streamclient is left:\n%s", b.String())
	}
}

// TestSuccess: the server gets the whole request and the end of it, the
// ReadFunc the whole response with the read buffer reserved, and the
// stream is closed. The first protocol the server speaks is used.
func TestSuccess(t *testing.T) {
	client, server := peers(t, func(str network.Stream) {
		req, err := io.ReadAll(str)
		if err != nil {
			return
		}
		if _, err := str.Write(bytes.ToUpper(req)); err != nil {
			return
		}
		_ = str.Close()
	})
	var (
		got      []byte
		reserved int64
	)
	err := newClient(client).Do(p2ptest.Context(t), streamclient.Request{
		Peer: server.ID(), Protocols: []protocol.ID{"/test/unknown/1", pid}, Body: []byte("hello"),
		Timeout: 10 * time.Second,
	}, func(r *bufio.Reader, scope network.ResourceScope) (err error) {
		reserved = scope.Stat().Memory
		got, err = io.ReadAll(r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "HELLO" {
		t.Errorf("response %q, want HELLO", got)
	}
	if reserved < streamclient.DefaultReadBuffer {
		t.Errorf("%d bytes reserved while reading, want at least %d", reserved, streamclient.DefaultReadBuffer)
	}
	checkNothingLeft(t, client)
}

// TestPeerResets: a reset by the peer is an error of its own, neither a
// fault nor the context's.
func TestPeerResets(t *testing.T) {
	client, server := peers(t, func(str network.Stream) { _, _ = io.ReadAll(str) })
	var got []byte
	err := newClient(client).Do(p2ptest.Context(t), streamclient.Request{Peer: server.ID(), Protocols: []protocol.ID{pid}, Body: []byte("x")}, readAll(&got))
	switch {
	case !errors.Is(err, network.ErrReset):
		t.Fatalf("%v, want network.ErrReset", err)
	case errors.Is(err, errFault), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		t.Fatalf("%v wraps more than the reset", err)
	case !strings.HasPrefix(err.Error(), "test: "):
		t.Errorf("%v: no component prefix", err)
	}
	checkNothingLeft(t, client)
}

// TestDeadline: a peer that never answers holds the request for its
// Timeout, and the error says so.
func TestDeadline(t *testing.T) {
	stalled := hold(t)
	client, server := peers(t, func(network.Stream) { <-stalled })
	const timeout = 200 * time.Millisecond
	start := time.Now()
	var got []byte
	err := newClient(client).Do(p2ptest.Context(t), streamclient.Request{
		Peer: server.ID(), Protocols: []protocol.ID{pid}, Body: []byte("x"), Timeout: timeout,
	}, readAll(&got))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d < timeout {
		t.Errorf("returned after %v, before the timeout %v", d, timeout)
	}
	checkNothingLeft(t, client)
}

// TestCancelMidRead: cancelling the context resets the stream under a
// blocked read, and the error wraps context.Canceled.
func TestCancelMidRead(t *testing.T) {
	stalled := hold(t)
	client, server := peers(t, func(str network.Stream) {
		if _, err := str.Write([]byte("part")); err != nil {
			return
		}
		<-stalled
	})
	ctx, cancel := context.WithCancel(p2ptest.Context(t))
	defer cancel()
	err := newClient(client).Do(ctx, streamclient.Request{Peer: server.ID(), Protocols: []protocol.ID{pid}, Body: []byte("x")},
		func(r *bufio.Reader, _ network.ResourceScope) error {
			var b [4]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return err
			}
			cancel()
			_, err := io.ReadAll(r) // blocks until the reset
			return err
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
	checkNothingLeft(t, client)
}

// TestFaultKeepsNoContext: a read error that is the peer's fault is not
// put down to the context, even when the context has ended; any other is.
func TestFaultKeepsNoContext(t *testing.T) {
	stalled := hold(t)
	client, server := peers(t, func(network.Stream) { <-stalled })
	c := newClient(client)
	for _, fault := range []bool{true, false} {
		ctx, cancel := context.WithCancel(p2ptest.Context(t))
		err := c.Do(ctx, streamclient.Request{Peer: server.ID(), Protocols: []protocol.ID{pid}, Body: []byte("x")},
			func(*bufio.Reader, network.ResourceScope) error {
				cancel()
				if fault {
					return fmt.Errorf("%w: lies", errFault)
				}
				return errors.New("cannot decode")
			})
		cancel()
		if errors.Is(err, context.Canceled) == fault || errors.Is(err, errFault) != fault {
			t.Errorf("fault %v: %v", fault, err)
		}
	}
	checkNothingLeft(t, client)
}

// TestMemoryRefused: a read buffer the resource manager refuses fails the
// request, and leaves nothing reserved.
func TestMemoryRefused(t *testing.T) {
	limits := rcmgr.PartialLimitConfig{
		Service: map[string]rcmgr.ResourceLimits{service: {Memory: 1 << 10}},
	}.Build(rcmgr.InfiniteLimits)
	mgr, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits))
	if err != nil {
		t.Fatal(err)
	}
	client, server := peers(t, func(str network.Stream) { _, _ = io.ReadAll(str) }, libp2p.ResourceManager(mgr))
	var resp []byte
	err = newClient(client).Do(p2ptest.Context(t), streamclient.Request{Peer: server.ID(), Protocols: []protocol.ID{pid}, Body: []byte("x")}, readAll(&resp))
	if !errors.Is(err, network.ErrResourceLimitExceeded) {
		t.Fatalf("%v, want network.ErrResourceLimitExceeded", err)
	}
	checkNothingLeft(t, client)
}
