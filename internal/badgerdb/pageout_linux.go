package badgerdb

import (
	"errors"
	"fmt"
	"syscall"
)

// madvPageout is MADV_PAGEOUT of Linux's mman-common.h (5.4 and later),
// which the syscall package does not name.
const madvPageout = 21

// pageOut advises MADV_PAGEOUT on [start, start+n). The address comes
// from /proc/self/maps, not from a Go pointer: the system call takes it
// as a number and the advice does not change the memory's contents.
func pageOut(start, n uintptr) error {
	_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, start, n, madvPageout)
	switch {
	case errno == 0:
		return nil
	case errors.Is(errno, syscall.EINVAL):
		return ErrPageOutUnsupported // a kernel before 5.4
	case errors.Is(errno, syscall.ENOMEM):
		return nil // unmapped since the maps were read
	default:
		return fmt.Errorf("badgerdb: madvise(MADV_PAGEOUT): %w", errno)
	}
}
