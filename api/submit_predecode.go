package api

import (
	"context"
	"strings"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/internal/jsonscan"
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
	p := &jsonscan.Scanner{Buf: body}
	p.Space()
	if !p.Take('{') {
		return nil, nil, false
	}
	var isSubmit bool
	first, firstEnd := -1, -1
	for {
		p.Space()
		key, ok := p.PlainString(true)
		if !ok {
			return nil, nil, false
		}
		p.Space()
		if !p.Take(':') {
			return nil, nil, false
		}
		p.Space()
		switch {
		case strings.EqualFold(string(key), "method"):
			if string(key) != "method" || isSubmit {
				return nil, nil, false
			}
			m, ok := p.PlainString(true)
			if !ok || string(m) != submitMethod {
				return nil, nil, false
			}
			isSubmit = true
		case strings.EqualFold(string(key), "params"):
			// go-jsonrpc's client sends the method first; a params
			// before it is left to go-jsonrpc, not decoded in vain.
			if string(key) != "params" || !isSubmit || first >= 0 || !p.Take('[') {
				return nil, nil, false
			}
			p.Space()
			first = p.I
			if blobs, ok = blobArray(p); !ok {
				return nil, nil, false
			}
			firstEnd = p.I
			if !p.SkipRest(1) {
				return nil, nil, false
			}
		default:
			if !p.SkipValue() {
				return nil, nil, false
			}
		}
		p.Space()
		if p.Take('}') {
			break
		}
		if !p.Take(',') {
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
func blobArray(p *jsonscan.Scanner) ([]*blob.Blob, bool) {
	if !p.Take('[') {
		return nil, false
	}
	var blobs []*blob.Blob
	for {
		p.Space()
		start := p.I
		if p.I >= len(p.Buf) || p.Buf[p.I] != '{' || !p.SkipValue() {
			return nil, false
		}
		b := new(blob.Blob)
		if err := b.UnmarshalJSON(p.Buf[start:p.I]); err != nil {
			return nil, false
		}
		blobs = append(blobs, b)
		p.Space()
		if p.Take(']') {
			return blobs, true
		}
		if !p.Take(',') {
			return nil, false
		}
	}
}
