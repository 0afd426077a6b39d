//go:build attack

package attack_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestTruncatedManifest: `truncate -s 10 <home>/data/MANIFEST` on a stopped
// full node, then start. Before, Badger deleted every table file and the
// node re-initialised from the head. Now start must fail naming the file
// and the way out, and the store must be exactly as it was.
func TestTruncatedManifest(t *testing.T) {
	d := startDevnet(t, "")
	// Some blocks, so the stores write tables and value logs after opening.
	if err := d.waitHeight(t, "full", 20); err != nil {
		t.Fatal(err)
	}
	d.stop(t)
	// Nothing a node wrote is readable by other users.
	err := filepath.WalkDir(d.home, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		info, err := e.Info()
		if err == nil && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v: readable by other users", p, info.Mode().Perm())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(d.info.Nodes["full"].Home, "data")
	if err := os.Truncate(filepath.Join(data, "MANIFEST"), 10); err != nil {
		t.Fatal(err)
	}
	before := dirDigest(t, data)
	_, err = launch(t, d.home)
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

// waitHeight waits until the node of mode has stored height.
func (d *devnet) waitHeight(t *testing.T, mode string, height uint64) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := d.call(ctx, mode, "header.WaitForHeight", height)
	if err == nil && r.Error != nil {
		err = errors.New(r.Error.Message)
	}
	return err
}
