package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/nodebuilder"
)

// start refuses, before it does anything, a negative trusted_height, a
// missing p2p-key on a home with a store, and a changed chain_id, each with
// the key or file in the error.
func TestStartRefusesBadHome(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	home := t.TempDir()
	const bootstrap = "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"
	mustRun(ctx, t, "light", "init", "--home", home, "--chain-id", "old-chain", "--bootstrap", bootstrap,
		"--p2p.listen", "/ip4/127.0.0.1/tcp/0", "--rpc.port", "0")
	conf, err := nodebuilder.LoadConfig(home, nodebuilder.Light)
	if err != nil {
		t.Fatal(err)
	}
	// A store recorded for old-chain, as a first start leaves it.
	n, err := nodebuilder.New(nodebuilder.Light, home, conf, nodebuilder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, nodebuilder.ConfigFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) {
		t.Helper()
		b := bytes.Replace(good, []byte(old), []byte(new), 1)
		if bytes.Equal(b, good) {
			t.Fatalf("%s has no %q", path, old)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	edit("trusted_height = 0", "trusted_height = -5")
	wantErr(ctx, t, "header.trusted_height = -5 is negative", "light", "start", "--home", home)

	edit(`chain_id = "old-chain"`, `chain_id = "new-chain"`)
	wantErr(ctx, t, `chain_id is "new-chain" but the store in `+filepath.Join(home, nodebuilder.DataDir)+` records chain "old-chain"`,
		"light", "start", "--home", home)

	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(home, nodebuilder.KeyFile)
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	wantErr(ctx, t, keyPath+" is missing but "+filepath.Join(home, nodebuilder.DataDir)+" holds a store", "light", "start", "--home", home)
	wantErr(ctx, t, "mesh-node light start --new-identity", "light", "start", "--home", home)
	if _, err := os.Stat(keyPath); !os.IsNotExist(err) {
		t.Fatalf("the refused start made %s: %v", keyPath, err)
	}
}
