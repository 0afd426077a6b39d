package wasm_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/execution/wasm"
	"github.com/tetratelabs/wabin/binary"
	wa "github.com/tetratelabs/wabin/wasm"
)

// oneFunc returns a module with one exported function "f" of type () -> ()
// with body, changed by edit.
func oneFunc(body []byte, locals []wa.ValueType, edit func(m *wa.Module)) []byte {
	m := &wa.Module{
		TypeSection:     []*wa.FunctionType{{}},
		FunctionSection: []wa.Index{0},
		CodeSection:     []*wa.Code{{Body: body, LocalTypes: locals}},
		ExportSection:   []*wa.Export{{Type: wa.ExternTypeFunc, Name: "f", Index: 0}},
	}
	if edit != nil {
		edit(m)
	}
	return binary.EncodeModule(m)
}

func TestValidateRejects(t *testing.T) {
	end := []byte{wa.OpcodeEnd}
	i32 := []wa.ValueType{wa.ValueTypeI32}
	pages := func(min, max uint32) func(*wa.Module) {
		return func(m *wa.Module) { m.MemorySection = &wa.Memory{Min: min, Max: max, IsMaxEncoded: true} }
	}
	one := wa.Index(0)
	for _, tc := range []struct {
		name string
		code []byte
		err  error
		msg  string
	}{
		{"start function", oneFunc(end, nil, func(m *wa.Module) { m.StartSection = &one }), wasm.ErrStart, ""},
		{"memory max over the limit", oneFunc(end, nil, pages(1, 17)), nil, "over the limit 16"},
		{"memory min over the limit", oneFunc(end, nil, pages(17, 17)), nil, "over the limit 16"},
		{"table over the limit", oneFunc(end, nil, func(m *wa.Module) {
			m.TableSection = []*wa.Table{{Min: 2000, Type: wa.RefTypeFuncref}}
		}), nil, "over the limit 1024"},
		{"imported memory", oneFunc(end, nil, func(m *wa.Module) {
			m.ImportSection = []*wa.Import{{Type: wa.ExternTypeMemory, Module: wasm.HostModule, Name: "memory", DescMem: &wa.Memory{Min: 1}}}
		}), wasm.ErrImport, "not a function"},
		{"host function with a wrong signature", oneFunc(end, nil, func(m *wa.Module) {
			m.TypeSection = append(m.TypeSection, &wa.FunctionType{Results: []wa.ValueType{wa.ValueTypeI64}})
			m.ImportSection = []*wa.Import{{Type: wa.ExternTypeFunc, Module: wasm.HostModule, Name: "input_len", DescFunc: 1}}
			m.ExportSection[0].Index = 1
		}), wasm.ErrImport, "want ()->(i32)"},
		{"other import module", oneFunc(end, nil, func(m *wa.Module) {
			m.TypeSection = append(m.TypeSection, &wa.FunctionType{Results: []wa.ValueType{wa.ValueTypeI32}})
			m.ImportSection = []*wa.Import{{Type: wa.ExternTypeFunc, Module: "env", Name: "input_len", DescFunc: 1}}
		}), wasm.ErrImport, `"env"`},
		{"reserved export name", oneFunc(end, nil, func(m *wa.Module) { m.ExportSection[0].Name = wasm.GasExport }), wasm.ErrLimit, "reserved"},
		{"exported global", oneFunc(end, nil, func(m *wa.Module) {
			m.GlobalSection = []*wa.Global{{Type: &wa.GlobalType{ValType: wa.ValueTypeI32}, Init: &wa.ConstantExpression{Opcode: wa.OpcodeI32Const, Data: []byte{0}}}}
			m.ExportSection = append(m.ExportSection, &wa.Export{Type: wa.ExternTypeGlobal, Name: "g", Index: 0})
		}), wasm.ErrLimit, "only functions and the memory"},
		{"f64 global", oneFunc(end, nil, func(m *wa.Module) {
			m.GlobalSection = []*wa.Global{{Type: &wa.GlobalType{ValType: wa.ValueTypeF64}, Init: &wa.ConstantExpression{Opcode: wa.OpcodeF64Const, Data: make([]byte, 8)}}}
		}), nil, "only i32 and i64"},
		{"f32 local", oneFunc(end, []wa.ValueType{wa.ValueTypeF32}, nil), nil, "only i32 and i64"},
		{"too many locals", oneFunc(end, slices.Repeat(i32, 1025), nil), nil, "more than 1024 locals"},
		{"local out of range", oneFunc([]byte{wa.OpcodeLocalGet, 1, wa.OpcodeDrop, wa.OpcodeEnd}, i32, nil), wasm.ErrLimit, "function 0: offset 0: opcode 0x20"},
		{"immutable global set", oneFunc([]byte{wa.OpcodeI32Const, 1, wa.OpcodeGlobalSet, 0, wa.OpcodeEnd}, nil, func(m *wa.Module) {
			m.GlobalSection = []*wa.Global{{Type: &wa.GlobalType{ValType: wa.ValueTypeI32}, Init: &wa.ConstantExpression{Opcode: wa.OpcodeI32Const, Data: []byte{0}}}}
		}), wasm.ErrLimit, "immutable"},
		{"call out of range", oneFunc([]byte{wa.OpcodeCall, 5, wa.OpcodeEnd}, nil, nil), wasm.ErrLimit, "function 5 of 1"},
		{"load without memory", oneFunc([]byte{wa.OpcodeI32Const, 0, wa.OpcodeI32Load, 2, 0, wa.OpcodeDrop, wa.OpcodeEnd}, nil, nil), wasm.ErrLimit, "without a memory"},
		{"f64.add", oneFunc([]byte{wa.OpcodeF64Add, wa.OpcodeEnd}, nil, nil), wasm.ErrOpcode, "function 0: offset 0: opcode not allowed 0xa0 (floating point)"},
		{"atomics", oneFunc([]byte{0xFE, 0x03, 0x00, wa.OpcodeEnd}, nil, nil), wasm.ErrOpcode, "0xfe (threads/atomics)"},
		{"too large", append(oneFunc(end, nil, nil), make([]byte, wasm.MaxCodeSize)...), wasm.ErrTooLarge, ""},
		{"not wasm", []byte("\x00asm\x02\x00\x00\x00"), nil, "not a WebAssembly 1.0"},
		{"huge vector count", []byte{0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, nil, "over the limit or the section's bytes"},
		{"section past the end", []byte{0, 'a', 's', 'm', 1, 0, 0, 0, 1, 0x7F, 0}, nil, "past the end"},
	} {
		err := wasm.Validate(tc.code)
		if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: got %v, want %v containing %q", tc.name, err, tc.err, tc.msg)
		}
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, name := range []string{"counter.wasm", "token.wasm", "loop.wasm", "grow.wasm"} {
		if err := wasm.Validate(readTestdata(t, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Custom sections are dropped, not rejected.
	code := oneFunc([]byte{wa.OpcodeEnd}, nil, func(m *wa.Module) {
		m.CustomSections = []*wa.CustomSection{{Name: "producers", Data: []byte("x")}}
	})
	if err := wasm.Validate(code); err != nil {
		t.Errorf("custom section: %v", err)
	}
}

// TestGasRule checks the charges of docs/rollups.md against hand-counted
// paths: a block is charged the sum of its instruction costs (1 each here)
// when entered, and a new block starts after every control instruction.
func TestGasRule(t *testing.T) {
	const (
		block, loop, end, br, brIf = wa.OpcodeBlock, wa.OpcodeLoop, wa.OpcodeEnd, wa.OpcodeBr, wa.OpcodeBrIf
		i32c, get, set, tee, sub   = wa.OpcodeI32Const, wa.OpcodeLocalGet, wa.OpcodeLocalSet, wa.OpcodeLocalTee, wa.OpcodeI32Sub
		empty                      = 0x40
	)
	i32 := []wa.ValueType{wa.ValueTypeI32}
	for _, tc := range []struct {
		name   string
		body   []byte
		locals []wa.ValueType
		want   uint64
	}{
		// [end]
		{"empty", []byte{end}, nil, 1},
		// [block] [i32.const br_if] (taken, so the block's [end] is skipped) [end]
		{"br_if taken", []byte{block, empty, i32c, 1, brIf, 0, end, end}, nil, 1 + 2 + 1},
		// [block] [i32.const br_if] [end] [end]
		{"br_if not taken", []byte{block, empty, i32c, 0, brIf, 0, end, end}, nil, 1 + 2 + 1 + 1},
		// [i32.const local.set loop] 5 x [local.get i32.const i32.sub local.tee br_if] [end] [end]
		{"counted loop", []byte{i32c, 5, set, 0, loop, empty, get, 0, i32c, 1, sub, tee, 0, brIf, 0, end, end}, i32, 3 + 5*5 + 1 + 1},
		// [block] [br] — the dead [end] after br is skipped, then [end]
		{"br", []byte{block, empty, br, 0, end, end}, nil, 1 + 1 + 1},
	} {
		vm := newVM(t, wasm.Interpreter)
		c, err := vm.Deploy(context.Background(), oneFunc(tc.body, tc.locals, nil))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		r, err := vm.Call(context.Background(), wasm.Call{Code: c.Code, Method: "f", Storage: &wasm.MemStorage{}, GasLimit: gasLimit})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r.GasUsed != wasm.GasCallBase+tc.want {
			t.Errorf("%s: gas %d, want %d + %d", tc.name, r.GasUsed, wasm.GasCallBase, tc.want)
		}
	}
}

func TestDeployRejectsSegmentsOutsideMemory(t *testing.T) {
	vm := newVM(t, wasm.Interpreter)
	code := oneFunc([]byte{wa.OpcodeEnd}, nil, func(m *wa.Module) {
		m.MemorySection = &wa.Memory{Min: 1, Max: 1, IsMaxEncoded: true}
		m.DataSection = []*wa.DataSegment{{
			OffsetExpression: &wa.ConstantExpression{Opcode: wa.OpcodeI32Const, Data: []byte{0x80, 0x80, 0x04}}, // 65536
			Init:             []byte("x"),
		}}
	})
	if _, err := vm.Deploy(context.Background(), code); !errors.Is(err, wasm.ErrInvalid) {
		t.Fatalf("data past the memory: %v, want ErrInvalid", err)
	}
}

// TestRecursionEndsCleanly: unbounded recursion traps at MaxCallDepth,
// charging the whole limit, the same way on both engines.
func TestRecursionEndsCleanly(t *testing.T) {
	code := oneFunc([]byte{wa.OpcodeCall, 0, wa.OpcodeEnd}, nil, nil)
	for _, e := range []wasm.Engine{wasm.Interpreter, wasm.Compiler} {
		vm := newVM(t, e)
		c, err := vm.Deploy(context.Background(), code)
		if err != nil {
			t.Fatal(err)
		}
		r, err := vm.Call(context.Background(), wasm.Call{Code: c.Code, Method: "f", Storage: &wasm.MemStorage{}, GasLimit: 10_000_000})
		if !errors.Is(err, wasm.ErrTrap) || r.GasUsed != 10_000_000 {
			t.Fatalf("engine %d: %v, gas %d", e, err, r.GasUsed)
		}
		t.Logf("engine %d: %v", e, err)
	}
}

func TestInstrumentedSizeLimit(t *testing.T) {
	// 120,000 blocks of one br each: 240 KB deployed, over 2 MiB once every
	// block carries its charge.
	body := []byte{wa.OpcodeBlock, 0x40}
	for range 120_000 {
		body = append(body, wa.OpcodeBr, 0)
	}
	body = append(body, wa.OpcodeEnd, wa.OpcodeEnd)
	code := oneFunc(body, nil, nil)
	if err := wasm.Validate(code); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if _, err := wasm.Instrument(code); !errors.Is(err, wasm.ErrTooLarge) {
		t.Fatalf("instrument: %v, want ErrTooLarge", err)
	}
}

// TestCallIndirect runs a call through a table: element segments survive
// instrumentation and call_indirect is charged 15.
func TestCallIndirect(t *testing.T) {
	code := oneFunc([]byte{wa.OpcodeEnd}, nil, func(m *wa.Module) {
		m.FunctionSection = append(m.FunctionSection, 0)
		m.CodeSection = append(m.CodeSection, &wa.Code{Body: []byte{wa.OpcodeI32Const, 0, wa.OpcodeCallIndirect, 0, 0, wa.OpcodeEnd}})
		m.ExportSection[0].Index = 1
		m.TableSection = []*wa.Table{{Min: 1, Type: wa.RefTypeFuncref}}
		zero := wa.Index(0)
		m.ElementSection = []*wa.ElementSegment{{
			OffsetExpr: &wa.ConstantExpression{Opcode: wa.OpcodeI32Const, Data: []byte{0}},
			Init:       []*wa.Index{&zero},
			Type:       wa.RefTypeFuncref,
			Mode:       wa.ElementModeActive,
		}}
	})
	vm := newVM(t, wasm.Interpreter)
	c, err := vm.Deploy(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	r, err := vm.Call(context.Background(), wasm.Call{Code: c.Code, Method: "f", Storage: &wasm.MemStorage{}, GasLimit: gasLimit})
	if err != nil {
		t.Fatal(err)
	}
	// [i32.const call_indirect end] in f, [end] in the callee.
	if want := uint64(wasm.GasCallBase + 1 + 15 + 1 + 1); r.GasUsed != want {
		t.Fatalf("gas %d, want %d", r.GasUsed, want)
	}
}
