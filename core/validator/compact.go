package validator

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// compactInterval is how often a node that keeps only its last blocks
// (Options.RetainBlocks) compacts the key ranges of the blocks CometBFT
// pruned since the last look.
const compactInterval = 5 * time.Second

// compacter is the part of a CometBFT database that compactPruned uses
// (cometbft-db's DB.Compact: goleveldb's CompactRange).
type compacter interface {
	Compact(start, end []byte) error
}

// partsRange returns the key range that holds exactly the parts of the
// block at height in CometBFT's block store (v0.38 keys them
// "P:<height>:<index>" in decimal): every key of another height differs
// from "P:<height>:" before its ':' (a digit, or ';' past its end), and
// ';' sorts right after ':'.
func partsRange(height int64) (start, end []byte) {
	return fmt.Appendf(nil, "P:%d:", height), fmt.Appendf(nil, "P:%d;", height)
}

// prunedCompactor gives back the disk of pruned blocks. CometBFT prunes a
// block by writing deletions of its keys; goleveldb drops the deleted
// values only when a compaction merges the deletions with them, which for
// data in the lower levels can take as long as the data took to get there
// (a 4-minute run of 16 MB/s kept 3.6 GB of a 60-block window). A range
// compaction of each pruned block's parts merges them at once: the parts
// of a block are contiguous in key order and were written together, so it
// rewrites little besides the tables at the range's two ends.
type prunedCompactor struct {
	db     compacter
	base   func() int64 // the block store's lowest kept height
	logger *slog.Logger
	next   int64 // the lowest height not compacted yet; 0 before the first look

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func newPrunedCompactor(db compacter, base func() int64, logger *slog.Logger) *prunedCompactor {
	return &prunedCompactor{db: db, base: base, logger: logger, stop: make(chan struct{}), done: make(chan struct{})}
}

// compact compacts the parts ranges of the heights pruned since the last
// call and returns how many it compacted. The first call only notes the
// base: blocks pruned before this process started were either compacted
// by it or are merged by goleveldb's own compactions in time.
func (c *prunedCompactor) compact() (int, error) {
	base := c.base()
	if c.next == 0 {
		c.next = base
		return 0, nil
	}
	n := 0
	for ; c.next < base; c.next++ {
		select {
		case <-c.stop:
			return n, nil
		default:
		}
		if err := c.db.Compact(partsRange(c.next)); err != nil {
			return n, fmt.Errorf("validator: compact pruned block %d: %w", c.next, err)
		}
		n++
	}
	return n, nil
}

// run calls compact every interval until close.
func (c *prunedCompactor) run(interval time.Duration) {
	defer close(c.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := c.compact(); err != nil {
			c.logger.Warn("compacting pruned blocks", "err", err)
		}
		select {
		case <-t.C:
		case <-c.stop:
			return
		}
	}
}

// close stops run and waits for it (a compaction in progress finishes).
func (c *prunedCompactor) close() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}
