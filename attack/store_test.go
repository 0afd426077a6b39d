//go:build attack

package attack_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestTruncatedManifest: `truncate -s 10 <home>/data/MANIFEST` on a stopped
// full node, then start. Before, Badger deleted every table file and the
// node re-initialised from the head. Now start must fail naming the file
// and the way out, and the store must be exactly as it was.
func TestTruncatedManifest(t *testing.T) {
	d := startDevnet(t, "")
	d.stop(t)
	data := filepath.Join(d.info.Nodes["full"].Home, "data")
	if err := os.Truncate(filepath.Join(data, "MANIFEST"), 10); err != nil {
		t.Fatal(err)
	}
	before := dirDigest(t, data)
	_, err := launch(t, d.home)
	if err == nil {
		t.Fatal("a devnet whose full node's MANIFEST is cut started")
	}
	for _, want := range []string{"MANIFEST", "reset-store"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start error does not name %q:\n%v", want, err)
		}
	}
	if after := dirDigest(t, data); after != before {
		t.Errorf("the damaged store changed on a refused start:\nbefore %s\nafter  %s", before, after)
	}
}

// dirDigest hashes the names, sizes and contents of the files under dir.
func dirDigest(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}
