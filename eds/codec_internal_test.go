package eds

import (
	"fmt"
	"runtime"
	"testing"
)

// klauspost selects Leopard GF(2^8) up to 256 shards and GF(2^16) above, as
// rsmt2d's codec does (spec section 6).
func TestCodecField(t *testing.T) {
	for _, k := range []int{1, 2, 64, 128, 256, 512} {
		enc, err := codecFor(k)
		if err != nil {
			t.Fatal(err)
		}
		want := "*reedsolomon.leopardFF8"
		if k > 128 {
			want = "*reedsolomon.leopardFF16"
		}
		if got := fmt.Sprintf("%T", enc); got != want {
			t.Fatalf("k=%d: %s, want %s", k, got, want)
		}
		if again, _ := codecFor(k); again != enc {
			t.Fatalf("k=%d: codec not cached", k)
		}
	}
}

func TestLeopardWork(t *testing.T) {
	a := &leopardWork{out: make(map[*[]byte][]byte)}
	small := a.Get(4, 512)
	for i, b := range small {
		if len(b) != 512 {
			t.Fatalf("buffer %d has %d bytes", i, len(b))
		}
	}
	// Buffers start maxShardBytes apart (or their size, if smaller).
	if &small[1][0] != &small[0][:cap(small[0])][512] {
		t.Fatal("buffers are not 512 bytes apart")
	}
	big := a.Get(4, 32<<10)
	if &big[1][0] != &big[0][:cap(big[0])][maxShardBytes] {
		t.Fatal("buffers are not maxShardBytes apart")
	}
	a.Put(big)
	a.Put(small)
	a.Put([][]byte{make([]byte, 10)}) // not ours: ignored
	a.Put(nil)
	if len(a.out) != 0 || len(a.free) != min(2, runtime.GOMAXPROCS(0)) {
		t.Fatalf("%d out, %d free", len(a.out), len(a.free))
	}
	// A request fits in a kept set, whatever its earlier size.
	kept := len(a.free)
	again := a.Get(4, 512)
	if len(a.free) != kept-1 {
		t.Fatal("kept set not reused")
	}
	a.Put(again)

	// When full, the larger sets are kept.
	a = &leopardWork{out: make(map[*[]byte][]byte)}
	var sets [][][]byte
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		sets = append(sets, a.Get(4, 512))
	}
	large := a.Get(8, 32<<10)
	for _, s := range sets {
		a.Put(s)
	}
	a.Put(large)
	found := false
	for _, s := range a.free {
		if &s[0][0] == &large[0][:1][0] {
			found = true
		}
	}
	if !found {
		t.Fatal("the largest set was dropped")
	}
}
