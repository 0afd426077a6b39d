package logging

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
)

// ErrBadSpec is wrapped by ParseLevels for a spec it cannot parse; the
// error names the part at fault.
var ErrBadSpec = errors.New("logging: bad level spec")

// levelNone drops every record: no record has this level.
const levelNone = slog.Level(math.MaxInt)

// Levels is a default level and per-module overrides. The zero value logs
// every module from info up. A Levels is immutable once made, and safe to
// share.
type Levels struct {
	def     slog.Level
	modules map[string]slog.Level // never modified after ParseLevels
}

// ParseLevels parses a comma-separated spec: at most one bare level, the
// default (info when absent), and module=level overrides, each module at
// most once. Levels are debug, info, warn, error and none (nothing is
// logged), in any case; module names are [a-z0-9-]+. Spaces around parts
// are ignored; an empty spec is the zero Levels (info). Examples: "info",
// "debug", "info,das=debug,shrex=error", "none", "das=debug". An error
// wraps ErrBadSpec and quotes the part at fault.
func ParseLevels(spec string) (Levels, error) {
	var l Levels
	if strings.TrimSpace(spec) == "" {
		return l, nil
	}
	sawDefault := false
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return Levels{}, fmt.Errorf("%w %q: empty part", ErrBadSpec, spec)
		}
		mod, lvl, isModule := strings.Cut(part, "=")
		if !isModule {
			lv, err := parseLevel(part)
			if err != nil {
				return Levels{}, err
			}
			if sawDefault {
				return Levels{}, fmt.Errorf("%w: %q: a second default level (one bare level at most)", ErrBadSpec, part)
			}
			l.def, sawDefault = lv, true
			continue
		}
		mod = strings.TrimSpace(mod)
		if !validModule(mod) {
			return Levels{}, fmt.Errorf("%w: %q: module name %q is not [a-z0-9-]+", ErrBadSpec, part, mod)
		}
		lv, err := parseLevel(strings.TrimSpace(lvl))
		if err != nil {
			return Levels{}, fmt.Errorf("%w (in %q)", err, part)
		}
		if _, dup := l.modules[mod]; dup {
			return Levels{}, fmt.Errorf("%w: %q: module %q given twice", ErrBadSpec, part, mod)
		}
		if l.modules == nil {
			l.modules = map[string]slog.Level{}
		}
		l.modules[mod] = lv
	}
	return l, nil
}

func parseLevel(s string) (slog.Level, error) {
	if lv, ok := levelByName(s); ok {
		return lv, nil
	}
	return 0, fmt.Errorf("%w: level %q is not debug, info, warn, error or none", ErrBadSpec, s)
}

// levelByName returns the level named s (debug, info, warn, error or none,
// in any case).
func levelByName(s string) (slog.Level, bool) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	case "none":
		return levelNone, true
	}
	return 0, false
}

func validModule(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func levelName(l slog.Level) string {
	switch l {
	case slog.LevelDebug:
		return "debug"
	case slog.LevelInfo:
		return "info"
	case slog.LevelWarn:
		return "warn"
	case slog.LevelError:
		return "error"
	case levelNone:
		return "none"
	}
	return strings.ToLower(l.String())
}

// String returns the spec of l in the form ParseLevels reads: the default
// level, then the overrides sorted by module ("info,das=debug,shrex=error").
func (l Levels) String() string {
	var b strings.Builder
	b.WriteString(levelName(l.def))
	mods := make([]string, 0, len(l.modules))
	for m := range l.modules {
		mods = append(mods, m)
	}
	sort.Strings(mods)
	for _, m := range mods {
		fmt.Fprintf(&b, ",%s=%s", m, levelName(l.modules[m]))
	}
	return b.String()
}

// Enabled reports whether a record of level at module is logged. The
// module "" (a record of no module) takes the default level.
func (l Levels) Enabled(module string, level slog.Level) bool {
	return enabled(l.levelOf(module), level)
}

func (l Levels) levelOf(module string) slog.Level {
	if lv, ok := l.modules[module]; ok && module != "" {
		return lv
	}
	return l.def
}

// min returns the lowest level any module logs at.
func (l Levels) min() slog.Level {
	m := l.def
	for _, lv := range l.modules {
		m = min(m, lv)
	}
	return m
}

func enabled(threshold, level slog.Level) bool {
	return threshold != levelNone && level >= threshold
}
