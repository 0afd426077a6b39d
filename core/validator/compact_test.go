package validator

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
)

// partsRange holds the parts keys of its height and of no other, whatever
// the heights' digits.
func TestPartsRange(t *testing.T) {
	heights := []int64{1, 9, 10, 11, 19, 99, 100, 101, 110, 1000, 1001, 10000, 999999}
	for _, h := range heights {
		start, end := partsRange(h)
		for _, other := range heights {
			for _, i := range []int{0, 1, 9, 10, 99, 511} {
				key := fmt.Appendf(nil, "P:%d:%d", other, i)
				in := bytes.Compare(key, start) >= 0 && bytes.Compare(key, end) < 0
				if in != (other == h) {
					t.Errorf("key %q in the range of height %d: %v", key, h, in)
				}
			}
		}
	}
}

// After CometBFT deletes pruned blocks, the compactor's range compactions
// give their disk back at once, and the kept blocks read back whole.
func TestPrunedCompactorGivesDiskBack(t *testing.T) {
	dir := t.TempDir()
	db, err := dbm.NewGoLevelDBWithOpts("blockstore", dir, levelDBOptions("blockstore"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const heights, parts, partSize = 60, 8, 64 << 10
	rng := rand.New(rand.NewPCG(1, 2))
	value := func(h int64, i int) []byte {
		v := make([]byte, partSize)
		r := rand.New(rand.NewPCG(uint64(h), uint64(i)))
		for j := range v {
			v[j] = byte(r.Uint32()) // incompressible, as blob data
		}
		return v
	}
	for h := int64(1); h <= heights; h++ {
		b := db.NewBatch()
		for i := range parts {
			if err := b.Set(fmt.Appendf(nil, "P:%d:%d", h, i), value(h, i)); err != nil {
				t.Fatal(err)
			}
		}
		// A header-sized key under a random hash, as CometBFT's "BH:".
		if err := b.Set(fmt.Appendf(nil, "BH:%x", rng.Uint64()), []byte("meta")); err != nil {
			t.Fatal(err)
		}
		if err := b.WriteSync(); err != nil {
			t.Fatal(err)
		}
		b.Close()
	}
	if err := db.Compact(nil, nil); err != nil { // everything in the lower levels, as in a long-running node
		t.Fatal(err)
	}
	full := dirSize(t, dir)

	const pruned = 50
	base := int64(1)
	c := newPrunedCompactor(db, func() int64 { return base }, nil)
	if n, err := c.compact(); n != 0 || err != nil {
		t.Fatalf("first look: %d compacted, %v; want none (it notes the base)", n, err)
	}
	b := db.NewBatch()
	for h := int64(1); h <= pruned; h++ {
		for i := range parts {
			if err := b.Delete(fmt.Appendf(nil, "P:%d:%d", h, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.WriteSync(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	base = pruned + 1
	deleted := dirSize(t, dir)
	n, err := c.compact()
	if err != nil || n != pruned {
		t.Fatalf("compacted %d heights (%v), want %d", n, err, pruned)
	}
	// goleveldb removes the files a compaction replaced in the background,
	// right after it.
	// The kept blocks, and three blocks' worth for the tables at the
	// compacted ranges' ends and the journal.
	want := int64((heights - pruned + 3) * parts * partSize)
	after := dirSize(t, dir)
	for deadline := time.Now().Add(10 * time.Second); after > want && time.Now().Before(deadline); after = dirSize(t, dir) {
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("block store: %d bytes with %d blocks, %d after deleting %d of them, %d after compacting", full, heights, deleted, pruned, after)
	if after > want {
		t.Fatalf("%d bytes 10 s after compacting %d of %d blocks away, from %d: want at most %d", after, pruned, heights, full, want)
	}
	for h := int64(pruned + 1); h <= heights; h++ {
		for i := range parts {
			got, err := db.Get(fmt.Appendf(nil, "P:%d:%d", h, i))
			if err != nil || !bytes.Equal(got, value(h, i)) {
				t.Fatalf("kept part %d of block %d: %d bytes, %v", i, h, len(got), err)
			}
		}
	}
	if n, err := c.compact(); n != 0 || err != nil {
		t.Fatalf("a look with nothing newly pruned: %d compacted, %v", n, err)
	}
}
