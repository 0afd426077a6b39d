package blob

import (
	"encoding/base64"
	"strconv"

	"github.com/datamesh/mesh-node/internal/jsonscan"
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
	p := jsonScan{jsonscan.Scanner{Buf: data}}
	p.Space()
	if !p.Take('{') {
		return jsonBlob{}, false
	}
	p.Space()
	if p.Take('}') {
		return j, p.End()
	}
	var seen [6]bool
	for {
		key, ok := p.PlainString(false)
		if !ok {
			return jsonBlob{}, false
		}
		f := fastFieldIndex(key)
		if f < 0 || seen[f] {
			return jsonBlob{}, false
		}
		seen[f] = true
		p.Space()
		if !p.Take(':') {
			return jsonBlob{}, false
		}
		p.Space()
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
		p.Space()
		if p.Take('}') {
			return j, p.End()
		}
		if !p.Take(',') {
			return jsonBlob{}, false
		}
		p.Space()
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

// jsonScan reads JSON tokens for decodeJSONFast: jsonscan's and the
// value forms of a blob's fields.
type jsonScan struct{ jsonscan.Scanner }

// base64Value reads null (nil) or a plain string of standard padded
// base64, decoded into a new buffer.
func (p *jsonScan) base64Value() ([]byte, bool) {
	if p.literal("null") {
		return nil, true
	}
	s, ok := p.PlainString(false)
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
	if len(p.Buf)-p.I < len(word) || string(p.Buf[p.I:p.I+len(word)]) != word {
		return false
	}
	if k := p.I + len(word); k < len(p.Buf) && !delimiter(p.Buf[k]) {
		return false
	}
	p.I += len(word)
	return true
}

// integer reads a JSON integer (no fraction or exponent): non-negative,
// or signed if signed is set, in which case the result is an int64 in
// two's complement. One out of range of the type is refused.
func (p *jsonScan) integer(signed bool) (uint64, bool) {
	start := p.I
	if signed {
		p.Take('-')
	}
	digits := p.I
	for p.I < len(p.Buf) && p.Buf[p.I] >= '0' && p.Buf[p.I] <= '9' {
		p.I++
	}
	switch {
	case p.I == digits:
		return 0, false
	case p.Buf[digits] == '0' && p.I-digits > 1:
		return 0, false // a leading zero is not JSON
	case p.I < len(p.Buf) && !delimiter(p.Buf[p.I]):
		return 0, false // a fraction, an exponent or garbage
	}
	s := string(p.Buf[start:p.I])
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
