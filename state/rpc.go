package state

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	jsonrpc "github.com/cometbft/cometbft/rpc/jsonrpc/client"
)

// cometRPC calls the five methods of a core node's CometBFT RPC the client
// uses, with the requests CometBFT's rpc/client/http sends, decoding only
// the fields the client reads. That client's result types
// (rpc/core/types) would link CometBFT's p2p and config packages, and
// through config its database (cometbft-db), into every light node.
//
// BroadcastTxSync and Tx use the core node's binary routes (package
// core/meshrpc, whose paths and answers meshPaths and the mesh types
// below repeat so as not to link it) when the node serves them, and the
// JSON methods otherwise.
type cometRPC struct {
	c *jsonrpc.Client
	// hc and base reach the binary routes; base is "" for a unix socket,
	// which leaves them unused.
	hc   *http.Client
	base string
	// noMesh is set once the node answered that it does not serve the
	// binary routes.
	noMesh atomic.Bool
}

// The core node's binary routes (core/meshrpc).
const (
	meshBroadcastTxPath = "/mesh/v1/broadcast_tx"
	meshTxPath          = "/mesh/v1/tx"
	meshVersionHeader   = "X-Mesh-RPC"
	// maxMeshAnswer bounds an answer of the routes: results and logs, never a transaction.
	maxMeshAnswer = 1 << 20
)

// errNoMesh is returned by the binary calls when the node does not serve
// the routes; the caller uses the JSON method.
var errNoMesh = errors.New("state: the core node serves no /mesh/v1/ routes")

// errTxNotFound is the binary Tx's answer for a transaction no block
// includes (yet).
var errTxNotFound = errors.New("state: transaction not found")

// newCometRPC returns a client of the RPC at addr (http://host:port, or
// tcp:// or unix://). It does no I/O.
func newCometRPC(addr string) (*cometRPC, error) {
	c, err := jsonrpc.New(addr)
	if err != nil {
		return nil, err
	}
	r := &cometRPC{c: c, hc: &http.Client{}}
	switch {
	case strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://"):
		r.base = strings.TrimSuffix(addr, "/")
	case strings.HasPrefix(addr, "tcp://"):
		r.base = "http://" + strings.TrimSuffix(strings.TrimPrefix(addr, "tcp://"), "/")
	}
	return r, nil
}

// meshBroadcast is BroadcastTxPath's answer.
type meshBroadcast struct {
	Code uint32 `json:"code"`
	Log  string `json:"log"`
	Hash []byte `json:"hash"`
}

// meshTx is TxPath's answer.
type meshTx struct {
	Height    int64  `json:"height"`
	Code      uint32 `json:"code"`
	Data      []byte `json:"data"`
	Log       string `json:"log"`
	Info      string `json:"info"`
	GasWanted int64  `json:"gas_wanted"`
	GasUsed   int64  `json:"gas_used"`
	Codespace string `json:"codespace"`
}

// meshError is the body of an answer of the routes other than 200.
type meshError struct {
	Error    string `json:"error"`
	NotFound bool   `json:"not_found"`
}

// mesh sends req to a binary route and decodes a 200 answer into out. It
// returns errNoMesh (and remembers it) when the node does not serve the
// routes, errTxNotFound wrapped for a not-found answer, and the route's
// error message for any other.
func (r *cometRPC) mesh(req *http.Request, out any) error {
	res, err := r.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	served := res.Header.Get(meshVersionHeader) != ""
	if !served && (res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed) {
		r.noMesh.Store(true)
		return errNoMesh
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxMeshAnswer+1))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if len(body) > maxMeshAnswer {
		return fmt.Errorf("answer over %d bytes", maxMeshAnswer)
	}
	if res.StatusCode != http.StatusOK || !served {
		var e meshError
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = "(no readable error)"
		}
		if e.NotFound {
			return fmt.Errorf("%w: %s", errTxNotFound, e.Error)
		}
		return fmt.Errorf("%s: %s", res.Status, e.Error)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	return nil
}

func (r *cometRPC) useMesh() bool { return r.base != "" && !r.noMesh.Load() }

// resultStatus is the part of /status the client reads.
type resultStatus struct {
	NodeInfo struct {
		Network string `json:"network"` // the chain ID
	} `json:"node_info"`
}

// resultGenesis is the part of /genesis the client reads.
type resultGenesis struct {
	Genesis *struct {
		AppState json.RawMessage `json:"app_state"`
	} `json:"genesis"`
}

// resultABCIQuery is /abci_query's answer.
type resultABCIQuery struct {
	Response abci.ResponseQuery `json:"response"`
}

// resultBroadcastTx is the part of /broadcast_tx_sync's answer the client
// reads: CheckTx's code and log, and the transaction's hash.
type resultBroadcastTx struct {
	Code uint32            `json:"code"`
	Log  string            `json:"log"`
	Hash cmtbytes.HexBytes `json:"hash"`
}

// resultTx is the part of /tx's answer the client reads.
type resultTx struct {
	Height   int64             `json:"height"`
	TxResult abci.ExecTxResult `json:"tx_result"`
}

// Status calls /status.
func (r *cometRPC) Status(ctx context.Context) (*resultStatus, error) {
	res := new(resultStatus)
	if _, err := r.c.Call(ctx, "status", map[string]any{}, res); err != nil {
		return nil, err
	}
	return res, nil
}

// Genesis calls /genesis.
func (r *cometRPC) Genesis(ctx context.Context) (*resultGenesis, error) {
	res := new(resultGenesis)
	if _, err := r.c.Call(ctx, "genesis", map[string]any{}, res); err != nil {
		return nil, err
	}
	return res, nil
}

// ABCIQuery calls /abci_query at the latest height, without a proof.
func (r *cometRPC) ABCIQuery(ctx context.Context, path string, data cmtbytes.HexBytes) (*resultABCIQuery, error) {
	res := new(resultABCIQuery)
	params := map[string]any{"path": path, "data": data, "height": int64(0), "prove": false}
	if _, err := r.c.Call(ctx, "abci_query", params, res); err != nil {
		return nil, err
	}
	return res, nil
}

// BroadcastTxSync calls /broadcast_tx_sync: it returns once CheckTx has
// answered.
func (r *cometRPC) BroadcastTxSync(ctx context.Context, raw []byte) (*resultBroadcastTx, error) {
	if r.useMesh() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+meshBroadcastTxPath, bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		var m meshBroadcast
		switch err := r.mesh(req, &m); {
		case err == nil:
			return &resultBroadcastTx{Code: m.Code, Log: m.Log, Hash: m.Hash}, nil
		case !errors.Is(err, errNoMesh):
			return nil, err
		}
	}
	res := new(resultBroadcastTx)
	if _, err := r.c.Call(ctx, "broadcast_tx_sync", map[string]any{"tx": raw}, res); err != nil {
		return nil, err
	}
	return res, nil
}

// Tx calls /tx for the transaction with hash, without a proof; it fails
// while no block includes it. From the binary route the answer carries
// neither the transaction nor its events.
func (r *cometRPC) Tx(ctx context.Context, hash []byte) (*resultTx, error) {
	if r.useMesh() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+meshTxPath+"?hash="+hex.EncodeToString(hash), nil)
		if err != nil {
			return nil, err
		}
		var m meshTx
		switch err := r.mesh(req, &m); {
		case err == nil:
			return &resultTx{Height: m.Height, TxResult: abci.ExecTxResult{Code: m.Code, Data: m.Data, Log: m.Log, Info: m.Info,
				GasWanted: m.GasWanted, GasUsed: m.GasUsed, Codespace: m.Codespace}}, nil
		case !errors.Is(err, errNoMesh):
			return nil, err
		}
	}
	res := new(resultTx)
	if _, err := r.c.Call(ctx, "tx", map[string]any{"hash": hash, "prove": false}, res); err != nil {
		return nil, err
	}
	return res, nil
}
