package cometconfig_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	cfg "github.com/cometbft/cometbft/config"

	"github.com/datamesh/mesh-node/core/validator/internal/cometconfig"
)

// The config.toml CometBFT writes reads back into the same Config.
func TestLoadCometConfigRoundTrip(t *testing.T) {
	home := t.TempDir()
	want := cfg.DefaultConfig().SetRoot(home)
	want.Moniker = "round-trip"
	want.Consensus.TimeoutCommit = 250 * time.Millisecond
	want.P2P.ListenAddress = "tcp://127.0.0.1:1234"
	want.P2P.PersistentPeers = "a@127.0.0.1:1,b@127.0.0.1:2"
	want.RPC.CORSAllowedOrigins = []string{"http://a", "http://b"}
	want.Mempool.MaxTxBytes = 4 << 20
	want.Instrumentation.Prometheus = true
	path := filepath.Join(home, "config.toml")
	cfg.WriteConfigFile(path, want)
	got := cfg.DefaultConfig()
	if err := cometconfig.Load(path, got); err != nil {
		t.Fatal(err)
	}
	got.SetRoot(home)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
	}
}

func TestLoadCometConfigErrors(t *testing.T) {
	for name, text := range map[string]string{
		"not toml":        "moniker = ",
		"wrong type":      "moniker = 3",
		"bad duration":    "[consensus]\ntimeout_commit = \"soon\"",
		"table as scalar": "consensus = 1",
		"list of ints":    "[rpc]\ncors_allowed_origins = [1]",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			err := cometconfig.Load(path, cfg.DefaultConfig())
			if err == nil || !strings.Contains(err.Error(), "config") {
				t.Fatalf("got %v, want an error", err)
			}
		})
	}
	if err := cometconfig.Load(filepath.Join(t.TempDir(), "missing.toml"), cfg.DefaultConfig()); err == nil {
		t.Fatal("missing file: no error")
	}
}
