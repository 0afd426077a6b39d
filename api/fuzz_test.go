package api_test

import (
	"errors"
	"testing"

	"github.com/datamesh/mesh-node/api"
)

// FuzzVerifyToken checks that VerifyToken never panics and that what it
// accepts is a list of known permissions (AllPerms or PermPublic). Its seeds (testdata/fuzz) hold a
// valid token, one signed with alg none, an expired one and malformed
// strings.
func FuzzVerifyToken(f *testing.F) {
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		perms, err := api.VerifyToken(testSecret, tok)
		if err != nil {
			if !errors.Is(err, api.ErrInvalidToken) {
				t.Fatalf("error %v does not wrap ErrInvalidToken", err)
			}
			return
		}
		for _, p := range perms {
			if _, err := api.ParsePermission(string(p)); err != nil && p != api.PermPublic {
				t.Fatalf("accepted token grants %q", p)
			}
		}
	})
}
