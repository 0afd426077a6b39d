package validator

import (
	"errors"
	"fmt"
	"sync"

	dbm "github.com/cometbft/cometbft-db"
	cfg "github.com/cometbft/cometbft/config"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// cometDBs opens CometBFT's databases and remembers them, so that each is
// closed exactly once whatever happened: in CometBFT v0.38, Node.OnStop
// closes the block, state and evidence stores but not the transaction
// index, and a node that failed to build or start closes none.
type cometDBs struct {
	mu  sync.Mutex
	dbs []*guardedDB
}

// open is the node's cfg.DBProvider: cfg.DefaultDBProvider's database,
// guarded and recorded; the transaction index ("tx_index") stores its
// entries without the transactions (slimTxIndex).
func (c *cometDBs) open(ctx *cfg.DBContext) (dbm.DB, error) {
	var d dbm.DB
	var err error
	if dbm.BackendType(ctx.Config.DBBackend) == dbm.GoLevelDBBackend {
		d, err = dbm.NewGoLevelDBWithOpts(ctx.ID, ctx.Config.DBDir(), levelDBOptions(ctx.ID))
	} else {
		d, err = cfg.DefaultDBProvider(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("open CometBFT database %s: %w", ctx.ID, err)
	}
	if ctx.ID == "tx_index" {
		d = slimTxIndex{d}
	}
	g := &guardedDB{DB: d, id: ctx.ID}
	c.mu.Lock()
	c.dbs = append(c.dbs, g)
	c.mu.Unlock()
	return g, nil
}

// levelDBOptions are the goleveldb options of CometBFT's database id,
// where CometBFT's default provider passes none.
//
// Every database gets a Bloom filter (10 bits a key, about 1% false
// positives). Without one, a lookup of a missing key reads and
// decompresses the table block where the key would be; the "is it
// included yet?" polls of clients submitting blobs (state's, through
// meshrpc's tx route) are mostly misses, and while the transaction index
// held whole blob transactions (before slimTxIndex) a CPU profile of the
// devnet under a 20 MB/s blob load showed a fifth of the core process's
// time in those reads.
//
// The block store, which takes a block's worth of transactions at every
// height (32 MiB squares), gets a 32 MiB write buffer in place of 4 MiB,
// so a block is one or a few level-0 tables rather than eight, and
// compaction rewrites less. The transaction index, without the
// transactions, takes a few hundred bytes a transaction and keeps the
// default.
func levelDBOptions(id string) *opt.Options {
	o := &opt.Options{Filter: filter.NewBloomFilter(10)}
	if id == "blockstore" {
		o.WriteBuffer = 32 << 20
	}
	return o
}

// get returns the database opened as id (CometBFT's "blockstore",
// "state", ...), nil if none was.
func (c *cometDBs) get(id string) *guardedDB {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.dbs {
		if d.id == id {
			return d
		}
	}
	return nil
}

// closeAll closes every database not closed yet (guardedDB.Close is a
// no-op on a closed one). Call it after the node stopped, or when it
// failed to build or start.
func (c *cometDBs) closeAll() error {
	c.mu.Lock()
	dbs := c.dbs
	c.dbs = nil
	c.mu.Unlock()
	var errs []error
	for _, d := range dbs {
		if err := d.Close(); err != nil {
			errs = append(errs, fmt.Errorf("validator: close CometBFT database %s: %w", d.id, err))
		}
	}
	return errors.Join(errs...)
}

// guardedDB turns use after Close into "not found" and dropped writes, and
// makes Close idempotent. CometBFT's reactor and peer goroutines outlive
// Node.Stop for a moment and can read the block store after OnStop closed
// it; goleveldb then fails the read and the block store panics on the
// error, which would crash a production node on shutdown as it fails
// tests. Close waits for the reads and writes in flight.
type guardedDB struct {
	dbm.DB
	id     string
	mu     sync.RWMutex
	closed bool
}

func (g *guardedDB) Get(k []byte) ([]byte, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil, nil
	}
	return g.DB.Get(k)
}

func (g *guardedDB) Has(k []byte) (bool, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return false, nil
	}
	return g.DB.Has(k)
}

func (g *guardedDB) Set(k, v []byte) error { return g.write(func() error { return g.DB.Set(k, v) }) }
func (g *guardedDB) SetSync(k, v []byte) error {
	return g.write(func() error { return g.DB.SetSync(k, v) })
}
func (g *guardedDB) Delete(k []byte) error { return g.write(func() error { return g.DB.Delete(k) }) }
func (g *guardedDB) DeleteSync(k []byte) error {
	return g.write(func() error { return g.DB.DeleteSync(k) })
}

// Compact compacts the key range [start, end), unless the database is
// closed; Close waits for it.
func (g *guardedDB) Compact(start, end []byte) error {
	return g.write(func() error { return g.DB.Compact(start, end) })
}

func (g *guardedDB) write(f func() error) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil
	}
	return f()
}

func (g *guardedDB) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return g.DB.Close()
}
