package badgerdb_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

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

// TestPageOutDropsResidentPages: a Badger store's value log, written and
// read back through its mapping, is resident in this process; PageOut
// drops it, and every value reads back the same afterwards.
func TestPageOutDropsResidentPages(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("MADV_PAGEOUT is Linux's")
	}
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db, err := badgerdb.Open(badgerdb.Options(dir).WithValueThreshold(1 << 10))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n, size = 4096, 4 << 10 // 16 MiB in the value log
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
	check := func() {
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
	before := residentVlog(t, dir)
	if before < n*size/2 {
		t.Fatalf("value logs %d bytes resident before, want at least %d", before, n*size/2)
	}
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
