package wasm

import (
	"context"
	"errors"
	"fmt"

	wa "github.com/tetratelabs/wabin/wasm"
	"github.com/tetratelabs/wazero/api"
)

// HostModule is the import module name of the host functions.
const HostModule = "mesh"

// Gas costs of host functions, charged before they act; "per byte" counts
// the bytes they copy or store.
const (
	GasHostBase       = 20   // input_len, input_read, caller, return_data, revert
	GasStorageGet     = 200  // + 1 per key and value byte
	GasStorageSet     = 1000 // + 10 per key and value byte
	GasStorageDelete  = 500  // + 1 per key byte
	GasEmitEvent      = 300  // + 2 per byte
	gasPerByte        = 1
	gasPerStoredByte  = 10
	gasPerEventByte   = 2
	maxRevertMsgBytes = 256
)

const i32 = wa.ValueTypeI32

type hostFunc struct {
	params, results []wa.ValueType
	fn              func(st *callState, mem api.Memory, stack []uint64)
}

// hostFuncs are the functions a contract may import from HostModule, with
// their exact signatures. docs/rollups.md ("WASM contracts") documents each.
var hostFuncs = map[string]hostFunc{
	"input_len": {nil, []wa.ValueType{i32}, func(st *callState, _ api.Memory, s []uint64) {
		st.charge(GasHostBase)
		s[0] = uint64(len(st.input))
	}},
	"input_read": {[]wa.ValueType{i32}, nil, func(st *callState, mem api.Memory, s []uint64) {
		st.charge(GasHostBase + gasPerByte*int64(len(st.input)))
		st.write(mem, s[0], st.input)
	}},
	"caller": {[]wa.ValueType{i32}, []wa.ValueType{i32}, func(st *callState, mem api.Memory, s []uint64) {
		st.charge(GasHostBase + gasPerByte*int64(len(st.caller)))
		st.write(mem, s[0], st.caller)
		s[0] = uint64(len(st.caller))
	}},
	"return_data": {[]wa.ValueType{i32, i32}, nil, func(st *callState, mem api.Memory, s []uint64) {
		n := st.size(s[1], MaxOutput, "return_data")
		st.charge(GasHostBase + gasPerByte*n)
		st.output = st.read(mem, s[0], n)
	}},
	"revert": {[]wa.ValueType{i32, i32}, nil, func(st *callState, mem api.Memory, s []uint64) {
		n := st.size(s[1], maxRevertMsgBytes, "revert message")
		st.charge(GasHostBase + gasPerByte*n)
		st.abort(&RevertError{Message: string(st.read(mem, s[0], n))})
	}},
	"storage_get": {[]wa.ValueType{i32, i32, i32, i32}, []wa.ValueType{i32}, func(st *callState, mem api.Memory, s []uint64) {
		kn := st.size(s[1], MaxKeySize, "key")
		st.charge(GasStorageGet + gasPerByte*kn)
		key := st.read(mem, s[0], kn)
		v, ok, err := st.store.get(key)
		if err != nil {
			st.abort(fmt.Errorf("%w: storage get: %w", ErrStorage, err))
		}
		if !ok {
			s[0] = uint64(0xFFFFFFFF) // -1 as i32
			return
		}
		st.charge(gasPerByte * int64(len(v)))
		vcap := uint32(s[3])
		if uint64(len(v)) < uint64(vcap) {
			vcap = uint32(len(v))
		}
		st.write(mem, s[2], v[:vcap])
		s[0] = uint64(len(v))
	}},
	"storage_set": {[]wa.ValueType{i32, i32, i32, i32}, nil, func(st *callState, mem api.Memory, s []uint64) {
		kn, vn := st.size(s[1], MaxKeySize, "key"), st.size(s[3], MaxValueSize, "value")
		st.charge(GasStorageSet + gasPerStoredByte*(kn+vn))
		st.store.set(st.read(mem, s[0], kn), st.read(mem, s[2], vn))
	}},
	"storage_delete": {[]wa.ValueType{i32, i32}, nil, func(st *callState, mem api.Memory, s []uint64) {
		kn := st.size(s[1], MaxKeySize, "key")
		st.charge(GasStorageDelete + gasPerByte*kn)
		st.store.del(st.read(mem, s[0], kn))
	}},
	"emit_event": {[]wa.ValueType{i32, i32}, nil, func(st *callState, mem api.Memory, s []uint64) {
		n := st.size(s[1], MaxEventSize, "event")
		st.charge(GasEmitEvent + gasPerEventByte*n)
		if len(st.events) >= MaxEvents {
			st.abort(fmt.Errorf("%w: more than %d events", ErrABI, MaxEvents))
		}
		st.events = append(st.events, st.read(mem, s[0], n))
	}},
}

// callState is what the host functions of one call see; it travels in the
// call's context.
type callState struct {
	input, caller []byte
	store         *overlay
	gas           api.MutableGlobal
	output        []byte
	events        [][]byte
	err           error // why a host function ended the call
}

type stateKey struct{}

// errAbort is what host functions panic with to end a call; wazero turns
// the panic into the call's error, and Call reads callState.err instead.
var errAbort = errors.New("wasm: host function ended the call")

func (st *callState) abort(err error) {
	st.err = err
	panic(errAbort)
}

// charge subtracts cost from the gas counter, ending the call when it goes
// negative.
func (st *callState) charge(cost int64) {
	left := int64(st.gas.Get()) - cost
	st.gas.Set(uint64(left))
	if left < 0 {
		st.abort(ErrOutOfGas)
	}
}

// size checks a length argument against max.
func (st *callState) size(v uint64, max int, what string) int64 {
	n := uint32(v)
	if uint64(n) > uint64(max) {
		st.abort(fmt.Errorf("%w: %s of %d bytes, limit %d", ErrABI, what, n, max))
	}
	return int64(n)
}

func (st *callState) read(mem api.Memory, ptr uint64, n int64) []byte {
	if mem == nil {
		st.abort(fmt.Errorf("%w: the contract has no memory", ErrABI))
	}
	b, ok := mem.Read(uint32(ptr), uint32(n))
	if !ok {
		st.abort(fmt.Errorf("%w: read of %d bytes at %d outside memory", ErrABI, n, uint32(ptr)))
	}
	return append([]byte(nil), b...)
}

func (st *callState) write(mem api.Memory, ptr uint64, b []byte) {
	if mem == nil {
		st.abort(fmt.Errorf("%w: the contract has no memory", ErrABI))
	}
	if !mem.Write(uint32(ptr), b) {
		st.abort(fmt.Errorf("%w: write of %d bytes at %d outside memory", ErrABI, len(b), uint32(ptr)))
	}
}

// goFunc adapts a hostFunc to wazero.
func goFunc(h hostFunc) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		st, _ := ctx.Value(stateKey{}).(*callState)
		if st == nil {
			panic(errors.New("wasm: host function called outside a call"))
		}
		h.fn(st, mod.Memory(), stack)
	}
}
