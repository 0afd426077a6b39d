package logging

import (
	"context"
	"io"
	"log/slog"
	"math"
	"sync"
)

// The attributes that name a record's module.
const (
	// ServiceKey is the attribute nodebuilder binds to each service's
	// logger; it names the module, before any ModuleKey.
	ServiceKey = "service"
	// ModuleKey names the module of a record that has no ServiceKey.
	ModuleKey = "module"
)

// source is where a handler's module came from; a service outranks a
// module.
type source uint8

const (
	sourceNone source = iota
	sourceModule
	sourceService
)

// handler filters records by their module's level and hands the rest to a
// text or JSON handler writing through a lockedWriter.
type handler struct {
	inner  slog.Handler
	levels *LevelVar // shared by every handler derived from one NewVarHandler
	module string    // bound with WithAttrs outside any group
	source source
	groups int // groups opened with WithGroup; attrs inside them name no module
}

// NewHandler returns a handler writing records to w as text (slog's
// key=value format) or, if json, one JSON object a line, and dropping
// those below their module's level in l (see the package doc for how a
// record's module is found). Records of no module take l's default level.
// Each record is one Write on w; writes are serialised, so the handler and
// every handler derived from it (WithAttrs, WithGroup) are safe for
// concurrent use. A nil w discards the records.
func NewHandler(w io.Writer, l Levels, json bool) slog.Handler {
	return NewVarHandler(w, NewLevelVar(l), json)
}

// NewVarHandler is NewHandler with levels that can change: the handler and
// every handler derived from it read v for each record, so v's changes
// take effect from the next record on. A nil v is the zero Levels (info),
// fixed.
func NewVarHandler(w io.Writer, v *LevelVar, json bool) slog.Handler {
	if v == nil {
		v = NewLevelVar(Levels{})
	}
	if w == nil {
		w = io.Discard
	}
	lw := &lockedWriter{w: w}
	// The inner handler logs everything it is given: filtering is ours.
	opts := &slog.HandlerOptions{Level: slog.Level(math.MinInt)}
	var inner slog.Handler
	if json {
		inner = slog.NewJSONHandler(lw, opts)
	} else {
		inner = slog.NewTextHandler(lw, opts)
	}
	return &handler{inner: inner, levels: v}
}

// Enabled reports whether a record of level may be logged: by the level of
// the module bound to the logger or, when none is, by the lowest level of
// any module (the record's own attributes, read in Handle, may name one).
func (h *handler) Enabled(_ context.Context, level slog.Level) bool {
	st := h.levels.load()
	if h.source != sourceNone {
		return enabled(st.levels.levelOf(h.module), level)
	}
	return enabled(st.min, level)
}

// Handle logs r unless it is below its module's level.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	module, src := h.module, h.source
	if src != sourceService && h.groups == 0 {
		r.Attrs(func(a slog.Attr) bool {
			module, src = moduleOf(a, module, src)
			return true
		})
	}
	if !enabled(h.levels.load().levels.levelOf(module), r.Level) {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

// WithAttrs returns a handler with attrs bound; a "service" or "module"
// among them, outside any group, sets the module of its records.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	c := *h
	c.inner = h.inner.WithAttrs(attrs)
	if c.groups == 0 {
		for _, a := range attrs {
			c.module, c.source = moduleOf(a, c.module, c.source)
		}
	}
	return &c
}

// WithGroup returns a handler whose later attributes are in group name.
func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.inner = h.inner.WithGroup(name)
	c.groups++
	return &c
}

// moduleOf returns the module a names, if it names one that outranks
// (module, src), or (module, src) unchanged. A group with an empty key is
// inlined, as slog's handlers do.
func moduleOf(a slog.Attr, module string, src source) (string, source) {
	v := a.Value.Resolve()
	switch {
	case a.Key == "" && v.Kind() == slog.KindGroup:
		for _, g := range v.Group() {
			module, src = moduleOf(g, module, src)
		}
	case a.Key == ServiceKey:
		return v.String(), sourceService
	case a.Key == ModuleKey && src != sourceService:
		return v.String(), sourceModule
	}
	return module, src
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
