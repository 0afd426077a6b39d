package evm

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/ethereum/go-ethereum/triedb"
	"github.com/ethereum/go-ethereum/triedb/hashdb"
	coreexec "github.com/evstack/ev-node/core/execution"

	"github.com/datamesh/mesh-node/execution/internal/execdb"
	"github.com/datamesh/mesh-node/internal/badgerdb"
	"github.com/holiman/uint256"
)

// MaxChainIDSize is the most bytes of InitChain's chain ID.
const MaxChainIDSize = 256

// Errors of the Executor's methods; each is wrapped with what was asked.
var (
	// ErrNotInitialised: ExecuteTxs, SetFinal or a read before InitChain.
	ErrNotInitialised = errors.New("evm: chain not initialised (InitChain first)")
	// ErrGenesisMismatch: InitChain with other parameters or another
	// Genesis than the database was initialised with.
	ErrGenesisMismatch = errors.New("evm: genesis differs from the stored one")
	// ErrHeight: a block that is not the next one, or a height with no
	// block.
	ErrHeight = errors.New("evm: wrong height")
	// ErrPrevStateRoot: a block whose previous state root is not the
	// executor's.
	ErrPrevStateRoot = errors.New("evm: previous state root differs")
	// ErrConflict: a height executed before, now given another block.
	ErrConflict = errors.New("evm: height already executed with another block")
	// ErrBlockTime: a block time before the Unix epoch or before its
	// parent's.
	ErrBlockTime = errors.New("evm: block time goes backwards")
	// ErrMempoolFull: SubmitTx with the mempool at its limit.
	ErrMempoolFull = errors.New("evm: mempool full")
	// ErrNotFound: a block, transaction or receipt the database does not
	// hold.
	ErrNotFound = errors.New("evm: not found")
)

// Config holds the node settings of an Executor. None of them changes
// what a block does, only what this node accepts into its mempool and
// serves.
type Config struct {
	// MempoolTxs and MempoolBytes bound the mempool; SubmitTx fails with
	// ErrMempoolFull past either. Zero means the default.
	MempoolTxs   int
	MempoolBytes int
}

// Default mempool bounds.
const (
	DefaultMempoolTxs   = 10_000
	DefaultMempoolBytes = 64 << 20
)

// Executor is an Ethereum virtual machine as an ev-node
// execution.Executor (and execution.HeightProvider) over a Badger
// database; see the package doc. Its methods are safe for concurrent
// use; blocks are executed one at a time.
type Executor struct {
	db      *badger.DB
	gen     Genesis
	config  *params.ChainConfig
	signer  types.Signer
	triedb  *triedb.Database
	statedb state.Database

	exec sync.Mutex // serialises InitChain, ExecuteTxs and SetFinal
	pool *mempool
}

var (
	_ coreexec.Executor       = (*Executor)(nil)
	_ coreexec.HeightProvider = (*Executor)(nil)
)

// Keys of the database, all under "evm/".
var (
	prefixTrie   = []byte("evm/t/") // go-ethereum's trie nodes and code (kvStore)
	keyGenesis   = []byte("evm/genesis")
	keyHead      = []byte("evm/head")
	keyFinal     = []byte("evm/final")
	prefixBlocks = []byte("evm/b/") // + height, 8 bytes big-endian: blockRecord
	prefixHashes = []byte("evm/h/") // + block hash: height, 8 bytes
	prefixTxs    = []byte("evm/x/") // + tx hash: height, 8 bytes, and index, 4 bytes
)

// New returns an Executor for genesis keeping its state in db under keys
// starting with "evm/", which it owns; the caller opens db
// (internal/badgerdb) and closes it after its last use of the Executor.
// A database written before resumes where it stopped. It does no I/O.
func New(db *badger.DB, genesis Genesis, cfg Config) (*Executor, error) {
	if db == nil {
		return nil, errors.New("evm: nil database")
	}
	if err := genesis.Validate(); err != nil {
		return nil, err
	}
	if cfg.MempoolTxs < 0 || cfg.MempoolBytes < 0 {
		return nil, fmt.Errorf("evm: negative mempool bound (%d txs, %d bytes)", cfg.MempoolTxs, cfg.MempoolBytes)
	}
	if cfg.MempoolTxs == 0 {
		cfg.MempoolTxs = DefaultMempoolTxs
	}
	if cfg.MempoolBytes == 0 {
		cfg.MempoolBytes = DefaultMempoolBytes
	}
	kv := &kvStore{db: db, prefix: prefixTrie}
	tdb := triedb.NewDatabase(rawdb.NewDatabase(kv), &triedb.Config{HashDB: hashdb.Defaults})
	config := genesis.ChainConfig()
	return &Executor{
		db:      db,
		gen:     genesis,
		config:  config,
		signer:  types.NewLondonSigner(config.ChainID),
		triedb:  tdb,
		statedb: state.NewDatabase(tdb, state.NewCodeDB(kv)),
		pool:    newMempool(cfg.MempoolTxs, cfg.MempoolBytes),
	}, nil
}

// ChainConfig returns the chain's fork configuration (a copy).
func (e *Executor) ChainConfig() *params.ChainConfig { return e.gen.ChainConfig() }

// Genesis returns the genesis the Executor was made with.
func (e *Executor) Genesis() Genesis { return e.gen }

type genesisRecord struct {
	ChainID       string `json:"chain_id"`
	InitialHeight uint64 `json:"initial_height"`
	Time          string `json:"time"` // RFC 3339, UTC, nanoseconds
	Genesis       []byte `json:"genesis"`
	StateRoot     []byte `json:"state_root"`
}

// blockRecord is what the executor keeps of each block it executed. The
// Ethereum block holds the transactions that applied, in order; the
// others are only in Results.
type blockRecord struct {
	// Inputs is execdb.BlockInputs' hash of the block as given to ExecuteTxs
	// (nil for the genesis block).
	Inputs   []byte           `json:"inputs,omitempty"`
	Header   *types.Header    `json:"header"`
	Txs      [][]byte         `json:"txs"`  // the applied transactions, binary
	From     []common.Address `json:"from"` // their senders
	Receipts []*types.Receipt `json:"receipts"`
	Results  []TxResult       `json:"results"`
}

// TxResult is the outcome of one transaction given to ExecuteTxs. It is
// kept by the node for its users; only applied transactions are part of
// the Ethereum block.
type TxResult struct {
	// Hash is the transaction's hash, zero if it did not decode.
	Hash common.Hash `json:"hash"`
	// Error is empty when the transaction applied (its receipt may still
	// report a failed execution, e.g. out of gas), otherwise why it was
	// skipped.
	Error string `json:"error,omitempty"`
}

type head struct {
	Height uint64
	Root   common.Hash
}

func getJSON(txn *badger.Txn, key []byte, v any) error {
	item, err := txn.Get(key)
	if err != nil {
		return err
	}
	return item.Value(func(b []byte) error {
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("evm: stored %q: %w", key, err)
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

func heightKey(prefix []byte, h uint64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(prefix), h)
}

func hashKey(prefix []byte, h common.Hash) []byte {
	return append(bytes.Clone(prefix), h[:]...)
}

func readGenesis(txn *badger.Txn) (genesisRecord, error) {
	var g genesisRecord
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
	if len(b) != 8+common.HashLength {
		return head{}, fmt.Errorf("evm: stored head of %d bytes", len(b))
	}
	return head{Height: binary.BigEndian.Uint64(b), Root: common.BytesToHash(b[8:])}, nil
}

func writeHead(txn *badger.Txn, h head) error {
	return txn.Set(keyHead, append(binary.BigEndian.AppendUint64(nil, h.Height), h.Root[:]...))
}

func readBlock(txn *badger.Txn, height uint64) (*blockRecord, error) {
	var rec blockRecord
	err := getJSON(txn, heightKey(prefixBlocks, height), &rec)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: no block at height %d", ErrNotFound, height)
	}
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

// writeBlock stores rec at height with its hash and transaction indexes
// and makes it the head, within txn.
func writeBlock(txn *badger.Txn, height uint64, rec *blockRecord) error {
	if err := setJSON(txn, heightKey(prefixBlocks, height), rec); err != nil {
		return err
	}
	if err := txn.Set(hashKey(prefixHashes, rec.Header.Hash()), binary.BigEndian.AppendUint64(nil, height)); err != nil {
		return err
	}
	for i, r := range rec.Receipts {
		loc := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, height), uint32(i))
		if err := txn.Set(hashKey(prefixTxs, r.TxHash), loc); err != nil {
			return err
		}
	}
	return writeHead(txn, head{Height: height, Root: rec.Header.Root})
}

// baseHeader is a header of this chain with the fields every block shares.
func (e *Executor) baseHeader(height, t uint64) *types.Header {
	zero := uint64(0)
	return &types.Header{
		UncleHash:       types.EmptyUncleHash,
		Coinbase:        e.gen.FeeRecipient,
		Difficulty:      new(big.Int),
		Number:          new(big.Int).SetUint64(height),
		GasLimit:        e.gen.GasLimit,
		Time:            t,
		BaseFee:         new(big.Int).Set(e.gen.BaseFee.ToInt()),
		WithdrawalsHash: &types.EmptyWithdrawalsHash,
		BlobGasUsed:     &zero,
		ExcessBlobGas:   &zero,
		TxHash:          types.EmptyTxsHash,
		ReceiptHash:     types.EmptyReceiptsHash,
	}
}

// InitChain writes the genesis state (the Genesis' accounts) as block
// initialHeight-1 and returns its state root. Called again with the same
// parameters and Genesis, it returns the genesis root, whatever was
// executed since; with others, an error wrapping ErrGenesisMismatch. The
// initial height must be positive and the chain ID non-empty, at most
// MaxChainIDSize bytes. The EVM's own chain ID (EIP-155) is the Genesis'
// ChainID; InitChain's chainID names the rollup.
func (e *Executor) InitChain(ctx context.Context, genesisTime time.Time, initialHeight uint64, chainID string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if initialHeight == 0 {
		return nil, errors.New("evm: initial height 0, must be positive")
	}
	if chainID == "" || len(chainID) > MaxChainIDSize {
		return nil, fmt.Errorf("evm: chain ID of %d bytes, want 1 to %d", len(chainID), MaxChainIDSize)
	}
	if genesisTime.Unix() < 0 {
		return nil, fmt.Errorf("%w: genesis time %s before 1970", ErrBlockTime, genesisTime)
	}
	want := genesisRecord{ChainID: chainID, InitialHeight: initialHeight, Time: genesisTime.UTC().Format(time.RFC3339Nano), Genesis: e.gen.hash()}
	e.exec.Lock()
	defer e.exec.Unlock()
	var stored genesisRecord
	err := e.db.View(func(txn *badger.Txn) error {
		var err error
		stored, err = readGenesis(txn)
		return err
	})
	switch {
	case err == nil:
		if stored.ChainID != want.ChainID || stored.InitialHeight != want.InitialHeight || stored.Time != want.Time || !bytes.Equal(stored.Genesis, want.Genesis) {
			return nil, fmt.Errorf("%w: stored chain %q from height %d at %s, given %q from %d at %s (or another genesis file)", ErrGenesisMismatch,
				stored.ChainID, stored.InitialHeight, stored.Time, want.ChainID, want.InitialHeight, want.Time)
		}
		return stored.StateRoot, nil
	case !errors.Is(err, ErrNotInitialised):
		return nil, fmt.Errorf("evm: init chain: %w", err)
	}

	sdb, err := state.New(types.EmptyRootHash, e.statedb)
	if err != nil {
		return nil, fmt.Errorf("evm: init chain: %w", err)
	}
	for _, addr := range e.gen.sortedAlloc() {
		a := e.gen.Alloc[addr]
		bal, _ := uint256.FromBig(a.Balance.ToInt())
		sdb.SetBalance(addr, bal, tracing.BalanceIncreaseGenesisBalance)
		sdb.SetNonce(addr, a.Nonce, tracing.NonceChangeGenesis)
		if len(a.Code) > 0 {
			sdb.SetCode(addr, a.Code, tracing.CodeChangeGenesis)
		}
		for k, v := range a.Storage {
			sdb.SetState(addr, k, v)
		}
	}
	number := initialHeight - 1
	hdr := e.baseHeader(number, uint64(genesisTime.Unix()))
	root, err := e.commitState(sdb, hdr)
	if err != nil {
		return nil, fmt.Errorf("evm: init chain: %w", err)
	}
	hdr.Root = root
	want.StateRoot = root.Bytes()
	err = e.db.Update(func(txn *badger.Txn) error {
		if err := setJSON(txn, keyGenesis, want); err != nil {
			return err
		}
		return writeBlock(txn, number, &blockRecord{Header: hdr})
	})
	if err != nil {
		return nil, fmt.Errorf("evm: init chain: %w", err)
	}
	return want.StateRoot, nil
}

// rules returns the fork rules of a block.
func (e *Executor) rules(h *types.Header) params.Rules {
	return e.config.Rules(h.Number, true, h.Time)
}

// commitState commits sdb's changes for the block of hdr and writes the
// trie nodes and code they reach to the database, returning the root.
func (e *Executor) commitState(sdb *state.StateDB, hdr *types.Header) (common.Hash, error) {
	root, err := sdb.Commit(e.rules(hdr), hdr.Number.Uint64())
	if err != nil {
		return common.Hash{}, fmt.Errorf("commit state: %w", err)
	}
	if err := e.triedb.Commit(root, false); err != nil {
		return common.Hash{}, fmt.Errorf("write state trie: %w", err)
	}
	return root, nil
}

// blockContext is the EVM's view of the block of hdr; getHash answers
// BLOCKHASH from the stored blocks.
func (e *Executor) blockContext(hdr *types.Header) vm.BlockContext {
	number := hdr.Number.Uint64()
	return vm.BlockContext{
		CanTransfer: core.CanTransfer,
		Transfer:    core.Transfer,
		GetHash: func(n uint64) common.Hash {
			if n >= number {
				return common.Hash{}
			}
			var h common.Hash
			_ = e.db.View(func(txn *badger.Txn) error {
				rec, err := readBlock(txn, n)
				if err == nil {
					h = rec.Header.Hash()
				}
				return nil
			})
			return h
		},
		Coinbase:    hdr.Coinbase,
		GasLimit:    hdr.GasLimit,
		BlockNumber: new(big.Int).Set(hdr.Number),
		Time:        hdr.Time,
		Difficulty:  new(big.Int),
		BaseFee:     new(big.Int).Set(hdr.BaseFee),
		BlobBaseFee: big.NewInt(params.BlobTxMinBlobGasprice),
		Random:      &hdr.MixDigest,
	}
}

// ExecuteTxs executes the block of height blockHeight and returns the new
// state root, the EVM's (the root of the account trie). The block must be
// the next one (the last executed height plus one) and prevStateRoot the
// root after the last one, or it fails with ErrHeight or ErrPrevStateRoot
// and nothing changes. A height already executed returns the root it
// reached then if the block is the same (transactions, time and previous
// root), and fails with ErrConflict otherwise. The block's time must not
// be before its parent's (ErrBlockTime); it is counted in whole seconds.
//
// Each transaction is decoded and checked as SubmitTx does (type, size,
// chain ID, signature) and applied in order with go-ethereum's state
// transition; one that fails a check, or that the state refuses (nonce,
// funds, intrinsic gas, fee cap below the base fee, the block's gas
// exhausted), is skipped with the state as it was and recorded as failed
// (Results), and the block goes on. A transaction that applies has a
// receipt, even if its execution reverted or ran out of gas.
//
// Atomicity: the trie nodes and code the block creates are written first;
// they are keyed by their hash, never change or get deleted, and nothing
// refers to them until the block's record (header, transactions,
// receipts, indexes) and the new head are written in one Badger
// transaction. A crash before that commit leaves unreferenced nodes and
// the previous head, whose state is complete; Badger applies transactions
// in commit order, so a head that survives a crash has its nodes.
func (e *Executor) ExecuteTxs(ctx context.Context, txs [][]byte, blockHeight uint64, timestamp time.Time, prevStateRoot []byte) (coreexec.ExecuteResult, error) {
	var res coreexec.ExecuteResult
	if err := ctx.Err(); err != nil {
		return res, err
	}
	inputs := execdb.BlockInputs(txs, blockHeight, timestamp, prevStateRoot)
	e.exec.Lock()
	defer e.exec.Unlock()
	rec, root, err := e.executeBlock(ctx, txs, blockHeight, timestamp, prevStateRoot, inputs)
	if err != nil {
		return res, fmt.Errorf("evm: execute block %d: %w", blockHeight, err)
	}
	if rec != nil {
		e.afterBlock(rec)
	}
	res.UpdatedStateRoot = root
	return res, nil
}

// executeBlock returns the record of the block it executed and its root,
// or a nil record and the stored root for a replayed block.
func (e *Executor) executeBlock(ctx context.Context, txs [][]byte, height uint64, timestamp time.Time, prevStateRoot, inputs []byte) (*blockRecord, []byte, error) {
	var (
		h      head
		parent *blockRecord
	)
	err := e.db.View(func(txn *badger.Txn) error {
		if _, err := readGenesis(txn); err != nil {
			return err
		}
		var err error
		if h, err = readHead(txn); err != nil {
			return err
		}
		if height <= h.Height {
			rec, err := readBlock(txn, height)
			if err != nil || rec.Inputs == nil {
				return fmt.Errorf("%w: height %d is not after the genesis block", ErrHeight, height)
			}
			if !bytes.Equal(rec.Inputs, inputs) {
				return fmt.Errorf("%w: height %d", ErrConflict, height)
			}
			parent = rec
			return nil
		}
		parent, err = readBlock(txn, h.Height)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if height <= h.Height {
		return nil, parent.Header.Root.Bytes(), nil
	}
	if height != h.Height+1 {
		return nil, nil, fmt.Errorf("%w: block %d, the next is %d", ErrHeight, height, h.Height+1)
	}
	if !bytes.Equal(prevStateRoot, h.Root[:]) {
		return nil, nil, fmt.Errorf("%w: block %d builds on %X, the state is %X", ErrPrevStateRoot, height, prevStateRoot, h.Root)
	}
	if timestamp.Unix() < int64(parent.Header.Time) {
		return nil, nil, fmt.Errorf("%w: block %d at %d, its parent at %d", ErrBlockTime, height, timestamp.Unix(), parent.Header.Time)
	}

	hdr := e.baseHeader(height, uint64(timestamp.Unix()))
	hdr.ParentHash = parent.Header.Hash()
	sdb, err := state.New(h.Root, e.statedb)
	if err != nil {
		return nil, nil, err
	}
	rec := &blockRecord{Inputs: inputs, Header: hdr, Results: make([]TxResult, len(txs)), Txs: [][]byte{}, From: []common.Address{}, Receipts: []*types.Receipt{}}
	evm := vm.NewEVM(e.blockContext(hdr), sdb, e.config, vm.Config{})
	gp := core.NewGasPool(hdr.GasLimit)
	var applied types.Transactions
	for i, raw := range txs {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		tx, from, err := e.decodeTx(raw)
		if err != nil {
			rec.Results[i].Error = err.Error()
			continue
		}
		rec.Results[i].Hash = tx.Hash()
		msg, err := core.TransactionToMessage(tx, e.signer, hdr.BaseFee)
		if err != nil {
			rec.Results[i].Error = "evm: " + err.Error()
			continue
		}
		snap, gsnap := sdb.Snapshot(), gp.Snapshot()
		n := len(applied)
		sdb.SetTxContext(tx.Hash(), n, uint32(n+1))
		receipt, _, err := core.ApplyTransactionWithEVM(ctx, msg, gp, sdb, hdr.Number, common.Hash{}, hdr.Time, tx, evm)
		if err != nil {
			sdb.RevertToSnapshot(snap)
			gp.Set(gsnap)
			rec.Results[i].Error = "evm: " + err.Error()
			continue
		}
		receipt.EffectiveGasPrice = msg.GasPrice.ToBig()
		if receipt.Logs == nil {
			receipt.Logs = []*types.Log{} // the JSON form requires the member
		}
		applied = append(applied, tx)
		rec.Txs = append(rec.Txs, raw)
		rec.From = append(rec.From, from)
		rec.Receipts = append(rec.Receipts, receipt)
	}
	root, err := e.commitState(sdb, hdr)
	if err != nil {
		return nil, nil, err
	}
	hdr.Root = root
	hdr.GasUsed = gp.Used()
	hdr.Bloom = types.MergeBloom(rec.Receipts)
	if len(applied) > 0 {
		hdr.TxHash = types.DeriveSha(applied, trie.NewStackTrie(nil))
		hdr.ReceiptHash = types.DeriveSha(types.Receipts(rec.Receipts), trie.NewStackTrie(nil))
	}
	hash := hdr.Hash()
	var logIndex uint
	for i, r := range rec.Receipts {
		r.BlockHash = hash
		r.BlockNumber = new(big.Int).Set(hdr.Number)
		r.TransactionIndex = uint(i)
		for _, l := range r.Logs {
			l.BlockHash, l.BlockNumber, l.BlockTimestamp = hash, height, hdr.Time
			l.TxIndex, l.TxHash, l.Index = uint(i), r.TxHash, logIndex
			logIndex++
		}
	}
	err = e.db.Update(func(txn *badger.Txn) error { return writeBlock(txn, height, rec) })
	if errors.Is(err, badger.ErrTxnTooBig) {
		err = fmt.Errorf("block record larger than the database's transaction limit (raise Badger's memtable size): %w", err)
	}
	if err != nil {
		return nil, nil, err
	}
	return rec, root.Bytes(), nil
}

// SetFinal records blockHeight as final. The height must have been
// executed (ErrHeight otherwise); finalising a height at or below the
// final one changes nothing. The executor never reverts a block, so
// finality needs no other work.
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
		return fmt.Errorf("evm: set final %d: %w", blockHeight, err)
	}
	return nil
}

func readFinal(txn *badger.Txn) (uint64, error) {
	return badgerdb.ReadUint64(txn, keyFinal)
}

// GetExecutionInfo reports the block gas limit as MaxGas.
func (e *Executor) GetExecutionInfo(ctx context.Context) (coreexec.ExecutionInfo, error) {
	return coreexec.ExecutionInfo{MaxGas: e.gen.GasLimit}, ctx.Err()
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
	StateRoot common.Hash
	// Final is the highest height SetFinal recorded, 0 if none.
	Final uint64
	// Genesis is the genesis block's height, InitChain's initial height
	// minus one.
	Genesis uint64
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
		g, err := readGenesis(txn)
		if err != nil {
			return err
		}
		out.Genesis = g.InitialHeight - 1
		out.Final, err = readFinal(txn)
		return err
	})
	if err != nil {
		return Head{}, fmt.Errorf("evm: head: %w", err)
	}
	return out, nil
}
