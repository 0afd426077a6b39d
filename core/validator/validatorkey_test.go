package validator_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/core/validator"
)

// LoadValidatorKey reads the key core init wrote, and refuses a file that
// is too large, holds no key, or is missing.
func TestLoadValidatorKey(t *testing.T) {
	home := t.TempDir()
	if _, err := validator.Init(home, validator.InitOptions{ChainID: "c", Moniker: "m", BlockTime: 1e9, DevBalance: 1}); err != nil {
		t.Fatal(err)
	}
	conf, err := validator.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	k, err := validator.LoadValidatorKey(conf.PrivValidatorKeyFile())
	if err != nil || len(k.PubKey.Bytes()) != 32 {
		t.Fatalf("LoadValidatorKey: %v, %v", k, err)
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"big.json":   strings.Repeat(" ", 17<<10) + "{}",
		"empty.json": "{}",
		"bad.json":   "not json",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := validator.LoadValidatorKey(p); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := validator.LoadValidatorKey(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file accepted")
	}
}
