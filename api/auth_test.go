package api_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/datamesh/mesh-node/api"
)

func TestLoadOrCreateSecret(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	path := filepath.Join(dir, "jwt.secret")
	s1, err := api.LoadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s1) != api.SecretSize {
		t.Fatalf("secret of %d bytes", len(s1))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("secret dir mode %v", di.Mode().Perm())
	}
	s2, err := api.LoadOrCreateSecret(path)
	if err != nil || !bytes.Equal(s1, s2) {
		t.Errorf("reload: %x %v, want %x", s2, err, s1)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Errorf("directory holds %v (%v), want the secret only", entries, err)
	}

	bad := filepath.Join(dir, "short")
	if err := os.WriteFile(bad, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := api.LoadOrCreateSecret(bad); !errors.Is(err, api.ErrBadSecret) {
		t.Errorf("short secret: %v", err)
	}
	if b, err := os.ReadFile(bad); err != nil || string(b) != "short" {
		t.Errorf("short secret file replaced: %q %v", b, err)
	}
}

func TestTokens(t *testing.T) {
	for _, perms := range [][]api.Permission{nil, {api.PermRead}, api.PermsFor(api.PermAdmin)} {
		tok, err := api.NewToken(testSecret, perms, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := api.VerifyToken(testSecret, tok)
		if err != nil || !slices.Equal(got, perms) && len(perms) > 0 || len(got) != len(perms) {
			t.Errorf("round trip of %v: %v %v", perms, got, err)
		}
	}
	// celestia-node's clients ask for ["public", "read"] (its perms.ReadPerms).
	celestiaRead := []api.Permission{api.PermPublic, api.PermRead}
	tok, err := api.NewToken(testSecret, celestiaRead, 0)
	if err != nil {
		t.Fatalf("token with celestia-node's public permission: %v", err)
	}
	if got, err := api.VerifyToken(testSecret, tok); err != nil || !slices.Equal(got, celestiaRead) {
		t.Errorf("round trip of %v: %v %v", celestiaRead, got, err)
	}
	if _, err := api.ParsePermission("public"); err == nil {
		t.Error("ParsePermission accepts public: mesh-node auth would print a token that can call nothing")
	}
	if _, err := api.NewToken(testSecret, []api.Permission{"root"}, 0); err == nil {
		t.Error("token with an unknown permission made")
	}
	if _, err := api.NewToken(nil, nil, 0); err == nil {
		t.Error("token without a secret made")
	}

	// Expiry.
	tok, err = api.NewToken(testSecret, []api.Permission{api.PermRead}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.VerifyToken(testSecret, tok); err != nil {
		t.Errorf("fresh token: %v", err)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
		t.Fatal(err)
	}
	if _, ok := claims["exp"]; !ok {
		t.Errorf("token with ttl has no exp: %v", claims)
	}
	if _, ok := claims["Allow"]; !ok {
		t.Errorf("token has no Allow: %v", claims)
	}

	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	bad := map[string]string{
		"expired":      sign(jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"Allow": []string{"read"}, "exp": time.Now().Add(-time.Second).Unix()}),
		"alg none":     sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"Allow": []string{"admin"}}),
		"HS384":        sign(jwt.SigningMethodHS384, testSecret, jwt.MapClaims{"Allow": []string{"read"}}),
		"other secret": sign(jwt.SigningMethodHS256, []byte("another secret, 32 bytes long!!!"), jwt.MapClaims{"Allow": []string{"read"}}),
		"unknown perm": sign(jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"Allow": []string{"read", "root"}}),
		"Allow string": sign(jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"Allow": "admin"}),
		"empty":        "",
		"garbage":      "a.b.c",
	}
	for name, tok := range bad {
		if perms, err := api.VerifyToken(testSecret, tok); !errors.Is(err, api.ErrInvalidToken) {
			t.Errorf("%s: %v %v, want ErrInvalidToken", name, perms, err)
		}
	}
	// A token signed by a tampered payload fails.
	parts := strings.Split(tok, ".")
	parts[1] = strings.ToUpper(parts[1])
	if _, err := api.VerifyToken(testSecret, strings.Join(parts, ".")); err == nil {
		t.Error("tampered token verified")
	}
}
