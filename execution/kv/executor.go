package kv

import (
	"context"
	"fmt"

	"github.com/datamesh/mesh-node/execution/statemachine"
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
const MaxChainIDSize = statemachine.MaxChainIDSize

// Errors of the Executor's methods (those of package statemachine); each
// is wrapped with what was asked.
var (
	ErrNotInitialised  = statemachine.ErrNotInitialised
	ErrGenesisMismatch = statemachine.ErrGenesisMismatch
	ErrHeight          = statemachine.ErrHeight
	ErrPrevStateRoot   = statemachine.ErrPrevStateRoot
	ErrConflict        = statemachine.ErrConflict
	ErrMempoolFull     = statemachine.ErrMempoolFull
)

// Config holds the node settings of an Executor: the mempool bounds.
type Config = statemachine.Config

// Default mempool bounds.
const (
	DefaultMempoolTxs   = statemachine.DefaultMempoolTxs
	DefaultMempoolBytes = statemachine.DefaultMempoolBytes
)

// TxResult is the outcome of one transaction of a block: Error is empty
// when it applied, otherwise why it was skipped (the key-value machine
// leaves the other fields empty).
type TxResult = statemachine.TxResult

// Head is the last executed height, the state root after it and the
// final height.
type Head = statemachine.Head

// Executor is the key-value machine as an ev-node execution.Executor
// (and execution.HeightProvider): a statemachine.Chain running the
// machine of this package. See the package doc for the state it keeps.
// Its methods are safe for concurrent use; blocks are executed one at a
// time.
type Executor struct {
	*statemachine.Chain
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
	c, err := statemachine.New(db, "kv", machine{}, cfg)
	if err != nil {
		return nil, err
	}
	return &Executor{Chain: c}, nil
}

// machine is the key-value statemachine.Machine: no gas, DecodeTx to
// check, a set or delete of one entry to apply.
type machine struct{}

func (machine) Limits() statemachine.Limits {
	return statemachine.Limits{MaxBlockBytes: MaxBlockBytes}
}

func (machine) CheckTx(_ *statemachine.State, tx []byte) (uint64, error) {
	_, err := DecodeTx(tx)
	return 0, err
}

func (machine) Apply(_ context.Context, st *statemachine.State, _ statemachine.Block, b []byte) (TxResult, error) {
	tx, err := DecodeTx(b)
	if err != nil {
		return TxResult{Error: err.Error()}, nil
	}
	if tx.Type == TypeDelete {
		return TxResult{}, st.Delete([]byte(tx.Key))
	}
	return TxResult{}, st.Set([]byte(tx.Key), []byte(tx.Value))
}

// Leaf returns the Merkle leaf of an entry of the state
// (statemachine.Leaf): the key's length as 2 bytes big-endian, the key,
// then the value. The state root is merkle.HashFromByteSlices over the
// leaves of every entry, sorted by key (bytewise). The encoding is
// injective, so two different entries never have the same leaf.
func Leaf(key, value string) []byte { return statemachine.Leaf([]byte(key), []byte(value)) }

// EmptyRoot is the state root of a state with no entries, SHA256("").
func EmptyRoot() []byte { return statemachine.EmptyRoot() }

// ErrInvalidAnswer is wrapped by every error of Verify.
var ErrInvalidAnswer = statemachine.ErrInvalidAnswer

// Answer is the answer to a query for Key: its Value when Found, with the
// entry's proof against StateRoot; otherwise a proof of absence, the
// entries right before and after Key in key order (Left, Right), adjacent
// in the tree, either missing when Key would be first or last (both when
// the state is empty). It is statemachine.Answer with strings.
//
// Height and StateRoot say which state answered; Verify checks the
// answer against a state root the caller trusts (from a rollup header it
// verified) and that root alone: Height is not covered by the proof.
type Answer struct {
	Height    uint64        `json:"height"`
	StateRoot []byte        `json:"state_root"`
	Key       string        `json:"key"`
	Found     bool          `json:"found"`
	Value     string        `json:"value,omitempty"`
	Proof     *merkle.Proof `json:"proof,omitempty"`
	Left      *Neighbour    `json:"left,omitempty"`
	Right     *Neighbour    `json:"right,omitempty"`
}

// Neighbour is an entry next to an absent key, with its proof.
type Neighbour struct {
	Key   string       `json:"key"`
	Value string       `json:"value"`
	Proof merkle.Proof `json:"proof"`
}

// Query answers q from the latest executed state, with a proof against
// its state root (Answer; statemachine.Chain.Prove), from the tree kept in
// memory (see the package doc). Errors wrap ErrInvalidTx
// for a bad query and ErrNotInitialised before InitChain.
func (e *Executor) Query(ctx context.Context, q Query) (*Answer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.Type != TypeGet {
		return nil, fmt.Errorf("%w: query type %q, want %q", ErrInvalidTx, q.Type, TypeGet)
	}
	if err := checkKey(q.Key); err != nil {
		return nil, err
	}
	a, err := e.Prove(ctx, []byte(q.Key))
	if err != nil {
		return nil, err
	}
	out := &Answer{Height: a.Height, StateRoot: a.StateRoot, Key: string(a.Key), Found: a.Found, Value: string(a.Value), Proof: a.Proof}
	out.Left, out.Right = toNeighbour(a.Left), toNeighbour(a.Right)
	return out, nil
}

func toNeighbour(n *statemachine.Neighbour) *Neighbour {
	if n == nil {
		return nil
	}
	return &Neighbour{Key: string(n.Key), Value: string(n.Value), Proof: n.Proof}
}

func fromNeighbour(n *Neighbour) *statemachine.Neighbour {
	if n == nil {
		return nil
	}
	return &statemachine.Neighbour{Key: []byte(n.Key), Value: []byte(n.Value), Proof: n.Proof}
}
