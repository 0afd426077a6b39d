package validator

import (
	"bytes"
	"crypto/sha256"

	dbm "github.com/cometbft/cometbft-db"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of CometBFT's abci.TxResult, the value its kv transaction
// indexer stores under a transaction's hash.
const (
	txResultHeight = 1 // int64, varint
	txResultIndex  = 2 // uint32, varint
	txResultTx     = 3 // bytes: the whole transaction
	txResultResult = 4 // ExecTxResult, a message
)

// slimTxIndex is CometBFT's "tx_index" database with the transactions left
// out of its primary entries. CometBFT's kv indexer stores, under each
// transaction's 32-byte hash, the proto-encoded abci.TxResult: height,
// index, the ExecTxResult and the transaction again. A blob transaction
// is megabytes and the block store holds it already; meshrpc's tx route
// and package state's client read only the height, index and result, and
// CometBFT's /tx and /tx_search take the transaction from the block store
// (restoreTxRoutes). Every write of a primary entry, through Set, SetSync
// or a batch (the kv indexer writes a block's entries in one batch), is
// stored as slimTxResult makes it; other writes pass unchanged.
type slimTxIndex struct {
	dbm.DB
}

func (s slimTxIndex) Set(k, v []byte) error     { return s.DB.Set(k, slimTxResult(k, v)) }
func (s slimTxIndex) SetSync(k, v []byte) error { return s.DB.SetSync(k, slimTxResult(k, v)) }
func (s slimTxIndex) NewBatch() dbm.Batch       { return slimBatch{s.DB.NewBatch()} }

// slimBatch is a batch of slimTxIndex: the kv indexer writes every
// transaction of a block through one (Set, then WriteSync).
type slimBatch struct {
	dbm.Batch
}

func (b slimBatch) Set(k, v []byte) error { return b.Batch.Set(k, slimTxResult(k, v)) }

// slimTxResult returns v without its transaction when v is the primary
// entry of a transaction index under key: key is 32 bytes; v parses as a
// protobuf message, every byte of it, whose fields 1 to 4 have TxResult's
// wire types and whose field 3, the transaction, occurs exactly once; and
// key is the SHA-256 of that transaction (its CometBFT hash). The result
// is v with field 3 cut out, every other field kept as it was, unknown
// ones included, in a new slice. Any other v is returned as it is. The
// hash check is what keeps the index's other entries safe: its event and
// height entries map keys, most longer than 32 bytes, to a hash, but a
// height key ("tx.height/H/H/I$es$0") is 32 bytes at height 1,234,567
// index 0, and its value, a hash a client can grind, may well parse as a
// message with a field 3.
//
// It scans the wire format without copying the transaction (it only
// hashes it) and never panics.
func slimTxResult(key, v []byte) []byte {
	if len(key) != sha256.Size {
		return v
	}
	start, end := -1, -1 // field 3's bytes, tag included
	var tx []byte
	for off := 0; off < len(v); {
		num, typ, n := protowire.ConsumeTag(v[off:])
		if n < 0 {
			return v
		}
		var want protowire.Type
		switch num {
		case txResultHeight, txResultIndex:
			want = protowire.VarintType
		case txResultTx, txResultResult:
			want = protowire.BytesType
		default:
			want = typ
		}
		if typ != want {
			return v
		}
		m := protowire.ConsumeFieldValue(num, typ, v[off+n:])
		if m < 0 {
			return v
		}
		if num == txResultTx {
			if start >= 0 {
				return v
			}
			tx, _ = protowire.ConsumeBytes(v[off+n:])
			start, end = off, off+n+m
		}
		off += n + m
	}
	if start < 0 {
		return v
	}
	if sum := sha256.Sum256(tx); !bytes.Equal(sum[:], key) {
		return v
	}
	out := make([]byte, 0, len(v)-(end-start))
	return append(append(out, v[:start]...), v[end:]...)
}
