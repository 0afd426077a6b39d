package badgerdb

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// pageOut advises MADV_PAGEOUT on [start, start+n). The address comes
// from /proc/self/maps, not from a Go pointer: the system call takes it
// as a number and the advice does not change the memory's contents.
func pageOut(start, n uintptr) error {
	_, _, errno := unix.Syscall(unix.SYS_MADVISE, start, n, unix.MADV_PAGEOUT)
	switch {
	case errno == 0:
		return nil
	case errors.Is(errno, unix.EINVAL):
		return ErrPageOutUnsupported // a kernel before 5.4
	case errors.Is(errno, unix.ENOMEM):
		return nil // unmapped since the maps were read
	default:
		return fmt.Errorf("badgerdb: madvise(MADV_PAGEOUT): %w", errno)
	}
}
