package nodebuilder

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// OpenBadger opens the Badger database of opts, private to the user
// running the node: its directory is made (or set to) mode 0700 before
// Badger opens it, and the files in it to 0600. Badger creates some of its
// files (tables, value logs, memtables) with mode 0666 less the umask, so
// 0644 under the usual umask; the 0700 directory keeps those it makes
// later out of other users' reach whatever their mode.
func OpenBadger(opts badger.Options) (*badger.DB, error) {
	for _, dir := range []string{opts.Dir, opts.ValueDir} {
		if err := privateDir(dir); err != nil {
			return nil, err
		}
	}
	return badger.Open(opts)
}

// privateDir makes dir with mode 0700, or sets it to 0700, and sets the
// regular files in it to their owner's bits only (0644 becomes 0600).
func privateDir(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("make %s private: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return fmt.Errorf("stat %s: %w", filepath.Join(dir, e.Name()), err)
		}
		if info.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(filepath.Join(dir, e.Name()), info.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("make %s private: %w", filepath.Join(dir, e.Name()), err)
		}
	}
	return nil
}
