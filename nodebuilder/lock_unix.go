//go:build unix

package nodebuilder

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockFile is the file a running node holds locked in its home.
const LockFile = "lock"

// ErrHomeLocked is returned when another process holds the home's lock.
var ErrHomeLocked = errors.New("nodebuilder: home is in use by another mesh-node process")

// lockHome takes an exclusive, non-blocking flock on <home>/lock, which the
// kernel releases when the process exits, however it exits. unlock
// releases it.
func lockHome(home string) (unlock func() error, err error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("nodebuilder: create home: %w", err)
	}
	path := filepath.Join(home, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("nodebuilder: open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked (stop the other node first)", ErrHomeLocked, path)
		}
		return nil, fmt.Errorf("nodebuilder: lock %s: %w", path, err)
	}
	return func() error {
		// Closing the descriptor releases the lock.
		return f.Close()
	}, nil
}
