package badgerdb_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/internal/badgerdb"
)

// residentVlog returns how many bytes of this process's mappings of value
// log files under dir are resident (the Rss lines of /proc/self/smaps).
func residentVlog(t *testing.T, dir string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var total int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = len(fields) >= 6 && strings.HasPrefix(fields[5], dir) && strings.HasSuffix(fields[5], ".vlog")
			continue
		}
		if in && len(fields) == 3 && fields[0] == "Rss:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			total += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

// vlogStore opens a Badger store in a temporary directory (by its real
// path, as /proc/self/maps names it) and writes 16 MiB into its value log,
// synced, so that its pages are clean. check reads every value back and
// compares it.
func vlogStore(t *testing.T) (db *badger.DB, dir string, check func()) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("MADV_PAGEOUT is Linux's")
	}
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db, err = badgerdb.Open(badgerdb.Options(dir).WithValueThreshold(1 << 10).WithNumCompactors(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const n, size = 4096, 4 << 10
	value := func(i int) []byte { return bytes.Repeat([]byte{byte(i), byte(i >> 8)}, size/2) }
	wb := db.NewWriteBatch()
	for i := range n {
		if err := wb.Set([]byte(fmt.Sprint("k", i)), value(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(); err != nil { // clean pages: the kernel drops only those
		t.Fatal(err)
	}
	check = func() {
		t.Helper()
		if err := db.View(func(txn *badger.Txn) error {
			for i := range n {
				it, err := txn.Get([]byte(fmt.Sprint("k", i)))
				if err != nil {
					return err
				}
				if err := it.Value(func(v []byte) error {
					if !bytes.Equal(v, value(i)) {
						return fmt.Errorf("value %d changed", i)
					}
					return nil
				}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	check()
	if r := residentVlog(t, dir); r < n*size/2 {
		t.Fatalf("value logs %d bytes resident, want at least %d", r, n*size/2)
	}
	return db, dir, check
}

// TestPageOutDropsResidentPages: a Badger store's value log, written and
// read back through its mapping, is resident in this process; PageOut
// drops it, and every value reads back the same afterwards.
func TestPageOutDropsResidentPages(t *testing.T) {
	_, dir, check := vlogStore(t)
	before := residentVlog(t, dir)
	advised, err := badgerdb.PageOut(dir)
	if errors.Is(err, badgerdb.ErrPageOutUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	after := residentVlog(t, dir)
	t.Logf("value logs resident: %d -> %d bytes (%d bytes of mappings advised)", before, after, advised)
	if advised < before || after > before/8 {
		t.Errorf("value logs resident: %d -> %d bytes, %d advised; want under an eighth", before, after, advised)
	}
	check()
	// Another directory's mappings are not this store's.
	if a, err := badgerdb.PageOut(t.TempDir()); err != nil || a != 0 {
		t.Errorf("PageOut of an empty directory: %d bytes, %v", a, err)
	}
}

// TestCompactorPagesOut: the Compactor's loop pages the store out every
// second look.
func TestCompactorPagesOut(t *testing.T) {
	db, dir, check := vlogStore(t)
	before := residentVlog(t, dir)
	c, err := badgerdb.NewCompactor(db, 5*time.Millisecond, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.PageOutEvery(2, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for c.PageOuts() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the loop never paged out")
		case <-tick.C:
		}
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if after := residentVlog(t, dir); after > before/8 {
		t.Errorf("value logs resident: %d -> %d bytes; want under an eighth", before, after)
	}
	check()
}
