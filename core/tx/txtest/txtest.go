// Package txtest signs transactions for tests: deterministic keys, blob
// namespaces, transfers and PayForBlobs in their BlobTx envelope, with or
// without KZG commitments (KZGBlobTx computes them with package kzg). Every
// helper fails the test instead of returning an error.
package txtest

import (
	"bytes"
	"testing"

	"github.com/cometbft/cometbft/crypto/secp256k1"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/share"
)

// Key returns the secp256k1 key derived from seed and its address.
func Key(t testing.TB, seed string) (secp256k1.PrivKey, tx.Address) {
	t.Helper()
	k := secp256k1.GenPrivKeySecp256k1([]byte(seed))
	a, err := tx.AddressFromPubKey(k.PubKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return k, a
}

// Namespace returns a version 0 blob namespace whose ID starts with 0x42
// and ends with b.
func Namespace(t testing.TB, b byte) share.Namespace {
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

// SendTx signs a MsgSend of amount from key's address to to.
func SendTx(t testing.TB, chainID string, key secp256k1.PrivKey, nonce uint64, to tx.Address, amount, gasLimit, gasPrice uint64) []byte {
	t.Helper()
	from, err := tx.AddressFromPubKey(key.PubKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := tx.SignTx(tx.Body{ChainID: chainID, Nonce: nonce, Fee: tx.Fee{GasLimit: gasLimit, GasPrice: gasPrice},
		Msg: &tx.MsgSend{From: from, To: to, Amount: amount}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// PFBTx signs a MsgPayForBlobs for one share version 0 blob under ns per
// element of datas, with the gas p says it uses at gasPrice, and returns it
// in a BlobTx with the blobs.
func PFBTx(t testing.TB, chainID string, key secp256k1.PrivKey, nonce uint64, ns share.Namespace, gasPrice uint64, p tx.Params, datas ...[]byte) []byte {
	t.Helper()
	blobs := make([]*share.Blob, len(datas))
	for i, d := range datas {
		b, err := share.NewBlob(ns, d, share.ShareVersionZero, nil)
		if err != nil {
			t.Fatal(err)
		}
		blobs[i] = b
	}
	raw, _ := BlobTx(t, chainID, key, nonce, gasPrice, p, blobs...)
	return raw
}

// BlobTx signs a MsgPayForBlobs of blobs, with the gas p says it uses at
// gasPrice, and returns it in a BlobTx with the blobs, and the blobs' share
// commitments in order.
func BlobTx(t testing.TB, chainID string, key secp256k1.PrivKey, nonce, gasPrice uint64, p tx.Params, blobs ...*share.Blob) (raw []byte, commitments [][]byte) {
	t.Helper()
	msg := PFBMsg(t, key, blobs...)
	return SignBlobTx(t, chainID, key, nonce, gasPrice, p, msg, blobs...), msg.ShareCommitments
}

// PFBMsg returns the MsgPayForBlobs key's address signs for blobs: one entry
// per blob (namespace, size, share commitment, share version), no KZG.
func PFBMsg(t testing.TB, key secp256k1.PrivKey, blobs ...*share.Blob) *tx.MsgPayForBlobs {
	t.Helper()
	signer, err := tx.AddressFromPubKey(key.PubKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	msg := &tx.MsgPayForBlobs{Signer: signer}
	for _, b := range blobs {
		c, err := b.Commitment()
		if err != nil {
			t.Fatal(err)
		}
		msg.Namespaces = append(msg.Namespaces, b.Namespace())
		msg.BlobSizes = append(msg.BlobSizes, uint32(len(b.Data())))
		msg.ShareCommitments = append(msg.ShareCommitments, c)
		msg.ShareVersions = append(msg.ShareVersions, uint32(b.ShareVersion()))
	}
	return msg
}

// SignBlobTx signs msg as it is (it may be invalid: tests of rejections
// change it first), with the gas p says it uses at gasPrice, and returns it
// in a BlobTx with blobs.
func SignBlobTx(t testing.TB, chainID string, key secp256k1.PrivKey, nonce, gasPrice uint64, p tx.Params, msg *tx.MsgPayForBlobs, blobs ...*share.Blob) []byte {
	t.Helper()
	gas, _ := tx.GasUsed(p, msg)
	inner, err := tx.SignTx(tx.Body{ChainID: chainID, Nonce: nonce, Fee: tx.Fee{GasLimit: gas, GasPrice: gasPrice}, Msg: msg}, key)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := share.MarshalBlobTx(inner, blobs...)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// SeedTxs signs the transactions the fuzz corpora of core/tx and core/app
// start from, on chainID at nonce 0 and gas price 1 with the default
// parameters: a transfer of 5 from alice to bob, a PayForBlobs by alice of
// two blobs (600 bytes of 7, 3 bytes of 1) under Namespace(t, 1) in its
// BlobTx, and a validator update by alice.
func SeedTxs(t testing.TB, chainID string) (send, pfb, update []byte) {
	t.Helper()
	key, _ := Key(t, "alice")
	_, bob := Key(t, "bob")
	p := tx.DefaultParams()
	send = SendTx(t, chainID, key, 0, bob, 5, p.FixedGas, 1)
	pfb = PFBTx(t, chainID, key, 0, Namespace(t, 1), 1, p, bytes.Repeat([]byte{7}, 600), bytes.Repeat([]byte{1}, 3))
	update, err := tx.SignTx(tx.Body{ChainID: chainID, Fee: tx.Fee{GasLimit: p.FixedGas, GasPrice: 1},
		Msg: &tx.MsgUpdateValidator{PubKey: bytes.Repeat([]byte{9}, 32), Power: 5}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return send, pfb, update
}

// SignedTx signs m with key at nonce, with the gas it uses at p's minimum
// gas price.
func SignedTx(t testing.TB, chainID string, key secp256k1.PrivKey, nonce uint64, p tx.Params, m tx.Msg) []byte {
	t.Helper()
	gas, _ := tx.GasUsed(p, m)
	raw, err := tx.SignTx(tx.Body{ChainID: chainID, Nonce: nonce, Fee: tx.Fee{GasLimit: gas, GasPrice: p.MinGasPrice}, Msg: m}, key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
