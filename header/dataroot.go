package header

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// The data root transaction is the last transaction of every DataMesh block.
// CometBFT's header DataHash commits to the block's transactions, not to the
// data root, so the proposer appends this transaction (it is not part of the
// square) and validators reject a proposal whose data root transaction is
// missing, not last, or wrong. An extended header proves it against DataHash.
//
// Encoding (DataRootTxSize = 41 bytes, fixed):
//
//	magic "DMDR" (4) | version 0x01 (1) | square size u32 BE (4) | data root (32)
//
// A fixed binary layout, not protobuf: there is exactly one valid encoding of
// a value, so the bytes (and the CometBFT DataHash over them) are canonical,
// and no ordinary transaction can be mistaken for it as long as the
// application rejects transactions that start with the magic.
const (
	DataRootTxSize    = 4 + 1 + 4 + 32
	dataRootTxVersion = 0x01
)

var dataRootTxMagic = []byte("DMDR")

// ErrInvalidDataRootTx is wrapped by every DataRootTx decoding error.
var ErrInvalidDataRootTx = errors.New("header: invalid data root transaction")

// DataRootTx carries the width of a block's original data square and the
// hash of its DataAvailabilityHeader.
type DataRootTx struct {
	SquareSize uint32
	DataRoot   []byte // 32 bytes
}

// Marshal returns the canonical encoding. It fails if DataRoot is not 32
// bytes or SquareSize is not a power of two.
func (d DataRootTx) Marshal() ([]byte, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	out := make([]byte, 0, DataRootTxSize)
	out = append(out, dataRootTxMagic...)
	out = append(out, dataRootTxVersion)
	out = binary.BigEndian.AppendUint32(out, d.SquareSize)
	return append(out, d.DataRoot...), nil
}

// IsDataRootTx reports whether tx starts with the data root transaction's
// magic: such bytes are either a data root transaction or invalid, never an
// ordinary transaction.
func IsDataRootTx(tx []byte) bool { return bytes.HasPrefix(tx, dataRootTxMagic) }

// UnmarshalDataRootTx decodes and validates a data root transaction. The
// returned DataRoot does not alias tx.
func UnmarshalDataRootTx(tx []byte) (DataRootTx, error) {
	if len(tx) != DataRootTxSize {
		return DataRootTx{}, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidDataRootTx, len(tx), DataRootTxSize)
	}
	if !IsDataRootTx(tx) {
		return DataRootTx{}, fmt.Errorf("%w: bad magic %x", ErrInvalidDataRootTx, tx[:4])
	}
	if tx[4] != dataRootTxVersion {
		return DataRootTx{}, fmt.Errorf("%w: unsupported version %d", ErrInvalidDataRootTx, tx[4])
	}
	d := DataRootTx{
		SquareSize: binary.BigEndian.Uint32(tx[5:9]),
		DataRoot:   bytes.Clone(tx[9:]),
	}
	return d, d.validate()
}

func (d DataRootTx) validate() error {
	if len(d.DataRoot) != 32 {
		return fmt.Errorf("%w: data root is %d bytes, want 32", ErrInvalidDataRootTx, len(d.DataRoot))
	}
	if d.SquareSize == 0 || d.SquareSize&(d.SquareSize-1) != 0 || d.SquareSize > 512 {
		return fmt.Errorf("%w: square size %d is not a power of two up to 512", ErrInvalidDataRootTx, d.SquareSize)
	}
	return nil
}
