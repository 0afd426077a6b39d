package logging_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/datamesh/mesh-node/internal/logging"
)

// newVarLogger returns a JSON logger over a LevelVar of spec, the var and
// the buffer the logger writes to.
func newVarLogger(t *testing.T, spec string) (*slog.Logger, *logging.LevelVar, *bytes.Buffer) {
	t.Helper()
	l, err := logging.ParseLevels(spec)
	if err != nil {
		t.Fatal(err)
	}
	v := logging.NewLevelVar(l)
	var buf bytes.Buffer
	return slog.New(logging.NewVarHandler(&buf, v, true)), v, &buf
}

func TestSetModule(t *testing.T) {
	log, v, buf := newVarLogger(t, "info,shrex=error")
	// Loggers derived before the change follow it.
	das := log.With("service", "das")
	shrex := log.With("service", "shrex")

	das.Debug("das debug 1")
	shrex.Warn("shrex warn 1")
	expect(t, buf)

	if err := v.SetModule("das", "DEBUG"); err != nil {
		t.Fatal(err)
	}
	if err := v.SetModule("shrex", "warn"); err != nil {
		t.Fatal(err)
	}
	das.Debug("das debug 2")
	shrex.Warn("shrex warn 2")
	shrex.Info("shrex info")
	log.Debug("record of das", "service", "das") // module named by the record
	log.Debug("bare debug")
	expect(t, buf, "das debug 2", "shrex warn 2", "record of das")
	if got := v.Levels().String(); got != "info,das=debug,shrex=warn" {
		t.Errorf("levels %q", got)
	}

	if err := v.SetModule("das", "none"); err != nil {
		t.Fatal(err)
	}
	das.Error("das error")
	expect(t, buf)

	// "*" sets every module: the default, overrides removed.
	if err := v.SetModule(logging.AllModules, "error"); err != nil {
		t.Fatal(err)
	}
	das.Error("das error 2")
	shrex.Warn("shrex warn 3")
	log.Warn("bare warn")
	log.Error("bare error")
	expect(t, buf, "das error 2", "bare error")
	if got := v.Levels().String(); got != "error" {
		t.Errorf("levels after *: %q", got)
	}
}

func TestSetModuleErrors(t *testing.T) {
	_, v, _ := newVarLogger(t, "info,das=debug")
	for _, c := range []struct {
		module, level string
		want          error
	}{
		{"das", "loud", logging.ErrUnknownLevel},
		{"das", "", logging.ErrUnknownLevel},
		{"das", "trace", logging.ErrUnknownLevel},
		{"", "debug", logging.ErrBadModule},
		{"Das", "debug", logging.ErrBadModule},
		{"das shrex", "debug", logging.ErrBadModule},
	} {
		err := v.SetModule(c.module, c.level)
		if !errors.Is(err, c.want) {
			t.Errorf("SetModule(%q, %q) = %v, want %v", c.module, c.level, err, c.want)
			continue
		}
		bad := c.level
		if c.want == logging.ErrBadModule {
			bad = c.module
		}
		if !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("SetModule(%q, %q): %q does not quote %q", c.module, c.level, err, bad)
		}
	}
	if got := v.Levels().String(); got != "info,das=debug" {
		t.Errorf("failed calls changed the levels to %q", got)
	}
}

// The handler reads the var while another goroutine changes it (for -race).
func TestSetModuleConcurrent(t *testing.T) {
	log, v, _ := newVarLogger(t, "info")
	das := log.With("service", "das")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range 200 {
				das.Debug("d", "i", i)
				log.Info("i", "i", i)
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			level := "debug"
			if i%2 == 1 {
				level = "error"
			}
			if err := v.SetModule("das", level); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	if got := v.Levels().String(); got != "info,das=error" {
		t.Errorf("levels %q", got)
	}
}

func TestNilLevelVar(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(logging.NewVarHandler(&buf, nil, true))
	log.Debug("dropped")
	log.Info("kept")
	expect(t, &buf, "kept")
}
