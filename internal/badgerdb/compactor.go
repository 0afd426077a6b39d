package badgerdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Compactor compacts a database opened with no compactors of its own
// (badger.Options.NumCompactors = 0) when its level 0 fills up.
//
// Badger's compactors each wake every 50 ms to look for work, whether or
// not there is any: two of them (its minimum above none) are 40 wake-ups
// a second, nearly half of an idle light node's (docs/benchmarks.md). A
// store written at a block's pace fills a 4 MB memtable in hours, so a
// look at level 0 every few seconds finds the same work at a fraction of
// the cost. The compaction itself is Badger's Flatten: every level is
// merged into one, which costs the size of the tables (keys and value
// pointers for a light node: values over the value threshold stay in the
// value log and are not rewritten).
//
// The same loop can page out the store's mapped files (PageOutEvery).
type Compactor struct {
	db       *badger.DB
	every    time.Duration
	tables   int
	logger   *slog.Logger
	mu       sync.Mutex
	cancel   context.CancelFunc
	done     chan struct{}
	compacts int
	pageOuts int
	// pageDirs' mapped files are paged out every pageEvery looks (none
	// when 0).
	pageDirs  []string
	pageEvery int
}

// NewCompactor returns a Compactor of db that looks at level 0 every
// interval and compacts once it holds more than tables tables. tables
// must be below db's NumLevelZeroTablesStall (writes wait above it) and
// at least its NumLevelZeroTables: Flatten leaves a store whose only level
// is 0 as it is until then. A nil logger discards.
func NewCompactor(db *badger.DB, every time.Duration, tables int, logger *slog.Logger) (*Compactor, error) {
	if every <= 0 || tables < 1 {
		return nil, fmt.Errorf("badgerdb: compactor: interval %v and tables %d must be positive", every, tables)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Compactor{db: db, every: every, tables: tables, logger: logger}, nil
}

// PageOutEvery makes the loop also page out the mapped files under dirs
// (PageOut) every n-th look, and stop doing so if the system does not
// support it. Call it before Start.
func (c *Compactor) PageOutEvery(n int, dirs ...string) {
	c.pageEvery, c.pageDirs = n, dirs
}

// Start starts the loop; a second Start does nothing.
func (c *Compactor) Start(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go c.run(ctx, c.done)
	return nil
}

// Stop stops the loop and returns once it has exited (a compaction under
// way finishes first, or ctx ends). A second Stop does nothing.
func (c *Compactor) Stop(ctx context.Context) error {
	c.mu.Lock()
	cancel, done := c.cancel, c.done
	c.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("badgerdb: compactor: stop: %w", ctx.Err())
	}
}

// Compactions returns how many compactions the loop has run.
func (c *Compactor) Compactions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.compacts
}

func (c *Compactor) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(c.every)
	defer tick.Stop()
	for looks := 1; ; looks++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if c.pageEvery > 0 && looks%c.pageEvery == 0 {
			c.pageOut()
		}
		if levels := c.db.Levels(); len(levels) == 0 || levels[0].NumTables <= c.tables {
			continue
		}
		if err := c.db.Flatten(1); err != nil {
			c.logger.Warn("compaction failed", "err", err)
			continue
		}
		c.mu.Lock()
		c.compacts++
		c.mu.Unlock()
	}
}

// PageOuts returns how many times the loop has paged out its directories.
func (c *Compactor) PageOuts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pageOuts
}

func (c *Compactor) pageOut() {
	for _, dir := range c.pageDirs {
		_, err := PageOut(dir)
		switch {
		case errors.Is(err, ErrPageOutUnsupported):
			c.pageEvery = 0
			c.logger.Debug("not paging out the store's mapped files", "err", err)
			return
		case err != nil:
			c.logger.Warn("paging out the store's mapped files", "dir", dir, "err", err)
		}
	}
	c.mu.Lock()
	c.pageOuts++
	c.mu.Unlock()
}
