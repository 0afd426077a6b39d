package state

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/share"
)

// kzgChunkBytes is what one chunk's commitment and proof add to a
// transaction.
const kzgChunkBytes = tx.KZGCommitmentSize + tx.KZGProofSize

// kzgShape sets m.KZG to the shape TxConfig.KZG asks for: for every blob,
// one zero commitment and one zero proof per chunk of its size. The shape
// is all that gas (tx.GasUsed) and the size check need; proveKZG fills the
// values in once the chain is known to accept them.
func kzgShape(m *tx.MsgPayForBlobs) {
	m.KZG = make([]tx.BlobKZG, len(m.BlobSizes))
	for i, size := range m.BlobSizes {
		n := tx.KZGChunkCount(int(size))
		m.KZG[i] = tx.BlobKZG{
			Commitments: make([][tx.KZGCommitmentSize]byte, n),
			Proofs:      make([][tx.KZGProofSize]byte, n),
		}
	}
}

// checkKZG refuses, before any proof is computed, KZG commitments the
// chain does not accept (its gas_per_kzg_chunk is 0) and a transaction
// that their bytes would take over tx.MaxTxSize. The size is that of m
// signed with fee and the largest nonce, so a transaction that passes fits
// whatever the nonce.
func checkKZG(chain chainInfo, fee tx.Fee, m *tx.MsgPayForBlobs) error {
	if !chain.params.AcceptsKZG() {
		return fmt.Errorf("%w: kzg: chain %q accepts no KZG commitments (its gas_per_kzg_chunk is 0)", ErrUnsupported, chain.id)
	}
	body, err := tx.Body{ChainID: chain.id, Nonce: math.MaxUint64, Fee: fee, Msg: m}.Marshal()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidTx, err)
	}
	size := signedTxSize(len(body))
	if size <= tx.MaxTxSize {
		return nil
	}
	chunks := m.KZGChunks()
	room := max(0, (tx.MaxTxSize-(size-chunks*kzgChunkBytes))/kzgChunkBytes)
	return fmt.Errorf("%w: kzg: %d blobs in %d chunks make a transaction of up to %d bytes, over the limit of %d; "+
		"each chunk (%d bytes of blob data) adds %d bytes of commitment and proof, and the limit leaves room for %d chunks: "+
		"split the blobs over several submissions",
		ErrTxTooLarge, len(m.BlobSizes), chunks, size, tx.MaxTxSize, tx.KZGChunkSize, kzgChunkBytes, room)
}

// signedTxSize is the size of an encoded tx.Tx whose body encodes to
// bodyLen bytes: the body field, then the public key and the signature
// fields (tag, length, bytes; see core/tx's wire format).
func signedTxSize(bodyLen int) int {
	field := func(n int) int { return 1 + len(binary.AppendUvarint(nil, uint64(n))) + n }
	return field(bodyLen) + field(tx.PubKeySize) + field(tx.SignatureSize)
}

// proveKZG fills m.KZG, shaped by kzgShape, with the commitment and blob
// proof of every chunk of every blob (kzg.Prove): the chunks of the blob's
// data alone (not its namespace or signer), as the kzg package cuts and
// encodes them. It stops between blobs when ctx ends (a chunk takes about
// 60 ms, a blob of 2 MiB 17 chunks).
func proveKZG(ctx context.Context, m *tx.MsgPayForBlobs, blobs []*share.Blob) error {
	for i, b := range blobs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("state: kzg: %w", err)
		}
		commitments, proofs, err := kzg.Prove(b.Data())
		if err != nil {
			return fmt.Errorf("state: kzg: blob %d: %w", i, err)
		}
		k := m.KZG[i]
		if len(commitments) != len(k.Commitments) {
			return fmt.Errorf("state: kzg: blob %d of %d bytes has %d chunks, want %d", i, len(b.Data()), len(commitments), len(k.Commitments))
		}
		for j := range commitments {
			k.Commitments[j], k.Proofs[j] = commitments[j], proofs[j]
		}
	}
	return nil
}
