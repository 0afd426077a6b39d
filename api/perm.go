package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"strings"
)

// Permission is what a token allows: read calls, write calls (submitting
// transactions), admin calls (tokens, peers).
type Permission string

// The permissions, celestia-node's names.
const (
	PermRead  Permission = "read"
	PermWrite Permission = "write"
	PermAdmin Permission = "admin"
	// PermPublic is celestia-node's baseline permission, which every token
	// it makes carries (its perms.ReadPerms is ["public", "read"]). No
	// method needs it; a token may name it so that clients that ask for it
	// get a token.
	PermPublic Permission = "public"
)

// AllPerms returns every permission, in increasing power. The slice is
// the caller's.
func AllPerms() []Permission { return []Permission{PermRead, PermWrite, PermAdmin} }

// ParsePermission returns the permission named s.
func ParsePermission(s string) (Permission, error) {
	p := Permission(s)
	if !slices.Contains(AllPerms(), p) {
		return "", fmt.Errorf("api: unknown permission %q (want read, write or admin)", s)
	}
	return p, nil
}

// checkTokenPerm returns an error unless p may appear in a token: one of
// AllPerms, or PermPublic.
func checkTokenPerm(p Permission) error {
	if p == PermPublic {
		return nil
	}
	_, err := ParsePermission(string(p))
	return err
}

// PermsFor returns the permissions a token for p carries: p and every
// weaker one (a write token may read; an admin token may do anything).
func PermsFor(p Permission) []Permission {
	all := AllPerms()
	i := slices.Index(all, p)
	if i < 0 {
		return nil
	}
	return all[: i+1 : i+1]
}

type permsKey struct{}

// WithPerms returns ctx carrying the caller's permissions; the server sets
// them from the request's token.
func WithPerms(ctx context.Context, perms []Permission) context.Context {
	return context.WithValue(ctx, permsKey{}, perms)
}

// rpcModule is a module of the API. The server registers its exported
// methods, which go-jsonrpc serves, under its table's namespace; each of
// them calls requirePerm (or enterAt, for a method that may be heavy) first,
// which looks the method up in the table.
type rpcModule interface {
	rpcTable() *rpcTable
}

// rpcTable is a module's RPC methods: the namespace it is served under and,
// by Go method name, what each method needs. It is the one place where a
// method's permission is written; registerModules refuses a module whose
// table and exported methods differ (checkTable), so renaming a method
// without its entry fails at start-up and in the tests.
type rpcTable struct {
	namespace string
	methods   map[string]rpcMethod
}

// rpcMethod is a method's entry in its module's table.
type rpcMethod struct {
	// perm is the permission a caller must hold.
	perm Permission
	// cost is what its calls count against in the Limiter (heavy.go); the
	// zero value, costFree, is not bounded.
	cost cost
}

// requirePerm is called first by every method that is not heavy: it
// returns celestia-node's (go-jsonrpc auth's) error unless ctx's caller
// holds the permission m's table gives the method that called it.
func requirePerm(ctx context.Context, m rpcModule) error {
	name, e, err := authorize(ctx, m, 1)
	if err == nil && e.cost != costFree {
		err = fmt.Errorf("api: %s is heavy: it must take a Limiter slot with enterAt", name)
	}
	return err
}

// authorize returns the method of m that called requirePerm or enterAt
// (the Go method itself, named by the call stack, so no method
// repeats its own name) with its table entry, and an error unless ctx's
// caller holds the entry's permission. depth is the number of this
// package's helpers between the method and authorize (1 for requirePerm).
// A function that is not in the table (a closure, a helper) is refused.
func authorize(ctx context.Context, m rpcModule, depth int) (string, rpcMethod, error) {
	t := m.rpcTable()
	// Skip runtime.Callers, authorize, and the depth helpers.
	var pc [1]uintptr
	var fn string
	if runtime.Callers(2+depth, pc[:]) == 1 {
		f, _ := runtime.CallersFrames(pc[:]).Next()
		fn = f.Function
	}
	name := fn[strings.LastIndexByte(fn, '.')+1:]
	e, ok := t.methods[name]
	if !ok {
		return "", rpcMethod{}, fmt.Errorf("api: %s is not in the %s module's permission table", fn, t.namespace)
	}
	perms, _ := ctx.Value(permsKey{}).([]Permission)
	if !slices.Contains(perms, e.perm) {
		return name, e, fmt.Errorf("missing permission to invoke '%s' (need '%s')", name, e.perm)
	}
	return name, e, nil
}

// checkTable returns an error unless m's table has a namespace and names
// exactly m's exported methods (those go-jsonrpc serves), each with one of
// AllPerms.
func checkTable(m rpcModule) error {
	t := m.rpcTable()
	typ := reflect.TypeOf(m)
	if t == nil || t.namespace == "" {
		return fmt.Errorf("%s has no namespace", typ)
	}
	var errs []error
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if _, ok := t.methods[name]; !ok {
			errs = append(errs, fmt.Errorf("method %s has no permission entry", name))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.methods)) {
		if _, ok := typ.MethodByName(name); !ok {
			errs = append(errs, fmt.Errorf("permission entry %s names no method", name))
		} else if !slices.Contains(AllPerms(), t.methods[name].perm) {
			errs = append(errs, fmt.Errorf("method %s needs unknown permission %q", name, t.methods[name].perm))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s module (%s): %w", t.namespace, typ, errors.Join(errs...))
	}
	return nil
}
