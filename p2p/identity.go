package p2p

import (
	"bytes"
	"crypto/ed25519"
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
// operator's decision. See LoadIdentity for what corrupt means.
func LoadOrCreateIdentity(path string) (crypto.PrivKey, error) {
	key, err := LoadIdentity(path)
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
		return LoadIdentity(path)
	}
	return key, nil
}

// LoadIdentity reads the Ed25519 identity at path without ever creating
// one. A missing file is an error wrapping fs.ErrNotExist; a file that is
// not exactly what LoadOrCreateIdentity writes is an error wrapping
// ErrBadIdentity.
//
// The file is checked, not only decoded: libp2p's encoding of an Ed25519
// key is a 4-byte protobuf header, the 32-byte seed and the 32-byte public
// key, and most damaged files still decode as some key, one with another
// peer ID. LoadIdentity refuses a file whose public key is not the one its
// seed derives (a changed bit in either half), and a file that is not the
// key's canonical encoding (a changed bit in the header), so a flipped bit
// anywhere in the file is an error, never a new identity.
func LoadIdentity(path string) (crypto.PrivKey, error) {
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
	if err := checkEd25519(key, raw); err != nil {
		return nil, fmt.Errorf("%w: %s is damaged: %v; restore it from a backup (the node's peer ID depends on it)", ErrBadIdentity, path, err)
	}
	return key, nil
}

// checkEd25519 checks that key, decoded from raw, is whole: its public key
// is the one its seed derives and raw is its canonical encoding.
func checkEd25519(key crypto.PrivKey, raw []byte) error {
	b, err := key.Raw()
	if err != nil {
		return err
	}
	if len(b) != ed25519.PrivateKeySize {
		return fmt.Errorf("key is %d bytes, want %d", len(b), ed25519.PrivateKeySize)
	}
	derived := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
	if !bytes.Equal(derived[ed25519.SeedSize:], b[ed25519.SeedSize:]) {
		return errors.New("its public key is not the one its private key derives")
	}
	canonical, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return err
	}
	if !bytes.Equal(canonical, raw) {
		return errors.New("it is not the canonical encoding of the key it holds")
	}
	return nil
}
