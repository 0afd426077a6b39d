//go:build !unix

package fdlimit

import "math"

// Raise does nothing on this system, which has no RLIMIT_NOFILE; it
// returns math.MaxUint64, no limit.
func Raise() (uint64, error) { return math.MaxUint64, nil }

// Soft returns math.MaxUint64: this system has no RLIMIT_NOFILE.
func Soft() (uint64, error) { return math.MaxUint64, nil }
