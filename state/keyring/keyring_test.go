package keyring_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/state/keyring"
)

func TestAddGetList(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	kr := keyring.New(dir)
	if keys, err := kr.List(); err != nil || len(keys) != 0 {
		t.Fatalf("empty keyring: %v %v", keys, err)
	}
	b, err := kr.Add("bob")
	if err != nil {
		t.Fatal(err)
	}
	a, err := kr.Add("alice")
	if err != nil {
		t.Fatal(err)
	}
	if want, err := tx.AddressFromPubKey(b.PubKey()); err != nil || b.Address != want {
		t.Fatalf("bob's address %s, its public key gives %s (%v)", b.Address, want, err)
	}
	got, err := kr.Get("bob")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "bob" || got.Address != b.Address || !got.Priv.Equals(b.Priv) {
		t.Fatalf("Get(bob) = %+v, Add gave %+v", got, b)
	}
	keys, err := kr.List()
	if err != nil || len(keys) != 2 || keys[0].Address != a.Address || keys[1].Address != b.Address {
		t.Fatalf("List: %+v %v", keys, err)
	}
	for _, p := range []string{filepath.Join(dir, "bob.json"), dir} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if st.IsDir() {
			want = 0o700
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %o, want %o", p, st.Mode().Perm(), want)
		}
	}
	if _, err := kr.Add("bob"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second Add(bob): %v", err)
	}
	if again, err := kr.Get("bob"); err != nil || !again.Priv.Equals(b.Priv) {
		t.Fatal("a refused Add changed the key")
	}
	if _, err := kr.Get("carol"); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("Get(carol): %v, want ErrNotFound", err)
	}
	if has, err := kr.Has("bob"); err != nil || !has {
		t.Fatalf("Has(bob) = %v, %v", has, err)
	}
	if has, err := kr.Has("carol"); err != nil || has {
		t.Fatalf("Has(carol) = %v, %v", has, err)
	}
	if _, err := kr.Has("../bob"); err == nil {
		t.Fatal("Has(../bob) accepted an invalid name")
	}
}

func TestNames(t *testing.T) {
	for _, ok := range []string{"a", "dev", "my-key_2.old", strings.Repeat("k", keyring.MaxNameLen)} {
		if err := keyring.ValidName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".hidden", "../x", "a/b", "a b", "ключ", strings.Repeat("k", keyring.MaxNameLen+1)} {
		if err := keyring.ValidName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
		kr := keyring.New(t.TempDir())
		if _, err := kr.Add(bad); err == nil {
			t.Errorf("Add(%q) accepted", bad)
		}
		if _, err := kr.Get(bad); err == nil || errors.Is(err, keyring.ErrNotFound) {
			t.Errorf("Get(%q): %v, want a name error", bad, err)
		}
	}
}

// Damaged files are errors that name the file, never a wrong key.
func TestDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	kr := keyring.New(dir)
	k, err := kr.Add("k")
	if err != nil {
		t.Fatal(err)
	}
	other, err := keyring.New(t.TempDir()).Add("other")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "k.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"not json":      "{",
		"bad hex":       `{"priv_key":"zz"}`,
		"short key":     `{"priv_key":"0102"}`,
		"wrong address": strings.Replace(string(data), k.Address.String(), other.Address.String(), 1),
	} {
		if err := os.WriteFile(filepath.Join(dir, "k.json"), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := kr.Get("k"); err == nil || !strings.Contains(err.Error(), "k.json") {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := kr.List(); err == nil {
			t.Errorf("%s: List accepted it", name)
		}
	}
}

// A key that cannot be written leaves no file behind, whole or partial,
// temporary or not: the keyring lists as before and the name stays free.
func TestAddFailsCleanly(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into a read-only directory")
	}
	dir := t.TempDir()
	kr := keyring.New(dir)
	a, err := kr.Add("alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if _, err := kr.Add("bob"); err == nil || !strings.Contains(err.Error(), "bob.json") {
		t.Fatalf("Add(bob) in a read-only keyring: %v, want an error naming the file", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "alice.json" {
		t.Fatalf("the keyring holds %v (%v), want only alice.json", entries, err)
	}
	keys, err := kr.List()
	if err != nil || len(keys) != 1 || keys[0].Address != a.Address {
		t.Fatalf("List after the failed Add: %+v %v", keys, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Add("bob"); err != nil {
		t.Fatalf("Add(bob) once writable: %v", err)
	}
}
