package rpc

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/rollup"
)

// Bytes is bytes written as hex in JSON; it reads hex with or without
// a 0x prefix.
type Bytes []byte

// MarshalText writes hex, without a prefix.
func (b Bytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(b)), nil }

// UnmarshalText reads hex, with or without 0x.
func (b *Bytes) UnmarshalText(t []byte) error {
	s := strings.TrimPrefix(strings.TrimPrefix(string(t), "0x"), "0X")
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("rollup rpc: not hex: %w", err)
	}
	*b = v
	return nil
}

// Transaction states of TxStatus.
const (
	// StatePending: in the executor's mempool, not yet in a block.
	StatePending = "pending"
	// StateSoft: in a block of this node's chain not yet included on
	// DataMesh (a sequencer's soft confirmation).
	StateSoft = "soft"
	// StateIncluded: in a block included on DataMesh.
	StateIncluded = "included"
	// StateUnknown: neither (never submitted, refused, dropped, or
	// between the mempool and the block's storing for an instant).
	StateUnknown = "unknown"
)

// TxHash is a transaction's hash in this API: SHA-256 of its bytes.
func TxHash(tx []byte) []byte {
	h := sha256.Sum256(tx)
	return h[:]
}

// TxStatus is the answer of rollup_txStatus.
type TxStatus struct {
	Hash  Bytes  `json:"hash"`
	State string `json:"state"`
	// Height is the block holding the transaction (soft, included).
	Height uint64 `json:"height,omitempty"`
	// DAHeight is the DataMesh height the block is included at.
	DAHeight uint64 `json:"da_height,omitempty"`
}

// Status is the answer of rollup_status.
type Status struct {
	// Role is "sequencer" or "follower".
	Role    string `json:"role"`
	ChainID string `json:"chain_id"`
	// Height and StateRoot are the head of the chain (0: no block).
	Height    uint64 `json:"height"`
	StateRoot Bytes  `json:"state_root,omitempty"`
	// DAHeight is, for a follower, the last DataMesh height read
	// completely; for a sequencer, the DataMesh height of its last
	// posted block.
	DAHeight uint64 `json:"da_height"`
	// Posted and Unposted are a sequencer's: its last posted height and
	// the number of blocks waiting to be posted.
	Posted   uint64 `json:"posted,omitempty"`
	Unposted int    `json:"unposted,omitempty"`
	// LastError is the last failure (cleared by the next success).
	LastError string `json:"last_error,omitempty"`
	// Halted is a follower's evidence against a block it rejected.
	Halted *rollup.Evidence `json:"halted,omitempty"`
}

// BlockInfo is the answer of rollup_getBlock.
type BlockInfo struct {
	Height     uint64    `json:"height"`
	Hash       Bytes     `json:"hash"`
	ChainID    string    `json:"chain_id"`
	Time       time.Time `json:"time"`
	ParentHash Bytes     `json:"parent_hash"`
	DataHash   Bytes     `json:"data_hash"`
	StateRoot  Bytes     `json:"state_root"`
	Proposer   Bytes     `json:"proposer"`
	Signature  Bytes     `json:"signature"`
	// Txs are the transactions, TxHashes their hashes.
	Txs      []Bytes `json:"txs"`
	TxHashes []Bytes `json:"tx_hashes"`
	// DAHeight is the DataMesh height of the block, 0 while a
	// sequencer's block is not yet posted.
	DAHeight uint64 `json:"da_height"`
	// Raw is the block's encoding, the blob posted.
	Raw Bytes `json:"raw"`
	// Results is the executor's outcome of each transaction, in block
	// order (its JSON: for kv and wasm, statemachine.TxResult's error,
	// gas_used, output and events), when the node serves them
	// (Config.Results) and has executed the block.
	Results json.RawMessage `json:"results,omitempty"`
}

// QueryResult is the answer of rollup_query: the executor's Answer (its
// JSON form, with its proof) against StateRoot, the state root of the
// chain's block at Height.
type QueryResult struct {
	Height    uint64          `json:"height"`
	StateRoot Bytes           `json:"state_root"`
	Answer    json.RawMessage `json:"answer"`
}

// QueryFunc answers a query from the executor's latest state: the answer
// (JSON, carrying its proof) and the height and state root it was read
// at. A bad query is an error wrapping ErrInvalidParams.
type QueryFunc func(ctx context.Context, q []byte) (answer json.RawMessage, height uint64, root []byte, err error)

// Mempool is the part of the executor TxStatus reads: its waiting
// transactions (execution.Executor's GetTxs).
type Mempool interface {
	GetTxs(ctx context.Context) ([][]byte, error)
}

// Config is what an API serves from. All fields are required except
// Query (no rollup_query without it) and Results.
type Config struct {
	// Store is the node's rollup store.
	Store *rollup.Store
	// DB holds the transaction index, under keys "rollup-rpc/", which the
	// API owns (normally the node's database).
	DB *badger.DB
	// Mempool is the executor's.
	Mempool Mempool
	// Submit hands a transaction to the executor's mempool
	// (SubmitTx): its error is the client's.
	Submit func(ctx context.Context, tx []byte) error
	// Status reports the sequencer's or follower's state.
	Status func() Status
	Query  QueryFunc
	// Results, optional, returns the executor's per-transaction outcomes
	// of the block at height (JSON) for rollup_getBlock.
	Results func(ctx context.Context, height uint64) (json.RawMessage, error)
}

// Errors of the API, wrapped by what its methods return.
var (
	// ErrInvalidParams is a bad argument: JSON-RPC code -32602.
	ErrInvalidParams = errors.New("rollup rpc: invalid params")
	// ErrNotFound is a block or state the node does not have.
	ErrNotFound = errors.New("rollup rpc: not found")
)

// codedError carries its JSON-RPC code (Code) to go-ethereum's rpc
// server, which reads it from an ErrorCode method: an EVM node serving
// API beside eth_* answers bad input with -32602 and a missing block or
// state with -32001, as Server does.
type codedError struct{ err error }

func (e codedError) Error() string  { return e.err.Error() }
func (e codedError) Unwrap() error  { return e.err }
func (e codedError) ErrorCode() int { return Code(e.err) }

// coded gives *err its code, for go-ethereum's server; the message is
// unchanged.
func coded(err *error) {
	if *err != nil && Code(*err) != CodeServer {
		*err = codedError{*err}
	}
}

// MaxTxSize bounds a submitted transaction.
const MaxTxSize = 1 << 20

// API is the rollup's JSON-RPC methods, in namespace "rollup"; Server
// serves them, and its methods have the shape go-ethereum's rpc server
// registers (RegisterName), so an EVM node serves them beside eth_*.
// Its methods are safe for concurrent use.
type API struct {
	cfg Config

	idxMu sync.Mutex // serialises indexing
}

// NewAPI returns an API over cfg. It does no I/O.
func NewAPI(cfg Config) (*API, error) {
	if cfg.Store == nil || cfg.DB == nil || cfg.Mempool == nil || cfg.Submit == nil || cfg.Status == nil {
		return nil, errors.New("rollup rpc: Store, DB, Mempool, Submit and Status are required")
	}
	return &API{cfg: cfg}, nil
}

// SubmitTx is rollup_submitTx: it hands tx to the executor's mempool and
// returns its hash (TxHash).
func (a *API) SubmitTx(ctx context.Context, tx Bytes) (_ Bytes, err error) {
	defer coded(&err)
	if len(tx) == 0 || len(tx) > MaxTxSize {
		return nil, fmt.Errorf("%w: transaction of %d bytes, want 1 to %d", ErrInvalidParams, len(tx), MaxTxSize)
	}
	if err := a.cfg.Submit(ctx, tx); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	return TxHash(tx), nil
}

// TxStatus is rollup_txStatus: where the transaction of hash is
// (pending, soft, included or unknown).
func (a *API) TxStatus(ctx context.Context, hash Bytes) (_ *TxStatus, err error) {
	defer coded(&err)
	if len(hash) != sha256.Size {
		return nil, fmt.Errorf("%w: hash of %d bytes, want %d", ErrInvalidParams, len(hash), sha256.Size)
	}
	out := &TxStatus{Hash: hash, State: StateUnknown}
	height, ok, err := a.lookup(hash)
	if err != nil {
		return nil, err
	}
	if ok {
		sb, err := a.cfg.Store.Block(height)
		if err != nil {
			return nil, fmt.Errorf("rollup rpc: %w", err)
		}
		out.Height, out.DAHeight, out.State = height, sb.DAHeight, StateSoft
		if sb.DAHeight > 0 {
			out.State = StateIncluded
		}
		return out, nil
	}
	txs, err := a.cfg.Mempool.GetTxs(ctx)
	if err != nil {
		return nil, fmt.Errorf("rollup rpc: mempool: %w", err)
	}
	for _, tx := range txs {
		if string(TxHash(tx)) == string(hash) {
			out.State = StatePending
			break
		}
	}
	return out, nil
}

// Status is rollup_status.
func (a *API) Status(context.Context) (*Status, error) {
	st := a.cfg.Status()
	return &st, nil
}

// GetBlock is rollup_getBlock: the stored block at height.
func (a *API) GetBlock(ctx context.Context, height uint64) (_ *BlockInfo, err error) {
	defer coded(&err)
	sb, err := a.cfg.Store.Block(height)
	if errors.Is(err, rollup.ErrNotFound) {
		return nil, fmt.Errorf("%w: block %d", ErrNotFound, height)
	}
	if err != nil {
		return nil, fmt.Errorf("rollup rpc: %w", err)
	}
	out, err := blockInfo(sb)
	if err != nil || a.cfg.Results == nil {
		return out, err
	}
	// A stored block is executed, so its results are there; a failure
	// is the node's.
	if out.Results, err = a.cfg.Results(ctx, height); err != nil {
		return nil, fmt.Errorf("rollup rpc: results of block %d: %w", height, err)
	}
	return out, nil
}

func blockInfo(sb *rollup.StoredBlock) (*BlockInfo, error) {
	h := sb.Block.Header
	hash, err := h.Hash()
	if err != nil {
		return nil, fmt.Errorf("rollup rpc: block %d: %w", h.Height, err)
	}
	out := &BlockInfo{Height: h.Height, Hash: hash, ChainID: h.ChainID, Time: h.Time, ParentHash: h.ParentHash, DataHash: h.DataHash,
		StateRoot: h.StateRoot, Proposer: Bytes(h.Proposer), Signature: h.Signature, DAHeight: sb.DAHeight, Raw: sb.Raw,
		Txs: make([]Bytes, len(sb.Block.Txs)), TxHashes: make([]Bytes, len(sb.Block.Txs))}
	for i, tx := range sb.Block.Txs {
		out.Txs[i], out.TxHashes[i] = tx, TxHash(tx)
	}
	return out, nil
}

// Query is rollup_query: the executor's answer to q (the executor's
// query encoding) with its proof against the state root of the block at
// the answer's height. height, when given, must be the latest: the
// executors keep only the latest state, and an older height is refused
// with ErrNotFound. The answer is checked to be read at a block of this
// node's chain (a halted follower's executor may be past it).
func (a *API) Query(ctx context.Context, q Bytes, height *uint64) (_ *QueryResult, err error) {
	defer coded(&err)
	if a.cfg.Query == nil {
		return nil, fmt.Errorf("%w: this node serves no queries", ErrNotFound)
	}
	if len(q) == 0 || len(q) > MaxTxSize {
		return nil, fmt.Errorf("%w: query of %d bytes, want 1 to %d", ErrInvalidParams, len(q), MaxTxSize)
	}
	ans, h, root, err := a.cfg.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	if height != nil && *height != h {
		return nil, fmt.Errorf("%w: state at height %d: only the latest state, at height %d, is kept", ErrNotFound, *height, h)
	}
	sb, err := a.cfg.Store.Block(h)
	if err != nil {
		return nil, fmt.Errorf("%w: the executor's state at height %d is not a block of this node's chain yet: %w", ErrNotFound, h, err)
	}
	if string(sb.Block.Header.StateRoot) != string(root) {
		return nil, fmt.Errorf("%w: the executor's state root at height %d, %X, is not the chain's block's %X", ErrNotFound, h, root, sb.Block.Header.StateRoot)
	}
	return &QueryResult{Height: h, StateRoot: root, Answer: ans}, nil
}

// Keys of the transaction index.
var (
	keyIndexed = []byte("rollup-rpc/indexed")
	prefixTx   = []byte("rollup-rpc/tx/") // + TxHash: the height of its first block, 8 bytes
)

// lookup returns the height of the block holding the transaction of
// hash, indexing the blocks stored since the last call first.
func (a *API) lookup(hash []byte) (uint64, bool, error) {
	if err := a.index(); err != nil {
		return 0, false, err
	}
	var h uint64
	var ok bool
	err := a.cfg.DB.View(func(txn *badger.Txn) error {
		var err error
		h, ok, err = readHeight(txn, append(append([]byte{}, prefixTx...), hash...))
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("rollup rpc: tx index: %w", err)
	}
	return h, ok, nil
}

// index adds the stored blocks past the indexed height to the index. A
// block's transactions never change once stored, so the index only
// grows; a transaction in two blocks keeps the first.
func (a *API) index() error {
	a.idxMu.Lock()
	defer a.idxMu.Unlock()
	head, ok, err := a.cfg.Store.Head()
	if err != nil || !ok {
		return err
	}
	for {
		var done uint64
		err := a.cfg.DB.View(func(txn *badger.Txn) error {
			var err error
			done, _, err = readHeight(txn, keyIndexed)
			return err
		})
		if err != nil {
			return fmt.Errorf("rollup rpc: tx index: %w", err)
		}
		if done >= head {
			return nil
		}
		h := done + 1
		err = a.cfg.DB.Update(func(txn *badger.Txn) error {
			sb, err := a.cfg.Store.Block(h)
			if errors.Is(err, rollup.ErrNotFound) {
				return txn.Set(keyIndexed, binary.BigEndian.AppendUint64(nil, h)) // before the initial height
			}
			if err != nil {
				return err
			}
			for _, tx := range sb.Block.Txs {
				k := append(append([]byte{}, prefixTx...), TxHash(tx)...)
				if _, err := txn.Get(k); err == nil {
					continue
				} else if !errors.Is(err, badger.ErrKeyNotFound) {
					return err
				}
				if err := txn.Set(k, binary.BigEndian.AppendUint64(nil, h)); err != nil {
					return err
				}
			}
			return txn.Set(keyIndexed, binary.BigEndian.AppendUint64(nil, h))
		})
		if err != nil {
			return fmt.Errorf("rollup rpc: tx index: %w", err)
		}
	}
}

// readHeight reads a height stored at key as 8 bytes big-endian, and
// false when there is none.
func readHeight(txn *badger.Txn, key []byte) (uint64, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("height at %q of %d bytes", key, len(v))
	}
	return binary.BigEndian.Uint64(v), true, nil
}
