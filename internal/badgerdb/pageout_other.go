//go:build !linux

package badgerdb

func pageOut(uintptr, uintptr) error { return ErrPageOutUnsupported }
