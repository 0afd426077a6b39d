package p2p_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/p2p"
)

func TestIdentityCreateThenLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "home", "keys", "p2p-key") // parents missing
	k1, err := p2p.LoadOrCreateIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Type() != crypto.Ed25519 {
		t.Fatalf("key type %v, want Ed25519", k1.Type())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Fatalf("key file mode %o, want 600", m)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if m := di.Mode().Perm(); m != 0o700 {
		t.Fatalf("key dir mode %o, want 700", m)
	}
	k2, err := p2p.LoadOrCreateIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	id1, _ := peer.IDFromPrivateKey(k1)
	id2, _ := peer.IDFromPrivateKey(k2)
	if id1 != id2 {
		t.Fatalf("reloaded identity %s, want %s", id2, id1)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("key dir holds %d entries, want only the key (temp file left behind?)", len(entries))
	}
}

func TestIdentityBadFileIsKept(t *testing.T) {
	rsaKey, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	wrongType, err := crypto.MarshalPrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"corrupt":    []byte("not a key at all"),
		"empty":      {},
		"wrong type": wrongType,
		"too large":  bytes.Repeat([]byte{1}, 5000),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p2p-key")
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := p2p.LoadOrCreateIdentity(path)
			if !errors.Is(err, p2p.ErrBadIdentity) {
				t.Fatalf("err = %v, want ErrBadIdentity", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, content) {
				t.Fatal("bad identity file was modified")
			}
		})
	}
}

// TestIdentityBitFlipRefused flips each bit of a stored identity in turn:
// every damaged file is refused with ErrBadIdentity and left as it is,
// never loaded as another key (another peer ID).
func TestIdentityBitFlipRefused(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "p2p-key")
	key, err := p2p.LoadOrCreateIdentity(good)
	if err != nil {
		t.Fatal(err)
	}
	want, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 68 {
		t.Fatalf("identity file is %d bytes, want 68", len(raw))
	}
	path := filepath.Join(dir, "damaged")
	for i := range raw {
		for bit := range 8 {
			damaged := bytes.Clone(raw)
			damaged[i] ^= 1 << bit
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			for name, load := range map[string]func(string) (crypto.PrivKey, error){
				"LoadIdentity": p2p.LoadIdentity, "LoadOrCreateIdentity": p2p.LoadOrCreateIdentity,
			} {
				k, err := load(path)
				if !errors.Is(err, p2p.ErrBadIdentity) {
					id := peer.ID("")
					if k != nil {
						id, _ = peer.IDFromPrivateKey(k)
					}
					t.Fatalf("byte %d bit %d: %s: err = %v (peer ID %s, the good one %s), want ErrBadIdentity", i, bit, name, err, id, want)
				}
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, damaged) {
					t.Fatalf("byte %d bit %d: %s modified the damaged file", i, bit, name)
				}
			}
		}
	}
	// The undamaged file still loads as the same identity.
	k, err := p2p.LoadIdentity(good)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := peer.IDFromPrivateKey(k); id != want {
		t.Fatalf("reloaded peer ID %s, want %s", id, want)
	}
}

func TestLoadIdentityMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p2p-key")
	if _, err := p2p.LoadIdentity(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want os.ErrNotExist", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadIdentity created %s: %v", path, err)
	}
}
