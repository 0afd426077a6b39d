//go:build unix

package fdlimit

import (
	"fmt"
	"syscall"
)

// Raise makes the soft limit on open files as high as the hard limit
// allows, if it is not already, and returns the soft limit in force.
//
// The Go runtime raises the soft limit at start (to one below the hard
// limit) and lowers it again for the processes it starts; Raise changes
// the limit only when the runtime could not, so that behaviour is kept.
// On an error the limit in force is returned with it.
func Raise() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("fdlimit: get RLIMIT_NOFILE: %w", err)
	}
	if lim.Max == 0 || uint64(lim.Cur) >= uint64(lim.Max)-1 {
		return uint64(lim.Cur), nil
	}
	want := lim
	want.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		return uint64(lim.Cur), fmt.Errorf("fdlimit: raise RLIMIT_NOFILE from %d to %d: %w", lim.Cur, lim.Max, err)
	}
	return Soft()
}

// Soft returns the soft limit on open files in force.
func Soft() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("fdlimit: get RLIMIT_NOFILE: %w", err)
	}
	return uint64(lim.Cur), nil
}
