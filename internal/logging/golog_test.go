package logging_test

import (
	"bytes"
	"strings"
	"testing"

	golog "github.com/ipfs/go-log/v2"

	"github.com/datamesh/mesh-node/internal/logging"
)

// routed routes go-log through a text handler at levels writing to a
// buffer, undone at the test's end.
func routed(t *testing.T, levels string) *bytes.Buffer {
	t.Helper()
	l, err := logging.ParseLevels(levels)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	t.Cleanup(logging.RouteGoLog(logging.NewHandler(&buf, l, false)))
	return &buf
}

func TestRouteGoLog(t *testing.T) {
	buf := routed(t, "info")
	rpc := golog.Logger("rpc")
	// go-jsonrpc's line for an unknown method, with a forged line in the
	// method name and a 1 MB method name.
	rpc.Errorf("RPC Error: method '%s' not found", "x\nlevel=ERROR msg=forged")
	rpc.Errorw("RPC Error", "method", strings.Repeat("m", 1<<20))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "module=rpc") {
			t.Errorf("line %.200q lacks the level or module", l)
		}
		if len(l) > 4<<10 {
			t.Errorf("line of %d bytes", len(l))
		}
	}
	if !strings.Contains(lines[0], `x\nlevel=ERROR msg=forged`) {
		t.Errorf("newline not escaped: %q", lines[0])
	}
	if !strings.Contains(lines[1], "(1048576 bytes)") {
		t.Errorf("long field not cut: %.300q", lines[1])
	}
}

func TestRouteGoLogLevels(t *testing.T) {
	for _, c := range []struct {
		levels string
		want   bool
	}{{"none", false}, {"info,rpc=none", false}, {"none,rpc=error", true}, {"info", true}} {
		buf := routed(t, c.levels)
		golog.Logger("rpc").Error("call failed")
		if got := buf.Len() > 0; got != c.want {
			t.Errorf("log.level %q: logged %v, want %v: %q", c.levels, got, c.want, buf.String())
		}
	}
}

func TestClientString(t *testing.T) {
	if got := logging.ClientString("a\nb"); got != `"a\nb"` {
		t.Errorf("ClientString(a\\nb) = %s", got)
	}
	long := logging.ClientString(strings.Repeat("é", 1000))
	if len(long) > logging.MaxClientString+40 || !strings.HasSuffix(long, `(2000 bytes)"`) {
		t.Errorf("ClientString of 2000 bytes: %d bytes: %s", len(long), long)
	}
}
