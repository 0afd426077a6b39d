package state_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// includedBlobTx returns the BlobTx of res, decoded and as the block holds
// it, checking that the block's square matches its data root.
func (c *chain) includedBlobTx(ctx context.Context, t *testing.T, res *state.TxResponse) (*share.BlobTx, []byte) {
	t.Helper()
	hash, err := hex.DecodeString(res.TxHash)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.rpc.Tx(ctx, hash, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range coretest.CheckDataRoot(ctx, t, c.rpc, res.Height, tx.DefaultParams().MaxSquareSize) {
		if bytes.Equal(raw, r.Tx) {
			btx, isBlob, err := share.UnmarshalBlobTx(raw)
			if !isBlob || err != nil {
				t.Fatalf("transaction %s is not a blob tx: %v", res.TxHash, err)
			}
			return btx, raw
		}
	}
	t.Fatalf("block %d does not hold transaction %s", res.Height, res.TxHash)
	return nil, nil
}

// pfbOf decodes the PayForBlobs of an included BlobTx.
func pfbOf(t *testing.T, btx *share.BlobTx) (*tx.Tx, *tx.MsgPayForBlobs) {
	t.Helper()
	inner, err := tx.UnmarshalTx(btx.Tx)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := inner.Body.Msg.(*tx.MsgPayForBlobs)
	if !ok {
		t.Fatalf("included message is a %T", inner.Body.Msg)
	}
	return inner, m
}

// Blobs of 1 and 130,045 bytes (one chunk, and one byte over one chunk)
// submitted with KZG: the included PayForBlobs carries, per blob, the
// commitments go-eth-kzg computes for the codec's chunks of the data, and
// proofs that verify; the gas is fixed_gas + gas_per_blob_byte per byte +
// gas_per_kzg_chunk per chunk, and that is what the account pays. A
// submission without KZG is byte for byte the PayForBlobs signed before
// KZG existed.
func TestSubmitPayForBlobKZG(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx := ctxFor(t)
	c := startChain(ctx, t, []string{"rollup"}, nil)
	key := c.keys["rollup"]
	p := tx.DefaultParams()

	rng := rand.New(rand.NewPCG(15, 4))
	big := make([]byte, tx.KZGChunkSize+1)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	blobs := []*share.Blob{newBlob(t, "kzg-small", []byte{0xa5}), newBlob(t, "kzg-big", big)}
	res, err := c.client.SubmitPayForBlob(ctx, blobs, &state.TxConfig{KZG: true})
	if err != nil {
		t.Fatal(err)
	}
	c.checkIncluded(ctx, t, res)

	const chunks = 1 + 2
	wantGas := p.FixedGas + p.GasPerBlobByte*(1+tx.KZGChunkSize+1) + p.GasPerKZGChunk*chunks
	if res.GasUsed != int64(wantGas) || res.GasWanted != int64(wantGas) {
		t.Fatalf("gas wanted %d used %d, want %d", res.GasWanted, res.GasUsed, wantGas)
	}
	if acc := c.account(ctx, t, key.Address); acc.Balance != genesisBalance-wantGas*p.MinGasPrice || acc.Nonce != 1 {
		t.Fatalf("account %+v, want balance %d (the fee of %d gas paid) and nonce 1", acc, uint64(genesisBalance)-wantGas*p.MinGasPrice, wantGas)
	}

	btx, raw := c.includedBlobTx(ctx, t, res)
	// The BlobTx is the one signed independently of the client, with the
	// commitments and proofs txtest computes and the gas it says.
	if want, _ := txtest.KZGBlobTx(t, chainID, key.Priv, 0, p.MinGasPrice, p, blobs...); !bytes.Equal(raw, want) {
		t.Fatal("the BlobTx submitted with KZG differs from txtest.KZGBlobTx's")
	}
	_, m := pfbOf(t, btx)
	if len(m.KZG) != len(blobs) {
		t.Fatalf("included PayForBlobs has KZG for %d blobs, want %d", len(m.KZG), len(blobs))
	}
	if !reflect.DeepEqual(res.KZG, m.KZG) {
		t.Fatal("the response's KZG differs from the included PayForBlobs'")
	}
	var allChunks []*kzg.Blob
	var allCommitments []kzg.Commitment
	var allProofs []kzg.Proof
	for i, b := range blobs {
		if !bytes.Equal(btx.Blobs[i].Data(), b.Data()) {
			t.Fatalf("blob %d in the block differs", i)
		}
		chunkBlobs, err := kzg.Chunks(b.Data())
		if err != nil {
			t.Fatal(err)
		}
		k := m.KZG[i]
		if len(k.Commitments) != len(chunkBlobs) || len(k.Proofs) != len(chunkBlobs) {
			t.Fatalf("blob %d: %d commitments, %d proofs, want %d of each", i, len(k.Commitments), len(k.Proofs), len(chunkBlobs))
		}
		for j, cb := range chunkBlobs {
			want, err := kzg.BlobToCommitment(cb)
			if err != nil {
				t.Fatal(err)
			}
			if k.Commitments[j] != want {
				t.Fatalf("blob %d chunk %d: commitment %x, go-eth-kzg gives %x", i, j, k.Commitments[j], want)
			}
			allChunks = append(allChunks, cb)
			allCommitments = append(allCommitments, k.Commitments[j])
			allProofs = append(allProofs, k.Proofs[j])
		}
	}
	if len(allChunks) != chunks {
		t.Fatalf("%d chunks, want %d", len(allChunks), chunks)
	}
	if err := kzg.VerifyBlobProofBatch(allChunks, allCommitments, allProofs); err != nil {
		t.Fatalf("the included proofs: %v", err)
	}
	// One proof out of place does not verify: the check above can fail.
	allProofs[0], allProofs[1] = allProofs[1], allProofs[0]
	if err := kzg.VerifyBlobProofBatch(allChunks, allCommitments, allProofs); !errors.Is(err, kzg.ErrVerify) {
		t.Fatalf("swapped proofs: %v, want kzg.ErrVerify", err)
	}

	// Without KZG: no KZG in the message, and the BlobTx is the one signed
	// independently of the client at the same nonce and fee (txtest.BlobTx,
	// which knows nothing of KZG).
	plain := []*share.Blob{newBlob(t, "kzg-none", []byte("no commitments"))}
	res, err = c.client.SubmitPayForBlob(ctx, plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.KZG != nil {
		t.Fatalf("response KZG %v for a submission without it", res.KZG)
	}
	btx, raw = c.includedBlobTx(ctx, t, res)
	if _, m := pfbOf(t, btx); m.KZG != nil {
		t.Fatalf("included PayForBlobs without KZG has KZG %v", m.KZG)
	}
	want, _ := txtest.BlobTx(t, chainID, key.Priv, 1, p.MinGasPrice, p, plain...)
	if !bytes.Equal(raw, want) {
		t.Fatal("the BlobTx submitted without KZG differs from one signed without the client")
	}
}

// A chain whose gas_per_kzg_chunk is 0 accepts no KZG: the client says so
// before computing or sending anything, and the same blob without KZG is
// included. KZG on a transfer is refused.
func TestSubmitPayForBlobKZGRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx := ctxFor(t)
	p := tx.DefaultParams()
	p.GasPerKZGChunk = 0
	c := startChainWith(ctx, t, p, []string{"rollup"}, nil)
	addr := c.keys["rollup"].Address
	blobs := []*share.Blob{newBlob(t, "no-kzg", []byte("data"))}

	_, err := c.client.SubmitPayForBlob(ctx, blobs, &state.TxConfig{KZG: true})
	const want = `kzg: chain "state-test" accepts no KZG commitments (its gas_per_kzg_chunk is 0)`
	if !errors.Is(err, state.ErrUnsupported) || !strings.Contains(err.Error(), want) {
		t.Fatalf("KZG on a chain without it: %v, want ErrUnsupported saying %q", err, want)
	}
	if _, err := c.client.Transfer(ctx, addr, 1, &state.TxConfig{KZG: true}); !errors.Is(err, state.ErrInvalidTx) || !strings.Contains(err.Error(), "kzg") {
		t.Fatalf("transfer with KZG: %v, want ErrInvalidTx naming kzg", err)
	}
	c.checkNothingSent(ctx, t, addr)
	res, err := c.client.SubmitPayForBlob(ctx, blobs, nil)
	if err != nil {
		t.Fatalf("the same blob without KZG: %v", err)
	}
	c.checkIncluded(ctx, t, res)
}
