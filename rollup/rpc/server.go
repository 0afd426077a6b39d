package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
)

// Limits of the Server.
const (
	// MaxRequestSize is the most bytes of a request body.
	MaxRequestSize = 5 << 20
	// MaxBatchItems is the most calls in one batch.
	MaxBatchItems = 100
	// MaxBatchResponseSize is the most bytes of a batch's answers; the
	// calls past it are answered with an error.
	MaxBatchResponseSize = 25 << 20
)

// JSON-RPC 2.0 error codes the Server answers with.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternal       = -32603
	// CodeNotFound: a block or state the node does not have.
	CodeNotFound = -32001
	// CodeServer: any other failure of the node.
	CodeServer = -32000
)

// Server is an http.Handler serving API's methods as JSON-RPC 2.0 over
// HTTP POST: rollup_submitTx, rollup_txStatus, rollup_status,
// rollup_getBlock and rollup_query (docs/rollups.md).
type Server struct {
	api     *API
	log     *slog.Logger
	methods map[string]method
}

type method func(ctx context.Context, params []json.RawMessage) (any, error)

// NewServer returns a Server for api; log may be nil. It does no I/O.
func NewServer(api *API, log *slog.Logger) (*Server, error) {
	if api == nil {
		return nil, errors.New("rollup rpc: nil API")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{api: api, log: log}
	s.methods = map[string]method{
		"rollup_submitTx": func(ctx context.Context, p []json.RawMessage) (any, error) {
			var tx Bytes
			if err := params(p, 1, &tx); err != nil {
				return nil, err
			}
			return api.SubmitTx(ctx, tx)
		},
		"rollup_txStatus": func(ctx context.Context, p []json.RawMessage) (any, error) {
			var hash Bytes
			if err := params(p, 1, &hash); err != nil {
				return nil, err
			}
			return api.TxStatus(ctx, hash)
		},
		"rollup_status": func(ctx context.Context, p []json.RawMessage) (any, error) {
			if err := params(p, 0); err != nil {
				return nil, err
			}
			return api.Status(ctx)
		},
		"rollup_getBlock": func(ctx context.Context, p []json.RawMessage) (any, error) {
			var h uint64
			if err := params(p, 1, &h); err != nil {
				return nil, err
			}
			return api.GetBlock(ctx, h)
		},
		"rollup_query": func(ctx context.Context, p []json.RawMessage) (any, error) {
			var q Bytes
			var h *uint64
			if err := params(p, 1, &q, &h); err != nil {
				return nil, err
			}
			return api.Query(ctx, q, h)
		},
	}
	return s, nil
}

// params decodes the positional params p into out: at least required of
// them, at most len(out); a null or missing optional one leaves its
// pointer nil.
func params(p []json.RawMessage, required int, out ...any) error {
	if len(p) < required || len(p) > len(out) {
		return fmt.Errorf("%w: %d params, want %d to %d", ErrInvalidParams, len(p), required, len(out))
	}
	for i, raw := range p {
		if err := json.Unmarshal(raw, out[i]); err != nil {
			return fmt.Errorf("%w: param %d: %w", ErrInvalidParams, i, err)
		}
	}
	return nil
}

type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

func errResponse(id json.RawMessage, code int, msg string) *response {
	if id == nil {
		id = json.RawMessage("null")
	}
	return &response{JSONRPC: "2.0", ID: id, Error: &rpcError{Code: code, Message: msg}}
}

// ServeHTTP answers a JSON-RPC request or batch sent by POST with
// Content-Type application/json; other methods get 405, bodies past
// MaxRequestSize 413. A notification (no id) is executed and not
// answered.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "rollup rpc: JSON-RPC over POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestSize+1))
	if err != nil {
		http.Error(w, "rollup rpc: reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > MaxRequestSize {
		http.Error(w, fmt.Sprintf("rollup rpc: request over %d bytes", MaxRequestSize), http.StatusRequestEntityTooLarge)
		return
	}
	body = bytes.TrimSpace(body)
	var out any
	switch {
	case len(body) > 0 && body[0] == '[':
		var batch []json.RawMessage
		if err := json.Unmarshal(body, &batch); err != nil {
			out = errResponse(nil, CodeParseError, "rollup rpc: batch does not parse: "+err.Error())
			break
		}
		if len(batch) == 0 || len(batch) > MaxBatchItems {
			out = errResponse(nil, CodeInvalidRequest, fmt.Sprintf("rollup rpc: batch of %d calls, want 1 to %d", len(batch), MaxBatchItems))
			break
		}
		answers := make([]*response, 0, len(batch))
		size := 0
		for _, raw := range batch {
			resp := s.call(r.Context(), raw)
			if resp == nil {
				continue
			}
			if size > MaxBatchResponseSize {
				resp = errResponse(resp.ID, CodeServer, fmt.Sprintf("rollup rpc: batch answers over %d bytes", MaxBatchResponseSize))
			} else if b, err := json.Marshal(resp); err == nil {
				size += len(b)
			}
			answers = append(answers, resp)
		}
		if len(answers) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		out = answers
	default:
		resp := s.call(r.Context(), body)
		if resp == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		out = resp
	}
	b, err := json.Marshal(out)
	if err != nil {
		s.log.Error("rollup rpc: encoding an answer", "err", err)
		b, _ = json.Marshal(errResponse(nil, CodeInternal, "rollup rpc: encoding the answer failed"))
	}
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write(b); err != nil {
		s.log.Debug("rollup rpc: writing an answer", "err", err)
	}
}

// call runs one request; nil for a notification.
func (s *Server) call(ctx context.Context, raw json.RawMessage) (resp *response) {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return errResponse(nil, CodeParseError, "rollup rpc: request does not parse: "+err.Error())
	}
	if req.JSONRPC != "2.0" || req.Method == "" {
		return errResponse(req.ID, CodeInvalidRequest, `rollup rpc: want "jsonrpc":"2.0" and a method`)
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("rollup rpc: panic in a method", "method", req.Method, "panic", p)
			resp = errResponse(req.ID, CodeInternal, "rollup rpc: internal error")
		}
		if req.ID == nil {
			resp = nil
		}
	}()
	m, ok := s.methods[req.Method]
	if !ok {
		return errResponse(req.ID, CodeMethodNotFound, fmt.Sprintf("rollup rpc: no method %q", req.Method))
	}
	var p []json.RawMessage
	if len(req.Params) > 0 && string(req.Params) != "null" {
		if err := json.Unmarshal(req.Params, &p); err != nil {
			return errResponse(req.ID, CodeInvalidParams, "rollup rpc: params must be an array")
		}
	}
	result, err := m(ctx, p)
	if err != nil {
		return errResponse(req.ID, Code(err), err.Error())
	}
	return &response{JSONRPC: "2.0", ID: req.ID, Result: result}
}

// Code is the JSON-RPC error code of an error of API: CodeInvalidParams
// for one wrapping ErrInvalidParams, CodeNotFound for ErrNotFound,
// CodeServer otherwise.
func Code(err error) int {
	switch {
	case errors.Is(err, ErrInvalidParams):
		return CodeInvalidParams
	case errors.Is(err, ErrNotFound):
		return CodeNotFound
	}
	return CodeServer
}
