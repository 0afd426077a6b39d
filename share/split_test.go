package share_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	gsshare "github.com/celestiaorg/go-square/v3/share"
	"github.com/datamesh/mesh-node/share"
)

func TestSparseSharesMatchGoSquare(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := []int{1, 457, 458, 459, 477, 478, 479, 959, 960, 961, 5000}
	for range 200 {
		sizes = append(sizes, 1+rng.IntN(20000))
	}
	for _, size := range sizes {
		for _, v := range []uint8{0, 1} {
			var signer []byte
			if v == 1 {
				signer = randBytes(rng, share.SignerSize)
			}
			b, err := share.NewBlob(randNamespace(rng), randBytes(rng, size), v, signer)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := refBlob(t, b).ToShares()
			if err != nil {
				t.Fatal(err)
			}
			got := shareBytes(b.Shares())
			if !slices.EqualFunc(got, refShareBytes(ref), bytes.Equal) {
				t.Fatalf("size %d v%d: sparse shares differ", size, v)
			}
			if b.SharesNeeded() != len(got) || gsshare.SparseSharesNeeded(uint32(size), v == 1) != len(got) {
				t.Fatalf("size %d v%d: SharesNeeded %d, %d shares", size, v, b.SharesNeeded(), len(got))
			}
		}
	}
}

func TestCompactSharesMatchGoSquare(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for c := range 300 {
		n := rng.IntN(12)
		units := make([][]byte, n)
		for i := range units {
			switch rng.IntN(4) {
			case 0:
				units[i] = randBytes(rng, rng.IntN(3))
			case 1:
				units[i] = randBytes(rng, 470+rng.IntN(12))
			default:
				units[i] = randBytes(rng, rng.IntN(3000))
			}
		}
		for _, ns := range []share.Namespace{share.TxNamespace, share.PayForBlobNamespace} {
			got, err := share.SplitCompact(ns, units)
			if err != nil {
				t.Fatal(err)
			}
			rns, _ := gsshare.NewNamespaceFromBytes(ns[:])
			w := gsshare.NewCompactShareSplitter(rns, 0)
			var counter share.CompactShareCounter
			refCounter := gsshare.NewCompactShareCounter()
			for _, u := range units {
				if err := w.WriteTx(u); err != nil {
					t.Fatal(err)
				}
				if d, rd := counter.Add(len(u)), refCounter.Add(len(u)); d != rd {
					t.Fatalf("case %d: counter delta %d, go-square %d", c, d, rd)
				}
			}
			ref, err := w.Export()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(shareBytes(got), refShareBytes(ref), bytes.Equal) {
				t.Fatalf("case %d: compact shares differ (%d vs %d shares)", c, len(got), len(ref))
			}
			if counter.Size() != len(got) || refCounter.Size() != len(got) {
				t.Fatalf("case %d: counter says %d shares, go-square counter %d, split %d", c, counter.Size(), refCounter.Size(), len(got))
			}
		}
	}
	if _, err := share.SplitCompact(mustNamespace(t, "blobs"), nil); !errors.Is(err, share.ErrInvalidNamespace) {
		t.Fatalf("SplitCompact in a blob namespace: %v", err)
	}
}

func TestCompactShareCounterRevert(t *testing.T) {
	var c share.CompactShareCounter
	c.Add(100)
	before := c.Size()
	c.Add(5000)
	c.Revert()
	c.Revert()
	if c.Size() != before || c.SequenceLen() != 101 {
		t.Fatalf("after revert: %d shares, %d bytes", c.Size(), c.SequenceLen())
	}
}

func TestPaddingSharesMatchGoSquare(t *testing.T) {
	ns := mustNamespace(t, "padding")
	rns, _ := gsshare.NewNamespaceFromBytes(ns[:])
	for _, v := range []uint8{0, 1, 127} {
		got, err := share.NamespacePaddingShare(ns, v)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := gsshare.NamespacePaddingShare(rns, v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, ref.ToBytes()) {
			t.Fatalf("v%d namespace padding differs", v)
		}
		if pad, _ := got.IsPadding(); !pad {
			t.Fatal("namespace padding is not padding")
		}
		if has, _ := got.HasSigner(); has {
			t.Fatal("v1 padding share has a signer")
		}
	}
	if _, err := share.NamespacePaddingShare(ns, 128); !errors.Is(err, share.ErrUnsupportedShareVersion) {
		t.Fatalf("version 128: %v", err)
	}
	rp, tp := gsshare.ReservedPaddingShare(), gsshare.TailPaddingShare()
	if !bytes.Equal(share.PrimaryReservedPaddingShare(), rp.ToBytes()) {
		t.Fatal("primary reserved padding differs")
	}
	if !bytes.Equal(share.TailPaddingShare(), tp.ToBytes()) {
		t.Fatal("tail padding differs")
	}
}

// TestInclusionHelpersMatchGoSquare compares the share-count and
// commitment-rule arithmetic with go-square's.
func TestInclusionHelpersMatchGoSquare(t *testing.T) {
	for n := 0; n <= 70000; n += 1 + n/50 {
		if got, want := share.CompactSharesNeeded(n), gsshare.CompactSharesNeeded(uint32(n)); got != want {
			t.Fatalf("CompactSharesNeeded(%d) = %d, want %d", n, got, want)
		}
		for _, signer := range []bool{false, true} {
			if got, want := share.SparseSharesNeeded(n, signer), gsshare.SparseSharesNeeded(uint32(n), signer); got != want {
				t.Fatalf("SparseSharesNeeded(%d, %v) = %d, want %d", n, signer, got, want)
			}
		}
	}
	for n := 1; n <= share.MaxShareCount; n += 1 + n/200 {
		if got, want := share.SubTreeWidth(n), refSubTreeWidth(n); got != want {
			t.Fatalf("SubTreeWidth(%d) = %d, want %d", n, got, want)
		}
		if got, want := share.BlobMinSquareSize(n), refBlobMinSquareSize(n); got != want {
			t.Fatalf("BlobMinSquareSize(%d) = %d, want %d", n, got, want)
		}
		w := share.SubTreeWidth(n)
		got := share.MerkleMountainRangeSizes(n, w)
		want, _ := refMMR(n, w)
		if len(got) != len(want) {
			t.Fatalf("MMR(%d, %d): %v, want %v", n, w, got, want)
		}
		for i := range got {
			if uint64(got[i]) != want[i] {
				t.Fatalf("MMR(%d, %d): %v, want %v", n, w, got, want)
			}
		}
		for _, cursor := range []int{0, 1, 63, 64, 65, 1000} {
			if got, want := share.NextShareIndex(cursor, n), refNextShareIndex(cursor, n); got != want {
				t.Fatalf("NextShareIndex(%d, %d) = %d, want %d", cursor, n, got, want)
			}
		}
	}
	for n, want := range map[int]int{-1: 1, 0: 1, 1: 1, 2: 2, 3: 4, 64: 64, 65: 128} {
		if got := share.RoundUpPowerOfTwo(n); got != want {
			t.Fatalf("RoundUpPowerOfTwo(%d) = %d", n, got)
		}
	}
	for n, want := range map[int]int{-1: 0, 0: 0, 1: 1, 3: 2, 64: 64, 127: 64} {
		if got := share.RoundDownPowerOfTwo(n); got != want {
			t.Fatalf("RoundDownPowerOfTwo(%d) = %d", n, got)
		}
	}
}

func mustNamespace(t testing.TB, id string) share.Namespace {
	t.Helper()
	ns, err := share.NewV0Namespace([]byte(id))
	if err != nil {
		t.Fatal(err)
	}
	return ns
}
