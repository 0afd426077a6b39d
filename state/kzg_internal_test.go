package state

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/share"
)

// pfbOfSizes is a PayForBlobs of blobs of the given sizes, shaped for KZG,
// signed by key's address: what checkKZG sees, without the blobs' bytes
// (KZG's size limit takes some 88 MB of blob data to reach).
func pfbOfSizes(t *testing.T, signer tx.Address, sizes []uint32) *tx.MsgPayForBlobs {
	t.Helper()
	m := &tx.MsgPayForBlobs{Signer: signer}
	for i, size := range sizes {
		ns, err := share.NewV0Namespace(fmt.Appendf(nil, "ns-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		m.Namespaces = append(m.Namespaces, ns)
		m.BlobSizes = append(m.BlobSizes, size)
		m.ShareCommitments = append(m.ShareCommitments, make([]byte, tx.ShareCommitmentSize))
		m.ShareVersions = append(m.ShareVersions, 0)
	}
	kzgShape(m)
	if err := m.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	return m
}

// checkKZG refuses a PayForBlobs whose commitments and proofs would take
// it over tx.MaxTxSize, naming the number of chunks the limit has room
// for: the same blobs with that many chunks fit, signed at any nonce, and
// at most one chunk more would have.
func TestCheckKZGSize(t *testing.T) {
	key, signer := txtest.Key(t, "kzg-size")
	chain := chainInfo{id: "kzg-size-test", params: tx.DefaultParams()}
	fee := tx.Fee{GasLimit: math.MaxUint64, GasPrice: math.MaxUint64} // the longest varints
	// 17 chunks: a blob of 2 MiB, the devnet's max_blob_size.
	const blobs, perBlob = 40, 17
	// pfb has the 40 blobs with chunks chunks in all, every blob at least
	// one, the first ones full.
	pfb := func(chunks int) *tx.MsgPayForBlobs {
		sizes := make([]uint32, blobs)
		extra := chunks - blobs
		for i := range sizes {
			n := 1 + min(extra, perBlob-1)
			extra -= n - 1
			sizes[i] = uint32(n * tx.KZGChunkSize)
		}
		if extra != 0 {
			t.Fatalf("%d chunks do not fit %d blobs of at most %d", chunks, blobs, perBlob)
		}
		return pfbOfSizes(t, signer, sizes)
	}
	sign := func(m *tx.MsgPayForBlobs) error {
		_, err := tx.SignTx(tx.Body{ChainID: chain.id, Nonce: math.MaxUint64, Fee: fee, Msg: m}, key)
		return err
	}

	err := checkKZG(chain, fee, pfb(blobs*perBlob))
	if !errors.Is(err, ErrTxTooLarge) {
		t.Fatalf("%d chunks: %v, want ErrTxTooLarge", blobs*perBlob, err)
	}
	msg := err.Error()
	var room int
	i := strings.Index(msg, "room for ")
	if i < 0 {
		t.Fatalf("error %q does not say how many chunks fit", msg)
	}
	if _, err := fmt.Sscanf(msg[i:], "room for %d chunks", &room); err != nil {
		t.Fatalf("error %q: %v", msg, err)
	}
	for _, want := range []string{"40 blobs in 680 chunks", fmt.Sprintf("over the limit of %d", tx.MaxTxSize), "adds 96 bytes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if room < blobs || room >= blobs*perBlob {
		t.Fatalf("room for %d chunks", room)
	}
	if err := checkKZG(chain, fee, pfb(room)); err != nil {
		t.Fatalf("%d chunks: %v", room, err)
	}
	if err := sign(pfb(room)); err != nil {
		t.Fatalf("signing %d chunks: %v", room, err)
	}
	// The most that fit: room, or room+1 when fewer chunks also shortened
	// some varints.
	most := room
	for checkKZG(chain, fee, pfb(most+1)) == nil {
		most++
	}
	if most > room+1 {
		t.Fatalf("room for %d chunks said, %d fit", room, most)
	}
	if err := sign(pfb(most + 1)); !errors.Is(err, tx.ErrMalformedTx) {
		t.Fatalf("signing %d chunks: %v, want the encoder's size refusal", most+1, err)
	}
}

// signedTxSize is the length of what tx.SignTx returns.
func TestSignedTxSize(t *testing.T) {
	key, signer := txtest.Key(t, "kzg-size")
	for _, chunks := range []int{1, 17, 100, 600} {
		var sizes []uint32
		for left := chunks; left > 0; left -= 17 {
			sizes = append(sizes, uint32(min(left, 17)*tx.KZGChunkSize))
		}
		body := tx.Body{ChainID: "c", Nonce: 1 << 40, Fee: tx.Fee{GasLimit: 1 << 30, GasPrice: 3}, Msg: pfbOfSizes(t, signer, sizes)}
		b, err := body.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := tx.SignTx(body, key)
		if err != nil {
			t.Fatal(err)
		}
		if got := signedTxSize(len(b)); got != len(raw) {
			t.Fatalf("%d chunks: signedTxSize %d, the signed transaction has %d bytes", chunks, got, len(raw))
		}
	}
}
