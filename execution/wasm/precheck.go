package wasm

import (
	"bytes"
	"errors"
	"fmt"
)

// The binary decoder of wabin allocates slices as long as the counts it
// reads before it knows whether that many entries follow, so a module of a
// few bytes could ask it for gigabytes. precheck walks the sections first
// with a reader that checks every count and length against the bytes that
// are left, accepts only the WebAssembly 1.0 encodings this package allows,
// and drops custom sections (names and debug data do not affect execution).

var (
	wasmMagic   = []byte{0x00, 0x61, 0x73, 0x6D}
	wasmVersion = []byte{0x01, 0x00, 0x00, 0x00}
)

// Section IDs of the binary format.
const (
	secCustom = iota
	secType
	secImport
	secFunction
	secTable
	secMemory
	secGlobal
	secExport
	secStart
	secElement
	secCode
	secData
)

// reader is a bounds-checked cursor over one section.
type reader struct {
	b   []byte
	p   int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.p >= len(r.b) {
		r.fail("%w", errTruncated)
		return 0
	}
	c := r.b[r.p]
	r.p++
	return c
}

func (r *reader) u32() uint32 {
	if r.err != nil {
		return 0
	}
	v, p, err := readU32(r.b, r.p)
	if err != nil {
		r.fail("%w", err)
		return 0
	}
	r.p = p
	return v
}

// count reads a vector length and checks that at least min bytes per entry
// remain.
func (r *reader) count(what string, min, max int) int {
	n := r.u32()
	if r.err == nil && (uint64(n) > uint64(max) || uint64(n)*uint64(min) > uint64(len(r.b)-r.p)) {
		r.fail("%s: count %d over the limit or the section's bytes", what, n)
		return 0
	}
	return int(n)
}

// bytes skips a length-prefixed byte string of at most max bytes.
func (r *reader) bytes(what string, max int) []byte {
	n := r.count(what, 1, max)
	if r.err != nil {
		return nil
	}
	v := r.b[r.p : r.p+n]
	r.p += n
	return v
}

func (r *reader) limits(what string, max uint32) {
	switch flag := r.byte(); flag {
	case 0:
		if min := r.u32(); min > max {
			r.fail("%s: minimum %d over the limit %d", what, min, max)
		}
	case 1:
		min, mx := r.u32(), r.u32()
		if min > max || mx > max {
			r.fail("%s: limits %d..%d over the limit %d", what, min, mx, max)
		}
	default:
		r.fail("%s: limits flag 0x%02x", what, flag)
	}
}

// constExpr accepts i32.const or i64.const followed by end.
func (r *reader) constExpr(what string) {
	switch op := r.byte(); op {
	case opI32Const, opI64Const:
		max := 5
		if op == opI64Const {
			max = 10
		}
		p, err := skipLEB(r.b, r.p, max)
		if err != nil {
			r.fail("%s: %w", what, err)
			return
		}
		r.p = p
	default:
		r.fail("%s: constant expression opcode 0x%02x (only i32.const and i64.const)", what, op)
	}
	if r.byte() != opEnd {
		r.fail("%s: constant expression without end", what)
	}
}

func (r *reader) valtypes(what string, max int) {
	n := r.count(what, 1, max)
	for i := 0; i < n; i++ {
		if t := r.byte(); t != blockI32 && t != blockI64 && r.err == nil {
			r.fail("%s: value type 0x%02x (only i32 and i64)", what, t)
		}
	}
}

// precheck checks the shape of every section of code and returns the
// module without its custom sections.
func precheck(code []byte) ([]byte, error) {
	if len(code) > MaxCodeSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(code), MaxCodeSize)
	}
	if len(code) < 8 || !bytes.Equal(code[:4], wasmMagic) || !bytes.Equal(code[4:8], wasmVersion) {
		return nil, errors.New("not a WebAssembly 1.0 binary module")
	}
	out := append([]byte(nil), code[:8]...)
	last := 0
	for p := 8; p < len(code); {
		id := code[p]
		size, q, err := readU32(code, p+1)
		if err != nil {
			return nil, fmt.Errorf("section at offset %d: %w", p, err)
		}
		if uint64(size) > uint64(len(code)-q) {
			return nil, fmt.Errorf("section %d at offset %d: size %d past the end", id, p, size)
		}
		r := &reader{b: code[q : q+int(size)]}
		next := q + int(size)
		if id != secCustom {
			if id <= byte(last) || id > secData {
				return nil, fmt.Errorf("section id %d at offset %d: unknown, repeated or out of order", id, p)
			}
			last = int(id)
			checkSection(id, r)
			if r.err == nil && r.p != len(r.b) {
				r.fail("%d trailing bytes", len(r.b)-r.p)
			}
			if r.err != nil {
				return nil, fmt.Errorf("section %d: %w", id, r.err)
			}
			out = append(out, code[p:next]...)
		}
		p = next
	}
	return out, nil
}

func checkSection(id byte, r *reader) {
	switch id {
	case secType:
		n := r.count("types", 3, MaxTypes)
		for i := 0; i < n && r.err == nil; i++ {
			if f := r.byte(); f != 0x60 {
				r.fail("type %d: form 0x%02x", i, f)
			}
			r.valtypes("params", MaxParams)
			r.valtypes("results", 1)
		}
	case secImport:
		n := r.count("imports", 4, len(hostFuncs))
		for i := 0; i < n && r.err == nil; i++ {
			mod, name := r.bytes("import module", MaxNameLen), r.bytes("import name", MaxNameLen)
			if kind := r.byte(); kind != 0 && r.err == nil {
				r.fail("%w: import %q.%q is not a function (kind %d)", ErrImport, mod, name, kind)
			}
			r.u32()
		}
	case secFunction:
		n := r.count("functions", 1, MaxFunctions)
		for i := 0; i < n; i++ {
			r.u32()
		}
	case secTable:
		n := r.count("tables", 3, 1)
		for i := 0; i < n && r.err == nil; i++ {
			if t := r.byte(); t != 0x70 {
				r.fail("table element type 0x%02x", t)
			}
			r.limits("table", MaxTableSize)
		}
	case secMemory:
		n := r.count("memories", 2, 1)
		for i := 0; i < n; i++ {
			r.limits("memory pages", MaxMemoryPages)
		}
	case secGlobal:
		n := r.count("globals", 4, MaxGlobals)
		for i := 0; i < n && r.err == nil; i++ {
			if t := r.byte(); t != blockI32 && t != blockI64 {
				r.fail("global %d: type 0x%02x (only i32 and i64)", i, t)
			}
			if m := r.byte(); m > 1 {
				r.fail("global %d: mutability 0x%02x", i, m)
			}
			r.constExpr("global")
		}
	case secExport:
		n := r.count("exports", 3, MaxExports)
		for i := 0; i < n && r.err == nil; i++ {
			r.bytes("export name", MaxNameLen)
			if kind := r.byte(); kind > 3 {
				r.fail("export kind %d", kind)
			}
			r.u32()
		}
	case secStart:
		r.fail("%w", ErrStart)
	case secElement:
		n := r.count("element segments", 4, MaxSegments)
		for i := 0; i < n && r.err == nil; i++ {
			if flag := r.u32(); flag != 0 {
				r.fail("element segment %d: flags %d (only active segments of table 0)", i, flag)
			}
			r.constExpr("element offset")
			m := r.count("element functions", 1, MaxTableSize)
			for j := 0; j < m; j++ {
				r.u32()
			}
		}
	case secCode:
		n := r.count("function bodies", 2, MaxFunctions)
		for i := 0; i < n && r.err == nil; i++ {
			body := r.bytes("function body", MaxCodeSize)
			b := &reader{b: body}
			groups := b.count("local groups", 2, MaxLocals)
			total := 0
			for j := 0; j < groups && b.err == nil; j++ {
				total += int(b.u32())
				if total > MaxLocals {
					b.fail("more than %d locals", MaxLocals)
				}
				if t := b.byte(); t != blockI32 && t != blockI64 && b.err == nil {
					b.fail("local type 0x%02x (only i32 and i64)", t)
				}
			}
			if b.err != nil {
				r.fail("function %d: %w", i, b.err)
			}
		}
	case secData:
		n := r.count("data segments", 3, MaxSegments)
		for i := 0; i < n && r.err == nil; i++ {
			if flag := r.u32(); flag != 0 {
				r.fail("data segment %d: flags %d (only active segments of memory 0)", i, flag)
			}
			r.constExpr("data offset")
			r.bytes("data", MaxCodeSize)
		}
	}
}

// memoryMinPages returns the initial pages of code's memory (0 without
// one), walking its sections with bounds checks only: it is used on
// instrumented code, which wazero validates.
func memoryMinPages(code []byte) (uint32, error) {
	if len(code) < 8 || !bytes.Equal(code[:4], wasmMagic) || !bytes.Equal(code[4:8], wasmVersion) {
		return 0, errors.New("not a WebAssembly 1.0 binary module")
	}
	for p := 8; p < len(code); {
		size, q, err := readU32(code, p+1)
		if err != nil || uint64(size) > uint64(len(code)-q) {
			return 0, fmt.Errorf("section at offset %d: bad size", p)
		}
		if code[p] == secMemory {
			r := &reader{b: code[q : q+int(size)]}
			if n := r.count("memories", 2, 1); n == 0 {
				return 0, r.err
			}
			r.byte() // limits flag
			min := r.u32()
			return min, r.err
		}
		p = q + int(size)
	}
	return 0, nil
}
