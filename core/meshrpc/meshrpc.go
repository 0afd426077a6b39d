package meshrpc

import "errors"

// Routes, relative to the core node's RPC URL.
const (
	Prefix          = "/mesh/v1/"
	BlockPath       = Prefix + "block"
	BroadcastTxPath = Prefix + "broadcast_tx"
	TxPath          = Prefix + "tx"
)

// VersionHeader is set, to "1", on every answer of the routes.
const VersionHeader = "X-Mesh-RPC"

// ContentTypeProtobuf is the content type of BlockPath's answer.
const ContentTypeProtobuf = "application/x-protobuf"

// MaxTxStatusBytes bounds a TxPath, BroadcastTxPath or error answer a
// client reads: they carry no transaction bytes, only results and logs.
const MaxTxStatusBytes = 1 << 20

// ErrNotServed is wrapped when the core node answers a route with a 404
// that is not the routes' own: it does not serve them, and the client
// should use the JSON RPC.
var ErrNotServed = errors.New("meshrpc: the core node does not serve /mesh/v1/ routes")

// BroadcastResult is BroadcastTxPath's answer: CheckTx's result and the
// transaction's hash, the fields of CometBFT's broadcast_tx_sync.
type BroadcastResult struct {
	Code      uint32 `json:"code"`
	Data      []byte `json:"data,omitempty"`
	Log       string `json:"log"`
	Codespace string `json:"codespace,omitempty"`
	Hash      []byte `json:"hash"`
}

// TxStatus is TxPath's answer for an included transaction: where it is
// and its ExecTxResult without events; never the transaction's bytes.
type TxStatus struct {
	Hash      []byte `json:"hash"`
	Height    int64  `json:"height"`
	Index     uint32 `json:"index"`
	Code      uint32 `json:"code"`
	Data      []byte `json:"data,omitempty"`
	Log       string `json:"log"`
	Info      string `json:"info,omitempty"`
	GasWanted int64  `json:"gas_wanted"`
	GasUsed   int64  `json:"gas_used"`
	Codespace string `json:"codespace,omitempty"`
}

// Error is the JSON body of every answer of the routes whose status is
// not 200. NotFound is set when what was asked for (a height, a
// transaction) is not there, as opposed to a bad request or a failure.
type Error struct {
	Error    string `json:"error"`
	NotFound bool   `json:"not_found,omitempty"`
}
