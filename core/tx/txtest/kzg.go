package txtest

import (
	"testing"

	"github.com/cometbft/cometbft/crypto/secp256k1"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/share"
)

// KZG returns the EIP-4844 form of a blob's data as a client computes it:
// for each chunk of data (kzg.Chunks, tx.KZGChunkSize bytes each), the
// commitment (kzg.BlobToCommitment) and the blob proof
// (kzg.ComputeBlobProof). The first call loads the trusted setup (seconds);
// each chunk then costs about 100 ms.
func KZG(t testing.TB, data []byte) tx.BlobKZG {
	t.Helper()
	chunks, err := kzg.Chunks(data)
	if err != nil {
		t.Fatal(err)
	}
	var k tx.BlobKZG
	for _, c := range chunks {
		commitment, err := kzg.BlobToCommitment(c)
		if err != nil {
			t.Fatal(err)
		}
		proof, err := kzg.ComputeBlobProof(c, commitment)
		if err != nil {
			t.Fatal(err)
		}
		k.Commitments = append(k.Commitments, [tx.KZGCommitmentSize]byte(commitment))
		k.Proofs = append(k.Proofs, [tx.KZGProofSize]byte(proof))
	}
	return k
}

// KZGBlobTx is BlobTx with KZG commitments and proofs (KZG) for every blob:
// it signs a MsgPayForBlobs of blobs carrying them, with the gas p says it
// uses (p.GasPerKZGChunk per chunk included) at gasPrice, and returns it in
// a BlobTx with the blobs, and the message, whose KZG field holds the
// commitments and proofs in blob order. To sign a message with wrong KZG
// commitments, change a copy of the message's and sign it with SignBlobTx.
func KZGBlobTx(t testing.TB, chainID string, key secp256k1.PrivKey, nonce, gasPrice uint64, p tx.Params, blobs ...*share.Blob) (raw []byte, msg *tx.MsgPayForBlobs) {
	t.Helper()
	msg = PFBMsg(t, key, blobs...)
	msg.KZG = make([]tx.BlobKZG, len(blobs))
	for i, b := range blobs {
		msg.KZG[i] = KZG(t, b.Data())
	}
	return SignBlobTx(t, chainID, key, nonce, gasPrice, p, msg, blobs...), msg
}
