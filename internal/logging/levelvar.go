package logging

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
)

// Errors of LevelVar.SetModule.
var (
	// ErrUnknownLevel is wrapped for a level name other than debug, info,
	// warn, error or none.
	ErrUnknownLevel = errors.New("logging: unknown level")
	// ErrBadModule is wrapped for a module name that is not [a-z0-9-]+
	// (nor AllModules).
	ErrBadModule = errors.New("logging: bad module name")
)

// AllModules is the module name SetModule reads as "every module": the
// default level, with every override removed (go-log's "*", which
// celestia-node's node.LogLevelSet passes on).
const AllModules = "*"

// LevelVar is Levels that may change while handlers use them, as
// slog.LevelVar is for one level. Handlers made by NewVarHandler read it
// for every record, so a change applies to every logger derived from them
// from the next record on. Its methods are safe for concurrent use; the
// zero value is not usable, make one with NewLevelVar.
type LevelVar struct {
	mu  sync.Mutex // serialises writers; readers only load cur
	cur atomic.Pointer[levelState]
}

// levelState is one immutable version of a LevelVar.
type levelState struct {
	levels Levels
	min    slog.Level // levels.min(), computed once
}

// NewLevelVar returns a LevelVar holding l.
func NewLevelVar(l Levels) *LevelVar {
	v := &LevelVar{}
	v.cur.Store(&levelState{levels: l, min: l.min()})
	return v
}

func (v *LevelVar) load() *levelState { return v.cur.Load() }

// Levels returns the levels in force.
func (v *LevelVar) Levels() Levels { return v.load().levels }

// Set replaces the levels in force with l.
func (v *LevelVar) Set(l Levels) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.cur.Store(&levelState{levels: l, min: l.min()})
}

// SetModule sets module's level to the level named level (debug, info,
// warn, error or none, in any case). A module is a name records carry in
// their "service" or "module" attribute; any [a-z0-9-]+ name is accepted,
// whether or not a logger uses it yet. AllModules ("*") sets the default
// level and removes every override, so that every module logs at level.
// On error (wrapping ErrUnknownLevel or ErrBadModule) nothing changes.
func (v *LevelVar) SetModule(module, level string) error {
	lv, ok := levelByName(level)
	if !ok {
		return fmt.Errorf("%w %q (want debug, info, warn, error or none)", ErrUnknownLevel, level)
	}
	if module != AllModules && !validModule(module) {
		return fmt.Errorf("%w %q (want [a-z0-9-]+, or %q for every module)", ErrBadModule, module, AllModules)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	var l Levels
	if module == AllModules {
		l = Levels{def: lv}
	} else {
		old := v.load().levels
		l = Levels{def: old.def, modules: maps.Clone(old.modules)}
		if l.modules == nil {
			l.modules = map[string]slog.Level{}
		}
		l.modules[module] = lv
	}
	v.cur.Store(&levelState{levels: l, min: l.min()})
	return nil
}
