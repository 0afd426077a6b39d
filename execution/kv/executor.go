package kv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/datamesh/mesh-node/execution/internal/execdb"
	"github.com/datamesh/mesh-node/merkle"
	"github.com/dgraph-io/badger/v4"
	coreexec "github.com/evstack/ev-node/core/execution"
)

// MaxBlockBytes is the most transaction bytes a block applies: the
// transactions after the one that crosses it fail ("over the block's
// byte limit"), on every node alike. It bounds the writes of one block,
// which Badger commits in one transaction.
const MaxBlockBytes = 1 << 20

// MaxChainIDSize is the most bytes of InitChain's chain ID.
const MaxChainIDSize = 256

// Errors of the Executor's methods; each is wrapped with what was asked.
var (
	// ErrNotInitialised: ExecuteTxs, SetFinal or Query before InitChain.
	ErrNotInitialised = errors.New("kv: chain not initialised (InitChain first)")
	// ErrGenesisMismatch: InitChain with other parameters than the
	// database was initialised with.
	ErrGenesisMismatch = errors.New("kv: genesis differs from the stored one")
	// ErrHeight: a block that is not the next one, or a height with no
	// block.
	ErrHeight = errors.New("kv: wrong height")
	// ErrPrevStateRoot: a block whose previous state root is not the
	// executor's.
	ErrPrevStateRoot = errors.New("kv: previous state root differs")
	// ErrConflict: a height executed before, now given another block.
	ErrConflict = errors.New("kv: height already executed with another block")
	// ErrMempoolFull: SubmitTx with the mempool at its limit.
	ErrMempoolFull = errors.New("kv: mempool full")
)

// Config holds the node settings of an Executor. None of them changes
// what a block does, only what this node accepts into its mempool.
type Config struct {
	// MempoolTxs and MempoolBytes bound the mempool; SubmitTx fails with
	// ErrMempoolFull past either. Zero means the default.
	MempoolTxs   int
	MempoolBytes int
}

// Default mempool bounds.
const (
	DefaultMempoolTxs   = 10_000
	DefaultMempoolBytes = 16 << 20
)

// Executor is the key-value machine as an ev-node execution.Executor
// (and execution.HeightProvider) over a Badger database. See the package
// doc for the state it keeps. Its methods are safe for concurrent use;
// blocks are executed one at a time.
type Executor struct {
	db   *badger.DB
	exec sync.Mutex // serialises InitChain, ExecuteTxs and SetFinal
	pool *mempool
}

var (
	_ coreexec.Executor       = (*Executor)(nil)
	_ coreexec.HeightProvider = (*Executor)(nil)
)

// New returns an Executor keeping its state in db, under keys starting
// with "kv/", which it owns; the caller opens db (internal/badgerdb) and
// closes it after its last use of the Executor. A database written
// before resumes where it stopped. It does no I/O.
func New(db *badger.DB, cfg Config) (*Executor, error) {
	if db == nil {
		return nil, errors.New("kv: nil database")
	}
	if cfg.MempoolTxs < 0 || cfg.MempoolBytes < 0 {
		return nil, fmt.Errorf("kv: negative mempool bound (%d txs, %d bytes)", cfg.MempoolTxs, cfg.MempoolBytes)
	}
	if cfg.MempoolTxs == 0 {
		cfg.MempoolTxs = DefaultMempoolTxs
	}
	if cfg.MempoolBytes == 0 {
		cfg.MempoolBytes = DefaultMempoolBytes
	}
	return &Executor{db: db, pool: newMempool(cfg.MempoolTxs, cfg.MempoolBytes)}, nil
}

// Keys of the database.
var (
	keyGenesis   = []byte("kv/genesis")
	keyHead      = []byte("kv/head")
	keyFinal     = []byte("kv/final")
	prefixValue  = []byte("kv/v/") // + key: value
	prefixLeaf   = []byte("kv/l/") // + key: merkle.LeafHash(Leaf(key, value))
	prefixBlocks = []byte("kv/b/") // + height, 8 bytes big-endian: blockRecord
)

func withKey(prefix []byte, key string) []byte {
	return append(bytes.Clone(prefix), key...)
}

func blockKey(h uint64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(prefixBlocks), h)
}

type genesis struct {
	ChainID       string `json:"chain_id"`
	InitialHeight uint64 `json:"initial_height"`
	Time          string `json:"time"` // RFC 3339, UTC, nanoseconds
	StateRoot     []byte `json:"state_root"`
}

// blockRecord is what the executor keeps of each block it executed.
type blockRecord struct {
	// Inputs is execdb.BlockInputs' hash of the block as given to ExecuteTxs.
	Inputs    []byte     `json:"inputs"`
	StateRoot []byte     `json:"state_root"`
	Results   []TxResult `json:"results"`
}

// TxResult is the outcome of one transaction of a block. It is kept by
// the node for its users, not covered by the state root.
type TxResult struct {
	// Error is empty when the transaction applied, otherwise why it was
	// skipped.
	Error string `json:"error,omitempty"`
}

// head is the last executed height (InitialHeight-1 before the first
// block) and the state root after it.
type head struct {
	Height uint64
	Root   []byte
}

func getJSON(txn *badger.Txn, key []byte, v any) error {
	item, err := txn.Get(key)
	if err != nil {
		return err
	}
	return item.Value(func(b []byte) error {
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("kv: stored %s: %w", key, err)
		}
		return nil
	})
}

func setJSON(txn *badger.Txn, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(key, b)
}

func readGenesis(txn *badger.Txn) (genesis, error) {
	var g genesis
	err := getJSON(txn, keyGenesis, &g)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return g, ErrNotInitialised
	}
	return g, err
}

func readHead(txn *badger.Txn) (head, error) {
	item, err := txn.Get(keyHead)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return head{}, ErrNotInitialised
	}
	if err != nil {
		return head{}, err
	}
	b, err := item.ValueCopy(nil)
	if err != nil {
		return head{}, err
	}
	if len(b) != 8+sha256.Size {
		return head{}, fmt.Errorf("kv: stored head of %d bytes", len(b))
	}
	return head{Height: binary.BigEndian.Uint64(b), Root: b[8:]}, nil
}

func writeHead(txn *badger.Txn, h head) error {
	return txn.Set(keyHead, append(binary.BigEndian.AppendUint64(nil, h.Height), h.Root...))
}

// InitChain initialises the chain with an empty state, whose root is
// EmptyRoot, and returns that root. Called again with the same
// parameters, it returns the genesis root, whatever was executed since;
// with others, an error wrapping ErrGenesisMismatch. The initial height
// must be positive and the chain ID non-empty, at most MaxChainIDSize
// bytes.
func (e *Executor) InitChain(ctx context.Context, genesisTime time.Time, initialHeight uint64, chainID string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if initialHeight == 0 {
		return nil, errors.New("kv: initial height 0, must be positive")
	}
	if chainID == "" || len(chainID) > MaxChainIDSize {
		return nil, fmt.Errorf("kv: chain ID of %d bytes, want 1 to %d", len(chainID), MaxChainIDSize)
	}
	want := genesis{ChainID: chainID, InitialHeight: initialHeight, Time: genesisTime.UTC().Format(time.RFC3339Nano), StateRoot: EmptyRoot()}
	e.exec.Lock()
	defer e.exec.Unlock()
	var root []byte
	err := e.db.Update(func(txn *badger.Txn) error {
		g, err := readGenesis(txn)
		switch {
		case err == nil:
			if g.ChainID != want.ChainID || g.InitialHeight != want.InitialHeight || g.Time != want.Time {
				return fmt.Errorf("%w: stored chain %q from height %d at %s, given %q from %d at %s", ErrGenesisMismatch,
					g.ChainID, g.InitialHeight, g.Time, want.ChainID, want.InitialHeight, want.Time)
			}
			root = g.StateRoot
			return nil
		case !errors.Is(err, ErrNotInitialised):
			return err
		}
		if err := setJSON(txn, keyGenesis, want); err != nil {
			return err
		}
		root = want.StateRoot
		return writeHead(txn, head{Height: initialHeight - 1, Root: want.StateRoot})
	})
	if err != nil {
		return nil, fmt.Errorf("kv: init chain: %w", err)
	}
	return root, nil
}

// ExecuteTxs applies the block of height blockHeight, in one Badger
// transaction, and returns the new state root. The block must be the
// next one (the last executed height plus one; the initial height first)
// and prevStateRoot the root after the last one, or it fails with
// ErrHeight or ErrPrevStateRoot and nothing changes. A height already
// executed returns the root it reached then if the block is the same
// (transactions, time and previous root), and fails with ErrConflict
// otherwise.
//
// Each transaction is decoded with DecodeTx and applied in order; one
// that does not decode, or comes after MaxBlockBytes bytes of
// transactions, is skipped and recorded as failed (Results), and the
// block goes on. Transactions of the block leave the mempool.
func (e *Executor) ExecuteTxs(ctx context.Context, txs [][]byte, blockHeight uint64, timestamp time.Time, prevStateRoot []byte) (coreexec.ExecuteResult, error) {
	var res coreexec.ExecuteResult
	if err := ctx.Err(); err != nil {
		return res, err
	}
	inputs := execdb.BlockInputs(txs, blockHeight, timestamp, prevStateRoot)
	e.exec.Lock()
	defer e.exec.Unlock()
	executed := false
	err := e.db.Update(func(txn *badger.Txn) error {
		if _, err := readGenesis(txn); err != nil {
			return err
		}
		h, err := readHead(txn)
		if err != nil {
			return err
		}
		if blockHeight <= h.Height {
			var rec blockRecord
			if err := getJSON(txn, blockKey(blockHeight), &rec); errors.Is(err, badger.ErrKeyNotFound) {
				return fmt.Errorf("%w: height %d is before the initial height", ErrHeight, blockHeight)
			} else if err != nil {
				return err
			}
			if !bytes.Equal(rec.Inputs, inputs) {
				return fmt.Errorf("%w: height %d", ErrConflict, blockHeight)
			}
			res.UpdatedStateRoot = rec.StateRoot
			return nil
		}
		if blockHeight != h.Height+1 {
			return fmt.Errorf("%w: block %d, the next is %d", ErrHeight, blockHeight, h.Height+1)
		}
		if !bytes.Equal(prevStateRoot, h.Root) {
			return fmt.Errorf("%w: block %d builds on %X, the state is %X", ErrPrevStateRoot, blockHeight, prevStateRoot, h.Root)
		}
		results, err := applyTxs(ctx, txn, txs)
		if err != nil {
			return err
		}
		root, err := stateRoot(txn)
		if err != nil {
			return err
		}
		if err := setJSON(txn, blockKey(blockHeight), blockRecord{Inputs: inputs, StateRoot: root, Results: results}); err != nil {
			return err
		}
		res.UpdatedStateRoot = root
		executed = true
		return writeHead(txn, head{Height: blockHeight, Root: root})
	})
	if errors.Is(err, badger.ErrTxnTooBig) {
		err = fmt.Errorf("block larger than the database's transaction limit (raise Badger's memtable size): %w", err)
	}
	if err != nil {
		return coreexec.ExecuteResult{}, fmt.Errorf("kv: execute block %d: %w", blockHeight, err)
	}
	if executed {
		e.pool.remove(txs)
	}
	return res, nil
}

// applyTxs applies txs in order within txn and returns their results.
// Only a database error or ctx ending fail it.
func applyTxs(ctx context.Context, txn *badger.Txn, txs [][]byte) ([]TxResult, error) {
	results := make([]TxResult, len(txs))
	total := 0
	for i, b := range txs {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		total += len(b)
		if total > MaxBlockBytes {
			results[i].Error = fmt.Sprintf("over the block's byte limit of %d", MaxBlockBytes)
			continue
		}
		tx, err := DecodeTx(b)
		if err != nil {
			results[i].Error = err.Error()
			continue
		}
		switch tx.Type {
		case TypeSet:
			if err := txn.Set(withKey(prefixValue, tx.Key), []byte(tx.Value)); err != nil {
				return nil, err
			}
			err = txn.Set(withKey(prefixLeaf, tx.Key), merkle.LeafHash(Leaf(tx.Key, tx.Value)))
		case TypeDelete:
			if err := txn.Delete(withKey(prefixValue, tx.Key)); err != nil {
				return nil, err
			}
			err = txn.Delete(withKey(prefixLeaf, tx.Key))
		}
		if err != nil {
			return nil, err
		}
	}
	return results, nil
}

// leaves returns the keys of the state in order and their leaf hashes,
// as txn sees them (its own writes included).
func leaves(txn *badger.Txn) ([]string, [][]byte, error) {
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256, Prefix: prefixLeaf})
	defer it.Close()
	var keys []string
	var hashes [][]byte
	var buf []byte // the hashes, back to back, in blocks of 4096
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if len(buf)+sha256.Size > cap(buf) {
			buf = make([]byte, 0, 4096*sha256.Size)
		}
		err := item.Value(func(v []byte) error {
			if len(v) != sha256.Size {
				return fmt.Errorf("kv: stored leaf hash of %d bytes", len(v))
			}
			buf = append(buf, v...)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, string(item.Key()[len(prefixLeaf):]))
		hashes = append(hashes, buf[len(buf)-sha256.Size:len(buf):len(buf)])
	}
	return keys, hashes, nil
}

// stateRoot recomputes the root over every entry's stored leaf hash.
func stateRoot(txn *badger.Txn) ([]byte, error) {
	_, hashes, err := leaves(txn)
	if err != nil {
		return nil, err
	}
	return merkle.RootFromLeafHashes(hashes), nil
}

// SetFinal records blockHeight as final. The height must have been
// executed (ErrHeight otherwise); finalising a height at or below the
// final one changes nothing. The key-value machine never reverts a
// block, so finality needs no other work.
func (e *Executor) SetFinal(ctx context.Context, blockHeight uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.exec.Lock()
	defer e.exec.Unlock()
	err := e.db.Update(func(txn *badger.Txn) error {
		g, err := readGenesis(txn)
		if err != nil {
			return err
		}
		h, err := readHead(txn)
		if err != nil {
			return err
		}
		if blockHeight < g.InitialHeight || blockHeight > h.Height {
			return fmt.Errorf("%w: %d is not an executed height (%d to %d)", ErrHeight, blockHeight, g.InitialHeight, h.Height)
		}
		final, err := readFinal(txn)
		if err != nil || blockHeight <= final {
			return err
		}
		return txn.Set(keyFinal, binary.BigEndian.AppendUint64(nil, blockHeight))
	})
	if err != nil {
		return fmt.Errorf("kv: set final %d: %w", blockHeight, err)
	}
	return nil
}

func readFinal(txn *badger.Txn) (uint64, error) {
	return execdb.ReadHeight(txn, keyFinal)
}

// GetExecutionInfo reports MaxGas 0: the key-value machine has no gas.
func (e *Executor) GetExecutionInfo(ctx context.Context) (coreexec.ExecutionInfo, error) {
	return coreexec.ExecutionInfo{}, ctx.Err()
}

// GetLatestHeight returns the last executed height: InitialHeight-1
// before the first block, 0 before InitChain.
func (e *Executor) GetLatestHeight(ctx context.Context) (uint64, error) {
	h, err := e.Head(ctx)
	if errors.Is(err, ErrNotInitialised) {
		return 0, nil
	}
	return h.Height, err
}

// Head is the last executed height and the state root after it.
type Head struct {
	Height    uint64
	StateRoot []byte
	// Final is the highest height SetFinal recorded, 0 if none.
	Final uint64
}

// Head returns the last executed height and state root, or an error
// wrapping ErrNotInitialised before InitChain.
func (e *Executor) Head(ctx context.Context) (Head, error) {
	if err := ctx.Err(); err != nil {
		return Head{}, err
	}
	var out Head
	err := e.db.View(func(txn *badger.Txn) error {
		h, err := readHead(txn)
		if err != nil {
			return err
		}
		out.Height, out.StateRoot = h.Height, h.Root
		out.Final, err = readFinal(txn)
		return err
	})
	if err != nil {
		return Head{}, fmt.Errorf("kv: head: %w", err)
	}
	return out, nil
}

// Results returns the outcome of each transaction of the block at
// height, in block order, and the state root after it. The slice is the
// caller's.
func (e *Executor) Results(ctx context.Context, height uint64) ([]TxResult, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var rec blockRecord
	err := e.db.View(func(txn *badger.Txn) error {
		err := getJSON(txn, blockKey(height), &rec)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: no block at height %d", ErrHeight, height)
		}
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("kv: results: %w", err)
	}
	return rec.Results, rec.StateRoot, nil
}
