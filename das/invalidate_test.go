package das_test

import (
	"errors"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/das"
	edsstore "github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/header/headertest"
)

// A square found corrupt after it was reported available is dropped and
// invalidated: the DASer no longer says it is available, checks it again
// at once (unavailable while peers withhold it), and stores it again once
// they serve it.
func TestFullInvalidateRefetches(t *testing.T) {
	nt := newNet(t, 20, headertest.Options{})
	f := newFullNode(t, nt, fullOpts()) // retries back off an hour: only Invalidate retries
	f.start()
	defer f.stop()
	waitCatchUp(t, f.d)
	ctx := t.Context()
	const bad = 7

	// The stored square goes bad on disk, as a damaged value log returns it.
	if err := f.db.Update(func(txn *badger.Txn) error { return txn.Set(edsstore.Key(bad), nil) }); err != nil {
		t.Fatal(err)
	}
	f.squares.s.Forget(bad)
	if _, err := f.squares.s.EDS(ctx, bad); !errors.Is(err, edsstore.ErrCorrupt) {
		t.Fatalf("EDS: %v, want ErrCorrupt", err)
	}
	// What the node does on finding it: drop it, invalidate the height.
	f.getter.setWithhold(bad)
	if err := f.db.Update(func(txn *badger.Txn) error { return f.squares.s.Delete(txn, bad) }); err != nil {
		t.Fatal(err)
	}
	f.squares.s.Forget(bad)
	if err := f.d.Invalidate(bad); err != nil {
		t.Fatal(err)
	}
	h := nt.headers[bad-1]
	if err := f.d.SharesAvailable(ctx, h); !errors.Is(err, das.ErrUnavailable) {
		t.Fatalf("SharesAvailable after Invalidate, withheld: %v, want ErrUnavailable", err)
	}
	eventually(t, f.d, "the re-check of the invalidated height", func(s das.Stats) bool { return s.Failed[bad] >= 2 })
	if r, err := f.d.Result(ctx, bad); err != nil || r.Available {
		t.Fatalf("Result after a failed re-check: %+v, %v; want unavailable", r, err)
	}
	if err := f.d.SharesAvailable(ctx, h); !errors.Is(err, das.ErrUnavailable) {
		t.Fatalf("SharesAvailable while withheld: %v, want ErrUnavailable", err)
	}

	// Peers serve it again: the next re-check stores it.
	f.getter.setWithhold()
	if err := f.d.Invalidate(bad); err != nil {
		t.Fatal(err)
	}
	eventually(t, f.d, "the height stored again", func(s das.Stats) bool { return len(s.Failed) == 0 })
	if r, err := f.d.Result(ctx, bad); err != nil || !r.Available || !r.Full {
		t.Fatalf("Result after re-fetch: %+v, %v", r, err)
	}
	if err := f.d.SharesAvailable(ctx, h); err != nil {
		t.Fatal(err)
	}
	checkODS(t, f, bad)
	if n := f.stored.counts()[bad]; n < 2 {
		t.Fatalf("height %d stored %d times, want a second store", bad, n)
	}
}

// Invalidating a height the light DASer sampled deletes its result: it
// is sampled again at once.
func TestInvalidateResamples(t *testing.T) {
	nt := newNet(t, 10, headertest.Options{})
	opts := testOpts(1)
	opts.DB = openDB(t, t.TempDir())
	d := start(t, nt, opts)
	waitCatchUp(t, d)
	before := nt.getter.callsAt(4)
	if err := d.Invalidate(4); err != nil {
		t.Fatal(err)
	}
	eventually(t, d, "the re-sample", func(das.Stats) bool {
		r, err := d.Result(t.Context(), 4)
		return err == nil && r.Available && nt.getter.callsAt(4) > before
	})
	if st := d.Stats(); len(st.Failed) != 0 {
		t.Fatalf("failed: %v", st.Failed)
	}
}
