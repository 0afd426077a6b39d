package meshrpc

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	mempl "github.com/cometbft/cometbft/mempool"
	rpccore "github.com/cometbft/cometbft/rpc/core"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/encoding/protowire"
)

// Fields of the BlockResponse message (proto/meshrpc/v1/block.proto).
const (
	fieldBlock        protowire.Number = 1
	fieldCommit       protowire.Number = 2
	fieldValidatorSet protowire.Number = 3
)

// Handler serves the routes under Prefix from env, the environment of
// the node's CometBFT RPC (node.Node.ConfigureRPC). maxTxBytes is the
// mempool's max_tx_bytes: a larger BroadcastTxPath body is refused (413)
// before it is read. A panic in a route is logged and answered with 500.
func Handler(env *rpccore.Environment, maxTxBytes int64, logger cmtlog.Logger) http.Handler {
	s := &server{env: env, maxTx: maxTxBytes, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+BlockPath, s.block)
	mux.HandleFunc("POST "+BroadcastTxPath, s.broadcastTx)
	mux.HandleFunc("GET "+TxPath, s.tx)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(VersionHeader, "1")
		defer func() {
			if e := recover(); e != nil {
				if e == http.ErrAbortHandler {
					panic(e)
				}
				s.log.Error("panic in a /mesh/v1/ route", "path", r.URL.Path, "err", e)
				writeError(w, http.StatusInternalServerError, fmt.Errorf("meshrpc: internal error: %v", e), false)
			}
		}()
		if _, pattern := mux.Handler(r); pattern == "" {
			writeError(w, http.StatusNotFound, fmt.Errorf("meshrpc: no route %s %s (routes: GET %s, POST %s, GET %s)", r.Method, r.URL.Path, BlockPath, BroadcastTxPath, TxPath), false)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

type server struct {
	env   *rpccore.Environment
	maxTx int64
	log   cmtlog.Logger
}

// block writes the BlockResponse of ?height=H: the block's stored parts,
// which concatenated are its protobuf encoding, then the commit CometBFT's
// /commit would answer (the seen commit at the store's head, the canonical
// one below it) and the validator set of H.
func (s *server) block(w http.ResponseWriter, r *http.Request) {
	height, err := strconv.ParseInt(r.URL.Query().Get("height"), 10, 64)
	if err != nil || height < 1 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("meshrpc: height %q is not a positive integer", r.URL.Query().Get("height")), false)
		return
	}
	bs := s.env.BlockStore
	base, top := bs.Base(), bs.Height()
	if height < base || height > top {
		writeError(w, http.StatusNotFound, fmt.Errorf("meshrpc: block %d is not stored (the node holds %d to %d)", height, base, top), true)
		return
	}
	meta := bs.LoadBlockMeta(height)
	if meta == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("meshrpc: block %d is not stored", height), true)
		return
	}
	var commit *cmttypes.Commit
	if height == top {
		commit = bs.LoadSeenCommit(height)
	} else {
		commit = bs.LoadBlockCommit(height)
	}
	if commit == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("meshrpc: no commit of block %d is stored", height), true)
		return
	}
	vals, err := s.env.StateStore.LoadValidators(height)
	if err != nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("meshrpc: validators of %d: %w", height, err), true)
		return
	}
	total := int(meta.BlockID.PartSetHeader.Total)
	parts := make([][]byte, 0, total)
	blockLen := 0
	for i := range total {
		p := bs.LoadBlockPart(height, i)
		if p == nil {
			writeError(w, http.StatusNotFound, fmt.Errorf("meshrpc: part %d of block %d is not stored", i, height), true)
			return
		}
		parts = append(parts, p.Bytes)
		blockLen += len(p.Bytes)
	}
	commitPB := commit.ToProto()
	commitBytes, err := commitPB.Marshal()
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("meshrpc: encode commit %d: %w", height, err), false)
		return
	}
	valsPB, err := vals.ToProto()
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("meshrpc: encode validators of %d: %w", height, err), false)
		return
	}
	valsBytes, err := valsPB.Marshal()
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("meshrpc: encode validators of %d: %w", height, err), false)
		return
	}
	// The three length-delimited fields, the block's written part by part.
	blockHead := appendFieldHead(nil, fieldBlock, blockLen)
	rest := appendFieldHead(nil, fieldCommit, len(commitBytes))
	rest = append(rest, commitBytes...)
	rest = appendFieldHead(rest, fieldValidatorSet, len(valsBytes))
	rest = append(rest, valsBytes...)
	w.Header().Set("Content-Type", ContentTypeProtobuf)
	w.Header().Set("Content-Length", strconv.Itoa(len(blockHead)+blockLen+len(rest)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(blockHead); err != nil {
		return
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return // the client went away; the server logs nothing for it
		}
	}
	_, _ = w.Write(rest)
}

func appendFieldHead(b []byte, n protowire.Number, size int) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(size))
}

// broadcastTx runs CheckTx on the body, as broadcast_tx_sync does.
func (s *server) broadcastTx(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > s.maxTx {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("meshrpc: transaction of %d bytes, the mempool's max_tx_bytes is %d", r.ContentLength, s.maxTx), false)
		return
	}
	body := http.MaxBytesReader(w, r.Body, s.maxTx)
	var raw []byte
	var err error
	if r.ContentLength >= 0 {
		raw = make([]byte, r.ContentLength)
		_, err = io.ReadFull(body, raw)
		if err == nil {
			// The body must end where its length said.
			var one [1]byte
			if n, _ := body.Read(one[:]); n > 0 {
				err = errors.New("body longer than its Content-Length")
			}
		}
	} else {
		raw, err = io.ReadAll(body)
	}
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("meshrpc: transaction over the mempool's max_tx_bytes, %d", s.maxTx), false)
			return
		}
		writeError(w, http.StatusBadRequest, fmt.Errorf("meshrpc: reading the transaction: %w", err), false)
		return
	}
	if len(raw) == 0 {
		writeError(w, http.StatusBadRequest, errors.New("meshrpc: empty transaction"), false)
		return
	}
	res, err := s.env.BroadcastTxSync(&rpctypes.Context{HTTPReq: r}, raw)
	if err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, mempl.ErrTxInCache):
			code = http.StatusConflict
		case errors.As(err, new(mempl.ErrMempoolIsFull)):
			code = http.StatusServiceUnavailable
		case errors.As(err, new(mempl.ErrTxTooLarge)):
			code = http.StatusRequestEntityTooLarge
		case errors.As(err, new(mempl.ErrPreCheck)):
			code = http.StatusBadRequest
		}
		writeError(w, code, fmt.Errorf("meshrpc: broadcast: %w", err), false)
		return
	}
	writeJSON(w, http.StatusOK, BroadcastResult{Code: res.Code, Data: res.Data, Log: res.Log, Codespace: res.Codespace, Hash: res.Hash})
}

// tx answers the indexed result of ?hash=HEX.
func (s *server) tx(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("hash")
	hash, err := hex.DecodeString(q)
	if err != nil || len(hash) != 32 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("meshrpc: hash %.80q is not 32 bytes in hex", q), false)
		return
	}
	res, err := s.env.TxIndexer.Get(hash)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("meshrpc: transaction index: %w", err), false)
		return
	}
	if res == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("meshrpc: transaction %X not found", hash), true)
		return
	}
	e := res.Result
	writeJSON(w, http.StatusOK, TxStatus{Hash: hash, Height: res.Height, Index: res.Index, Code: e.Code, Data: e.Data,
		Log: e.Log, Info: e.Info, GasWanted: e.GasWanted, GasUsed: e.GasUsed, Codespace: e.Codespace})
}

func writeError(w http.ResponseWriter, code int, err error, notFound bool) {
	writeJSON(w, code, Error{Error: err.Error(), NotFound: notFound})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"meshrpc: encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
