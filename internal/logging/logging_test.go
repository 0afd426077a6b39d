package logging_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/datamesh/mesh-node/internal/logging"
)

func TestParseLevels(t *testing.T) {
	for spec, want := range map[string]string{
		"":                                  "info",
		"info":                              "info",
		"debug":                             "debug",
		"none":                              "none",
		"WARN":                              "warn",
		"das=debug":                         "info,das=debug",
		"info,das=debug,shrex=error":        "info,das=debug,shrex=error",
		" shrex = error , debug , das=none": "debug,das=none,shrex=error",
		"header-ex=warn,p2p=info":           "info,header-ex=warn,p2p=info",
	} {
		l, err := logging.ParseLevels(spec)
		if err != nil {
			t.Errorf("ParseLevels(%q): %v", spec, err)
			continue
		}
		if got := l.String(); got != want {
			t.Errorf("ParseLevels(%q).String() = %q, want %q", spec, got, want)
		}
		again, err := logging.ParseLevels(l.String())
		if err != nil || again.String() != want {
			t.Errorf("String of %q does not round-trip: %q, %v", spec, again.String(), err)
		}
	}
}

func TestParseLevelsErrors(t *testing.T) {
	for spec, part := range map[string]string{
		"verbose":             `"verbose"`,
		"info,debug":          `"debug"`,
		"das=loud":            `"loud"`,
		"Das=debug":           `"Das"`,
		"das_x=debug":         `"das_x"`,
		"=debug":              `""`,
		"das=":                `""`,
		"info,,das=debug":     "empty part",
		"das=debug,das=error": `"das=error"`,
		"info,shrex=warning":  `"warning"`,
		"das=debug=info":      `"debug=info"`,
	} {
		_, err := logging.ParseLevels(spec)
		if err == nil {
			t.Errorf("ParseLevels(%q): no error", spec)
			continue
		}
		if !errors.Is(err, logging.ErrBadSpec) {
			t.Errorf("ParseLevels(%q): %v does not wrap ErrBadSpec", spec, err)
		}
		if !strings.Contains(err.Error(), part) {
			t.Errorf("ParseLevels(%q): %q does not name %s", spec, err, part)
		}
	}
}

// newLogger returns a JSON logger with levels spec and the buffer it
// writes to.
func newLogger(t *testing.T, spec string) (*slog.Logger, *bytes.Buffer) {
	t.Helper()
	l, err := logging.ParseLevels(spec)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	return slog.New(logging.NewHandler(&buf, l, true)), &buf
}

// records decodes the JSON records in buf.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("record %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// messages returns the msg of each record in buf, and empties it.
func messages(t *testing.T, buf *bytes.Buffer) []string {
	t.Helper()
	var out []string
	for _, r := range records(t, buf) {
		out = append(out, fmt.Sprint(r["msg"]))
	}
	buf.Reset()
	return out
}

func expect(t *testing.T, buf *bytes.Buffer, want ...string) {
	t.Helper()
	if got := messages(t, buf); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("logged %q, want %q", got, want)
	}
}

func TestFilterPerModule(t *testing.T) {
	log, buf := newLogger(t, "info,das=debug,shrex=error,core=none")
	das, shrex, core, other := log.With("service", "das"), log.With("service", "shrex"), log.With("service", "core"), log.With("service", "p2p")

	das.Debug("das debug")
	shrex.Warn("shrex warn")
	shrex.Error("shrex error")
	core.Error("core error")
	other.Debug("p2p debug")
	other.Info("p2p info")
	log.Debug("bare debug")
	log.Info("bare info")
	expect(t, buf, "das debug", "shrex error", "p2p info", "bare info")

	// A module named in the record itself, not bound.
	log.Debug("record das debug", "service", "das")
	log.Warn("record shrex warn", "service", "shrex")
	log.Debug("record module debug", "module", "das")
	log.Error("record core error", slog.Group("", "service", "core"))
	expect(t, buf, "record das debug", "record module debug")

	// core/app's convention.
	consensus := log.With("module", "core")
	consensus.Error("module core error")
	log.With("module", "das").Debug("module das debug")
	expect(t, buf, "module das debug")
}

func TestWithChains(t *testing.T) {
	log, buf := newLogger(t, "warn,das=debug,p2p=error")

	// Attributes bound after the module keep it.
	log.With("service", "das").With("height", 3).With("peer", "x").Debug("das chain")
	// service outranks module in either order.
	log.With("module", "p2p").With("service", "das").Debug("service after module")
	log.With("service", "das").With("module", "p2p").Debug("module after service")
	log.With("service", "das").Debug("record module ignored", "module", "p2p")
	// The last service bound wins.
	log.With("service", "das").With("service", "p2p").Warn("rebound to p2p")
	log.With("service", "p2p").With("service", "das").Info("rebound to das")
	expect(t, buf, "das chain", "service after module", "module after service", "record module ignored", "rebound to das")

	r := log.With("service", "das").With("height", 3)
	r.Info("fields")
	got := records(t, buf)
	if len(got) != 1 || got[0]["service"] != "das" || got[0]["height"] != float64(3) {
		t.Errorf("record %v, want service=das height=3", got)
	}
}

func TestGroups(t *testing.T) {
	log, buf := newLogger(t, "warn,das=debug")

	// A "service" inside a group is a field, not the module.
	g := log.WithGroup("req").With("service", "das")
	g.Debug("grouped debug")
	g.Warn("grouped warn")
	log.Debug("record group", slog.Group("req", "service", "das"))
	// A module bound before the group still holds inside it.
	log.With("service", "das").WithGroup("req").With("id", 1).Debug("module then group", "n", 2)
	// Record attributes under an open group name no module.
	log.WithGroup("g").Debug("attr in group", "service", "das")
	expect(t, buf, "grouped warn", "module then group")

	log.With("service", "das").WithGroup("req").With("id", 1).Debug("shape", "n", 2)
	got := records(t, buf)
	if len(got) != 1 {
		t.Fatalf("records %v", got)
	}
	req, _ := got[0]["req"].(map[string]any)
	if got[0]["service"] != "das" || req["id"] != float64(1) || req["n"] != float64(2) {
		t.Errorf("record %v, want service=das req={id:1 n:2}", got[0])
	}
	buf.Reset()
	// WithGroup("") is no group.
	log.WithGroup("").With("service", "das").Debug("empty group")
	expect(t, buf, "empty group")
}

// counted counts how often it is resolved.
type counted struct{ n *atomic.Int64 }

func (c counted) LogValue() slog.Value { c.n.Add(1); return slog.StringValue("v") }

func TestDroppedRecordsAreNotFormatted(t *testing.T) {
	log, buf := newLogger(t, "info,das=debug")
	var n atomic.Int64
	shrex := log.With("service", "shrex")
	if shrex.Enabled(t.Context(), slog.LevelDebug) {
		t.Error("shrex logger enabled at debug")
	}
	if !log.With("service", "das").Enabled(t.Context(), slog.LevelDebug) {
		t.Error("das logger not enabled at debug")
	}
	shrex.Debug("dropped", "v", counted{&n})
	if n.Load() != 0 || buf.Len() != 0 {
		t.Errorf("dropped record resolved %d times, wrote %q", n.Load(), buf.String())
	}
}

func TestNone(t *testing.T) {
	log, buf := newLogger(t, "none,das=info")
	log.Error("bare error")
	log.With("service", "p2p").Error("p2p error")
	log.With("service", "das").Info("das info")
	expect(t, buf, "das info")
	if log.Enabled(t.Context(), slog.LevelError+100) != true {
		// das=info keeps an unbound logger enabled: its records may name das.
		t.Error("unbound logger disabled although das logs")
	}
	log2, _ := newLogger(t, "none")
	if log2.Enabled(t.Context(), slog.LevelError+100) {
		t.Error("none: logger enabled")
	}
}

func TestText(t *testing.T) {
	l, err := logging.ParseLevels("info,das=debug")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(logging.NewHandler(&buf, l, false))
	log.With("service", "das").Debug("sampled", "height", 7)
	log.Debug("dropped")
	out := buf.String()
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, `level=DEBUG msg=sampled service=das height=7`) {
		t.Errorf("text output %q", out)
	}
}

// racyWriter fails the test if two writes overlap.
type racyWriter struct {
	busy  atomic.Bool
	lines atomic.Int64
	buf   bytes.Buffer
	bad   atomic.Bool
}

func (w *racyWriter) Write(p []byte) (int, error) {
	if !w.busy.CompareAndSwap(false, true) {
		w.bad.Store(true)
		return len(p), nil
	}
	defer w.busy.Store(false)
	w.lines.Add(int64(bytes.Count(p, []byte("\n"))))
	return w.buf.Write(p)
}

func TestConcurrentWrites(t *testing.T) {
	l, err := logging.ParseLevels("info,das=debug,shrex=error")
	if err != nil {
		t.Fatal(err)
	}
	for _, isJSON := range []bool{false, true} {
		w := &racyWriter{}
		root := slog.New(logging.NewHandler(w, l, isJSON))
		const goroutines, each = 16, 200
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				das := root.With("service", "das", "g", g)
				shrex := root.With("service", "shrex").WithGroup("req")
				for i := range each {
					das.Debug("kept", "i", i)
					shrex.Warn("dropped", "i", i)
				}
			})
		}
		wg.Wait()
		if w.bad.Load() {
			t.Errorf("json=%v: overlapping writes", isJSON)
		}
		if got := w.lines.Load(); got != goroutines*each {
			t.Errorf("json=%v: %d lines, want %d", isJSON, got, goroutines*each)
		}
	}
}

func TestNilWriter(t *testing.T) {
	slog.New(logging.NewHandler(nil, logging.Levels{}, false)).Info("discarded")
}

func TestLevelsEnabled(t *testing.T) {
	l, err := logging.ParseLevels("warn,das=debug,core=none")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		module string
		level  slog.Level
		want   bool
	}{
		{"das", slog.LevelDebug, true},
		{"core", slog.LevelError, false},
		{"p2p", slog.LevelInfo, false},
		{"p2p", slog.LevelWarn, true},
		{"", slog.LevelWarn, true},
		{"", slog.LevelInfo, false},
	} {
		if got := l.Enabled(c.module, c.level); got != c.want {
			t.Errorf("Enabled(%q, %v) = %v, want %v", c.module, c.level, got, c.want)
		}
	}
	var zero logging.Levels
	if !zero.Enabled("das", slog.LevelInfo) || zero.Enabled("das", slog.LevelDebug) || zero.String() != "info" {
		t.Errorf("zero Levels is not info: %q", zero.String())
	}
}
