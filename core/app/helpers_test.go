package app

import (
	"bytes"
	"testing"

	"github.com/cometbft/cometbft/crypto/secp256k1"

	"github.com/datamesh/mesh-node/share"
)

// testKey returns a deterministic secp256k1 key and its address.
func testKey(t testing.TB, seed string) (secp256k1.PrivKey, Address) {
	t.Helper()
	k := secp256k1.GenPrivKeySecp256k1([]byte(seed))
	a, err := AddressFromPubKey(k.PubKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return k, a
}

func testNamespace(t testing.TB, b byte) share.Namespace {
	t.Helper()
	id := make([]byte, share.NamespaceVersionZeroIDSize)
	id[len(id)-1] = b
	id[0] = 0x42
	ns, err := share.NewV0Namespace(id)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// sendTx signs a MsgSend.
func sendTx(t testing.TB, chainID string, key secp256k1.PrivKey, nonce uint64, to Address, amount, gasLimit, gasPrice uint64) []byte {
	t.Helper()
	from, err := AddressFromPubKey(key.PubKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := SignTx(Body{ChainID: chainID, Nonce: nonce, Fee: Fee{GasLimit: gasLimit, GasPrice: gasPrice},
		Msg: &MsgSend{From: from, To: to, Amount: amount}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// pfbTx builds and signs a BlobTx paying for one blob per data slice under
// ns, share version 0.
func pfbTx(t testing.TB, chainID string, key secp256k1.PrivKey, nonce uint64, ns share.Namespace, gasPrice uint64, p Params, datas ...[]byte) []byte {
	t.Helper()
	signer, err := AddressFromPubKey(key.PubKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	msg := &MsgPayForBlobs{Signer: signer}
	var blobs []*share.Blob
	for _, d := range datas {
		b, err := share.NewBlob(ns, d, share.ShareVersionZero, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := b.Commitment()
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
		msg.Namespaces = append(msg.Namespaces, ns)
		msg.BlobSizes = append(msg.BlobSizes, uint32(len(d)))
		msg.ShareCommitments = append(msg.ShareCommitments, c)
		msg.ShareVersions = append(msg.ShareVersions, 0)
	}
	gas, _ := GasUsed(p, msg)
	inner, err := SignTx(Body{ChainID: chainID, Nonce: nonce, Fee: Fee{GasLimit: gas, GasPrice: gasPrice}, Msg: msg}, key)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := share.MarshalBlobTx(inner, blobs...)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func blobData(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
