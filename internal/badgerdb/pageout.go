package badgerdb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// ErrPageOutUnsupported is PageOut's error where the system cannot drop a
// mapping's pages on request (not Linux, or Linux before 5.4).
var ErrPageOutUnsupported = errors.New("badgerdb: paging out mapped files is not supported here")

// maxMapsBytes bounds the read of /proc/self/maps: a node maps hundreds
// to a few thousand regions, a line is under 200 bytes. A line cut by the
// bound is at worst skipped or paged out whole, both harmless.
const maxMapsBytes = 16 << 20

// PageOut asks the kernel to drop the resident pages of the files under
// dir that this process has memory-mapped as shared (Badger maps its value
// logs and tables that way), and returns how many bytes of mappings it
// advised.
//
// Badger reads and writes those files through their mappings, so every
// page it touched stays in the process's RSS until the kernel is short
// of memory: a light node's RSS would grow with every header it stores
// though it holds none of them in its heap. The kernel drops only clean
// pages: a dirty one stays until the kernel's writeback has cleaned it, for
// a later call. A later read faults a dropped page in again from the disk.
// The advice (MADV_PAGEOUT) never changes what a page holds, so a region
// Badger unmaps while PageOut runs, and that something else maps at the
// same address, loses nothing either.
func PageOut(dir string) (int64, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return 0, fmt.Errorf("badgerdb: page out %s: %w", dir, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real // /proc/self/maps names files by their real path
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, ErrPageOutUnsupported
	}
	defer f.Close()
	regions, err := sharedMappings(io.LimitReader(f, maxMapsBytes), abs+string(filepath.Separator))
	if err != nil {
		return 0, fmt.Errorf("badgerdb: page out %s: %w", dir, err)
	}
	var advised int64
	for _, r := range regions {
		if err := pageOut(r.start, r.end-r.start); err != nil {
			return advised, err
		}
		advised += int64(r.end - r.start)
	}
	return advised, nil
}

// region is a mapped address range, [start, end).
type region struct{ start, end uintptr }

// sharedMappings returns the shared mappings in maps (the format of
// /proc/PID/maps) of files whose path starts with prefix.
func sharedMappings(maps io.Reader, prefix string) ([]region, error) {
	var out []region
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		// start-end perms offset dev inode path
		f := bytes.Fields(sc.Bytes())
		if len(f) < 6 || len(f[1]) != 4 || f[1][3] != 's' || !bytes.HasPrefix(f[5], []byte(prefix)) {
			continue
		}
		a, b, ok := bytes.Cut(f[0], []byte("-"))
		if !ok {
			return nil, fmt.Errorf("maps line %q: no address range", sc.Bytes())
		}
		start, err1 := strconv.ParseUint(string(a), 16, 64)
		end, err2 := strconv.ParseUint(string(b), 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			return nil, fmt.Errorf("maps line %q: bad address range", sc.Bytes())
		}
		out = append(out, region{uintptr(start), uintptr(end)})
	}
	return out, sc.Err()
}
