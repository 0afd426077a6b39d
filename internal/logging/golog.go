package logging

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"unicode/utf8"

	golog "github.com/ipfs/go-log/v2"
	"go.uber.org/zap/zapcore"
)

// Caps on the text of a record from go-log, whose messages and fields may
// carry what a client or peer sent (go-jsonrpc logs the method name of a
// failed call).
const (
	// MaxClientString is the most bytes of a client-supplied string a log
	// record carries (ClientString).
	MaxClientString = 200
	// maxGoLogText bounds a go-log message and each of its string fields.
	maxGoLogText = 1024
	// maxGoLogStack bounds the stack trace of a go-log record.
	maxGoLogStack = 8 << 10
)

// ClientString returns s, a string a client or peer supplied, fit for a
// log record: quoted with Go escapes (so no control character reaches the
// log) and cut at MaxClientString bytes, with the full length noted.
func ClientString(s string) string {
	return fmt.Sprintf("%q", truncate(s, MaxClientString))
}

// truncate cuts s to at most n bytes on a rune boundary, noting how long
// it was.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s))
}

// RouteGoLog sends the records of go-log (github.com/ipfs/go-log/v2: the
// logger of go-jsonrpc, subsystem "rpc", and of libp2p's components)
// through h instead of go-log's own output, so that they follow the
// node's log levels (log.level, including none) and format. A record's
// module is its go-log subsystem, so "info,rpc=none" silences them.
// Messages and string fields are cut at 1 KiB and left to h to quote:
// slog's text and JSON handlers escape every control character, so a
// client cannot forge a line.
//
// go-log is process-wide: the last call wins, for every go-log logger of
// the process. go-log's own levels (error by default, or
// GOLOG_LOG_LEVEL) still apply first. The returned function puts back
// the core that was there before.
func RouteGoLog(h slog.Handler) (restore func()) {
	core := &goLogCore{h: h}
	golog.SetPrimaryCore(core)
	prev := golog.GetConfig()
	return func() { golog.SetupLogging(prev) }
}

// goLogCore is a zapcore.Core writing to a slog.Handler.
type goLogCore struct {
	h      slog.Handler
	fields []zapcore.Field
}

func (c *goLogCore) Enabled(l zapcore.Level) bool {
	return c.h.Enabled(context.Background(), slogLevel(l))
}

func (c *goLogCore) With(fields []zapcore.Field) zapcore.Core {
	return &goLogCore{h: c.h, fields: append(c.fields[:len(c.fields):len(c.fields)], fields...)}
}

func (c *goLogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *goLogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	r := slog.NewRecord(e.Time, slogLevel(e.Level), truncate(e.Message, maxGoLogText), 0)
	if e.LoggerName != "" {
		r.AddAttrs(slog.String(ModuleKey, truncate(e.LoggerName, 64)))
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fields {
		f.AddTo(enc)
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.AddAttrs(slog.String(truncate(k, 64), truncate(fmt.Sprint(enc.Fields[k]), maxGoLogText)))
	}
	if e.Stack != "" {
		r.AddAttrs(slog.String("stack", truncate(e.Stack, maxGoLogStack)))
	}
	return c.h.Handle(context.Background(), r)
}

func (c *goLogCore) Sync() error { return nil }

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	}
	return slog.LevelError
}
