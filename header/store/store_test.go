package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/header/store"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
)

func TestBadgerStore(t *testing.T) {
	headertest.TestStore(t, func(t *testing.T) header.Store {
		db := badgertest.Open(t)
		return store.New(db)
	})
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	chain := headertest.NewGenerator(headertest.Options{Seed: 21}).Chain(t, 6)

	db := badgertest.OpenAt(t, dir)
	s := store.New(db)
	if err := s.Append(ctx, chain[:4]...); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, chain[5]); !errors.Is(err, header.ErrHeightGap) {
		t.Fatalf("gap: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = badgertest.OpenAt(t, dir)
	defer db.Close()
	s = store.New(db)
	headertest.CheckStoreHolds(t, s, chain[:4])
	for _, h := range chain[:4] {
		got, err := s.GetByHeight(ctx, h.Height())
		if err != nil {
			t.Fatal(err)
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("height %d read back does not validate: %v", h.Height(), err)
		}
	}
	if err := s.Append(ctx, chain[4:]...); err != nil {
		t.Fatalf("appending after reopening: %v", err)
	}
	headertest.CheckStoreHolds(t, s, chain)
}

func TestCanceledContext(t *testing.T) {
	db := badgertest.Open(t)
	s := store.New(db)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h := headertest.NewGenerator(headertest.Options{}).Chain(t, 1)[0]
	if err := s.Append(ctx, h); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append: %v", err)
	}
	if s.Height() != 0 {
		t.Fatal("canceled Append wrote")
	}
}

// A header the store cannot encode, in the middle of a batch, fails the
// whole batch before anything is written.
func TestAppendEncodingFailureWritesNothing(t *testing.T) {
	ctx := context.Background()
	db := badgertest.Open(t)
	s := store.New(db)
	chain := headertest.NewGenerator(headertest.Options{Seed: 22}).Chain(t, 4)
	if err := s.Append(ctx, chain[0]); err != nil {
		t.Fatal(err)
	}
	bad := *chain[2]
	bad.DAH = &eds.DataAvailabilityHeader{} // no roots: does not encode
	if err := s.Append(ctx, chain[1], &bad, chain[3]); err == nil {
		t.Fatal("appended a header that does not encode")
	}
	headertest.CheckStoreHolds(t, s, chain[:1])
	if ok, _ := s.Has(ctx, chain[1].Hash()); ok {
		t.Fatal("the failed batch wrote its first header")
	}
	if err := s.Append(ctx, chain[1:]...); err != nil {
		t.Fatal(err)
	}
	headertest.CheckStoreHolds(t, s, chain)
}

func TestAppendWithIsAtomic(t *testing.T) {
	ctx := context.Background()
	db := badgertest.Open(t)
	s := store.New(db)
	chain := headertest.NewGenerator(headertest.Options{Seed: 23}).Chain(t, 2)
	extra := []byte("extra/1")
	failing := func(txn *badger.Txn) error {
		if err := txn.Set(extra, []byte("x")); err != nil {
			return err
		}
		return errors.New("injected")
	}
	if err := s.AppendWith(ctx, failing, chain[0]); err == nil {
		t.Fatal("AppendWith ignored its callback's error")
	}
	if _, err := s.Head(ctx); !errors.Is(err, header.ErrNotFound) {
		t.Fatalf("Head after a failed append: %v", err)
	}
	hasExtra := func() bool {
		return db.View(func(txn *badger.Txn) error { _, err := txn.Get(extra); return err }) == nil
	}
	if hasExtra() {
		t.Fatal("the failed append kept the callback's write")
	}
	// A header that does not chain: the callback's write is dropped too.
	if err := s.AppendWith(ctx, func(txn *badger.Txn) error { return txn.Set(extra, nil) }, chain[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendWith(ctx, func(txn *badger.Txn) error { return txn.Set(extra, []byte("y")) }, chain[0]); !errors.Is(err, header.ErrHeightGap) {
		t.Fatalf("got %v, want ErrHeightGap", err)
	}
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(extra)
		if err != nil {
			return err
		}
		if item.ValueSize() != 0 {
			return errors.New("the rejected append overwrote the extra key")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	headertest.CheckStoreHolds(t, s, chain[1:])
}

// A batch larger than one Badger transaction holds (here, 300 headers
// against a 1 MiB memtable) is written in several, all of it.
func TestAppendSplitsLargeBatches(t *testing.T) {
	ctx := context.Background()
	db, err := badger.Open(badger.DefaultOptions(t.TempDir()).WithLogger(nil).WithMemTableSize(1 << 20).WithValueThreshold(1 << 10))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	chain := headertest.NewGenerator(headertest.Options{Seed: 4}).Chain(t, 300)
	var total int
	for _, h := range chain {
		b, _ := h.MarshalBinary()
		total += len(b)
	}
	if int64(total) <= db.MaxBatchSize() {
		t.Fatalf("the batch (%d bytes) fits one transaction (%d): the test proves nothing", total, db.MaxBatchSize())
	}
	s := store.New(db)
	if err := s.Append(ctx, chain...); err != nil {
		t.Fatal(err)
	}
	headertest.CheckStoreHolds(t, s, chain)
}
