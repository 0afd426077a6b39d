package wasm

import (
	"fmt"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/leb128"
	wa "github.com/tetratelabs/wabin/wasm"
)

// Gas costs. Every instruction has a static cost (instrCost); a basic block
// is charged the sum of its instructions' costs when it is entered.
const (
	// GasPerPage is charged per 64 KiB page memory.grow asks for (whether
	// or not the growth succeeds), and per page of initial memory at
	// instantiation.
	GasPerPage = 1000
	// GasCallBase is charged for every call before the contract runs.
	GasCallBase = 500
)

// instrCost is the static gas cost of one instruction.
func instrCost(in instr) int64 {
	switch op := in.op; {
	case op == opCall:
		return 10
	case op == opCallIndirect:
		return 15
	case op == opBrTable:
		return 2 + int64(len(in.labels))/8
	case op == opMemoryGrow:
		return 10
	case isLoadStore(op):
		return 2
	case op == 0x6C || op == opI64Mul: // i32.mul, i64.mul
		return 2
	case op >= 0x6D && op <= 0x70, op >= 0x7F && op <= 0x82: // div and rem
		return 4
	}
	return 1
}

// endsBlock reports whether a basic block ends after in: a new block starts
// after every control instruction that enters, leaves or branches, which
// makes every branch target (the start of a loop body, the instruction
// after an end) and every fall-through (after br_if, into a then or else
// arm) a block start.
func endsBlock(op byte) bool {
	switch op {
	case opBlock, opLoop, opIf, opElse, opEnd, opBr, opBrIf, opBrTable, opReturn, opUnreachable:
		return true
	}
	return false
}

// Instrument validates code and returns it rewritten for metering: a
// mutable i64 global exported as GasExport holds the gas left; at the start
// of every basic block (function entry and after each instruction for
// which endsBlock holds) code is inserted that subtracts the block's cost
// and executes unreachable when the counter went negative; memory.grow is
// replaced by a call to an added function that first charges GasPerPage
// per requested page; every call and call_indirect is wrapped in code that
// counts the call depth in a second added global and executes unreachable
// beyond MaxCallDepth. Custom sections are dropped. The result depends on
// code only, so every node derives the same module.
func Instrument(code []byte) ([]byte, error) {
	mod, err := validate(code)
	if err != nil {
		return nil, err
	}
	out := mod.instrument()
	if len(out) > MaxInstrumentedSize {
		return nil, fmt.Errorf("wasm: %w: %d bytes after instrumentation, limit %d", ErrTooLarge, len(out), MaxInstrumentedSize)
	}
	return out, nil
}

func (mod *module) instrument() []byte {
	m := mod.m
	gas := uint32(len(m.GlobalSection))
	m.GlobalSection = append(m.GlobalSection, &wa.Global{
		Type: &wa.GlobalType{ValType: wa.ValueTypeI64, Mutable: true},
		Init: &wa.ConstantExpression{Opcode: wa.OpcodeI64Const, Data: []byte{0}},
	})
	m.ExportSection = append(m.ExportSection, &wa.Export{Type: wa.ExternTypeGlobal, Name: GasExport, Index: gas})
	m.GlobalSection = append(m.GlobalSection, &wa.Global{
		Type: &wa.GlobalType{ValType: wa.ValueTypeI32, Mutable: true},
		Init: &wa.ConstantExpression{Opcode: wa.OpcodeI32Const, Data: []byte{0}},
	})
	depth := gas + 1

	// grow is the function memory.grow is replaced with, appended after
	// all others so no existing function index moves.
	grow := uint32(len(m.ImportSection) + len(m.FunctionSection))
	usesGrow := false
	for i, ins := range mod.bodies {
		body, g := instrumentBody(m.CodeSection[i].Body, ins, gas, depth, grow)
		m.CodeSection[i].Body = body
		usesGrow = usesGrow || g
	}
	if usesGrow {
		m.FunctionSection = append(m.FunctionSection, typeIndex(m, []wa.ValueType{wa.ValueTypeI32}, []wa.ValueType{wa.ValueTypeI32}))
		var b []byte
		b = append(b, opGlobalGet)
		b = append(b, leb128.EncodeUint32(gas)...)
		b = append(b, opLocalGet, 0, opI64ExtendU, opI64Const)
		b = append(b, leb128.EncodeInt64(GasPerPage)...)
		b = append(b, opI64Mul, opI64Sub, opGlobalSet)
		b = append(b, leb128.EncodeUint32(gas)...)
		b = appendTrapIfNegative(b, gas)
		b = append(b, opLocalGet, 0, opMemoryGrow, 0, opEnd)
		m.CodeSection = append(m.CodeSection, &wa.Code{Body: b})
	}
	m.NameSection, m.CustomSections = nil, nil
	return binary.EncodeModule(m)
}

// typeIndex returns the index of the type (params)->(results), appending it
// when missing (appending moves no existing type index).
func typeIndex(m *wa.Module, params, results []wa.ValueType) uint32 {
	for i, t := range m.TypeSection {
		if t.EqualsSignature(params, results) {
			return uint32(i)
		}
	}
	m.TypeSection = append(m.TypeSection, &wa.FunctionType{Params: params, Results: results})
	return uint32(len(m.TypeSection) - 1)
}

// instrumentBody returns body with the gas charges inserted and whether it
// calls the grow function.
func instrumentBody(body []byte, ins []instr, gas, depth, grow uint32) ([]byte, bool) {
	out := make([]byte, 0, len(body)+len(body)/2+32)
	usesGrow := false
	for start := 0; start < len(ins); {
		end := start
		var cost int64
		for end < len(ins) {
			cost += instrCost(ins[end])
			end++
			if endsBlock(ins[end-1].op) {
				break
			}
		}
		out = appendCharge(out, gas, cost)
		for _, in := range ins[start:end] {
			if in.op == opMemoryGrow {
				out = append(out, opCall)
				out = append(out, leb128.EncodeUint32(grow)...)
				usesGrow = true
				continue
			}
			if in.op == opCall || in.op == opCallIndirect {
				out = appendDepth(out, depth, opI32Add)
				out = append(out, opGlobalGet)
				out = append(out, leb128.EncodeUint32(depth)...)
				out = append(out, opI32Const)
				out = append(out, leb128.EncodeInt32(MaxCallDepth)...)
				out = append(out, opI32GtU, opIf, blockEmpty, opUnreachable, opEnd)
				out = append(out, body[in.start:in.end]...)
				out = appendDepth(out, depth, opI32Sub)
				continue
			}
			out = append(out, body[in.start:in.end]...)
		}
		start = end
	}
	return out, usesGrow
}

// appendDepth appends: depth = depth op 1 (op is i32.add or i32.sub).
func appendDepth(b []byte, depth uint32, op byte) []byte {
	b = append(b, opGlobalGet)
	b = append(b, leb128.EncodeUint32(depth)...)
	b = append(b, opI32Const, 1, op, opGlobalSet)
	return append(b, leb128.EncodeUint32(depth)...)
}

// appendCharge appends: gas -= cost; if gas < 0 { unreachable }.
func appendCharge(b []byte, gas uint32, cost int64) []byte {
	b = append(b, opGlobalGet)
	b = append(b, leb128.EncodeUint32(gas)...)
	b = append(b, opI64Const)
	b = append(b, leb128.EncodeInt64(cost)...)
	b = append(b, opI64Sub, opGlobalSet)
	b = append(b, leb128.EncodeUint32(gas)...)
	return appendTrapIfNegative(b, gas)
}

func appendTrapIfNegative(b []byte, gas uint32) []byte {
	b = append(b, opGlobalGet)
	b = append(b, leb128.EncodeUint32(gas)...)
	return append(b, opI64Const, 0, opI64LtS, opIf, blockEmpty, opUnreachable, opEnd)
}
