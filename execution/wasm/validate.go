package wasm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wabin/binary"
	wa "github.com/tetratelabs/wabin/wasm"
)

// Deployment errors. Validate wraps one of them (or a decoding error) with
// the function index and opcode that caused it.
var (
	// ErrTooLarge: the module is larger than MaxCodeSize.
	ErrTooLarge = errors.New("module too large")
	// ErrOpcode: an instruction outside the allowed set (floating point,
	// SIMD, threads, bulk memory, or anything this package does not decode).
	ErrOpcode = errors.New("opcode not allowed")
	// ErrImport: an import other than a host function of HostModule with
	// its exact signature.
	ErrImport = errors.New("import not allowed")
	// ErrStart: the module has a start function.
	ErrStart = errors.New("start function not allowed")
	// ErrLimit: a declaration over one of the limits in limits.go, or an
	// index out of range.
	ErrLimit = errors.New("module over a limit")
)

// GasExport is the name under which an instrumented module exports its gas
// counter; contracts may not export anything starting with "__".
const GasExport = "__gas"

// module is a decoded module that passed Validate, with its bodies decoded.
type module struct {
	m      *wa.Module
	bodies [][]instr // per defined function
}

// Validate checks that code (a module as deployed, before instrumentation)
// may run as a contract: the shape checks of precheck, then the module's
// imports, exports, declarations and every instruction of every function
// against the allow-list. It never panics.
func Validate(code []byte) error {
	_, err := validate(code)
	return err
}

func validate(code []byte) (*module, error) {
	stripped, err := precheck(code)
	if err != nil {
		return nil, fmt.Errorf("wasm: %w", err)
	}
	m, err := binary.DecodeModule(stripped, wa.CoreFeaturesV1|wa.CoreFeatureSignExtensionOps)
	if err != nil {
		return nil, fmt.Errorf("wasm: decode: %w", err)
	}
	mod := &module{m: m}
	if err := mod.check(); err != nil {
		return nil, fmt.Errorf("wasm: %w", err)
	}
	return mod, nil
}

func (mod *module) check() error {
	m := mod.m
	nImports := uint32(len(m.ImportSection))
	for i, im := range m.ImportSection {
		sig, ok := hostFuncs[im.Name]
		if im.Type != wa.ExternTypeFunc || im.Module != HostModule || !ok {
			return fmt.Errorf("%w: import %d %q.%q is not a host function of %q", ErrImport, i, im.Module, im.Name, HostModule)
		}
		if int(im.DescFunc) >= len(m.TypeSection) {
			return fmt.Errorf("%w: import %d: type %d out of range", ErrLimit, i, im.DescFunc)
		}
		if t := m.TypeSection[im.DescFunc]; !t.EqualsSignature(sig.params, sig.results) {
			return fmt.Errorf("%w: import %d %q has signature %s, want %s", ErrImport, i, im.Name, sigString(t.Params, t.Results), sigString(sig.params, sig.results))
		}
	}
	if len(m.FunctionSection) != len(m.CodeSection) {
		return fmt.Errorf("%w: %d functions but %d bodies", ErrLimit, len(m.FunctionSection), len(m.CodeSection))
	}
	nFuncs := nImports + uint32(len(m.FunctionSection))
	for i, t := range m.FunctionSection {
		if int(t) >= len(m.TypeSection) {
			return fmt.Errorf("%w: function %d: type %d out of range", ErrLimit, nImports+uint32(i), t)
		}
	}
	if m.StartSection != nil {
		return ErrStart
	}
	hasMem, hasTable := m.MemorySection != nil, len(m.TableSection) > 0
	for _, e := range m.ExportSection {
		if strings.HasPrefix(e.Name, "__") {
			return fmt.Errorf("%w: export %q: names starting with __ are reserved", ErrLimit, e.Name)
		}
		switch {
		case e.Type == wa.ExternTypeFunc && e.Index < nFuncs:
		case e.Type == wa.ExternTypeMemory && e.Index == 0 && hasMem:
		default:
			return fmt.Errorf("%w: export %q: only functions and the memory may be exported", ErrLimit, e.Name)
		}
	}
	for i, el := range m.ElementSection {
		if !hasTable {
			return fmt.Errorf("%w: element segment %d without a table", ErrLimit, i)
		}
		for _, f := range el.Init {
			if f == nil || *f >= nFuncs {
				return fmt.Errorf("%w: element segment %d: function index out of range", ErrLimit, i)
			}
		}
	}
	if len(m.DataSection) > 0 && !hasMem {
		return fmt.Errorf("%w: data segments without a memory", ErrLimit)
	}
	mod.bodies = make([][]instr, len(m.CodeSection))
	for i, c := range m.CodeSection {
		fidx := nImports + uint32(i)
		ins, err := decodeBody(c.Body)
		if err != nil {
			return fmt.Errorf("function %d: %w", fidx, err)
		}
		nLocals := uint32(len(m.TypeSection[m.FunctionSection[i]].Params) + len(c.LocalTypes))
		for _, in := range ins {
			if err := mod.checkInstr(in, nLocals, nFuncs, hasMem, hasTable); err != nil {
				return fmt.Errorf("function %d: offset %d: opcode 0x%02x: %w", fidx, in.start, in.op, err)
			}
		}
		mod.bodies[i] = ins
	}
	return nil
}

func (mod *module) checkInstr(in instr, nLocals, nFuncs uint32, hasMem, hasTable bool) error {
	m := mod.m
	switch op := in.op; {
	case op >= opLocalGet && op <= opLocalTee:
		if in.idx >= nLocals {
			return fmt.Errorf("%w: local %d of %d", ErrLimit, in.idx, nLocals)
		}
	case op == opGlobalGet, op == opGlobalSet:
		if in.idx >= uint32(len(m.GlobalSection)) {
			return fmt.Errorf("%w: global %d of %d", ErrLimit, in.idx, len(m.GlobalSection))
		}
		if op == opGlobalSet && !m.GlobalSection[in.idx].Type.Mutable {
			return fmt.Errorf("%w: global %d is immutable", ErrLimit, in.idx)
		}
	case op == opCall:
		if in.idx >= nFuncs {
			return fmt.Errorf("%w: function %d of %d", ErrLimit, in.idx, nFuncs)
		}
	case op == opCallIndirect:
		if !hasTable || in.idx >= uint32(len(m.TypeSection)) {
			return fmt.Errorf("%w: call_indirect type %d without a table or out of range", ErrLimit, in.idx)
		}
	case isLoadStore(op), op == opMemorySize, op == opMemoryGrow:
		if !hasMem {
			return fmt.Errorf("%w: memory instruction without a memory", ErrLimit)
		}
	}
	return nil
}

func sigString(params, results []wa.ValueType) string {
	name := func(ts []wa.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = wa.ValueTypeName(t)
		}
		return strings.Join(s, ",")
	}
	return "(" + name(params) + ")->(" + name(results) + ")"
}
