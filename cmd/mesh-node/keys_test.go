package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/core/tx"
)

func TestKeys(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	h := "--home=" + home
	out := mustRun(ctx, t, "keys", "add", "alice", h)
	alice := field(t, out, "address")
	var bob keyInfo
	if err := json.Unmarshal([]byte(mustRun(ctx, t, "keys", "add", "bob", h, "-o", "json")), &bob); err != nil {
		t.Fatal(err)
	}
	if show := mustRun(ctx, t, "keys", "show", "alice", h); show != out {
		t.Fatalf("keys show:\n%s\nkeys add printed:\n%s", show, out)
	}
	pub, err := hex.DecodeString(bob.PubKey)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := tx.AddressFromPubKey(pub); err != nil || a.String() != bob.Address || bob.Name != "bob" {
		t.Fatalf("bob: %+v does not match its public key (%v)", bob, err)
	}
	if list, want := mustRun(ctx, t, "keys", "list", h), "alice\t"+alice+"\nbob\t"+bob.Address+"\n"; list != want {
		t.Fatalf("keys list:\n%s\nwant\n%s", list, want)
	}
	var infos []keyInfo
	if err := json.Unmarshal([]byte(mustRun(ctx, t, "keys", "list", h, "--output", "json")), &infos); err != nil || len(infos) != 2 || infos[1] != bob {
		t.Fatalf("keys list -o json: %+v (%v)", infos, err)
	}
	for _, f := range []string{"alice.json", "bob.json"} {
		st, err := os.Stat(filepath.Join(home, "keys", f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %o, want 0600", f, st.Mode().Perm())
		}
	}
	if st, err := os.Stat(filepath.Join(home, "keys")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("keys directory: %v %v, want mode 0700", st.Mode(), err)
	}
	if strings.Contains(out, "priv") {
		t.Errorf("keys add printed the private key:\n%s", out)
	}

	wantErr(ctx, t, "already exists", "keys", "add", "bob", h)
	wantErr(ctx, t, "key not found", "keys", "show", "nobody", h)
	wantErr(ctx, t, "invalid key name", "keys", "add", "../evil", h)
	wantErr(ctx, t, "invalid key name", "keys", "show", ".hidden", h)
	wantErr(ctx, t, "--output", "keys", "list", h, "--output", "yaml")

	// A tampered key file is an error, not a wrong key.
	if err := os.WriteFile(filepath.Join(home, "keys", "bad.json"), []byte(`{"priv_key":"zz"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	wantErr(ctx, t, "private key", "keys", "show", "bad", h)
	wantErr(ctx, t, "bad.json", "keys", "list", h)
}

// MESH_HOME is the default home; --home wins over it.
func TestHomeFromEnv(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{homeEnv: home}
	if _, err := run(context.Background(), env, "keys", "add", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, "keys", "k.json")); err != nil {
		t.Fatalf("keys add with $%s: %v", homeEnv, err)
	}
	other := t.TempDir()
	if _, err := run(context.Background(), env, "keys", "add", "k", "--home", other); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(other, "keys", "k.json")); err != nil {
		t.Fatalf("keys add --home: %v", err)
	}
}
