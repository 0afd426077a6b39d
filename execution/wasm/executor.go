package wasm

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/execution/statemachine"
	"github.com/dgraph-io/badger/v4"
	coreexec "github.com/evstack/ev-node/core/execution"
)

// Gas of the executor, besides what a contract's instrumented code and
// host functions charge (docs/rollups.md).
const (
	// MaxBlockGas is a block's gas budget (GetExecutionInfo).
	MaxBlockGas = 100_000_000
	// MaxBlockBytes is the most transaction bytes a block applies.
	MaxBlockBytes = 4 << 20
	// GasTx is charged to every transaction with a valid signature and
	// nonce, before anything else.
	GasTx = 1_000
	// GasDeployByte is charged per byte of submitted code, GasStoreByte
	// per byte of instrumented code stored in the state.
	GasDeployByte = 10
	GasStoreByte  = 5
	// InitMethod is the method a deployment calls once, when the module
	// exports it, with the deploy transaction's args.
	InitMethod = "init"
)

// Keys of the executor's entries in the shared state (statemachine):
// "a/" + sender public key: its next nonce (8 bytes big-endian, absent
// before its first transaction); "c/" + address: the instrumented code;
// "s/" + address + key: the contract's storage. NonceKey and StorageKey
// are what Chain.Prove and statemachine.Verify take.
func NonceKey(sender []byte) []byte           { return append([]byte("a/"), sender...) }
func codeKey(a Address) []byte                { return append([]byte("c/"), a[:]...) }
func storagePrefix(a Address) []byte          { return append([]byte("s/"), a[:]...) }
func StorageKey(a Address, key []byte) []byte { return append(storagePrefix(a), key...) }

// Executor is the WASM contract executor: an ev-node execution.Executor
// (a statemachine.Chain) whose transactions deploy and call contracts on
// a VM. See docs/rollups.md for the transaction format, addresses and gas.
type Executor struct {
	*statemachine.Chain
	vm *VM
}

var _ coreexec.Executor = (*Executor)(nil)

// NewExecutor returns an Executor running contracts on vm, keeping its
// state in db under keys starting with "wasm/". The caller closes vm and
// db after its last use of the Executor.
func NewExecutor(db *badger.DB, vm *VM, cfg statemachine.Config) (*Executor, error) {
	if vm == nil {
		return nil, errors.New("wasm: nil VM")
	}
	c, err := statemachine.New(db, "wasm", &machine{vm: vm}, cfg)
	if err != nil {
		return nil, err
	}
	return &Executor{Chain: c, vm: vm}, nil
}

type machine struct{ vm *VM }

func (*machine) Limits() statemachine.Limits {
	return statemachine.Limits{MaxBlockBytes: MaxBlockBytes, MaxGas: MaxBlockGas}
}

func readNonce(st *statemachine.State, sender []byte) (uint64, error) {
	v, ok, err := st.Get(NonceKey(sender))
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("wasm: stored nonce of %d bytes", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// check decodes tx and checks its signature and that its nonce is not
// used; the nonce it expects is returned.
func check(st *statemachine.State, b []byte) (*Tx, uint64, error) {
	if st.ChainID() == "" {
		return nil, 0, statemachine.ErrNotInitialised
	}
	tx, err := DecodeTx(b)
	if err != nil {
		return nil, 0, err
	}
	if err := tx.Verify(st.ChainID()); err != nil {
		return nil, 0, err
	}
	next, err := readNonce(st, tx.Sender)
	if err != nil {
		return nil, 0, err
	}
	if tx.Nonce < next {
		return nil, 0, fmt.Errorf("%w: nonce %d already used (the sender's next is %d)", ErrInvalidTx, tx.Nonce, next)
	}
	return tx, next, nil
}

// CheckTx admits a transaction that decodes, is signed for this chain and
// whose nonce is not used yet (a later nonce waits for the ones before it).
func (*machine) CheckTx(st *statemachine.State, b []byte) (uint64, error) {
	tx, _, err := check(st, b)
	if err != nil {
		return 0, err
	}
	return tx.GasLimit, nil
}

func (m *machine) Apply(ctx context.Context, st *statemachine.State, blk statemachine.Block, b []byte) (statemachine.TxResult, error) {
	tx, next, err := check(st, b)
	if errors.Is(err, ErrInvalidTx) {
		return statemachine.TxResult{Error: err.Error()}, nil
	}
	if err != nil {
		return statemachine.TxResult{}, err
	}
	switch {
	case tx.Nonce != next:
		return statemachine.TxResult{Error: fmt.Sprintf("wasm: nonce %d, the sender's next is %d", tx.Nonce, next)}, nil
	case tx.GasLimit > blk.GasLeft:
		return statemachine.TxResult{Error: fmt.Sprintf("wasm: gas limit %d over the %d left in the block", tx.GasLimit, blk.GasLeft)}, nil
	}
	if err := st.Set(NonceKey(tx.Sender), binary.BigEndian.AppendUint64(nil, next+1)); err != nil {
		return statemachine.TxResult{}, err
	}
	if tx.GasLimit < GasTx {
		return statemachine.TxResult{Error: "wasm: " + ErrOutOfGas.Error(), GasUsed: tx.GasLimit}, nil
	}
	var r statemachine.TxResult
	if tx.Kind == KindDeploy {
		r, err = m.deploy(ctx, st, tx)
	} else {
		r, err = m.call(ctx, st, tx)
	}
	r.GasUsed += GasTx
	return r, err
}

// fail turns a VM error into a failed result, or returns it when it is a
// fault of the node rather than a result of the transaction.
func fail(err error, gas uint64) (statemachine.TxResult, error) {
	if errors.Is(err, ErrStorage) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return statemachine.TxResult{}, err
	}
	return statemachine.TxResult{Error: err.Error(), GasUsed: gas}, nil
}

func (m *machine) deploy(ctx context.Context, st *statemachine.State, tx *Tx) (statemachine.TxResult, error) {
	limit := tx.GasLimit - GasTx
	cost := uint64(len(tx.Code)) * GasDeployByte
	if cost > limit {
		return statemachine.TxResult{Error: fmt.Sprintf("wasm: %v: deployment costs %d", ErrOutOfGas, cost), GasUsed: limit}, nil
	}
	c, err := m.vm.Deploy(ctx, tx.Code)
	if err != nil {
		return fail(err, cost)
	}
	cost += uint64(len(c.Code)) * GasStoreByte
	if cost > limit {
		return statemachine.TxResult{Error: fmt.Sprintf("wasm: %v: deployment costs %d", ErrOutOfGas, cost), GasUsed: limit}, nil
	}
	addr := ContractAddress(tx.Sender, tx.Nonce)
	if _, ok, err := st.Get(codeKey(addr)); err != nil || ok {
		if err == nil {
			err = fmt.Errorf("wasm: a contract exists at %X", addr)
		}
		return fail(err, cost)
	}
	var out Result
	if m.vm.hasMethod(ctx, c.Code, InitMethod) {
		out, err = m.vm.Call(ctx, Call{Code: c.Code, Method: InitMethod, Input: tx.Args, Caller: tx.Sender,
			Storage: Prefixed(st, storagePrefix(addr)), GasLimit: limit - cost})
		if err != nil {
			return fail(fmt.Errorf("init: %w", err), cost+out.GasUsed)
		}
	}
	if err := st.Set(codeKey(addr), c.Code); err != nil {
		return statemachine.TxResult{}, err
	}
	return statemachine.TxResult{GasUsed: cost + out.GasUsed, Output: addr[:], Events: out.Events}, nil
}

func (m *machine) call(ctx context.Context, st *statemachine.State, tx *Tx) (statemachine.TxResult, error) {
	code, ok, err := st.Get(codeKey(tx.Contract))
	if err != nil {
		return statemachine.TxResult{}, err
	}
	if !ok {
		return statemachine.TxResult{Error: fmt.Sprintf("wasm: unknown contract %X", tx.Contract)}, nil
	}
	out, err := m.vm.Call(ctx, Call{Code: code, Method: tx.Method, Input: tx.Args, Caller: tx.Sender,
		Storage: Prefixed(st, storagePrefix(tx.Contract)), GasLimit: tx.GasLimit - GasTx})
	if err != nil {
		return fail(err, out.GasUsed)
	}
	return statemachine.TxResult{GasUsed: out.GasUsed, Output: out.Output, Events: out.Events}, nil
}

// hasMethod reports whether code (instrumented) exports method.
func (vm *VM) hasMethod(ctx context.Context, code []byte, method string) bool {
	c, err := vm.acquire(ctx, code)
	if err != nil {
		return false
	}
	defer vm.release(ctx, c)
	_, ok := c.cm.ExportedFunctions()[method]
	return ok
}

// Nonce returns the next nonce of sender in the latest state.
func (e *Executor) Nonce(ctx context.Context, sender ed25519.PublicKey) (uint64, error) {
	var n uint64
	err := e.View(ctx, func(_ statemachine.Head, st *statemachine.State) error {
		var err error
		n, err = readNonce(st, sender)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("wasm: nonce: %w", err)
	}
	return n, nil
}

// ViewResult is the outcome of a read-only call (Executor.View): what the
// call would return on the state at Height, whose root is StateRoot.
type ViewResult struct {
	Height    uint64   `json:"height"`
	StateRoot []byte   `json:"state_root"`
	GasUsed   uint64   `json:"gas_used"`
	Output    []byte   `json:"output,omitempty"`
	Events    [][]byte `json:"events,omitempty"`
	Error     string   `json:"error,omitempty"`
}

// ViewCall runs method of contract with args on the latest state, as
// caller, without changing the state (its writes are dropped). A failure
// of the call is in ViewResult.Error; errors are faults or an unknown
// contract.
func (e *Executor) ViewCall(ctx context.Context, contract Address, method string, args, caller []byte, gasLimit uint64) (*ViewResult, error) {
	var out *ViewResult
	err := e.View(ctx, func(h statemachine.Head, st *statemachine.State) error {
		code, ok, err := st.Get(codeKey(contract))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("unknown contract %X", contract)
		}
		r, err := e.vm.Call(ctx, Call{Code: code, Method: method, Input: args, Caller: caller,
			Storage: readOnly{Prefixed(st, storagePrefix(contract))}, GasLimit: gasLimit})
		out = &ViewResult{Height: h.Height, StateRoot: h.StateRoot, GasUsed: r.GasUsed, Output: r.Output, Events: r.Events}
		if err != nil {
			res, err := fail(err, r.GasUsed)
			if err != nil {
				return err
			}
			out.Error = res.Error
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wasm: view %X %s: %w", contract, method, err)
	}
	return out, nil
}

// readOnly drops the writes of a view call.
type readOnly struct{ Storage }

func (readOnly) Set(_, _ []byte) error { return nil }
func (readOnly) Delete(_ []byte) error { return nil }

// ProveStorage answers the storage entry key of contract from the latest
// state with a proof against its state root (statemachine.Chain.Prove of
// StorageKey(contract, key)); VerifyStorage checks it.
func (e *Executor) ProveStorage(ctx context.Context, contract Address, key []byte) (*statemachine.Answer, error) {
	if len(key) == 0 || len(key) > MaxKeySize {
		return nil, fmt.Errorf("wasm: storage key of %d bytes, want 1 to %d", len(key), MaxKeySize)
	}
	return e.Prove(ctx, StorageKey(contract, key))
}

// VerifyStorage checks an answer of ProveStorage for contract's key
// against a state root the caller trusts.
func VerifyStorage(root []byte, contract Address, key []byte, a *statemachine.Answer) error {
	return statemachine.Verify(root, StorageKey(contract, key), a)
}

// ContractCode returns the instrumented code deployed at contract, and
// whether there is one.
func (e *Executor) ContractCode(ctx context.Context, contract Address) ([]byte, bool, error) {
	var code []byte
	var ok bool
	err := e.View(ctx, func(_ statemachine.Head, st *statemachine.State) error {
		var err error
		code, ok, err = st.Get(codeKey(contract))
		return err
	})
	return code, ok, err
}
