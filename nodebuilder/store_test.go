package nodebuilder_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/das"
	edsstore "github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/internal/badgerdb"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/p2p"
)

// A node refuses a home whose store has a MANIFEST cut short (Badger
// would start empty and delete every table), naming the file and what to
// do, and changes nothing; reset-store then clears it.
func TestDamagedStoreRefused(t *testing.T) {
	home := t.TempDir()
	// The home of a node that ran: its identity beside its store.
	if _, err := p2p.LoadOrCreateIdentity(filepath.Join(home, nodebuilder.KeyFile)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(home, nodebuilder.DataDir)
	db, err := badger.Open(badgerdb.Options(dir).WithMemTableSize(1 << 20).WithValueThreshold(1 << 10))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		if err := db.Update(func(txn *badger.Txn) error { return txn.Set(fmt.Appendf(nil, "k%05d", i), make([]byte, 1000)) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, badger.ManifestFilename), 10); err != nil {
		t.Fatal(err)
	}
	before, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	conf := nodeConfig(nodebuilder.Full, "store-test", "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo")
	n, err := nodebuilder.New(nodebuilder.Full, home, conf, nodebuilder.Options{})
	if err == nil {
		_ = n.Stop(context.Background())
		t.Fatal("New succeeded on a damaged store")
	}
	msg := err.Error()
	if !errors.Is(err, badgerdb.ErrDamaged) || !strings.Contains(msg, filepath.Join(dir, "MANIFEST")) || !strings.Contains(msg, "mesh-node full reset-store") {
		t.Fatalf("New: %v; want ErrDamaged naming the MANIFEST and reset-store", err)
	}
	after, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("files changed: %v, then %v", before, after)
	}
	if _, err := nodebuilder.ResetStore(home); err != nil {
		t.Fatalf("reset-store on a damaged store: %v", err)
	}
	n, err = nodebuilder.New(nodebuilder.Full, home, conf, nodebuilder.Options{})
	if err != nil {
		t.Fatalf("after reset-store: %v", err)
	}
	if err := n.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A square of a full node's store found corrupt when read (as a damaged
// value log returns it: an empty value) is reported and counted, dropped
// with its commitment index, no longer reported available, and fetched
// again from the bridge once it serves it, after which the node serves it
// again.
func TestCorruptSquareRefetched(t *testing.T) {
	const chainID = "corrupt-test"
	const bad = 5
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	chain, squares := chainWithSquares(t, chainID, 3, 8)
	var withhold atomic.Bool
	b := startSquareBridge(ctx, t, chainID, memChain(ctx, t, chain),
		&squareMap{squares: squares, withhold: func(h uint64) bool { return h == bad && withhold.Load() }})

	conf := nodeConfig(nodebuilder.Full, chainID, b.addr(t))
	conf.Header.TrustedHeight = 1
	n := startNodeWith(ctx, t, t.TempDir(), "full", nodebuilder.Full, conf, nodebuilder.Options{
		MetricsAddr: "127.0.0.1:0",
		DAS: func(o *das.Options) {
			o.FullTimeout = 10 * time.Second
			o.RetryBackoff = 50 * time.Millisecond
			o.MaxRetryBackoff = 200 * time.Millisecond
			o.PollInterval = 100 * time.Millisecond
		},
	})
	waitHeight(ctx, t, n, "full", 8)
	waitAvailable(ctx, t, n, "full", 8)
	coretest.WaitUntil(ctx, t, "the blob index of the bad height", func() bool {
		ok, err := n.BlobIndex().Indexed(ctx, bad)
		return ok && err == nil
	})

	// The square goes bad on disk; peers withhold it for now.
	withhold.Store(true)
	if err := n.DB().Update(func(txn *badger.Txn) error { return txn.Set(edsstore.Key(bad), nil) }); err != nil {
		t.Fatal(err)
	}
	n.Squares().Forget(bad)
	if _, err := n.Squares().EDS(ctx, bad); !errors.Is(err, edsstore.ErrCorrupt) {
		t.Fatalf("reading the damaged square: %v, want ErrCorrupt", err)
	}
	if got := scrape(ctx, t, n)["meshnode_store_corrupt_squares_total"]; got != 1 {
		t.Fatalf("meshnode_store_corrupt_squares_total = %v, want 1", got)
	}
	if ok, err := n.Squares().Has(ctx, bad); ok || err != nil {
		t.Fatalf("the corrupt square is still stored: %v, %v", ok, err)
	}
	if ok, err := n.BlobIndex().Indexed(ctx, bad); ok || err != nil {
		t.Fatalf("the corrupt square's index is still there: %v, %v", ok, err)
	}
	if r, err := n.DASer().Result(ctx, bad); err == nil && r.Available {
		t.Fatalf("Result of the dropped square: %+v, still available", r)
	}
	if err := n.DASer().SharesAvailable(ctx, chain[bad-1]); !errors.Is(err, das.ErrUnavailable) {
		t.Fatalf("SharesAvailable of the dropped, withheld square: %v, want ErrUnavailable", err)
	}

	// Peers serve it again: the node fetches it, stores it and serves it.
	withhold.Store(false)
	coretest.WaitUntil(ctx, t, "the square fetched again", func() bool {
		r, err := n.DASer().Result(ctx, bad)
		return err == nil && r.Available
	})
	if err := n.DASer().SharesAvailable(ctx, chain[bad-1]); err != nil {
		t.Fatal(err)
	}
	got, err := n.Squares().ODS(ctx, bad)
	if err != nil {
		t.Fatal(err)
	}
	want := squares[bad].FlattenedODS()
	if len(got) != len(want) {
		t.Fatalf("%d shares stored, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("share %d differs", i)
		}
	}
	// A full node on disk keeps each square in a file of its own: the
	// dropped square's file went with it, the fetched one is the only one.
	files, err := filepath.Glob(filepath.Join(n.Squares().FileDir(), fmt.Sprintf("%016x-*.ods", bad)))
	if err != nil || len(files) != 1 {
		t.Fatalf("square files of height %d: %v (%v), want one", bad, files, err)
	}
	if n.ShareService() == nil {
		t.Fatal("no share service")
	}
	if _, err := n.ShareService().GetEDS(ctx, bad); err != nil {
		t.Fatalf("share.GetEDS of the re-fetched square: %v", err)
	}
}
