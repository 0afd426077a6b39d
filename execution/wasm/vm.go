package wasm

import (
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Call errors. The gas a failed call used is in its Result.
var (
	// ErrOutOfGas: the call used its whole gas limit.
	ErrOutOfGas = errors.New("out of gas")
	// ErrTrap: the contract trapped (unreachable, division by zero, memory
	// access out of bounds, calls nested deeper than MaxCallDepth, ...).
	ErrTrap = errors.New("contract trapped")
	// ErrReverted: the contract called revert; the error is a *RevertError.
	ErrReverted = errors.New("contract reverted")
	// ErrABI: the call or the contract broke the calling convention: an
	// unknown method, a method with parameters or results, an argument or
	// result over its limit, a host function given memory out of range.
	ErrABI = errors.New("bad contract ABI use")
	// ErrStorage: the Storage failed; this is a node fault, not a result
	// of the call, and must not be recorded as one.
	ErrStorage = errors.New("storage failed")
	// ErrInvalid: the module fails wazero's validation or is not the
	// output of Instrument.
	ErrInvalid = errors.New("invalid module")
)

// RevertError is the error of a call that reverted, with the contract's
// message.
type RevertError struct{ Message string }

func (e *RevertError) Error() string { return "wasm: contract reverted: " + e.Message }

// Is makes errors.Is(err, ErrReverted) hold.
func (e *RevertError) Is(target error) bool { return target == ErrReverted }

// Engine selects wazero's engine. Results and gas do not depend on it: gas
// comes from instrumentation only, and the instrumented call-depth limit
// (MaxCallDepth) is below the call stack of either engine.
type Engine int

const (
	// Interpreter is wazero's interpreter: portable, and the default.
	Interpreter Engine = iota
	// Compiler is wazero's compiler (amd64 and arm64 only).
	Compiler
)

// Config configures a VM.
type Config struct {
	Engine Engine
	// CacheSize bounds the compiled modules kept by code hash (default 32).
	CacheSize int
}

// VM runs contracts. It is safe for concurrent use; each call runs in its
// own fresh instance of the contract.
type VM struct {
	rt        wazero.Runtime
	cacheSize int

	mu    sync.Mutex
	cache map[[32]byte]*list.Element // of *compiled
	lru   *list.List                 // front: most recently used
}

type compiled struct {
	hash     [32]byte
	cm       wazero.CompiledModule
	minPages uint32
	users    int
	evicted  bool
}

// New makes a VM: a wazero runtime with the memory limit, no WASI and the
// host functions of HostModule only. It does no I/O.
func New(ctx context.Context, cfg Config) (*VM, error) {
	var rc wazero.RuntimeConfig
	switch cfg.Engine {
	case Interpreter:
		rc = wazero.NewRuntimeConfigInterpreter()
	case Compiler:
		if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
			return nil, fmt.Errorf("wasm: the compiler engine does not run on %s", runtime.GOARCH)
		}
		rc = wazero.NewRuntimeConfigCompiler()
	default:
		return nil, fmt.Errorf("wasm: unknown engine %d", cfg.Engine)
	}
	rc = rc.WithCoreFeatures(api.CoreFeaturesV1 | api.CoreFeatureSignExtensionOps).
		WithMemoryLimitPages(MaxMemoryPages).
		WithCloseOnContextDone(true)
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 32
	}
	vm := &VM{rt: wazero.NewRuntimeWithConfig(ctx, rc), cacheSize: cfg.CacheSize, cache: map[[32]byte]*list.Element{}, lru: list.New()}
	b := vm.rt.NewHostModuleBuilder(HostModule)
	for name, h := range hostFuncs {
		b.NewFunctionBuilder().WithGoModuleFunction(goFunc(h), h.params, h.results).Export(name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		_ = vm.rt.Close(ctx)
		return nil, fmt.Errorf("wasm: host module: %w", err)
	}
	return vm, nil
}

// Close releases the runtime and every compiled module.
func (vm *VM) Close(ctx context.Context) error {
	return vm.rt.Close(ctx)
}

// Contract is a deployed module.
type Contract struct {
	// Code is the instrumented module, what Call runs; the executor stores
	// it. Hash is its SHA-256.
	Code []byte
	Hash [32]byte
}

// Deploy validates and instruments code (see Validate and Instrument) and
// checks that wazero accepts the result. Errors wrap ErrTooLarge,
// ErrOpcode, ErrImport, ErrStart, ErrLimit or ErrInvalid.
func (vm *VM) Deploy(ctx context.Context, code []byte) (Contract, error) {
	inst, err := Instrument(code)
	if err != nil {
		return Contract{}, err
	}
	c, err := vm.acquire(ctx, inst)
	if err != nil {
		return Contract{}, err
	}
	defer vm.release(ctx, c)
	// Instantiate once, so that segments outside the memory or table fail
	// here rather than on every call.
	mod, err := vm.rt.InstantiateModule(ctx, c.cm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return Contract{}, fmt.Errorf("wasm: %w: instantiate: %w", ErrInvalid, err)
	}
	if err := mod.Close(ctx); err != nil {
		return Contract{}, fmt.Errorf("wasm: close: %w", err)
	}
	return Contract{Code: inst, Hash: c.hash}, nil
}

// Call is one call of a contract method.
type Call struct {
	// Code is the contract's instrumented code (Contract.Code).
	Code []byte
	// Method is an exported function of type () -> ().
	Method string
	// Input is the argument, read with input_len/input_read (at most
	// MaxInput bytes); Caller the sender (at most MaxCallerLen bytes).
	Input, Caller []byte
	// Storage is the called contract's storage; it sees the call's writes
	// only if the call succeeds.
	Storage Storage
	// GasLimit is at most MaxGasLimit.
	GasLimit uint64
}

// Result is the outcome of a call that ran.
type Result struct {
	// GasUsed is what the call is charged: the gas it used when it
	// succeeded or reverted, its whole limit when it ran out of gas,
	// trapped or misused the ABI.
	GasUsed uint64
	// Output is what the contract passed to return_data, Events what it
	// emitted (both empty unless the call succeeded).
	Output []byte
	Events [][]byte
}

// Call runs c.Method. A nil error means success and the storage writes were
// applied. Otherwise the writes were discarded and the error wraps
// ErrOutOfGas, ErrTrap, ErrReverted or ErrABI (results of the call, with
// Result.GasUsed deterministic), or ErrStorage, ErrInvalid or the context's
// error (faults of this node or its input, not results). It never panics.
func (vm *VM) Call(ctx context.Context, c Call) (Result, error) {
	switch {
	case c.GasLimit > MaxGasLimit:
		return Result{}, fmt.Errorf("wasm: %w: gas limit %d over %d", ErrABI, c.GasLimit, uint64(MaxGasLimit))
	case len(c.Input) > MaxInput:
		return Result{}, fmt.Errorf("wasm: %w: input of %d bytes, limit %d", ErrABI, len(c.Input), MaxInput)
	case len(c.Caller) > MaxCallerLen:
		return Result{}, fmt.Errorf("wasm: %w: caller of %d bytes, limit %d", ErrABI, len(c.Caller), MaxCallerLen)
	case c.Storage == nil:
		return Result{}, errors.New("wasm: nil storage")
	}
	cm, err := vm.acquire(ctx, c.Code)
	if err != nil {
		return Result{}, err
	}
	defer vm.release(ctx, cm)
	full := Result{GasUsed: c.GasLimit}

	base := int64(GasCallBase) + int64(cm.minPages)*GasPerPage
	if int64(c.GasLimit) < base {
		return full, fmt.Errorf("wasm: %w", ErrOutOfGas)
	}
	def, ok := cm.cm.ExportedFunctions()[c.Method]
	if !ok || len(def.ParamTypes()) != 0 || len(def.ResultTypes()) != 0 {
		return Result{GasUsed: uint64(base)}, fmt.Errorf("wasm: %w: no method %q of type () -> ()", ErrABI, c.Method)
	}

	st := &callState{input: c.Input, caller: c.Caller, store: &overlay{base: c.Storage, writes: map[string][]byte{}}}
	cctx := context.WithValue(ctx, stateKey{}, st)
	mod, err := vm.rt.InstantiateModule(cctx, cm.cm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return Result{}, fmt.Errorf("wasm: %w: instantiate: %w", ErrInvalid, err)
	}
	defer func() { _ = mod.Close(ctx) }()
	g, ok := mod.ExportedGlobal(GasExport).(api.MutableGlobal)
	if !ok {
		return Result{}, fmt.Errorf("wasm: %w: no gas counter (not instrumented)", ErrInvalid)
	}
	st.gas = g
	g.Set(uint64(int64(c.GasLimit) - base))

	_, callErr := mod.ExportedFunction(c.Method).Call(cctx)
	left := int64(g.Get())
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("wasm: %w", err)
	}
	switch {
	case callErr == nil:
		if err := st.store.commit(); err != nil {
			return Result{}, fmt.Errorf("wasm: %w: %w", ErrStorage, err)
		}
		return Result{GasUsed: c.GasLimit - uint64(left), Output: st.output, Events: st.events}, nil
	case left < 0 || errors.Is(st.err, ErrOutOfGas):
		return full, fmt.Errorf("wasm: %w", ErrOutOfGas)
	case errors.Is(st.err, ErrReverted):
		return Result{GasUsed: c.GasLimit - uint64(left)}, st.err
	case errors.Is(st.err, ErrStorage):
		return Result{}, fmt.Errorf("wasm: %w", st.err)
	case st.err != nil:
		return full, fmt.Errorf("wasm: %w", st.err)
	default:
		// wazero appends a stack trace after the first line.
		msg, _, _ := strings.Cut(callErr.Error(), "\n")
		return full, fmt.Errorf("wasm: %w: %s", ErrTrap, msg)
	}
}

// acquire returns the compiled module of code, compiling it on a miss.
func (vm *VM) acquire(ctx context.Context, code []byte) (*compiled, error) {
	hash := sha256.Sum256(code)
	vm.mu.Lock()
	if e, ok := vm.cache[hash]; ok {
		vm.lru.MoveToFront(e)
		c := e.Value.(*compiled)
		c.users++
		vm.mu.Unlock()
		return c, nil
	}
	vm.mu.Unlock()

	if len(code) > MaxInstrumentedSize {
		return nil, fmt.Errorf("wasm: %w: %d bytes", ErrTooLarge, len(code))
	}
	minPages, err := memoryMinPages(code)
	if err != nil {
		return nil, fmt.Errorf("wasm: %w: %w", ErrInvalid, err)
	}
	c := &compiled{hash: hash, users: 1, minPages: minPages}
	if c.cm, err = vm.rt.CompileModule(ctx, code); err != nil {
		return nil, fmt.Errorf("wasm: %w: %w", ErrInvalid, err)
	}
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if e, ok := vm.cache[hash]; ok { // compiled concurrently: keep one
		_ = c.cm.Close(ctx)
		c = e.Value.(*compiled)
		c.users++
		vm.lru.MoveToFront(e)
		return c, nil
	}
	vm.cache[hash] = vm.lru.PushFront(c)
	for vm.lru.Len() > vm.cacheSize {
		old := vm.lru.Remove(vm.lru.Back()).(*compiled)
		delete(vm.cache, old.hash)
		old.evicted = true
		if old.users == 0 {
			_ = old.cm.Close(ctx)
		}
	}
	return c, nil
}

func (vm *VM) release(ctx context.Context, c *compiled) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	c.users--
	if c.evicted && c.users == 0 {
		_ = c.cm.Close(ctx)
	}
}
