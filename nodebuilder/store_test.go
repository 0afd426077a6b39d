package nodebuilder_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/internal/badgerdb"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// A node refuses a home whose store has a MANIFEST cut short (Badger
// would start empty and delete every table), naming the file and what to
// do, and changes nothing; reset-store then clears it.
func TestDamagedStoreRefused(t *testing.T) {
	home := t.TempDir()
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
