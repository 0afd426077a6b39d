package nodebuilder_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/internal/badgerdb"
	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/share"
)

// A light node opens Badger small (memtables of 4 MiB, two of them: its
// resident set follows the memtables; no compactors of Badger's own, whose
// 50 ms tickers were half its idle wake-ups: the node's compaction loop,
// badgerdb.Compactor, does their work), yet one transaction
// still holds the largest header with its hash index entry: the header
// store writes a header in one transaction, and one that does not fit
// would stop the node at the first square of the largest size.
func TestLightBadgerHoldsLargestHeader(t *testing.T) {
	var got badger.Options
	n := newNode(t, t.TempDir(), "light", nodebuilder.Light, nodeConfig(nodebuilder.Light, "light-badger", anyBootstrap), nodebuilder.Options{
		Badger: func(o badger.Options) badger.Options { got = o; return o },
	})
	if got.MemTableSize > 4<<20 || got.NumMemtables > 2 || got.NumCompactors != 0 || got.BlockCacheSize > 16<<20 {
		t.Fatalf("light Badger: memtable %d × %d, %d compactors, block cache %d; want at most 4 MiB × 2, no compactors, at most 16 MiB",
			got.MemTableSize, got.NumMemtables, got.NumCompactors, got.BlockCacheSize)
	}
	// Headers go to the value log, not into the tables that every
	// compaction rewrites (BenchmarkLightBadgerHeaderWrites).
	if got.ValueThreshold > 1<<10 {
		t.Fatalf("light Badger: value threshold %d; headers of over 1 KiB must go to the value log", got.ValueThreshold)
	}
	// The largest header: 4k DAH roots of a k = 512 square, plus 64 KiB
	// for its commit and validator set (100 validators take about 20 KB).
	size := 4*share.SquareSizeUpperBound*nmt.NodeSize + 64<<10
	value := bytes.Repeat([]byte{0xA5}, size)
	err := n.DB().Update(func(txn *badger.Txn) error {
		if err := txn.Set([]byte("h/00000001"), value); err != nil {
			return err
		}
		if err := txn.Set(bytes.Repeat([]byte{0x11}, 34), []byte("00000001")); err != nil {
			return err
		}
		return txn.Set([]byte("head"), []byte("00000001"))
	})
	if err != nil {
		t.Fatalf("a %d-byte header in one transaction: %v", size, err)
	}
	// The store splits a batch to fit: what it budgets per transaction
	// (three quarters of the batch limit) holds one such header.
	if budget := n.DB().MaxBatchSize() / 4 * 3; budget < int64(size) {
		t.Fatalf("batch budget %d < largest header %d", budget, size)
	}
}

// A light node that stopped uncleanly under an earlier version left a
// memtable's write-ahead log of a 16 MB memtable; the next start replays
// it into a memtable at least as large instead of overflowing a 4 MB one
// (which Badger reports by panicking, and the node as a damaged store).
func TestLightBadgerReplaysLargerLog(t *testing.T) {
	old := filepath.Join(t.TempDir(), "old")
	db, err := badger.Open(badgerdb.Options(old).WithMemTableSize(16 << 20).WithNumMemtables(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	value := bytes.Repeat([]byte{0x5A}, 100<<10)
	const n = 90 // 9 MB: more than a 4 MB memtable's arena holds, less than a 16 MB one
	wb := db.NewWriteBatch()
	for i := range n {
		if err := wb.Set(fmt.Appendf(nil, "k%03d", i), value); err != nil {
			t.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	// The files as a crash leaves them: the log unflushed (Badger writes
	// it through a shared mapping, so a copy reads what it holds).
	home := t.TempDir()
	data := filepath.Join(home, nodebuilder.DataDir)
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir(old)
	if err != nil {
		t.Fatal(err)
	}
	mems := 0
	for _, f := range files {
		if f.Name() == "LOCK" {
			continue
		}
		if filepath.Ext(f.Name()) == ".mem" {
			mems++
		}
		b, err := os.ReadFile(filepath.Join(old, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, f.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if mems == 0 {
		t.Fatal("no write-ahead log to replay")
	}
	node := newNode(t, home, "light", nodebuilder.Light, nodeConfig(nodebuilder.Light, "light-badger", anyBootstrap), nodebuilder.Options{NewIdentity: true})
	err = node.DB().View(func(txn *badger.Txn) error {
		for i := range n {
			item, err := txn.Get(fmt.Appendf(nil, "k%03d", i))
			if err != nil {
				return fmt.Errorf("k%03d: %w", i, err)
			}
			if item.ValueSize() != int64(len(value)) {
				return fmt.Errorf("k%03d: %d bytes, want %d", i, item.ValueSize(), len(value))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("replayed log: %v", err)
	}
}
