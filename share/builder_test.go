package share_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gosquare "github.com/celestiaorg/go-square/v3"
	gsshare "github.com/celestiaorg/go-square/v3/share"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/share/sharetest"
)

// randTxSet returns random ordinary txs and BlobTxs (encoded by go-square)
// sized for a square of width about k, sometimes too many to fit.
func randTxSet(t testing.TB, rng *rand.Rand, k int) (normal, blobTxs [][]byte) {
	budget := k * k * share.ShareSize * (2 + rng.IntN(10)) / 10 // 0.2–1.1× the square
	maxBlob := max(1, budget/(1+rng.IntN(8)))
	for used := 0; used < budget; {
		switch rng.IntN(3) {
		case 0:
			size := rng.IntN(600)
			if rng.IntN(10) == 0 {
				size = rng.IntN(4 * share.ShareSize)
			}
			normal = append(normal, randBytes(rng, size))
			used += size + 1
		default:
			blobs := make([]*share.Blob, 1+rng.IntN(4))
			for i := range blobs {
				blobs[i] = randBlob(rng, maxBlob)
				used += len(blobs[i].Data())
			}
			blobTxs = append(blobTxs, refBlobTx(t, randBytes(rng, 50+rng.IntN(300)), blobs))
		}
		if rng.IntN(20) == 0 {
			break
		}
	}
	return normal, blobTxs
}

func TestBuilderMatchesGoSquare(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	cases := 300
	if testing.Short() {
		cases = 100
	}
	var overfull, dropped, blobs int
	for c := range cases {
		k := 1 << rng.IntN(8) // 1..128
		normal, blobTxs := randTxSet(t, rng, k)
		name := fmt.Sprintf("case%d_k%d_%dtx_%dblobtx", c, k, len(normal), len(blobTxs))

		// Construct: txs in square order.
		ordered := append(slices.Clone(normal), blobTxs...)
		want, wantErr := gosquare.Construct(ordered, k, share.SubtreeRootThreshold)
		got, gotErr := share.Construct(ordered, k)
		if (wantErr != nil) != (gotErr != nil) {
			t.Fatalf("%s: Construct error %v, go-square %v", name, gotErr, wantErr)
		}
		if wantErr == nil {
			checkSquare(t, name+"/Construct", got, want)
		} else if overfull++; !errors.Is(gotErr, share.ErrTxDoesNotFit) {
			t.Fatalf("%s: Construct error %v, want ErrTxDoesNotFit", name, gotErr)
		}

		// Build: txs shuffled; drops what does not fit.
		mixed := slices.Clone(ordered)
		rng.Shuffle(len(mixed), func(i, j int) { mixed[i], mixed[j] = mixed[j], mixed[i] })
		wantSq, wantKept, err := gosquare.Build(mixed, k, share.SubtreeRootThreshold)
		if err != nil {
			t.Fatalf("%s: go-square Build: %v", name, err)
		}
		gotSq, gotKept, err := share.Build(mixed, k)
		if err != nil {
			t.Fatalf("%s: Build: %v", name, err)
		}
		checkSquare(t, name+"/Build", gotSq, wantSq)
		if !slices.EqualFunc(gotKept, wantKept, bytes.Equal) {
			t.Fatalf("%s: Build kept %d txs, go-square %d", name, len(gotKept), len(wantKept))
		}
		if len(gotKept) < len(mixed) {
			dropped++
		}
		for _, p := range gotSq.PFBs {
			blobs += len(p.Blobs)
		}
		// The kept txs construct the same square.
		again, err := share.Construct(gotKept, k)
		if err != nil {
			t.Fatalf("%s: Construct(kept): %v", name, err)
		}
		if !slices.EqualFunc(again.Shares, gotSq.Shares, bytes.Equal) {
			t.Fatalf("%s: Construct(kept) differs from Build", name)
		}
		checkParse(t, name, gotSq, gotKept)
	}
	t.Logf("%d cases: %d too full for Construct, %d with txs dropped by Build, %d blobs placed", cases, overfull, dropped, blobs)
}

// checkSquare compares our square with go-square's, shares and PFBs.
func checkSquare(t *testing.T, name string, got share.Square, want gosquare.Square) {
	t.Helper()
	if got.Width != want.Size() || !slices.EqualFunc(got.Shares, refShareBytes(want), bytes.Equal) {
		for i := range min(len(got.Shares), len(want)) {
			if string(got.Shares[i]) != string(want[i].ToBytes()) {
				t.Fatalf("%s: width %d (go-square %d); first differing share %d", name, got.Width, want.Size(), i)
			}
		}
		t.Fatalf("%s: width %d, %d shares; go-square width %d, %d shares", name, got.Width, len(got.Shares), want.Size(), len(want))
	}
	wantPFBs, err := want.WrappedPFBs()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.PFBs) != len(wantPFBs) {
		t.Fatalf("%s: %d PFBs, go-square %d", name, len(got.PFBs), len(wantPFBs))
	}
	for i, p := range got.PFBs {
		if string(p.Wrapped) != string(wantPFBs[i]) {
			t.Fatalf("%s: PFB %d differs", name, i)
		}
		iw, err := share.UnmarshalIndexWrapper(p.Wrapped)
		if err != nil {
			t.Fatal(err)
		}
		for j, b := range p.Blobs {
			if int(iw.ShareIndexes[j]) != b.Start {
				t.Fatalf("%s: PFB %d blob %d starts at %d, index wrapper says %d", name, i, j, b.Start, iw.ShareIndexes[j])
			}
			first := got.Shares[b.Start]
			ns := b.Blob.Namespace()
			if string(first[:share.NamespaceSize]) != string(ns[:]) {
				t.Fatalf("%s: PFB %d blob %d: share %d is not its first share", name, i, j, b.Start)
			}
		}
	}
}

// checkParse checks that ParseSquare returns the square's transactions and
// blobs.
func checkParse(t *testing.T, name string, sq share.Square, kept [][]byte) {
	t.Helper()
	ps, err := share.ParseSquare(sq.Shares)
	if err != nil {
		t.Fatalf("%s: ParseSquare: %v", name, err)
	}
	var normal [][]byte
	var blobs []share.PlacedBlob
	for _, tx := range kept {
		btx, isBlobTx, err := share.UnmarshalBlobTx(tx)
		if err != nil && isBlobTx {
			t.Fatal(err)
		}
		if !isBlobTx {
			normal = append(normal, tx)
		} else {
			_ = btx
		}
	}
	for _, p := range sq.PFBs {
		blobs = append(blobs, p.Blobs...)
	}
	slices.SortFunc(blobs, func(a, b share.PlacedBlob) int { return a.Start - b.Start })
	if len(normal) == 0 {
		normal = nil
	}
	if !slices.EqualFunc(ps.Txs, normal, bytes.Equal) {
		t.Fatalf("%s: ParseSquare returned %d txs, want %d", name, len(ps.Txs), len(normal))
	}
	if len(ps.PFBs) != len(sq.PFBs) {
		t.Fatalf("%s: ParseSquare returned %d PFBs, want %d", name, len(ps.PFBs), len(sq.PFBs))
	}
	for i := range ps.PFBs {
		if string(ps.PFBs[i]) != string(sq.PFBs[i].Wrapped) {
			t.Fatalf("%s: ParseSquare PFB %d differs", name, i)
		}
	}
	if len(ps.Blobs) != len(blobs) {
		t.Fatalf("%s: ParseSquare returned %d blobs, want %d", name, len(ps.Blobs), len(blobs))
	}
	for i, b := range ps.Blobs {
		w := blobs[i]
		if b.Start != w.Start || b.Blob.Namespace() != w.Blob.Namespace() || string(b.Blob.Data()) != string(w.Blob.Data()) ||
			b.Blob.ShareVersion() != w.Blob.ShareVersion() || string(b.Blob.Signer()) != string(w.Blob.Signer()) {
			t.Fatalf("%s: ParseSquare blob %d differs", name, i)
		}
	}
}

func TestEmptySquare(t *testing.T) {
	tail := gsshare.TailPaddingShare()
	for _, sq := range []share.Square{share.EmptySquare(), mustBuild(t, nil, 128)} {
		if sq.Width != 1 || len(sq.Shares) != 1 || string(sq.Shares[0]) != string(tail.ToBytes()) {
			t.Fatalf("empty square is not one tail padding share")
		}
		if got := hex.EncodeToString(refDataRoot(t, sq.Shares)); got != "3d96b7d238e7e0456f6af8e7cdf0a67bd6cf9c2089ecb559c659dcaa1f880353" {
			t.Fatalf("empty DAH hash %s", got)
		}
		ps, err := share.ParseSquare(sq.Shares)
		if err != nil || len(ps.Txs)+len(ps.PFBs)+len(ps.Blobs) != 0 {
			t.Fatalf("ParseSquare(empty) = %+v, %v", ps, err)
		}
	}
}

func mustBuild(t *testing.T, txs [][]byte, k int) share.Square {
	t.Helper()
	sq, _, err := share.Build(txs, k)
	if err != nil {
		t.Fatal(err)
	}
	return sq
}

// TestRealBlocks rebuilds two real Celestia blocks (app versions 6 and 7)
// from their transactions and checks the data root against the header's
// data_hash, extending with the reference rsmt2d and nmt.
func TestRealBlocks(t *testing.T) {
	for _, blk := range sharetest.RealBlocks(t, "../testdata/celestia") {
		t.Run(filepath.Base(blk.Path), func(t *testing.T) {
			txs := blk.Txs
			sq, err := share.Construct(txs, share.DefaultMaxSquareSize)
			if err != nil {
				t.Fatal(err)
			}
			if blk.SquareSize > 0 && sq.Width != blk.SquareSize {
				t.Errorf("width %d, block says %d", sq.Width, blk.SquareSize)
			}
			if got := hex.EncodeToString(refDataRoot(t, sq.Shares)); !strings.EqualFold(got, blk.DataHash) {
				t.Fatalf("data root %s, header data_hash %s", got, blk.DataHash)
			}
			// The maximum only decides what fits, never the layout: the
			// upper bound 512 (app v6+) gives the same square.
			if big, err := share.Construct(txs, share.SquareSizeUpperBound); err != nil || !slices.EqualFunc(big.Shares, sq.Shares, bytes.Equal) {
				t.Fatalf("max square size 512 gives a different square (%v)", err)
			}
			built, kept, err := share.Build(txs, share.DefaultMaxSquareSize)
			if err != nil || !slices.EqualFunc(built.Shares, sq.Shares, bytes.Equal) || len(kept) != len(txs) {
				t.Fatalf("Build differs from Construct (%v)", err)
			}
			ref, err := gosquare.Construct(txs, share.DefaultMaxSquareSize, share.SubtreeRootThreshold)
			if err != nil {
				t.Fatal(err)
			}
			checkSquare(t, blk.Path, sq, ref)
			checkParse(t, blk.Path, sq, txs)
			t.Logf("height %d app v%d: width %d, %d txs, %d PFBs", blk.Height, blk.AppVersion, sq.Width, len(txs), len(sq.PFBs))
		})
	}
}
