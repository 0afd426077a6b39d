package api

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/datamesh/mesh-node/internal/atomicfile"
)

// SecretSize is the size of the HS256 key LoadOrCreateSecret makes.
const SecretSize = 32

// ErrInvalidToken wraps every reason VerifyToken rejects a token.
var ErrInvalidToken = errors.New("api: invalid token")

// ErrBadSecret is returned by LoadOrCreateSecret for a secret file that is
// not SecretSize bytes; the file is left as it is.
var ErrBadSecret = errors.New("api: bad secret file")

// LoadOrCreateSecret returns the JWT signing key kept at path. If path does
// not exist it makes SecretSize random bytes and writes them there (mode
// 0600; missing directories are made with mode 0700) atomically, so a
// crash never leaves a partial key; if another process (a starting node,
// mesh-node auth) creates it first, that secret is returned. An existing
// file of another size is an error wrapping ErrBadSecret and is never
// replaced.
func LoadOrCreateSecret(path string) ([]byte, error) {
	b, err := readSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	secret := make([]byte, SecretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("api: make secret: %w", err)
	}
	created, err := atomicfile.WriteNew(path, secret, 0o600)
	if err != nil {
		return nil, fmt.Errorf("api: write secret: %w", err)
	}
	if !created {
		return readSecret(path)
	}
	return secret, nil
}

// readSecret reads the secret at path; a missing file is an error wrapping
// fs.ErrNotExist.
func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("api: read secret: %w", err)
	case len(b) != SecretSize:
		return nil, fmt.Errorf("%w: %s holds %d bytes, want %d", ErrBadSecret, path, len(b), SecretSize)
	}
	return b, nil
}

// claims is the token payload: celestia-node's "Allow" list and, for a
// token with a lifetime, the registered "exp" claim.
type claims struct {
	Allow []Permission `json:"Allow"`
	jwt.RegisteredClaims
}

// NewToken returns a JWT signed with HS256 under secret that grants perms
// (each one of AllPerms or PermPublic). A positive ttl sets the token's
// expiry ("exp") to now+ttl; ttl <= 0 makes a token that never expires.
func NewToken(secret []byte, perms []Permission, ttl time.Duration) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("api: new token: empty secret")
	}
	for _, p := range perms {
		if err := checkTokenPerm(p); err != nil {
			return "", fmt.Errorf("api: new token: %w", err)
		}
	}
	c := claims{Allow: append([]Permission{}, perms...)}
	if ttl > 0 {
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(ttl))
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("api: sign token: %w", err)
	}
	return s, nil
}

// VerifyToken returns the permissions token grants if it is an HS256 JWT
// signed with secret, not expired, and naming only AllPerms and PermPublic. Any
// other token (another algorithm, including "none"; a bad signature; an
// expired one; malformed) is an error wrapping ErrInvalidToken. The
// returned slice is the caller's.
func VerifyToken(secret []byte, token string) ([]Permission, error) {
	perms, _, err := verifyToken(secret, token)
	return perms, err
}

// verifyToken is VerifyToken that also returns the token's expiry, zero
// for a token that never expires.
func verifyToken(secret []byte, token string) ([]Permission, time.Time, error) {
	if len(secret) == 0 {
		return nil, time.Time{}, fmt.Errorf("%w: no secret to verify against", ErrInvalidToken)
	}
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	perms := make([]Permission, 0, len(c.Allow))
	for _, p := range c.Allow {
		if err := checkTokenPerm(p); err != nil {
			return nil, time.Time{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
		perms = append(perms, p)
	}
	var exp time.Time
	if c.ExpiresAt != nil {
		exp = c.ExpiresAt.Time
	}
	return perms, exp, nil
}
