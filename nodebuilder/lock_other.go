//go:build !unix

package nodebuilder

import "errors"

// LockFile is the file a running node holds locked in its home.
const LockFile = "lock"

// ErrHomeLocked is returned when another process holds the home's lock.
var ErrHomeLocked = errors.New("nodebuilder: home is in use by another mesh-node process")

// lockHome is a no-op where flock is missing; Badger's own directory lock
// still keeps a second process out of <home>/data.
func lockHome(string) (func() error, error) { return func() error { return nil }, nil }
