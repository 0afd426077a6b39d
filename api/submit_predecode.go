package api

import (
	"context"
	"strings"

	"github.com/datamesh/mesh-node/blob"
)

// A blob.Submit call over HTTP carries megabytes of base64 in its first
// parameter, which go-jsonrpc would scan several times (the request, the
// parameter list, the parameter) before the blobs' own decoding.
// ServeHTTP instead decodes that parameter once, ahead of go-jsonrpc
// (predecodeSubmit), and hands go-jsonrpc the request with the parameter
// replaced by null and the decoded blobs in the call's context, where
// BlobModule.Submit takes them. It does so only when the blobs decode
// without error and the request's form leaves no doubt about which
// parameter go-jsonrpc would decode; anything else, errors included, goes
// to go-jsonrpc as it came, so that what is accepted and refused, and
// every error's wording, stay go-jsonrpc's and package blob's.

// submitMethod is the JSON-RPC name of BlobModule.Submit.
const submitMethod = "blob.Submit"

// preSubmitKey is the context key of blobs decoded ahead of go-jsonrpc.
type preSubmitKey struct{}

// withPreSubmit returns ctx carrying blobs for BlobModule.Submit.
func withPreSubmit(ctx context.Context, blobs []*blob.Blob) context.Context {
	return context.WithValue(ctx, preSubmitKey{}, blobs)
}

// preSubmitted returns the blobs ServeHTTP decoded for this call, or nil.
func preSubmitted(ctx context.Context) []*blob.Blob {
	blobs, _ := ctx.Value(preSubmitKey{}).([]*blob.Blob)
	return blobs
}

// predecodeSubmit decodes the blobs of body, a request not yet checked,
// if it is a single blob.Submit call in plain form: an
// object whose keys are ASCII without escapes, with one key spelled
// "method" (value "blob.Submit") and, after it, one spelled "params" (no other
// spelling of either, which encoding/json would also match), whose first
// element is a non-empty array of blob objects that decode. It returns
// body with that element replaced by null, and the blobs, in the order
// of the array. ok is false for anything else; body is not modified.
// The blobs it returns were validated as JSON by their decoding, so body
// is valid JSON if the rewritten request is (FuzzPredecodeSubmit checks
// it): the caller checks only the rewritten one.
func predecodeSubmit(body []byte) (rewritten []byte, blobs []*blob.Blob, ok bool) {
	p := jsonSkipper{buf: body}
	p.space()
	if !p.take('{') {
		return nil, nil, false
	}
	var isSubmit bool
	first, firstEnd := -1, -1
	for {
		p.space()
		key, ok := p.plainString()
		if !ok {
			return nil, nil, false
		}
		p.space()
		if !p.take(':') {
			return nil, nil, false
		}
		p.space()
		switch {
		case strings.EqualFold(string(key), "method"):
			if string(key) != "method" || isSubmit {
				return nil, nil, false
			}
			m, ok := p.plainString()
			if !ok || string(m) != submitMethod {
				return nil, nil, false
			}
			isSubmit = true
		case strings.EqualFold(string(key), "params"):
			// go-jsonrpc's client sends the method first; a params
			// before it is left to go-jsonrpc, not decoded in vain.
			if string(key) != "params" || !isSubmit || first >= 0 || !p.take('[') {
				return nil, nil, false
			}
			p.space()
			first = p.i
			if blobs, ok = p.blobArray(); !ok {
				return nil, nil, false
			}
			firstEnd = p.i
			if !p.skipRest(1) {
				return nil, nil, false
			}
		default:
			if !p.skipValue() {
				return nil, nil, false
			}
		}
		p.space()
		if p.take('}') {
			break
		}
		if !p.take(',') {
			return nil, nil, false
		}
	}
	if !isSubmit || first < 0 {
		return nil, nil, false
	}
	rewritten = make([]byte, 0, len(body)-(firstEnd-first)+len("null"))
	rewritten = append(rewritten, body[:first]...)
	rewritten = append(rewritten, "null"...)
	rewritten = append(rewritten, body[firstEnd:]...)
	return rewritten, blobs, true
}

// blobArray reads a non-empty array of objects, each decoded by
// blob.Blob's UnmarshalJSON.
func (p *jsonSkipper) blobArray() ([]*blob.Blob, bool) {
	if !p.take('[') {
		return nil, false
	}
	var blobs []*blob.Blob
	for {
		p.space()
		start := p.i
		if p.i >= len(p.buf) || p.buf[p.i] != '{' || !p.skipValue() {
			return nil, false
		}
		b := new(blob.Blob)
		if err := b.UnmarshalJSON(p.buf[start:p.i]); err != nil {
			return nil, false
		}
		blobs = append(blobs, b)
		p.space()
		if p.take(']') {
			return blobs, true
		}
		if !p.take(',') {
			return nil, false
		}
	}
}

// jsonSkipper walks JSON. It reads valid JSON right; on other input it
// may report false or skip wrongly, which the check of the rewritten
// request then refuses (see predecodeSubmit).
type jsonSkipper struct {
	buf []byte
	i   int
}

func (p *jsonSkipper) space() {
	for p.i < len(p.buf) && (p.buf[p.i] == ' ' || p.buf[p.i] == '\t' || p.buf[p.i] == '\n' || p.buf[p.i] == '\r') {
		p.i++
	}
}

func (p *jsonSkipper) take(c byte) bool {
	if p.i < len(p.buf) && p.buf[p.i] == c {
		p.i++
		return true
	}
	return false
}

// plainString reads a string of ASCII without escapes and returns its
// contents.
func (p *jsonSkipper) plainString() ([]byte, bool) {
	if !p.take('"') {
		return nil, false
	}
	start := p.i
	for ; p.i < len(p.buf); p.i++ {
		switch c := p.buf[p.i]; {
		case c == '"':
			p.i++
			return p.buf[start : p.i-1], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// skipValue moves past one value.
func (p *jsonSkipper) skipValue() bool {
	if p.i >= len(p.buf) {
		return false
	}
	switch p.buf[p.i] {
	case '{', '[':
		p.i++
		return p.skipRest(1)
	case '"':
		return p.skipString()
	}
	for p.i < len(p.buf) {
		switch p.buf[p.i] {
		case ' ', '\t', '\n', '\r', ',', '}', ']':
			return true
		case '{', '[', '"':
			return false
		}
		p.i++
	}
	return true
}

// skipString moves past a string, escapes included.
func (p *jsonSkipper) skipString() bool {
	p.i++ // the opening quote
	for p.i < len(p.buf) {
		switch p.buf[p.i] {
		case '"':
			p.i++
			return true
		case '\\':
			p.i += 2
		default:
			p.i++
		}
	}
	return false
}

// skipRest moves past the end of depth open objects or arrays.
func (p *jsonSkipper) skipRest(depth int) bool {
	for p.i < len(p.buf) {
		switch p.buf[p.i] {
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
		p.i++
		if depth == 0 {
			return true
		}
	}
	return false
}
