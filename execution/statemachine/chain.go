package statemachine

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

	"github.com/dgraph-io/badger/v4"
	coreexec "github.com/evstack/ev-node/core/execution"

	"github.com/datamesh/mesh-node/execution/internal/execdb"
	"github.com/datamesh/mesh-node/internal/badgerdb"
)

// MaxChainIDSize is the most bytes of InitChain's chain ID.
const MaxChainIDSize = 256

// Errors of the Chain's methods; each is wrapped with what was asked.
var (
	// ErrNotInitialised: ExecuteTxs, SetFinal or a query before InitChain.
	ErrNotInitialised = errors.New("statemachine: chain not initialised (InitChain first)")
	// ErrGenesisMismatch: InitChain with other parameters than the
	// database was initialised with.
	ErrGenesisMismatch = errors.New("statemachine: genesis differs from the stored one")
	// ErrHeight: a block that is not the next one, or a height with no
	// block.
	ErrHeight = errors.New("statemachine: wrong height")
	// ErrPrevStateRoot: a block whose previous state root is not the
	// chain's.
	ErrPrevStateRoot = errors.New("statemachine: previous state root differs")
	// ErrConflict: a height executed before, now given another block.
	ErrConflict = errors.New("statemachine: height already executed with another block")
	// ErrMempoolFull: SubmitTx with the mempool at its limit.
	ErrMempoolFull = errors.New("statemachine: mempool full")
)

// Limits are a Machine's block limits, constants of the machine (never
// node settings: two nodes with different limits would diverge).
type Limits struct {
	// MaxBlockBytes is the most transaction bytes a block applies: the
	// transactions after the one that crosses it are skipped.
	MaxBlockBytes int
	// MaxGas is the gas budget of a block (GetExecutionInfo), 0 for a
	// machine without gas.
	MaxGas uint64
}

// Block is what Apply knows of the block it applies a transaction in.
type Block struct {
	ChainID string
	Height  uint64
	Time    time.Time
	// GasLeft is the block's gas budget (Limits.MaxGas) minus the gas used
	// by the transactions before this one. A machine with gas skips a
	// transaction whose gas limit is above it.
	GasLeft uint64
}

// TxResult is the outcome of one transaction of a block, kept in the
// block's record for the node's users; the state root does not cover it.
type TxResult struct {
	// Error is empty when the transaction applied, otherwise why it failed.
	Error string `json:"error,omitempty"`
	// GasUsed is the gas the transaction was charged (0 without gas); it
	// counts against the block's budget whether or not it failed.
	GasUsed uint64 `json:"gas_used,omitempty"`
	// Output and Events are what a machine returns of a transaction (for
	// example a contract's return data and emitted events).
	Output []byte   `json:"output,omitempty"`
	Events [][]byte `json:"events,omitempty"`
}

// Machine is what a VM gives a Chain: the meaning of a transaction.
type Machine interface {
	// Limits returns the machine's block limits; the Chain reads them once.
	Limits() Limits
	// CheckTx decides whether tx may enter the mempool and a block, against
	// the latest executed state st (read-only), and returns its gas limit
	// (0 without gas). It is how SubmitTx and FilterTxs check a transaction.
	CheckTx(st *State, tx []byte) (gasLimit uint64, err error)
	// Apply applies tx to the block's state st and returns its result: a
	// transaction that fails (does not decode, is not valid, runs out of
	// gas) is a TxResult with an Error, whose writes the machine must not
	// leave in st. A returned error is a fault of the node (the database,
	// ctx ended) and fails the whole block. Apply must be a function of st,
	// b and tx only; the Chain checks ctx between transactions.
	Apply(ctx context.Context, st *State, b Block, tx []byte) (TxResult, error)
}

// Config holds the node settings of a Chain. None of them changes what a
// block does, only what this node accepts into its mempool.
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

// Chain is an ev-node execution.Executor (and execution.HeightProvider)
// over a Machine and a Badger database. Its methods are safe for
// concurrent use; blocks are executed one at a time.
type Chain struct {
	db     *badger.DB
	k      keys
	name   string
	m      Machine
	limits Limits
	exec   sync.Mutex // serialises InitChain, ExecuteTxs and SetFinal
	pool   *mempool
	tree   treeCache // the state's tree at the head, derived state only
}

var (
	_ coreexec.Executor       = (*Chain)(nil)
	_ coreexec.HeightProvider = (*Chain)(nil)
)

// New returns a Chain running m, keeping its state in db under keys
// starting with prefix + "/", which it owns; prefix also starts its
// errors ("kv: execute block 3: ..."). The caller opens db
// (internal/badgerdb) and closes it after its last use of the Chain. A
// database written before resumes where it stopped. It does no I/O.
func New(db *badger.DB, prefix string, m Machine, cfg Config) (*Chain, error) {
	switch {
	case db == nil:
		return nil, fmt.Errorf("%s: nil database", prefix)
	case m == nil:
		return nil, fmt.Errorf("%s: nil machine", prefix)
	case prefix == "":
		return nil, errors.New("statemachine: empty prefix")
	case cfg.MempoolTxs < 0 || cfg.MempoolBytes < 0:
		return nil, fmt.Errorf("%s: negative mempool bound (%d txs, %d bytes)", prefix, cfg.MempoolTxs, cfg.MempoolBytes)
	}
	lim := m.Limits()
	if lim.MaxBlockBytes <= 0 {
		return nil, fmt.Errorf("%s: machine block byte limit %d, must be positive", prefix, lim.MaxBlockBytes)
	}
	if cfg.MempoolTxs == 0 {
		cfg.MempoolTxs = DefaultMempoolTxs
	}
	if cfg.MempoolBytes == 0 {
		cfg.MempoolBytes = DefaultMempoolBytes
	}
	return &Chain{db: db, k: keys{prefix: []byte(prefix + "/")}, name: prefix, m: m, limits: lim,
		pool: newMempool(cfg.MempoolTxs, cfg.MempoolBytes)}, nil
}

type genesis struct {
	ChainID       string `json:"chain_id"`
	InitialHeight uint64 `json:"initial_height"`
	Time          string `json:"time"` // RFC 3339, UTC, nanoseconds
	StateRoot     []byte `json:"state_root"`
}

// blockRecord is what the chain keeps of each block it executed.
type blockRecord struct {
	// Inputs is blockInputs' hash of the block as given to ExecuteTxs.
	Inputs    []byte     `json:"inputs"`
	StateRoot []byte     `json:"state_root"`
	Results   []TxResult `json:"results"`
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
			return fmt.Errorf("stored %s: %w", key, err)
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

func (c *Chain) readGenesis(txn *badger.Txn) (genesis, error) {
	var g genesis
	err := getJSON(txn, c.k.genesis(), &g)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return g, ErrNotInitialised
	}
	return g, err
}

func (c *Chain) readHead(txn *badger.Txn) (head, error) {
	item, err := txn.Get(c.k.head())
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
		return head{}, fmt.Errorf("stored head of %d bytes", len(b))
	}
	return head{Height: binary.BigEndian.Uint64(b), Root: b[8:]}, nil
}

// readGenesisHead reads the genesis and the head.
func (c *Chain) readGenesisHead(txn *badger.Txn) (genesis, head, error) {
	g, err := c.readGenesis(txn)
	if err != nil {
		return g, head{}, err
	}
	h, err := c.readHead(txn)
	return g, h, err
}

func (c *Chain) writeHead(txn *badger.Txn, h head) error {
	return txn.Set(c.k.head(), append(binary.BigEndian.AppendUint64(nil, h.Height), h.Root...))
}

// InitChain initialises the chain with an empty state, whose root is
// EmptyRoot, and returns that root. Called again with the same
// parameters, it returns the genesis root, whatever was executed since;
// with others, an error wrapping ErrGenesisMismatch. The initial height
// must be positive and the chain ID non-empty, at most MaxChainIDSize
// bytes.
func (c *Chain) InitChain(ctx context.Context, genesisTime time.Time, initialHeight uint64, chainID string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if initialHeight == 0 {
		return nil, fmt.Errorf("%s: initial height 0, must be positive", c.name)
	}
	if chainID == "" || len(chainID) > MaxChainIDSize {
		return nil, fmt.Errorf("%s: chain ID of %d bytes, want 1 to %d", c.name, len(chainID), MaxChainIDSize)
	}
	want := genesis{ChainID: chainID, InitialHeight: initialHeight, Time: genesisTime.UTC().Format(time.RFC3339Nano), StateRoot: EmptyRoot()}
	c.exec.Lock()
	defer c.exec.Unlock()
	var root []byte
	err := c.db.Update(func(txn *badger.Txn) error {
		g, err := c.readGenesis(txn)
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
		if err := setJSON(txn, c.k.genesis(), want); err != nil {
			return err
		}
		root = want.StateRoot
		return c.writeHead(txn, head{Height: initialHeight - 1, Root: want.StateRoot})
	})
	if err != nil {
		return nil, fmt.Errorf("%s: init chain: %w", c.name, err)
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
// Each transaction is applied in order by the Machine; one that comes
// after Limits.MaxBlockBytes bytes of transactions is skipped and
// recorded as failed (Results), and the block goes on. Transactions of
// the block leave the mempool.
func (c *Chain) ExecuteTxs(ctx context.Context, txs [][]byte, blockHeight uint64, timestamp time.Time, prevStateRoot []byte) (coreexec.ExecuteResult, error) {
	var res coreexec.ExecuteResult
	if err := ctx.Err(); err != nil {
		return res, err
	}
	inputs := execdb.BlockInputs(txs, blockHeight, timestamp, prevStateRoot)
	c.exec.Lock()
	defer c.exec.Unlock()
	executed := false
	// The cached tree is locked from its update to the block's commit and
	// dropped if the block fails after it was touched.
	locked, touched := false, false
	err := c.db.Update(func(txn *badger.Txn) error {
		g, h, err := c.readGenesisHead(txn)
		if err != nil {
			return err
		}
		if blockHeight <= h.Height {
			var rec blockRecord
			if err := getJSON(txn, c.k.block(blockHeight), &rec); errors.Is(err, badger.ErrKeyNotFound) {
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
		st := &State{txn: txn, k: c.k, chainID: g.ChainID, changes: make(map[string][]byte)}
		b := Block{ChainID: g.ChainID, Height: blockHeight, Time: timestamp, GasLeft: c.limits.MaxGas}
		results, err := c.applyTxs(ctx, st, b, txs)
		if err != nil {
			return err
		}
		c.tree.mu.Lock()
		locked, touched = true, true
		t := c.tree.t
		if t != nil && t.height == h.Height && bytes.Equal(t.Root(), h.Root) {
			t.apply(blockHeight, st.changes)
		} else {
			// No tree of the previous head (the first block since the
			// start): build the block's from the state it wrote.
			c.tree.t = nil
			if t, err = st.tree(blockHeight); err != nil {
				return err
			}
			c.tree.t = t
		}
		root := bytes.Clone(t.Root())
		if err := setJSON(txn, c.k.block(blockHeight), blockRecord{Inputs: inputs, StateRoot: root, Results: results}); err != nil {
			return err
		}
		res.UpdatedStateRoot = root
		executed = true
		return c.writeHead(txn, head{Height: blockHeight, Root: root})
	})
	if locked {
		if err != nil && touched {
			c.tree.t = nil
		}
		c.tree.mu.Unlock()
	}
	if errors.Is(err, badger.ErrTxnTooBig) {
		err = fmt.Errorf("block larger than the database's transaction limit (raise Badger's memtable size): %w", err)
	}
	if err != nil {
		return coreexec.ExecuteResult{}, fmt.Errorf("%s: execute block %d: %w", c.name, blockHeight, err)
	}
	if executed {
		c.pool.remove(txs)
	}
	return res, nil
}

// applyTxs applies txs in order on st and returns their results. Only a
// database error or ctx ending fail it.
func (c *Chain) applyTxs(ctx context.Context, st *State, b Block, txs [][]byte) ([]TxResult, error) {
	results := make([]TxResult, len(txs))
	total := 0
	for i, tx := range txs {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		total += len(tx)
		if total > c.limits.MaxBlockBytes {
			results[i].Error = fmt.Sprintf("over the block's byte limit of %d", c.limits.MaxBlockBytes)
			continue
		}
		r, err := c.m.Apply(ctx, st, b, tx)
		if err != nil {
			return nil, fmt.Errorf("transaction %d: %w", i, err)
		}
		if r.GasUsed > b.GasLeft {
			// A machine keeps within GasLeft; one that does not is charged
			// what was left, so the budget holds whatever it reports.
			r.GasUsed = b.GasLeft
		}
		b.GasLeft -= r.GasUsed
		results[i] = r
	}
	return results, nil
}

// SetFinal records blockHeight as final. The height must have been
// executed (ErrHeight otherwise); finalising a height at or below the
// final one changes nothing. The chain never reverts a block, so finality
// needs no other work.
func (c *Chain) SetFinal(ctx context.Context, blockHeight uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.exec.Lock()
	defer c.exec.Unlock()
	err := c.db.Update(func(txn *badger.Txn) error {
		g, h, err := c.readGenesisHead(txn)
		if err != nil {
			return err
		}
		if blockHeight < g.InitialHeight || blockHeight > h.Height {
			return fmt.Errorf("%w: %d is not an executed height (%d to %d)", ErrHeight, blockHeight, g.InitialHeight, h.Height)
		}
		final, err := c.readFinal(txn)
		if err != nil || blockHeight <= final {
			return err
		}
		return txn.Set(c.k.final(), binary.BigEndian.AppendUint64(nil, blockHeight))
	})
	if err != nil {
		return fmt.Errorf("%s: set final %d: %w", c.name, blockHeight, err)
	}
	return nil
}

func (c *Chain) readFinal(txn *badger.Txn) (uint64, error) {
	return badgerdb.ReadUint64(txn, c.k.final())
}

// GetExecutionInfo reports the machine's gas budget per block
// (Limits.MaxGas, 0 for a machine without gas).
func (c *Chain) GetExecutionInfo(ctx context.Context) (coreexec.ExecutionInfo, error) {
	return coreexec.ExecutionInfo{MaxGas: c.limits.MaxGas}, ctx.Err()
}

// GetLatestHeight returns the last executed height: InitialHeight-1
// before the first block, 0 before InitChain.
func (c *Chain) GetLatestHeight(ctx context.Context) (uint64, error) {
	h, err := c.Head(ctx)
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
func (c *Chain) Head(ctx context.Context) (Head, error) {
	if err := ctx.Err(); err != nil {
		return Head{}, err
	}
	var out Head
	err := c.db.View(func(txn *badger.Txn) error {
		h, err := c.readHead(txn)
		if err != nil {
			return err
		}
		out.Height, out.StateRoot = h.Height, h.Root
		out.Final, err = c.readFinal(txn)
		return err
	})
	if err != nil {
		return Head{}, fmt.Errorf("%s: head: %w", c.name, err)
	}
	return out, nil
}

// Results returns the outcome of each transaction of the block at
// height, in block order, and the state root after it. The slice is the
// caller's.
func (c *Chain) Results(ctx context.Context, height uint64) ([]TxResult, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var rec blockRecord
	err := c.db.View(func(txn *badger.Txn) error {
		err := getJSON(txn, c.k.block(height), &rec)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: no block at height %d", ErrHeight, height)
		}
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: results: %w", c.name, err)
	}
	return rec.Results, rec.StateRoot, nil
}

// View runs f on a read-only snapshot of the latest executed state, with
// the head it is the state of. Before InitChain it fails with
// ErrNotInitialised. Writes through st fail; f must not keep st.
func (c *Chain) View(ctx context.Context, f func(h Head, st *State) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.db.View(func(txn *badger.Txn) error {
		g, h, err := c.readGenesisHead(txn)
		if err != nil {
			return err
		}
		return f(Head{Height: h.Height, StateRoot: h.Root}, &State{txn: txn, k: c.k, chainID: g.ChainID})
	})
}

// snapshot runs f on the latest state for CheckTx: before InitChain the
// state is empty and its chain ID too.
func (c *Chain) snapshot(f func(st *State) error) error {
	return c.db.View(func(txn *badger.Txn) error {
		g, err := c.readGenesis(txn)
		if err != nil && !errors.Is(err, ErrNotInitialised) {
			return err
		}
		return f(&State{txn: txn, k: c.k, chainID: g.ChainID})
	})
}
