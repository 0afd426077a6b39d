package badgerdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/internal/badgerdb"
)

func TestNewCompactorRejectsBadArguments(t *testing.T) {
	for _, c := range []struct {
		every  time.Duration
		tables int
	}{{0, 3}, {-time.Second, 3}, {time.Second, 0}} {
		if _, err := badgerdb.NewCompactor(nil, c.every, c.tables, nil); err == nil {
			t.Errorf("NewCompactor(%v, %d): no error", c.every, c.tables)
		}
	}
}

// TestCompactorDrainsLevelZero writes, into a store with no compactors of
// its own, ten memtables' worth: without the Compactor level 0 would
// reach the stall count (6) and the writes would wait for ever.
func TestCompactorDrainsLevelZero(t *testing.T) {
	const tables, entries = 3, 12000
	opts := badgerdb.Options(t.TempDir()).WithNumCompactors(0).WithMemTableSize(1 << 20).
		WithNumMemtables(2).WithNumLevelZeroTables(2).WithNumLevelZeroTablesStall(6).WithValueThreshold(4 << 10)
	db, err := badgerdb.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	stalled := false // a store with its writes waiting would not close
	defer func() {
		if stalled {
			return
		}
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	}()
	c, err := badgerdb.NewCompactor(db, 10*time.Millisecond, tables, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	val := make([]byte, 1000)
	written := make(chan error, 1)
	go func() {
		wb := db.NewWriteBatch()
		for i := range entries {
			if err := wb.Set(fmt.Appendf(nil, "k%06d", i), val); err != nil {
				written <- err
				return
			}
		}
		written <- wb.Flush()
	}()
	select {
	case err := <-written:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		stalled = true
		t.Fatalf("writes still waiting (level 0: %d tables, %d compactions)", db.Levels()[0].NumTables, c.Compactions())
	}
	for c.Compactions() == 0 || db.Levels()[0].NumTables > tables {
		if ctx.Err() != nil {
			t.Fatalf("level 0 holds %d tables after %d compactions", db.Levels()[0].NumTables, c.Compactions())
		}
		time.Sleep(10 * time.Millisecond) // polling with the deadline above
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := db.View(func(txn *badger.Txn) error {
		for _, i := range []int{0, entries / 2, entries - 1} {
			if _, err := txn.Get(fmt.Appendf(nil, "k%06d", i)); err != nil {
				return fmt.Errorf("key %d: %w", i, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
