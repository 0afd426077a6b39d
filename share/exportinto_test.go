package share_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/datamesh/mesh-node/share"
)

// ConstructInto writes every byte of the cells it is given: into cells
// full of garbage and strided like an extended square's first quadrant, it
// lays out the same square as Construct, from the empty 1×1 square up.
func TestConstructIntoMatchesConstruct(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 20))
	sets := [][][]byte{nil}
	for _, k := range []int{1, 2, 8, 32, 64} {
		normal, blobTxs := randTxSet(t, rng, k)
		sets = append(sets, append(normal, blobTxs...))
	}
	for i, txs := range sets {
		want, err := share.Construct(txs, share.SquareSizeUpperBound)
		if errors.Is(err, share.ErrTxDoesNotFit) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var calls int
		got, err := share.ConstructInto(txs, share.SquareSizeUpperBound, func(width int) ([][]byte, error) {
			calls++
			// Rows of 2·width cells, of which the first width are the
			// square's, all filled with garbage.
			buf := bytes.Repeat([]byte{0xA5}, 2*width*width*share.ShareSize)
			cells := make([][]byte, 0, width*width)
			for r := range width {
				for c := range width {
					off := (r*2*width + c) * share.ShareSize
					cells = append(cells, buf[off:off+share.ShareSize:off+share.ShareSize])
				}
			}
			return cells, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if calls != 1 || got.Width != want.Width || len(got.PFBs) != len(want.PFBs) {
			t.Fatalf("set %d: %d calls, width %d (want %d), %d PFBs (want %d)", i, calls, got.Width, want.Width, len(got.PFBs), len(want.PFBs))
		}
		for j := range want.Shares {
			if !bytes.Equal(got.Shares[j], want.Shares[j]) {
				t.Fatalf("set %d (width %d): share %d differs", i, want.Width, j)
			}
		}
	}
}

// Bad cells are refused, and cells is never called for a block Construct
// refuses.
func TestConstructIntoErrors(t *testing.T) {
	boom := errors.New("boom")
	ns, err := share.NewV0Namespace(bytes.Repeat([]byte{1}, share.NamespaceVersionZeroIDSize))
	if err != nil {
		t.Fatal(err)
	}
	blob, err := share.NewBlob(ns, []byte("data"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	btx, err := share.MarshalBlobTx([]byte("pfb"), blob)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		cells share.SquareCells
		want  string
	}{
		{"error", func(int) ([][]byte, error) { return nil, boom }, "boom"},
		{"too few", func(w int) ([][]byte, error) { return make([][]byte, w*w-1), nil }, "cells for a"},
		{"short cell", func(w int) ([][]byte, error) {
			c := make([][]byte, w*w)
			for i := range c {
				c[i] = make([]byte, share.ShareSize)
			}
			c[len(c)-1] = c[len(c)-1][:10]
			return c, nil
		}, "has 10 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := share.ConstructInto([][]byte{[]byte("tx"), btx}, share.SquareSizeUpperBound, tt.cells)
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Fatalf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	called := false
	_, err = share.ConstructInto([][]byte{btx, []byte("tx after a blob tx")}, share.SquareSizeUpperBound,
		func(int) ([][]byte, error) { called = true; return nil, nil })
	if !errors.Is(err, share.ErrTxOrder) || called {
		t.Fatalf("got %v (cells called: %v), want ErrTxOrder without a call", err, called)
	}
}

// BuildInto lays out the same square, and keeps the same transactions, as
// Build, into cells full of garbage; transactions are given with the
// BlobTxs first, which Build moves after the ordinary ones.
func TestBuildIntoMatchesBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	for _, k := range []int{1, 4, 32} {
		normal, blobTxs := randTxSet(t, rng, k)
		txs := append(blobTxs, normal...)
		want, wantKept, err := share.Build(txs, k)
		if err != nil {
			t.Fatal(err)
		}
		got, gotKept, err := share.BuildInto(txs, k, func(width int) ([][]byte, error) {
			cells := make([][]byte, width*width)
			for i := range cells {
				cells[i] = bytes.Repeat([]byte{0x5A}, share.ShareSize)
			}
			return cells, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.Width != want.Width || len(got.PFBs) != len(want.PFBs) || len(gotKept) != len(wantKept) {
			t.Fatalf("k=%d: width %d (want %d), %d PFBs (want %d), %d kept (want %d)", k, got.Width, want.Width,
				len(got.PFBs), len(want.PFBs), len(gotKept), len(wantKept))
		}
		for j := range wantKept {
			if &gotKept[j][0] != &wantKept[j][0] {
				t.Fatalf("k=%d: kept tx %d differs", k, j)
			}
		}
		for j := range want.Shares {
			if !bytes.Equal(got.Shares[j], want.Shares[j]) {
				t.Fatalf("k=%d (width %d): share %d differs", k, want.Width, j)
			}
		}
	}
}

// The blob shares of a large square are written by several goroutines
// when GOMAXPROCS allows: the square is the one a single goroutine lays
// out, byte for byte.
func TestConstructParallelBlobWritesMatchSerial(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	large := 0 // squares of more than 4,096 blob shares, which are split
	for range 3 {
		normal, blobTxs := randTxSet(t, rng, 128)
		txs := append(normal, blobTxs...)
		prev := runtime.GOMAXPROCS(1)
		serial, errSerial := share.Construct(txs, share.SquareSizeUpperBound)
		runtime.GOMAXPROCS(max(prev, 4))
		parallel, errParallel := share.Construct(txs, share.SquareSizeUpperBound)
		runtime.GOMAXPROCS(prev)
		if errSerial != nil || errParallel != nil {
			t.Fatalf("Construct: %v, %v", errSerial, errParallel)
		}
		if serial.Width != parallel.Width || !bytes.Equal(bytes.Join(serial.Shares, nil), bytes.Join(parallel.Shares, nil)) {
			t.Fatal("the square laid out on several goroutines differs")
		}
		if serial.Width >= 128 {
			large++
		}
	}
	if large == 0 {
		t.Fatal("no square large enough to be split")
	}
}
