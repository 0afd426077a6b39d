package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/datamesh/mesh-node/internal/logging"
)

// rawPost posts body to addr with a read token and returns the status,
// the Retry-After header and the JSON-RPC error (nil for none).
func rawPost(t *testing.T, addr, body string) (int, string, *jsonrpc.JSONRPCError) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+connTestToken(t, 0))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Error *jsonrpc.JSONRPCError `json:"error"`
	}
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("status %d, body %q: %v", resp.StatusCode, out, err)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), r.Error
}

// TestClientErrorStatus checks that a client's mistake is answered 400
// with its JSON-RPC error, and that go-jsonrpc's client (celestia-node's)
// still decodes that error.
func TestClientErrorStatus(t *testing.T) {
	srv := startConnServer(t, ServerOptions{})
	for _, c := range []struct {
		name, body string
		code       jsonrpc.ErrorCode
		msg        string
	}{
		{"unknown method", `{"jsonrpc":"2.0","id":1,"method":"node.NoSuch","params":[]}`, codeMethodNotFound, "not found"},
		{"param count", `{"jsonrpc":"2.0","id":1,"method":"node.Ready","params":[1]}`, codeInvalidParams, "wrong param count"},
		{"param type", `{"jsonrpc":"2.0","id":1,"method":"node.AuthVerify","params":[7]}`, codeParseError, "unmarshaling params"},
		{"params not an array", `{"jsonrpc":"2.0","id":1,"method":"node.Ready","params":{}}`, codeParseError, "param array"},
		{"malformed", `{"jsonrpc":"2.0","id":1,`, codeParseError, "parse error"},
		{"trailing garbage", `{"jsonrpc":"2.0","id":1,"method":"node.Ready","params":[]} x`, codeParseError, "data after the JSON value"},
		{"two values", `{"jsonrpc":"2.0","id":1,"method":"node.Ready","params":[]}{}`, codeParseError, "data after the JSON value"},
		{"empty", ``, codeParseError, "empty request body"},
	} {
		status, _, rerr := rawPost(t, srv.Addr(), c.body)
		if status != http.StatusBadRequest || rerr == nil || rerr.Code != c.code || !strings.Contains(rerr.Message, c.msg) {
			t.Errorf("%s: status %d, error %+v; want 400, code %d, %q", c.name, status, rerr, c.code, c.msg)
		}
	}
	// White space after the value is not garbage.
	if status, _, rerr := rawPost(t, srv.Addr(), " {\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.Ready\",\"params\":[]}\r\n\t "); status != http.StatusOK || rerr != nil {
		t.Errorf("trailing white space: status %d, %v", status, rerr)
	}

	var node struct {
		NoSuch func(context.Context) error
		Ready  func(context.Context, int) (bool, error)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	closer, err := jsonrpc.NewMergeClient(ctx, "http://"+srv.Addr(), "node", []any{&node},
		http.Header{"Authorization": {"Bearer " + connTestToken(t, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	defer closer()
	var rerr *jsonrpc.JSONRPCError
	if err := node.NoSuch(ctx); !errors.As(err, &rerr) || rerr.Code != codeMethodNotFound {
		t.Errorf("go-jsonrpc client, unknown method: %v", err)
	}
	if _, err := node.Ready(ctx, 1); !errors.As(err, &rerr) || rerr.Code != codeInvalidParams {
		t.Errorf("go-jsonrpc client, wrong params: %v", err)
	}
}

// TestBodyBudget holds two slow 64 KiB bodies against a budget of 128 KiB:
// a third body is refused "busy" with a retry hint, and is served once a
// body is done.
func TestBodyBudget(t *testing.T) {
	const size = 64 << 10
	srv := startConnServer(t, ServerOptions{MaxRequestBytes: size, BodyBudget: 2 * size})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call := `{"jsonrpc":"2.0","id":1,"method":"node.Ready","params":[]}`
	body := call + strings.Repeat(" ", size-len(call))
	var d net.Dialer
	var slow []net.Conn
	for range 2 {
		c, err := d.DialContext(ctx, "tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
			connTestToken(t, 0), size, body[:100])
		if err != nil {
			t.Fatal(err)
		}
		slow = append(slow, c)
	}
	waitBodies(ctx, t, srv, 2*size)

	status, retry, rerr := rawPost(t, srv.Addr(), body)
	if status != http.StatusServiceUnavailable || retry == "" || rerr == nil || rerr.Code != ErrCodeBusy ||
		!strings.Contains(rerr.Message, "busy") {
		t.Fatalf("third body: status %d, Retry-After %q, error %+v", status, retry, rerr)
	}
	// With the budget spent, a small body is refused too.
	if status, _, _ := rawPost(t, srv.Addr(), call); status != http.StatusServiceUnavailable {
		t.Errorf("small body with the budget spent: status %d", status)
	}

	if _, err := io.WriteString(slow[0], body[100:]); err != nil {
		t.Fatal(err)
	}
	if err := slow[0].SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(slow[0]), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first slow body: status %d", resp.StatusCode)
	}
	waitBodies(ctx, t, srv, size)
	if status, _, rerr := rawPost(t, srv.Addr(), body); status != http.StatusOK || rerr != nil {
		t.Errorf("body after one finished: status %d, %v", status, rerr)
	}
}

// waitBodies polls until srv holds want bytes of bodies or ctx ends.
func waitBodies(ctx context.Context, t *testing.T, srv *Server, want int64) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		held := srv.bodies.reserved()
		if held == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d body bytes held, want %d", held, want)
		case <-tick.C:
		}
	}
}

// TestFailedCallLogs checks that what go-jsonrpc logs of a failed call
// reaches the node's handler, at its levels, with the client's method name
// escaped and cut.
func TestFailedCallLogs(t *testing.T) {
	var buf bytes.Buffer
	levels, err := logging.ParseLevels("info")
	if err != nil {
		t.Fatal(err)
	}
	v := logging.NewLevelVar(levels)
	t.Cleanup(logging.RouteGoLog(logging.NewVarHandler(&buf, v, false)))
	srv := startConnServer(t, ServerOptions{})

	forged := `{"jsonrpc":"2.0","id":1,"method":"x\nlevel=ERROR msg=forged","params":[]}`
	long := `{"jsonrpc":"2.0","id":1,"method":"` + strings.Repeat("m", 1<<20) + `","params":[]}`
	for _, body := range []string{forged, long} {
		if status, _, _ := rawPost(t, srv.Addr(), body); status != http.StatusBadRequest {
			t.Fatalf("unknown method: status %d", status)
		}
	}
	out := buf.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("%d lines logged, want one a call at least: %.500q", len(lines), out)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "level=ERROR msg=forged") {
			t.Errorf("forged line: %q", l)
		}
		if len(l) > 4<<10 {
			t.Errorf("line of %d bytes", len(l))
		}
	}
	if !strings.Contains(out, `x\nlevel=ERROR msg=forged`) {
		t.Errorf("the forged method is not logged escaped: %.500q", out)
	}

	buf.Reset()
	none, err := logging.ParseLevels("none")
	if err != nil {
		t.Fatal(err)
	}
	v.Set(none)
	rawPost(t, srv.Addr(), forged)
	if buf.Len() != 0 {
		t.Errorf("log.level none: %q", buf.String())
	}
}
