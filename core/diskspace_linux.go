package core

import "syscall"

// freeBytes returns the bytes available to an unprivileged writer on the
// filesystem holding dir.
func freeBytes(dir string) (uint64, bool, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false, err
	}
	return st.Bavail * uint64(st.Bsize), true, nil
}
