package wasm

import (
	"errors"
	"fmt"
)

// errTruncated is returned by the instruction decoder when a body ends
// inside an instruction.
var errTruncated = errors.New("truncated instruction")

// instr is one decoded instruction of a function body: its opcode, where it
// lies in the body, and its immediates that validation and instrumentation
// need. Immediates not listed are skipped.
type instr struct {
	op         byte
	start, end int // body[start:end] is the whole instruction
	// idx is the first index immediate: the label of br/br_if, the local,
	// global, function or type index, or the block type byte.
	idx uint32
	// labels are br_table's targets, the default last.
	labels []uint32
}

// Opcodes the decoder knows. The set is the WebAssembly 1.0 integer
// instructions plus the sign-extension operators; every other byte is an
// unknown opcode (which includes all floating-point, SIMD 0xFD, threads 0xFE
// and the 0xFC prefix).
const (
	opUnreachable  = 0x00
	opNop          = 0x01
	opBlock        = 0x02
	opLoop         = 0x03
	opIf           = 0x04
	opElse         = 0x05
	opEnd          = 0x0B
	opBr           = 0x0C
	opBrIf         = 0x0D
	opBrTable      = 0x0E
	opReturn       = 0x0F
	opCall         = 0x10
	opCallIndirect = 0x11
	opDrop         = 0x1A
	opSelect       = 0x1B
	opLocalGet     = 0x20
	opLocalSet     = 0x21
	opLocalTee     = 0x22
	opGlobalGet    = 0x23
	opGlobalSet    = 0x24
	opI32Load      = 0x28
	opI64Store32   = 0x3E
	opMemorySize   = 0x3F
	opMemoryGrow   = 0x40
	opI32Const     = 0x41
	opI64Const     = 0x42
	opI32Add       = 0x6A
	opI32Sub       = 0x6B
	opI32GtU       = 0x4B
	opI64Sub       = 0x7D
	opI64Mul       = 0x7E
	opI64LtS       = 0x53
	opI64ExtendU   = 0xAD

	blockEmpty = 0x40
	blockI32   = 0x7F
	blockI64   = 0x7E
)

// isLoadStore reports whether op is an integer load or store (memarg
// immediate). 0x2A, 0x2B, 0x38 and 0x39 are the f32/f64 loads and stores.
func isLoadStore(op byte) bool {
	return op >= opI32Load && op <= opI64Store32 && op != 0x2A && op != 0x2B && op != 0x38 && op != 0x39
}

// isNumeric reports whether op is an integer operator without immediates:
// i32/i64 comparisons (0x45-0x5A), arithmetic (0x67-0x8A), i32.wrap_i64
// (0xA7), i64.extend_i32_s/u (0xAC, 0xAD) and the sign extensions
// (0xC0-0xC4).
func isNumeric(op byte) bool {
	switch {
	case op >= 0x45 && op <= 0x5A, op >= 0x67 && op <= 0x8A, op == 0xA7, op == 0xAC, op == 0xAD, op >= 0xC0 && op <= 0xC4:
		return true
	}
	return false
}

// decodeInstr decodes the instruction at body[off:]. It never panics; an
// opcode outside the allowed set is an error naming it.
func decodeInstr(body []byte, off int) (instr, error) {
	if off >= len(body) {
		return instr{}, errTruncated
	}
	in := instr{op: body[off], start: off}
	p := off + 1
	var err error
	switch op := in.op; {
	case op == opUnreachable, op == opNop, op == opElse, op == opEnd, op == opReturn,
		op == opDrop, op == opSelect, isNumeric(op):
	case op == opBlock, op == opLoop, op == opIf:
		if p >= len(body) {
			return instr{}, errTruncated
		}
		bt := body[p]
		if bt != blockEmpty && bt != blockI32 && bt != blockI64 {
			return instr{}, fmt.Errorf("opcode 0x%02x: unsupported block type 0x%02x", op, bt)
		}
		in.idx = uint32(bt)
		p++
	case op == opBr, op == opBrIf, op == opCall,
		op >= opLocalGet && op <= opGlobalSet:
		in.idx, p, err = readU32(body, p)
	case op == opBrTable:
		var n uint32
		if n, p, err = readU32(body, p); err != nil {
			break
		}
		// Each label takes at least one byte: bound n before allocating.
		if uint64(n) >= uint64(len(body)-p) {
			return instr{}, errTruncated
		}
		in.labels = make([]uint32, 0, n+1)
		for i := uint32(0); i <= n && err == nil; i++ {
			var l uint32
			l, p, err = readU32(body, p)
			in.labels = append(in.labels, l)
		}
	case op == opCallIndirect:
		if in.idx, p, err = readU32(body, p); err != nil {
			break
		}
		p, err = readZero(body, p)
	case isLoadStore(op):
		if _, p, err = readU32(body, p); err != nil { // alignment
			break
		}
		_, p, err = readU32(body, p) // offset
	case op == opMemorySize, op == opMemoryGrow:
		p, err = readZero(body, p)
	case op == opI32Const:
		p, err = skipLEB(body, p, 5)
	case op == opI64Const:
		p, err = skipLEB(body, p, 10)
	default:
		return instr{}, fmt.Errorf("%w 0x%02x%s", ErrOpcode, op, opcodeHint(op))
	}
	if err != nil {
		return instr{}, fmt.Errorf("opcode 0x%02x: %w", in.op, err)
	}
	in.end = p
	return in, nil
}

// opcodeHint names the family of a rejected opcode for the error message.
func opcodeHint(op byte) string {
	switch {
	case op == 0xFD:
		return " (SIMD)"
	case op == 0xFE:
		return " (threads/atomics)"
	case op == 0xFC:
		return " (0xFC prefix: saturating truncation or bulk memory)"
	case op == 0x2A, op == 0x2B, op == 0x38, op == 0x39, op == 0x43, op == 0x44,
		op >= 0x5B && op <= 0x66, op >= 0x8B && op <= 0xA6, op >= 0xA8 && op <= 0xBF:
		return " (floating point)"
	}
	return ""
}

// readU32 reads an unsigned LEB128 of at most 5 bytes.
func readU32(b []byte, p int) (uint32, int, error) {
	var v uint64
	for i := 0; i < 5; i++ {
		if p >= len(b) {
			return 0, p, errTruncated
		}
		c := b[p]
		p++
		v |= uint64(c&0x7F) << (7 * i)
		if c&0x80 == 0 {
			if v > 0xFFFFFFFF {
				return 0, p, errors.New("u32 immediate overflows")
			}
			return uint32(v), p, nil
		}
	}
	return 0, p, errors.New("u32 immediate longer than 5 bytes")
}

// skipLEB skips a signed LEB128 of at most max bytes.
func skipLEB(b []byte, p, max int) (int, error) {
	for i := 0; i < max; i++ {
		if p >= len(b) {
			return p, errTruncated
		}
		c := b[p]
		p++
		if c&0x80 == 0 {
			return p, nil
		}
	}
	return p, fmt.Errorf("integer immediate longer than %d bytes", max)
}

// readZero reads the reserved zero byte of call_indirect and memory.size/grow.
func readZero(b []byte, p int) (int, error) {
	if p >= len(b) {
		return p, errTruncated
	}
	if b[p] != 0 {
		return p, fmt.Errorf("reserved byte 0x%02x is not zero", b[p])
	}
	return p + 1, nil
}

// decodeBody decodes a whole function body into instructions and checks
// that its blocks nest: every block/loop/if has its end, else appears only
// inside an if, branch labels are within the nesting, and the final end
// closes the function. Its work is linear in len(body).
func decodeBody(body []byte) ([]instr, error) {
	var out []instr
	// kinds of the open blocks; the function itself is the outermost.
	open := []byte{0}
	for p := 0; p < len(body); {
		in, err := decodeInstr(body, p)
		if err != nil {
			return nil, fmt.Errorf("offset %d: %w", p, err)
		}
		switch in.op {
		case opBlock, opLoop, opIf:
			if len(open) > maxNesting {
				return nil, fmt.Errorf("offset %d: blocks nest deeper than %d", p, maxNesting)
			}
			open = append(open, in.op)
		case opElse:
			if open[len(open)-1] != opIf {
				return nil, fmt.Errorf("offset %d: else outside if", p)
			}
			open[len(open)-1] = opElse
		case opEnd:
			open = open[:len(open)-1]
			if len(open) == 0 && in.end != len(body) {
				return nil, fmt.Errorf("offset %d: instructions after the function's end", in.end)
			}
		case opBr, opBrIf:
			if in.idx >= uint32(len(open)) {
				return nil, fmt.Errorf("offset %d: branch label %d outside %d blocks", p, in.idx, len(open))
			}
		case opBrTable:
			for _, l := range in.labels {
				if l >= uint32(len(open)) {
					return nil, fmt.Errorf("offset %d: branch label %d outside %d blocks", p, l, len(open))
				}
			}
		}
		out = append(out, in)
		p = in.end
	}
	if len(open) != 0 {
		return nil, errors.New("body ends inside a block")
	}
	return out, nil
}
