package core_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/share"
)

// TestStoreIngestMatchesBuildHeaderPut: Ingest stores the header and the
// square BuildHeader makes, byte for byte the original square Put stores
// for it, and both read back after a restart; a header check that fails
// leaves nothing stored and no file.
func TestStoreIngestMatchesBuildHeaderPut(t *testing.T) {
	ctx := context.Background()
	next := fullBlocks(t, 16)
	b1, b2 := next(), next()

	dirA, dirB := t.TempDir(), t.TempDir()
	dbA, dbB := badgertest.OpenAt(t, dirA), badgertest.OpenAt(t, dirB)
	a, b := core.NewStore(dbA, 0), core.NewStore(dbB, 0)
	for _, sb := range []signedBlock{b1, b2} {
		want, ext, err := core.BuildHeader(sb.block, sb.commit, sb.vals, share.SquareSizeUpperBound)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Put(ctx, want, ext); err != nil {
			t.Fatal(err)
		}
		got, _, err := b.Ingest(ctx, sb.block, sb.commit, sb.vals, share.SquareSizeUpperBound, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Hash(), want.Hash()) || !got.DAH.Equals(want.DAH) {
			t.Fatalf("height %d: Ingest's header is not BuildHeader's", sb.block.Height)
		}
	}

	// A check that refuses the next header: nothing stored, no file left.
	b3 := next()
	refused := errors.New("refused")
	if _, _, err := b.Ingest(ctx, b3.block, b3.commit, b3.vals, share.SquareSizeUpperBound,
		func(*header.ExtendedHeader) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("Ingest: %v, want the check's error", err)
	}
	if b.Height() != 2 {
		t.Fatalf("height %d after a refused ingest, want 2", b.Height())
	}
	files, err := os.ReadDir(filepath.Join(dirB, store.FileDirName))
	if err != nil || len(files) != 2 {
		t.Fatalf("%d square files (%v), want 2", len(files), err)
	}
	// A block that is not the next height: refused by the header store.
	if _, _, err := b.Ingest(ctx, b1.block, b1.commit, b1.vals, share.SquareSizeUpperBound, nil); err == nil {
		t.Fatal("Ingest stored height 1 again")
	}
	if files, _ := os.ReadDir(filepath.Join(dirB, store.FileDirName)); len(files) != 2 {
		t.Fatalf("%d square files after a refused height, want 2", len(files))
	}

	for _, db := range []interface{ Close() error }{dbA, dbB} {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	dbA, dbB = badgertest.OpenAt(t, dirA), badgertest.OpenAt(t, dirB)
	defer dbA.Close()
	defer dbB.Close()
	a, b = core.NewStore(dbA, 0), core.NewStore(dbB, 0)
	for h := uint64(1); h <= 2; h++ {
		oa, err := a.ODS(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		ob, err := b.ODS(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bytes.Join(oa, nil), bytes.Join(ob, nil)) {
			t.Fatalf("height %d: the squares differ", h)
		}
	}
	if err := b.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestStoreIngestFailedFileWrite: when the square's file cannot be
// written, Ingest and Put store nothing, and work once it can.
func TestStoreIngestFailedFileWrite(t *testing.T) {
	ctx := context.Background()
	next := fullBlocks(t, 8)
	b1 := next()
	dir := t.TempDir()
	db := badgertest.OpenAt(t, dir)
	defer db.Close()
	s := core.NewStore(db, 0)
	blocker := filepath.Join(dir, store.FileDirName)
	if err := os.WriteFile(blocker, nil, 0o600); err != nil { // a file where the directory goes
		t.Fatal(err)
	}
	if _, _, err := s.Ingest(ctx, b1.block, b1.commit, b1.vals, share.SquareSizeUpperBound, nil); err == nil {
		t.Fatal("Ingest succeeded without its file")
	}
	h, ext, err := core.BuildHeader(b1.block, b1.commit, b1.vals, share.SquareSizeUpperBound)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, h, ext); err == nil {
		t.Fatal("Put succeeded without its file")
	}
	if s.Height() != 0 {
		t.Fatalf("height %d after failed writes", s.Height())
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Ingest(ctx, b1.block, b1.commit, b1.vals, share.SquareSizeUpperBound, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
