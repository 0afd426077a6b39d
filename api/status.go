package api

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
)

// ErrCodeBusy is the JSON-RPC error code of a request refused because the
// server is at a limit (HTTP 503 with a Retry-After header); the client
// may retry later. -32005 is "limit exceeded" in EIP-1474's JSON-RPC codes.
const ErrCodeBusy = -32005

// busyRetryAfter is the Retry-After, in seconds, of a busy answer.
const busyRetryAfter = 1

// The JSON-RPC 2.0 codes of a request the client got wrong.
const (
	codeParseError     = -32700
	codeInvalidRequest = -32600
	codeMethodNotFound = -32601
	codeInvalidParams  = -32602
)

// maxErrorBody bounds what statusWriter holds to find an error's code; a
// response whose code is not found within it keeps go-jsonrpc's status.
const maxErrorBody = 64 << 10

// statusWriter corrects the HTTP status of go-jsonrpc's error responses.
// go-jsonrpc answers a malformed call, an unknown method and bad params
// with HTTP 500, as it does a server fault; statusWriter holds a 500
// response back until it has read its JSON-RPC error code and answers a
// client's mistake with 400 instead. (celestia-node's client, go-jsonrpc's,
// decodes the JSON-RPC error of a 400 or 500 response and fails any other
// status above 400 without reading it: 400 is the only client-error status
// it understands.) Other responses pass through unbuffered.
type statusWriter struct {
	http.ResponseWriter
	held  bool // a 500 response is being held
	wrote bool // the status has been written
	buf   bytes.Buffer
}

func (w *statusWriter) WriteHeader(code int) {
	if w.wrote || w.held {
		return
	}
	if code == http.StatusInternalServerError {
		w.held = true
		return
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.held {
		w.wrote = true
		return w.ResponseWriter.Write(p)
	}
	w.buf.Write(p)
	if code, ok := errorCode(w.buf.Bytes()); ok {
		w.release(statusFor(code), false)
	} else if w.buf.Len() > maxErrorBody {
		w.release(http.StatusInternalServerError, false)
	}
	return len(p), nil
}

// Flush implements http.Flusher for a response not held.
func (w *statusWriter) Flush() {
	if !w.held {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish writes a response still held, with the status its code calls for.
func (w *statusWriter) finish() {
	if !w.held {
		return
	}
	status := http.StatusInternalServerError
	if code, ok := errorCode(w.buf.Bytes()); ok {
		status = statusFor(code)
	}
	w.release(status, true)
}

// release writes status and the held bytes, and stops holding; whole
// says they are the whole response.
func (w *statusWriter) release(status int, whole bool) {
	w.held = false
	w.wrote = true
	if whole {
		w.ResponseWriter.Header().Set("Content-Length", strconv.Itoa(w.buf.Len()))
	}
	w.ResponseWriter.WriteHeader(status)
	_, _ = w.ResponseWriter.Write(w.buf.Bytes())
	w.buf = bytes.Buffer{}
}

// errorKey precedes the code in go-jsonrpc's error responses (its fields
// are written in order: jsonrpc, id, error{code, message}). It cannot
// occur inside a JSON string, whose quotes are escaped, so its first
// occurrence is the response's error.
var errorKey = []byte(`"error":{"code":`)

// errorCode finds the JSON-RPC error code in the start of a response.
func errorCode(b []byte) (int, bool) {
	i := bytes.Index(b, errorKey)
	if i < 0 {
		return 0, false
	}
	b = b[i+len(errorKey):]
	end := bytes.IndexAny(b, ",}")
	if end < 0 {
		return 0, false
	}
	code, err := strconv.Atoi(string(bytes.TrimSpace(b[:end])))
	return code, err == nil
}

// statusFor is the HTTP status of a response with JSON-RPC error code.
func statusFor(code int) int {
	if clientErrorCode(code) {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func clientErrorCode(code int) bool {
	switch code {
	case codeParseError, codeInvalidRequest, codeMethodNotFound, codeInvalidParams:
		return true
	}
	return false
}

// budget is a count of bytes that may be reserved, at most limit at once.
type budget struct {
	mu    sync.Mutex
	limit int64
	held  int64
}

// tryReserve reserves n bytes if they fit, and reports whether they did.
func (b *budget) tryReserve(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.limit-b.held {
		return false
	}
	b.held += n
	return true
}

// release frees n bytes reserved by tryReserve.
func (b *budget) release(n int64) {
	b.mu.Lock()
	b.held -= n
	b.mu.Unlock()
}

// reserved returns the bytes reserved now.
func (b *budget) reserved() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}
