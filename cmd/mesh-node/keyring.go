package main

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

	"github.com/datamesh/mesh-node/core/app"
)

// keysDir is the keyring directory under the home.
const keysDir = "keys"

// maxKeyNameLen bounds key names.
const maxKeyNameLen = 64

var errKeyNotFound = errors.New("key not found")

// keyring is a directory of secp256k1 keys, one JSON file per key
// (NAME.json, mode 0600, in a 0700 directory). Keys are stored unencrypted:
// it is a devnet keyring.
type keyring struct{ dir string }

func newKeyring(home string) keyring { return keyring{dir: filepath.Join(home, keysDir)} }

// keyFile is the on-disk form of a key.
type keyFile struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	PubKey  string `json:"pub_key"`  // hex, 33-byte compressed
	PrivKey string `json:"priv_key"` // hex, 32 bytes
}

// key is a loaded key.
type key struct {
	Name    string
	Address app.Address
	Priv    secp256k1.PrivKey
}

// PubKey returns the 33-byte compressed public key.
func (k key) PubKey() []byte { return k.Priv.PubKey().Bytes() }

// keyInfo is what keys show and list print with --output json.
type keyInfo struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	PubKey  string `json:"pub_key"`
}

func (k key) info() keyInfo {
	return keyInfo{Name: k.Name, Address: k.Address.String(), PubKey: hex.EncodeToString(k.PubKey())}
}

// validKeyName accepts 1 to 64 ASCII letters, digits, '-', '_' and '.', not
// starting with '.'.
func validKeyName(name string) error {
	if name == "" || len(name) > maxKeyNameLen || strings.HasPrefix(name, ".") {
		return fmt.Errorf("invalid key name %q: want 1 to %d characters, not starting with '.'", name, maxKeyNameLen)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("invalid key name %q: only letters, digits, '-', '_' and '.' are allowed", name)
		}
	}
	return nil
}

func (kr keyring) path(name string) string { return filepath.Join(kr.dir, name+".json") }

// Add generates a key and saves it under name; it refuses an existing name.
func (kr keyring) Add(name string) (key, error) {
	if err := validKeyName(name); err != nil {
		return key{}, err
	}
	if err := os.MkdirAll(kr.dir, 0o700); err != nil {
		return key{}, fmt.Errorf("create keyring directory: %w", err)
	}
	priv := secp256k1.GenPrivKey()
	addr, err := app.AddressFromPubKey(priv.PubKey().Bytes())
	if err != nil {
		return key{}, fmt.Errorf("derive address: %w", err)
	}
	k := key{Name: name, Address: addr, Priv: priv}
	data, err := json.MarshalIndent(keyFile{Name: name, Address: addr.String(),
		PubKey: hex.EncodeToString(k.PubKey()), PrivKey: hex.EncodeToString(priv)}, "", "  ")
	if err != nil {
		return key{}, fmt.Errorf("encode key %q: %w", name, err)
	}
	// O_EXCL makes the duplicate check and the creation one step.
	f, err := os.OpenFile(kr.path(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return key{}, fmt.Errorf("key %q already exists in %s", name, kr.dir)
	}
	if err != nil {
		return key{}, fmt.Errorf("create key file: %w", err)
	}
	_, werr := f.Write(append(data, '\n'))
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		_ = os.Remove(kr.path(name))
		return key{}, fmt.Errorf("write key file %s: %w", kr.path(name), err)
	}
	return k, nil
}

// Get loads the key name. A missing key is errKeyNotFound.
func (kr keyring) Get(name string) (key, error) {
	if err := validKeyName(name); err != nil {
		return key{}, err
	}
	data, err := os.ReadFile(kr.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return key{}, fmt.Errorf("%w: %q in %s (see mesh-node keys list)", errKeyNotFound, name, kr.dir)
	}
	if err != nil {
		return key{}, fmt.Errorf("read key %q: %w", name, err)
	}
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return key{}, fmt.Errorf("decode key file %s: %w", kr.path(name), err)
	}
	priv, err := hex.DecodeString(f.PrivKey)
	if err != nil || len(priv) != secp256k1.PrivKeySize {
		return key{}, fmt.Errorf("key file %s: private key is not %d hex bytes", kr.path(name), secp256k1.PrivKeySize)
	}
	k := key{Name: name, Priv: secp256k1.PrivKey(priv)}
	if k.Address, err = app.AddressFromPubKey(k.PubKey()); err != nil {
		return key{}, fmt.Errorf("key file %s: %w", kr.path(name), err)
	}
	if f.Address != k.Address.String() {
		return key{}, fmt.Errorf("key file %s: address %s does not match the private key's %s", kr.path(name), f.Address, k.Address)
	}
	return k, nil
}

// List loads every key, sorted by name. A missing keyring is empty.
func (kr keyring) List() ([]key, error) {
	entries, err := os.ReadDir(kr.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read keyring %s: %w", kr.dir, err)
	}
	var keys []key
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
