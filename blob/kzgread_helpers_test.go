package blob_test

import (
	"testing"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/share"
)

// kzgBlob is a blob a test pays for, with or without KZG commitments.
type kzgBlob struct {
	ns   share.Namespace
	data []byte
	kzg  bool
}

// kzgBlobTx signs, with the key of seed at nonce on chainID, a PayForBlobs
// of blobs carrying the KZG commitments and proofs of those that ask for
// them (edit, if not nil, may change the message before it is signed), and
// returns it in its BlobTx with the blobs.
func kzgBlobTx(t testing.TB, chainID, seed string, nonce uint64, edit func(*tx.MsgPayForBlobs), blobs ...kzgBlob) []byte {
	t.Helper()
	key, _ := txtest.Key(t, seed)
	sbs := make([]*share.Blob, len(blobs))
	for i, b := range blobs {
		sb, err := share.NewBlob(b.ns, b.data, share.ShareVersionZero, nil)
		if err != nil {
			t.Fatal(err)
		}
		sbs[i] = sb
	}
	msg := txtest.PFBMsg(t, key, sbs...)
	for i, b := range blobs {
		if b.kzg {
			if msg.KZG == nil {
				msg.KZG = make([]tx.BlobKZG, len(blobs))
			}
			msg.KZG[i] = txtest.KZG(t, b.data)
		}
	}
	if edit != nil {
		edit(msg)
	}
	p := tx.DefaultParams()
	return txtest.SignBlobTx(t, chainID, key, nonce, p.MinGasPrice, p, msg, sbs...)
}
