// Package badgertest opens Badger databases for the tests of the packages
// that keep data in one (header/store, eds/store, core, core/app, blob,
// the syncer). It is imported by tests only.
//
// The databases are opened with Badger's defaults and no logger, straight
// through badger.Open: a test of a store needs a working database, not
// internal/badgerdb's checks of one on disk, which that package's own tests
// cover.
package badgertest

import (
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// Open opens a database in a new temporary directory of t and closes it
// when t's test ends, failing t if closing fails.
func Open(t testing.TB) *badger.DB {
	t.Helper()
	db := OpenAt(t, t.TempDir())
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// OpenAt opens the database in dir, creating it if needed; the caller
// closes it. Tests that close a database and open it again use it.
func OpenAt(t testing.TB, dir string) *badger.DB {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	return db
}
