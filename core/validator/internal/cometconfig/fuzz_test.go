package cometconfig_test

import (
	"os"
	"path/filepath"
	"testing"

	cfg "github.com/cometbft/cometbft/config"

	"github.com/datamesh/mesh-node/core/validator/internal/cometconfig"
)

// Load never panics, whatever the file holds.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"moniker = \"x\"\n[consensus]\ntimeout_commit = \"1s\"",
		"[p2p]\nsend_rate = -1\nmax_num_inbound_peers = 99999999999999",
		"[statesync]\nchunk_fetchers = \"4\"\nrpc_servers = \"a,b\"",
		"[rpc]\ncors_allowed_origins = [\"*\"]\nmax_body_bytes = 1.5",
		"p2p = [1, 2]",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		_ = cometconfig.Load(path, cfg.DefaultConfig())
	})
}
