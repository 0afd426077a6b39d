//go:build unix

package main

import "syscall"

// privateFiles makes everything the process creates from now on (stores,
// keys, config, logs) its operator's alone: Badger creates its table and
// value-log files with mode 0666 less the umask, so a umask of 077 makes
// them 0600 (internal/badgerdb sets those that exist at open).
func privateFiles() { syscall.Umask(0o077) }
