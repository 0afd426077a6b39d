// Package execdb holds what the executors under execution/ keep alike in
// their Badger databases: the hash of a block's inputs, which tells a
// replayed block from a conflicting one. (Heights stored as 8 bytes are
// read with internal/badgerdb.ReadUint64.)
package execdb

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// BlockInputs hashes what ExecuteTxs is given, unambiguously: every
// variable-length part has its length before it.
func BlockInputs(txs [][]byte, height uint64, t time.Time, prevRoot []byte) []byte {
	h := sha256.New()
	var b []byte
	b = binary.BigEndian.AppendUint64(b, height)
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
	b = binary.BigEndian.AppendUint32(b, uint32(len(prevRoot)))
	b = append(b, prevRoot...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(txs)))
	h.Write(b)
	for _, tx := range txs {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(tx))))
		h.Write(tx)
	}
	return h.Sum(nil)
}
