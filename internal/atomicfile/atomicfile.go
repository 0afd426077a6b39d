// Package atomicfile writes small files so that a crash leaves either the
// old content or the new, never part of it: through a temporary file in
// the same directory, fsynced, then put in place, and the directory
// fsynced. Missing parent directories are made with mode 0700.
//
// Write replaces what is there (configuration, devnet.json); WriteNew
// never does (keys and secrets: if another process made the file first,
// its content wins and the caller reads it).
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes data to path with mode perm, replacing any file there.
func Write(path string, data []byte, perm fs.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // fails harmlessly after the rename
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// WriteNew creates path holding data with mode perm unless it already
// exists; created is false, and nothing is written, if it does. It puts
// the file in place with a hard link, which unlike rename never replaces a
// file another process created in the meantime.
func WriteNew(path string, data []byte, perm fs.FileMode) (created bool, err error) {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp) // after the link, this only drops the temp name
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		// Some file systems have no hard links; rename is atomic too but
		// would replace a file created since the caller looked.
		if _, statErr := os.Lstat(path); statErr == nil {
			return false, nil
		}
		if err := os.Rename(tmp, path); err != nil {
			return false, err
		}
	}
	return true, syncDir(filepath.Dir(path))
}

// writeTemp writes data to a new temporary file beside path, fsynced, and
// returns its name; on error it leaves no temporary file.
func writeTemp(path string, data []byte, perm fs.FileMode) (name string, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// syncDir fsyncs a directory so a new entry in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}
