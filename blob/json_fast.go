package blob

import (
	"encoding/base64"
	"strconv"
)

// decodeJSONFast decodes the common form of a blob's JSON in one pass,
// base64 straight into the fields' buffers: one object whose keys are
// jsonBlob's names exactly, each at most once, the byte fields base64
// strings without escapes (or null), share_version and index plain
// integers, and nothing after the object but white space. It reports
// false for anything else (other keys or spellings, escapes, other value
// forms, bad base64, out-of-range numbers, malformed JSON); the caller
// then decodes with encoding/json, which gives its own result and error.
// When it reports true, j is what json.Unmarshal into jsonBlob{Index: -1}
// would give (FuzzBlobJSONFast checks it).
func decodeJSONFast(data []byte) (j jsonBlob, ok bool) {
	j.Index = -1
	p := jsonScan{buf: data}
	p.space()
	if !p.take('{') {
		return jsonBlob{}, false
	}
	p.space()
	if p.take('}') {
		return j, p.end()
	}
	var seen [6]bool
	for {
		key, ok := p.plainString()
		if !ok {
			return jsonBlob{}, false
		}
		f := fastFieldIndex(key)
		if f < 0 || seen[f] {
			return jsonBlob{}, false
		}
		seen[f] = true
		p.space()
		if !p.take(':') {
			return jsonBlob{}, false
		}
		p.space()
		switch f {
		case 0:
			j.Namespace, ok = p.base64Value()
		case 1:
			j.Data, ok = p.base64Value()
		case 2:
			var v uint64
			if v, ok = p.integer(false); ok && v <= 0xff {
				j.ShareVersion = uint8(v)
			} else {
				ok = false
			}
		case 3:
			j.Commitment, ok = p.base64Value()
		case 4:
			j.Signer, ok = p.base64Value()
		case 5:
			var v uint64
			if v, ok = p.integer(true); ok {
				j.Index = int(int64(v))
			}
		}
		if !ok {
			return jsonBlob{}, false
		}
		p.space()
		if p.take('}') {
			return j, p.end()
		}
		if !p.take(',') {
			return jsonBlob{}, false
		}
		p.space()
	}
}

// fastFieldIndex returns the index of a jsonBlob key, or -1.
func fastFieldIndex(key []byte) int {
	switch string(key) {
	case "namespace":
		return 0
	case "data":
		return 1
	case "share_version":
		return 2
	case "commitment":
		return 3
	case "signer":
		return 4
	case "index":
		return 5
	}
	return -1
}

// jsonScan reads JSON tokens from buf for decodeJSONFast.
type jsonScan struct {
	buf []byte
	i   int
}

func (p *jsonScan) space() {
	for p.i < len(p.buf) {
		switch p.buf[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonScan) take(c byte) bool {
	if p.i < len(p.buf) && p.buf[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (p *jsonScan) end() bool {
	p.space()
	return p.i == len(p.buf)
}

// plainString reads a string without escapes or control characters and
// returns its contents (aliasing buf).
func (p *jsonScan) plainString() ([]byte, bool) {
	if !p.take('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.buf) {
		switch c := p.buf[p.i]; {
		case c == '"':
			s := p.buf[start:p.i]
			p.i++
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// base64Value reads null (nil) or a plain string of standard padded
// base64, decoded into a new buffer.
func (p *jsonScan) base64Value() ([]byte, bool) {
	if p.literal("null") {
		return nil, true
	}
	s, ok := p.plainString()
	if !ok {
		return nil, false
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(out, s)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

// literal reads word if it comes next and is not followed by more of a
// token.
func (p *jsonScan) literal(word string) bool {
	if len(p.buf)-p.i < len(word) || string(p.buf[p.i:p.i+len(word)]) != word {
		return false
	}
	if k := p.i + len(word); k < len(p.buf) && !delimiter(p.buf[k]) {
		return false
	}
	p.i += len(word)
	return true
}

// integer reads a JSON integer (no fraction or exponent): non-negative,
// or signed if signed is set, in which case the result is an int64 in
// two's complement. One out of range of the type is refused.
func (p *jsonScan) integer(signed bool) (uint64, bool) {
	start := p.i
	if signed {
		p.take('-')
	}
	digits := p.i
	for p.i < len(p.buf) && p.buf[p.i] >= '0' && p.buf[p.i] <= '9' {
		p.i++
	}
	switch {
	case p.i == digits:
		return 0, false
	case p.buf[digits] == '0' && p.i-digits > 1:
		return 0, false // a leading zero is not JSON
	case p.i < len(p.buf) && !delimiter(p.buf[p.i]):
		return 0, false // a fraction, an exponent or garbage
	}
	s := string(p.buf[start:p.i])
	if signed {
		v, err := strconv.ParseInt(s, 10, strconv.IntSize)
		return uint64(v), err == nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// delimiter reports whether c may follow a number or literal in the
// forms decodeJSONFast reads.
func delimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', '}':
		return true
	}
	return false
}
