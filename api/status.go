package api

import (
	"bytes"
	"encoding/json"
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

// maxErrorBody bounds the error response statusWriter holds to read its
// code; a longer one is passed on with the status go-jsonrpc gave it.
const maxErrorBody = 64 << 10

// statusWriter corrects the HTTP status of go-jsonrpc's error responses.
// go-jsonrpc answers a malformed call, an unknown method and bad params
// with HTTP 500, as it does a server fault; statusWriter holds a 500
// response back, reads its JSON-RPC error code and answers a client's
// mistake with 400 instead. (celestia-node's client, go-jsonrpc's, decodes
// the JSON-RPC error of a 400 or 500 response and fails any other status
// above 400 without reading it: 400 is the only client-error status it
// understands.) Other responses pass through unbuffered.
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
	if w.buf.Len()+len(p) <= maxErrorBody {
		return w.buf.Write(p)
	}
	w.release(http.StatusInternalServerError, false)
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher for a response not held.
func (w *statusWriter) Flush() {
	if !w.held {
		http.NewResponseController(w.ResponseWriter).Flush() //nolint:errcheck // best effort, as http.Flusher
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish writes a held response with the status its error code calls for.
func (w *statusWriter) finish() {
	if !w.held {
		return
	}
	var resp struct {
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	status := http.StatusInternalServerError
	if json.Unmarshal(w.buf.Bytes(), &resp) == nil && resp.Error != nil && clientErrorCode(resp.Error.Code) {
		status = http.StatusBadRequest
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
