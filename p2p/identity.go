package p2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
	pb "github.com/libp2p/go-libp2p/core/crypto/pb"
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
	created, err := writeNew(path, raw)
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

// writeNew creates path holding data unless it already exists, atomically
// and durably: temp file, fsync, hard link (which, unlike rename, never
// replaces an existing file), directory fsync. created is false if path
// already existed.
func writeNew(path string, data []byte) (created bool, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, err
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // after the link, this only drops the temp name
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		// Some file systems have no hard links; rename is atomic too but
		// would replace a file created since loadIdentity looked.
		if _, statErr := os.Lstat(path); statErr == nil {
			return false, nil
		}
		if err := os.Rename(tmpName, path); err != nil {
			return false, err
		}
	}
	return true, syncDir(dir)
}

// syncDir fsyncs a directory so a new entry in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}
