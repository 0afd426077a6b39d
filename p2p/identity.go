package p2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/libp2p/go-libp2p/core/crypto"
	pb "github.com/libp2p/go-libp2p/core/crypto/pb"

	"github.com/datamesh/mesh-node/internal/atomicfile"
)

// maxIdentitySize bounds the identity file read: an encoded Ed25519 key is
// 68 bytes.
const maxIdentitySize = 4 << 10

// LoadOrCreateIdentity returns the node's Ed25519 identity stored at path
// (nodebuilder passes <home>/keys/p2p-key), in libp2p's protobuf encoding
// (crypto.MarshalPrivateKey).
//
// If path does not exist, a new key is generated and written atomically: to
// a temporary file in the same directory (mode 0600), fsynced, then linked
// into place, so a crash leaves either no key or a whole one. Missing parent
// directories are created with mode 0700. If another process creates path
// first, its key is loaded and returned instead.
//
// If path exists but is unreadable, empty, corrupt, or holds a key of
// another type, the error wraps ErrBadIdentity (or the read error) and the
// file is never modified or replaced: losing a node's identity is an
// operator's decision.
func LoadOrCreateIdentity(path string) (crypto.PrivKey, error) {
	key, err := loadIdentity(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key, _, err = crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("p2p: generate identity: %w", err)
	}
	raw, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("p2p: encode identity: %w", err)
	}
	created, err := atomicfile.WriteNew(path, raw, 0o600)
	if err != nil {
		return nil, fmt.Errorf("p2p: write identity %s: %w", path, err)
	}
	if !created { // lost a race with another writer: use its key
		return loadIdentity(path)
	}
	return key, nil
}

// loadIdentity reads and decodes the key at path. A missing file is an
// error wrapping fs.ErrNotExist.
func loadIdentity(path string) (crypto.PrivKey, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("p2p: read identity: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxIdentitySize+1))
	if err != nil {
		return nil, fmt.Errorf("p2p: read identity %s: %w", path, err)
	}
	if len(raw) > maxIdentitySize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrBadIdentity, path, maxIdentitySize)
	}
	key, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadIdentity, path, err)
	}
	if key.Type() != pb.KeyType_Ed25519 {
		return nil, fmt.Errorf("%w: %s holds a %s key, want Ed25519", ErrBadIdentity, path, key.Type())
	}
	return key, nil
}
