package rollup

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/encoding/protowire"
)

// ErrNotFound: no block stored at a height.
var ErrNotFound = errors.New("rollup: not found")

// Store keeps a rollup node's blocks in Badger, under keys starting with
// "rollup/", which it owns: the blocks by height with the DataMesh height
// each was posted at, the head, the DataMesh height a follower has read
// to, a sequencer's block in progress and a follower's halt evidence.
// Each change is one Badger transaction. The database may be the one the
// executor uses (execution/kv keeps to "kv/"); see the package doc for
// how the two stay consistent across a crash.
type Store struct {
	db *badger.DB
}

// Keys of the database.
var (
	keyGenesis = []byte("rollup/genesis")
	keyHead    = []byte("rollup/head")    // 8 bytes: the last stored height
	keySyncDA  = []byte("rollup/sync-da") // 8 bytes: the last DataMesh height read
	keyPending = []byte("rollup/pending") // a sequencer's block in progress
	keyHalt    = []byte("rollup/halt")    // JSON Evidence
	prefixBlk  = []byte("rollup/b/")      // + height, 8 bytes big-endian: DA height (8 bytes) || block
)

func blkKey(h uint64) []byte { return binary.BigEndian.AppendUint64(bytes.Clone(prefixBlk), h) }

// StoredBlock is a block as the store keeps it.
type StoredBlock struct {
	Block *Block
	// Raw is the block's encoding, the blob posted.
	Raw []byte
	// DAHeight is the DataMesh height the block was found at (a
	// follower) or included at (a sequencer); 0 while a sequencer's
	// block is not yet posted.
	DAHeight uint64
}

// OpenStore returns the store in db for the rollup of g. The first open
// records g; a later one with another genesis fails, so a node never
// mixes the blocks of two chains. It does no other I/O.
func OpenStore(db *badger.DB, g *Genesis) (*Store, error) {
	if db == nil {
		return nil, errors.New("rollup: store: nil database")
	}
	want, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("rollup: store: %w", err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(keyGenesis)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set(keyGenesis, want)
		}
		if err != nil {
			return err
		}
		return item.Value(func(have []byte) error {
			if !bytes.Equal(have, want) && !sameGenesis(have, want) {
				return fmt.Errorf("the database holds the rollup of genesis %s, given %s", have, want)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("rollup: store: %w", err)
	}
	return &Store{db: db}, nil
}

func getUint64(txn *badger.Txn, key []byte) (uint64, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	b, err := item.ValueCopy(nil)
	if err != nil {
		return 0, false, err
	}
	if len(b) != 8 {
		return 0, false, fmt.Errorf("stored %s of %d bytes", key, len(b))
	}
	return binary.BigEndian.Uint64(b), true, nil
}

func setUint64(txn *badger.Txn, key []byte, v uint64) error {
	return txn.Set(key, binary.BigEndian.AppendUint64(nil, v))
}

// Head returns the last stored height, and false when no block is
// stored.
func (s *Store) Head() (uint64, bool, error) {
	var h uint64
	var ok bool
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		h, ok, err = getUint64(txn, keyHead)
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("rollup: store: head: %w", err)
	}
	return h, ok, nil
}

// SyncDAHeight returns the last DataMesh height a follower has read
// completely, 0 before the first.
func (s *Store) SyncDAHeight() (uint64, error) {
	var h uint64
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		h, _, err = getUint64(txn, keySyncDA)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("rollup: store: sync height: %w", err)
	}
	return h, nil
}

// Block returns the block stored at height, or an error wrapping
// ErrNotFound. The result is the caller's.
func (s *Store) Block(height uint64) (*StoredBlock, error) {
	var sb *StoredBlock
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		sb, err = readBlock(txn, height)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("rollup: store: block %d: %w", height, err)
	}
	return sb, nil
}

func readBlock(txn *badger.Txn, height uint64) (*StoredBlock, error) {
	item, err := txn.Get(blkKey(height))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, err
	}
	if len(v) < 8 {
		return nil, fmt.Errorf("stored block of %d bytes", len(v))
	}
	blk, err := DecodeBlock(v[8:])
	if err != nil {
		return nil, fmt.Errorf("stored block: %w", err)
	}
	if blk.Header.Height != height {
		return nil, fmt.Errorf("stored block has height %d", blk.Header.Height)
	}
	return &StoredBlock{Block: blk, Raw: v[8:], DAHeight: binary.BigEndian.Uint64(v)}, nil
}

func writeBlock(txn *badger.Txn, sb *StoredBlock) error {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(sb.Raw)), sb.DAHeight)
	return txn.Set(blkKey(sb.Block.Header.Height), append(v, sb.Raw...))
}

// AppendBlocks stores blocks, which must follow the head in order, and
// sets the sync height to syncDA, in one transaction: a follower's
// progress through one DataMesh height.
func (s *Store) AppendBlocks(blocks []*StoredBlock, syncDA uint64) error {
	if err := s.db.Update(func(txn *badger.Txn) error { return appendBlocks(txn, blocks, syncDA) }); err != nil {
		return fmt.Errorf("rollup: store: append: %w", err)
	}
	return nil
}

func appendBlocks(txn *badger.Txn, blocks []*StoredBlock, syncDA uint64) error {
	head, ok, err := getUint64(txn, keyHead)
	if err != nil {
		return err
	}
	for _, sb := range blocks {
		if h := sb.Block.Header.Height; ok && h != head+1 {
			return fmt.Errorf("block %d after head %d", h, head)
		}
		if err := writeBlock(txn, sb); err != nil {
			return err
		}
		head, ok = sb.Block.Header.Height, true
	}
	if ok {
		if err := setUint64(txn, keyHead, head); err != nil {
			return err
		}
	}
	return setUint64(txn, keySyncDA, syncDA)
}

// Pending is a sequencer's block in progress: the inputs it gives the
// executor, recorded before ExecuteTxs so that a restart executes the
// same block again instead of another one at the same height.
type Pending struct {
	Height uint64
	Time   time.Time
	Txs    [][]byte
	// ForcedTxs is how many of Txs are the first pending forced
	// transactions (Header.ForcedTxs).
	ForcedTxs uint64
}

func (p *Pending) encode() []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, p.Height)
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(p.Time.UnixNano()))
	if p.ForcedTxs != 0 {
		b = protowire.AppendTag(b, 4, protowire.VarintType)
		b = protowire.AppendVarint(b, p.ForcedTxs)
	}
	for _, tx := range p.Txs {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, tx)
	}
	return b
}

func decodePending(b []byte) (*Pending, error) {
	r := reader{b: b}
	var p Pending
	var err error
	if p.Height, err = r.varintField(1); err != nil {
		return nil, err
	}
	ns, err := r.varintField(2)
	if err != nil {
		return nil, err
	}
	p.Time = time.Unix(0, int64(ns)).UTC()
	if num, _, n := protowire.ConsumeTag(r.b); n > 0 && num == 4 {
		if p.ForcedTxs, err = r.varintField(4); err != nil {
			return nil, err
		}
	}
	for len(r.b) > 0 {
		tx, err := r.bytesField(3)
		if err != nil {
			return nil, err
		}
		p.Txs = append(p.Txs, bytes.Clone(tx))
	}
	return &p, nil
}

// SetPending records the sequencer's next block's inputs.
func (s *Store) SetPending(p *Pending) error {
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyPending, p.encode()) }); err != nil {
		return fmt.Errorf("rollup: store: pending: %w", err)
	}
	return nil
}

// GetPending returns the sequencer's block in progress, nil if none.
func (s *Store) GetPending() (*Pending, error) {
	var p *Pending
	err := s.getValue(keyPending, func(v []byte) (err error) {
		p, err = decodePending(v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("rollup: store: pending: %w", err)
	}
	return p, nil
}

// getValue calls decode with the value of key, if it is set.
func (s *Store) getValue(key []byte, decode func([]byte) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(decode)
	})
}

// CommitProduced stores a block the sequencer produced (not yet posted),
// makes it the head and clears the pending inputs, in one transaction;
// it also drops the block's forced transactions (Header.ForcedTxs) from
// the front of the forced queue.
func (s *Store) CommitProduced(sb *StoredBlock) error {
	err := s.db.Update(func(txn *badger.Txn) error {
		if err := popForced(txn, sb.Block.Header.ForcedTxs); err != nil {
			return err
		}
		head, ok, err := getUint64(txn, keyHead)
		if err != nil {
			return err
		}
		if h := sb.Block.Header.Height; ok && h != head+1 {
			return fmt.Errorf("block %d after head %d", h, head)
		}
		if err := writeBlock(txn, sb); err != nil {
			return err
		}
		if err := txn.Delete(keyPending); err != nil {
			return err
		}
		return setUint64(txn, keyHead, sb.Block.Header.Height)
	})
	if err != nil {
		return fmt.Errorf("rollup: store: commit block %d: %w", sb.Block.Header.Height, err)
	}
	return nil
}

// MarkPosted records that the blocks at heights were included at
// DataMesh height daHeight.
func (s *Store) MarkPosted(heights []uint64, daHeight uint64) error {
	err := s.db.Update(func(txn *badger.Txn) error {
		for _, h := range heights {
			sb, err := readBlock(txn, h)
			if err != nil {
				return fmt.Errorf("block %d: %w", h, err)
			}
			sb.DAHeight = daHeight
			if err := writeBlock(txn, sb); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rollup: store: mark posted: %w", err)
	}
	return nil
}

// Unposted returns the stored blocks with no DataMesh height, in height
// order, scanning back from the head until a posted block (the sequencer
// posts in order).
func (s *Store) Unposted() ([]*StoredBlock, error) {
	var out []*StoredBlock
	err := s.db.View(func(txn *badger.Txn) error {
		head, ok, err := getUint64(txn, keyHead)
		if err != nil || !ok {
			return err
		}
		for h := head; h > 0; h-- {
			sb, err := readBlock(txn, h)
			if errors.Is(err, ErrNotFound) {
				break
			}
			if err != nil {
				return err
			}
			if sb.DAHeight != 0 {
				break
			}
			out = append(out, sb)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rollup: store: unposted: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// SetHalt records why a follower halted; it stays halted across
// restarts.
func (s *Store) SetHalt(ev *Evidence) error {
	b, err := json.Marshal(ev)
	if err == nil {
		err = s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyHalt, b) })
	}
	if err != nil {
		return fmt.Errorf("rollup: store: halt: %w", err)
	}
	return nil
}

// Halt returns the evidence a follower halted on, nil if it did not.
func (s *Store) Halt() (*Evidence, error) {
	var ev *Evidence
	err := s.getValue(keyHalt, func(v []byte) error {
		ev = &Evidence{}
		return json.Unmarshal(v, ev)
	})
	if err != nil {
		return nil, fmt.Errorf("rollup: store: halt: %w", err)
	}
	return ev, nil
}
