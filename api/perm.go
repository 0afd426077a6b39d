package api

import (
	"context"
	"fmt"
	"slices"
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

// AllPerms are every permission, in increasing power.
var AllPerms = []Permission{PermRead, PermWrite, PermAdmin}

// ParsePermission returns the permission named s.
func ParsePermission(s string) (Permission, error) {
	p := Permission(s)
	if !slices.Contains(AllPerms, p) {
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
	i := slices.Index(AllPerms, p)
	if i < 0 {
		return nil
	}
	return slices.Clone(AllPerms[:i+1])
}

type permsKey struct{}

// WithPerms returns ctx carrying the caller's permissions; the server sets
// them from the request's token.
func WithPerms(ctx context.Context, perms []Permission) context.Context {
	return context.WithValue(ctx, permsKey{}, perms)
}

// requirePerm is called first by every method: it returns celestia-node's
// (go-jsonrpc auth's) error unless ctx's caller holds p.
func requirePerm(ctx context.Context, method string, p Permission) error {
	perms, _ := ctx.Value(permsKey{}).([]Permission)
	if slices.Contains(perms, p) {
		return nil
	}
	return fmt.Errorf("missing permission to invoke '%s' (need '%s')", method, p)
}
