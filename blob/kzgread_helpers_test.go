package blob_test

import (
	"testing"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/share"
)

// kzgBlob is a blob a test pays for, with or without KZG commitments.
type kzgBlob struct {
	ns   share.Namespace
	data []byte
	kzg  bool
}

// blobKZG computes the commitments and blob proofs of data's chunks.
func blobKZG(t testing.TB, data []byte) tx.BlobKZG {
	t.Helper()
	cs, ps, err := kzg.Prove(data)
	if err != nil {
		t.Fatal(err)
	}
	k := tx.BlobKZG{Commitments: make([][tx.KZGCommitmentSize]byte, len(cs)), Proofs: make([][tx.KZGProofSize]byte, len(ps))}
	for i := range cs {
		k.Commitments[i], k.Proofs[i] = cs[i], ps[i]
	}
	return k
}

// kzgBlobTx signs, with the key of seed at nonce on chainID, a PayForBlobs
// of blobs carrying the KZG commitments and proofs of those that ask for
// them (edit, if not nil, may change the message before it is signed), and
// returns it in its BlobTx with the blobs.
func kzgBlobTx(t testing.TB, chainID, seed string, nonce uint64, edit func(*tx.MsgPayForBlobs), blobs ...kzgBlob) []byte {
	t.Helper()
	key, signer := txtest.Key(t, seed)
	msg := &tx.MsgPayForBlobs{Signer: signer}
	sbs := make([]*share.Blob, len(blobs))
	anyKZG := false
	for _, b := range blobs {
		anyKZG = anyKZG || b.kzg
	}
	for i, b := range blobs {
		sb, err := share.NewBlob(b.ns, b.data, share.ShareVersionZero, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := sb.Commitment()
		if err != nil {
			t.Fatal(err)
		}
		sbs[i] = sb
		msg.Namespaces = append(msg.Namespaces, b.ns)
		msg.BlobSizes = append(msg.BlobSizes, uint32(len(b.data)))
		msg.ShareCommitments = append(msg.ShareCommitments, c)
		msg.ShareVersions = append(msg.ShareVersions, uint32(share.ShareVersionZero))
		if anyKZG {
			var k tx.BlobKZG
			if b.kzg {
				k = blobKZG(t, b.data)
			}
			msg.KZG = append(msg.KZG, k)
		}
	}
	if edit != nil {
		edit(msg)
	}
	p := tx.DefaultParams()
	gas, _ := tx.GasUsed(p, msg)
	inner, err := tx.SignTx(tx.Body{ChainID: chainID, Nonce: nonce, Fee: tx.Fee{GasLimit: gas, GasPrice: p.MinGasPrice}, Msg: msg}, key)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := share.MarshalBlobTx(inner, sbs...)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
