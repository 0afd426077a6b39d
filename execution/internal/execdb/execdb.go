// Package execdb holds what the executors under execution/ keep alike in
// their Badger databases: the hash of a block's inputs, which tells a
// replayed block from a conflicting one, and heights stored as 8 bytes.
package execdb

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
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

// ReadHeight reads a height stored at key as 8 bytes big-endian; a
// missing key is 0.
func ReadHeight(txn *badger.Txn, key []byte) (uint64, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	b, err := item.ValueCopy(nil)
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("stored height %q of %d bytes", key, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}
