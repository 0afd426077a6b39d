// Package jsonscan reads JSON tokens in place, for the one-pass decoders of
// blob.Submit's hot path (package blob's blob decoder, package api's
// request pre-decoding): they read one known form and leave anything else
// to encoding/json. A Scanner reads valid JSON right; on other input it
// may report false or skip wrongly, which its callers check for.
package jsonscan

// Scanner reads Buf from I.
type Scanner struct {
	Buf []byte
	I   int
}

// Space moves past white space.
func (p *Scanner) Space() {
	for p.I < len(p.Buf) {
		switch p.Buf[p.I] {
		case ' ', '\t', '\n', '\r':
			p.I++
		default:
			return
		}
	}
}

// Take moves past c if it comes next.
func (p *Scanner) Take(c byte) bool {
	if p.I < len(p.Buf) && p.Buf[p.I] == c {
		p.I++
		return true
	}
	return false
}

// End reports whether only white space is left.
func (p *Scanner) End() bool {
	p.Space()
	return p.I == len(p.Buf)
}

// PlainString reads a string without escapes or control characters, and
// with ascii without bytes above 0x7f, and returns its contents (aliasing
// Buf).
func (p *Scanner) PlainString(ascii bool) ([]byte, bool) {
	if !p.Take('"') {
		return nil, false
	}
	start := p.I
	for ; p.I < len(p.Buf); p.I++ {
		switch c := p.Buf[p.I]; {
		case c == '"':
			p.I++
			return p.Buf[start : p.I-1], true
		case c == '\\' || c < 0x20 || (ascii && c >= 0x80):
			return nil, false
		}
	}
	return nil, false
}

// SkipValue moves past one value.
func (p *Scanner) SkipValue() bool {
	if p.I >= len(p.Buf) {
		return false
	}
	switch p.Buf[p.I] {
	case '{', '[':
		p.I++
		return p.SkipRest(1)
	case '"':
		return p.skipString()
	}
	for p.I < len(p.Buf) {
		switch p.Buf[p.I] {
		case ' ', '\t', '\n', '\r', ',', '}', ']':
			return true
		case '{', '[', '"':
			return false
		}
		p.I++
	}
	return true
}

// skipString moves past a string, escapes included.
func (p *Scanner) skipString() bool {
	p.I++ // the opening quote
	for p.I < len(p.Buf) {
		switch p.Buf[p.I] {
		case '"':
			p.I++
			return true
		case '\\':
			p.I += 2
		default:
			p.I++
		}
	}
	return false
}

// SkipRest moves past the end of depth open objects or arrays.
func (p *Scanner) SkipRest(depth int) bool {
	for p.I < len(p.Buf) {
		switch p.Buf[p.I] {
		case '"':
			if !p.skipString() {
				return false
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
		p.I++
		if depth == 0 {
			return true
		}
	}
	return false
}
