package keyring

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cometbft/cometbft/crypto/secp256k1"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/internal/atomicfile"
)

// MaxNameLen bounds key names.
const MaxNameLen = 64

// ErrNotFound is wrapped by Get for a name without a key.
var ErrNotFound = errors.New("key not found")

// Keyring is a directory of keys, NAME.json each. Keys are stored
// unencrypted: it is a devnet keyring.
type Keyring struct{ dir string }

// New returns the keyring in dir; Add creates dir when needed.
func New(dir string) Keyring { return Keyring{dir: dir} }

// Dir returns the keyring's directory.
func (kr Keyring) Dir() string { return kr.dir }

// keyFile is the on-disk form of a key.
type keyFile struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	PubKey  string `json:"pub_key"`  // hex, 33-byte compressed
	PrivKey string `json:"priv_key"` // hex, 32 bytes
}

// Key is a loaded key.
type Key struct {
	Name    string
	Address tx.Address
	Priv    secp256k1.PrivKey
}

// PubKey returns the 33-byte compressed public key.
func (k Key) PubKey() []byte { return k.Priv.PubKey().Bytes() }

// ValidName accepts 1 to 64 ASCII letters, digits, '-', '_' and '.', not
// starting with '.'.
func ValidName(name string) error {
	if name == "" || len(name) > MaxNameLen || strings.HasPrefix(name, ".") {
		return fmt.Errorf("invalid key name %q: want 1 to %d characters, not starting with '.'", name, MaxNameLen)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("invalid key name %q: only letters, digits, '-', '_' and '.' are allowed", name)
		}
	}
	return nil
}

func (kr Keyring) path(name string) string { return filepath.Join(kr.dir, name+".json") }

// Add generates a key and saves it under name; it refuses an existing name.
func (kr Keyring) Add(name string) (Key, error) {
	if err := ValidName(name); err != nil {
		return Key{}, err
	}
	if err := os.MkdirAll(kr.dir, 0o700); err != nil {
		return Key{}, fmt.Errorf("create keyring directory: %w", err)
	}
	priv := secp256k1.GenPrivKey()
	addr, err := tx.AddressFromPubKey(priv.PubKey().Bytes())
	if err != nil {
		return Key{}, fmt.Errorf("derive address: %w", err)
	}
	k := Key{Name: name, Address: addr, Priv: priv}
	data, err := json.MarshalIndent(keyFile{Name: name, Address: addr.String(),
		PubKey: hex.EncodeToString(k.PubKey()), PrivKey: hex.EncodeToString(priv)}, "", "  ")
	if err != nil {
		return Key{}, fmt.Errorf("encode key %q: %w", name, err)
	}
	exists := fmt.Errorf("key %q already exists in %s", name, kr.dir)
	if _, err := os.Lstat(kr.path(name)); err == nil {
		return Key{}, exists
	}
	// WriteNew puts the whole file in place at once and never replaces
	// one: a failed write leaves no key file, and of two Adds of one name
	// only one creates it.
	created, err := atomicfile.WriteNew(kr.path(name), append(data, '\n'), 0o600)
	if err != nil {
		if created { // in place, but its directory entry may not survive a crash
			_ = os.Remove(kr.path(name))
		}
		return Key{}, fmt.Errorf("write key file %s: %w", kr.path(name), err)
	}
	if !created {
		return Key{}, exists
	}
	return k, nil
}

// Get loads the key name and checks that its stored address matches its
// private key. A missing key is ErrNotFound.
func (kr Keyring) Get(name string) (Key, error) {
	if err := ValidName(name); err != nil {
		return Key{}, err
	}
	data, err := os.ReadFile(kr.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return Key{}, fmt.Errorf("%w: %q in %s", ErrNotFound, name, kr.dir)
	}
	if err != nil {
		return Key{}, fmt.Errorf("read key %q: %w", name, err)
	}
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return Key{}, fmt.Errorf("decode key file %s: %w", kr.path(name), err)
	}
	priv, err := hex.DecodeString(f.PrivKey)
	if err != nil || len(priv) != secp256k1.PrivKeySize {
		return Key{}, fmt.Errorf("key file %s: private key is not %d hex bytes", kr.path(name), secp256k1.PrivKeySize)
	}
	k := Key{Name: name, Priv: secp256k1.PrivKey(priv)}
	if k.Address, err = tx.AddressFromPubKey(k.PubKey()); err != nil {
		return Key{}, fmt.Errorf("key file %s: %w", kr.path(name), err)
	}
	if f.Address != k.Address.String() {
		return Key{}, fmt.Errorf("key file %s: address %s does not match the private key's %s", kr.path(name), f.Address, k.Address)
	}
	return k, nil
}

// Has reports whether the keyring holds a key named name, without loading
// it; an invalid name is an error.
func (kr Keyring) Has(name string) (bool, error) {
	if err := ValidName(name); err != nil {
		return false, err
	}
	_, err := os.Stat(kr.path(name))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("stat key %q: %w", name, err)
	}
}

// List loads every key, sorted by name. A missing keyring is empty.
func (kr Keyring) List() ([]Key, error) {
	entries, err := os.ReadDir(kr.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read keyring %s: %w", kr.dir, err)
	}
	var keys []Key
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		k, err := kr.Get(name)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
	return keys, nil
}
