package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/kzg"
	"github.com/datamesh/mesh-node/share"
)

// TestDevnet initialises a home, runs the core node in-process, adds a key,
// sends it tokens and publishes blobs, all through the commands.
func TestDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := initCore(ctx, t, "cli-test")
	home, h, node, dev, c := n.home, n.h, n.node, n.dev, n.rpc

	// Keys.
	mustRun(ctx, t, "keys", "add", "bob", h)
	wantErr(ctx, t, "already exists", "keys", "add", "bob", h)
	var bob keyInfo
	if err := json.Unmarshal([]byte(mustRun(ctx, t, "keys", "show", "bob", h, "--output", "json")), &bob); err != nil {
		t.Fatal(err)
	}
	pub, err := hex.DecodeString(bob.PubKey)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := tx.AddressFromPubKey(pub); err != nil || a.String() != bob.Address {
		t.Fatalf("bob: address %s does not match public key %s (%v)", bob.Address, bob.PubKey, err)
	}
	list := mustRun(ctx, t, "keys", "list", h)
	if want := "bob\t" + bob.Address + "\ndev\t" + dev + "\n"; list != want {
		t.Fatalf("keys list:\n%s\nwant\n%s", list, want)
	}

	// A transfer.
	before := balance(ctx, t, c, dev)
	out := mustRun(ctx, t, "tx", "send", h, node, "--from", "dev", "--to", bob.Address, "--amount", "100000000")
	if height, err := strconv.ParseInt(field(t, out, "height"), 10, 64); err != nil || height < 1 {
		t.Fatalf("tx send: height %q", field(t, out, "height"))
	}
	if got := balance(ctx, t, c, bob.Address); got.Balance != 100_000_000 {
		t.Fatalf("bob's balance %d, want 100000000", got.Balance)
	}
	p := tx.DefaultParams()
	after := balance(ctx, t, c, dev)
	if want := before.Balance - 100_000_000 - p.FixedGas*p.MinGasPrice; after.Balance != want || after.Nonce != before.Nonce+1 {
		t.Fatalf("dev after send: %+v, want balance %d nonce %d", after, want, before.Nonce+1)
	}

	// Blobs, from a string and from a file, signed by bob.
	file := filepath.Join(t.TempDir(), "blob.bin")
	fileData := bytes.Repeat([]byte("datamesh "), 300)
	// Exactly max_blob_size: core init raised CometBFT's 1 MB limits for
	// it. One byte more is refused before it is signed.
	maxSize := tx.DefaultParams().MaxBlobSize
	bigFile, overFile := filepath.Join(t.TempDir(), "big.bin"), filepath.Join(t.TempDir(), "over.bin")
	bigData := bytes.Repeat([]byte("0123456789abcdef"), maxSize/16+1)[:maxSize]
	if err := os.WriteFile(bigFile, bigData, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(overFile, append(bigData, 'x'), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, fileData, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ns, data string
		want     []byte
	}{
		{"0x0102030405", "hello, blob", []byte("hello, blob")},
		{"00" + strings.Repeat("00", 18) + "aabbccddeeff00112233", "@" + file, fileData},
		{"0x0102030405", "@" + bigFile, bigData},
	} {
		out := mustRun(ctx, t, "tx", "pay-for-blob", h, node, "--from", "bob", "--namespace", tc.ns, "--data", tc.data)
		ns, err := parseNamespace("--namespace", tc.ns)
		if err != nil {
			t.Fatal(err)
		}
		b, err := share.NewBlob(ns, tc.want, share.ShareVersionZero, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := b.Commitment()
		if err != nil {
			t.Fatal(err)
		}
		if got := field(t, out, "commitment"); got != base64.StdEncoding.EncodeToString(want) {
			t.Fatalf("pay-for-blob %s: commitment %s, want %x in base64", tc.ns, got, want)
		}
		if got := field(t, out, "namespace"); got != base64.StdEncoding.EncodeToString(ns.Bytes()) {
			t.Fatalf("pay-for-blob %s: namespace %s, want %x in base64", tc.ns, got, ns.Bytes())
		}
		height, err := strconv.ParseInt(field(t, out, "height"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		// The block at that height holds the blob.
		blk, err := c.Block(ctx, &height)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, tx := range blk.Block.Txs {
			if btx, isBlob, err := share.UnmarshalBlobTx(tx); isBlob && err == nil && bytes.Equal(btx.Blobs[0].Data(), tc.want) {
				found = true
			}
		}
		if !found {
			t.Fatalf("block %d does not hold the blob", height)
		}
	}
	afterBlobs := balance(ctx, t, c, bob.Address)
	if afterBlobs.Nonce != 3 || afterBlobs.Balance >= 100_000_000 {
		t.Fatalf("bob after three blobs: %+v", afterBlobs)
	}
	wantErr(ctx, t, fmt.Sprintf("blob: over size limit: blob 0 is %d bytes, the chain's max_blob_size is %d", maxSize+1, maxSize),
		"tx", "pay-for-blob", h, node, "--from", "bob", "--namespace", "0x0102030405", "--data", "@"+overFile)
	if got := balance(ctx, t, c, bob.Address); got != afterBlobs {
		t.Fatalf("bob after an oversized blob: %+v, want %+v (nothing posted)", got, afterBlobs)
	}
	if n, err := c.NumUnconfirmedTxs(ctx); err != nil || n.Total != 0 {
		t.Fatalf("mempool after an oversized blob: %+v, %v; want empty", n, err)
	}

	// JSON output of a transfer.
	var res txResult
	if err := json.Unmarshal([]byte(mustRun(ctx, t, "tx", "send", h, node, "--from", "dev", "--to", bob.Address, "--amount", "1", "-o", "json")), &res); err != nil || res.Height < 1 || res.TxHash == "" {
		t.Fatalf("tx send -o json: %+v %v", res, err)
	}

	// Errors.
	wantErr(ctx, t, "key not found", "tx", "send", h, node, "--from", "nobody", "--to", bob.Address, "--amount", "1")
	wantErr(ctx, t, "insufficient funds", "tx", "send", h, node, "--from", "bob", "--to", dev, "--amount", "1000000000000")
	wantErr(ctx, t, "not hex", "tx", "pay-for-blob", h, node, "--from", "bob", "--namespace", "xyz", "--data", "a")
	wantErr(ctx, t, "reserved", "tx", "pay-for-blob", h, node, "--from", "bob", "--namespace", "01", "--data", "a")
	wantErr(ctx, t, "read blob file", "tx", "pay-for-blob", h, node, "--from", "bob", "--namespace", "01ff", "--data", "@"+filepath.Join(home, "missing"))
	wantErr(ctx, t, "no file name", "tx", "pay-for-blob", h, node, "--from", "bob", "--namespace", "01ff", "--data", "@")
	wantErr(ctx, t, "address", "tx", "send", h, node, "--from", "dev", "--to", "cosmos1xyz", "--amount", "1")
}

// balance queries an account through the /account ABCI query.
func balance(ctx context.Context, t *testing.T, c *rpchttp.HTTP, addr string) tx.AccountInfo {
	t.Helper()
	a, err := tx.ParseAddress(addr)
	if err != nil {
		t.Fatal(err)
	}
	return coretest.Account(ctx, t, c, a)
}

// Errors found before any node is asked.
func TestTxErrors(t *testing.T) {
	ctx := context.Background()
	h := "--home=" + t.TempDir()
	mustRun(ctx, t, "keys", "add", "x", h)
	wantErr(ctx, t, "required flag", "tx", "send", h)
	wantErr(ctx, t, "29", "tx", "pay-for-blob", h, "--from", "x", "--namespace", strings.Repeat("ab", 11), "--data", "a")
	wantErr(ctx, t, "--data is empty", "tx", "pay-for-blob", h, "--from", "x", "--namespace", "01ab", "--data", "")
	wantErr(ctx, t, "--amount must be positive", "tx", "send", h, "--from", "x", "--to", tx.Address{}.String(), "--amount", "0")
	wantErr(ctx, t, "query node status", "tx", "pay-for-blob", h, "--from", "x", "--namespace", "01ab", "--data", "a",
		"--node", fmt.Sprintf("http://127.0.0.1:%d", coretest.FreePort(t)), "--timeout", "5s")
}

// blob submit's errors name its arguments, NAMESPACE and DATA, not the
// flags of tx pay-for-blob; they come before any node is asked.
func TestBlobSubmitArgErrors(t *testing.T) {
	ctx := context.Background()
	url := "--url=" + fmt.Sprintf("http://127.0.0.1:%d", coretest.FreePort(t))
	for _, tc := range []struct{ want, ns, data string }{
		{`NAMESPACE "xyz" is not hex`, "xyz", "a"},
		{"NAMESPACE is empty", "", "a"},
		{"NAMESPACE \"01\": ", "01", "a"}, // reserved
		{"DATA is empty", "01ab", ""},
		{"DATA @: no file name", "01ab", "@"},
		{"DATA: read blob file", "01ab", "@" + filepath.Join(t.TempDir(), "missing")},
	} {
		_, err := run(ctx, nil, "blob", "submit", url, tc.ns, tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "--") {
			t.Errorf("blob submit %q %q: %v, want an error containing %q and naming no flag", tc.ns, tc.data, err, tc.want)
		}
	}
}

// includedPFB returns the PayForBlobs of the BlobTx in block height whose
// first blob holds data.
func includedPFB(ctx context.Context, t *testing.T, c *rpchttp.HTTP, height int64, data []byte) *tx.MsgPayForBlobs {
	t.Helper()
	blk, err := c.Block(ctx, &height)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range blk.Block.Txs {
		btx, isBlob, err := share.UnmarshalBlobTx(raw)
		if !isBlob || err != nil || !bytes.Equal(btx.Blobs[0].Data(), data) {
			continue
		}
		inner, err := tx.UnmarshalTx(btx.Tx)
		if err != nil {
			t.Fatal(err)
		}
		m, ok := inner.Body.Msg.(*tx.MsgPayForBlobs)
		if !ok {
			t.Fatalf("blob tx with a %T", inner.Body.Msg)
		}
		return m
	}
	t.Fatalf("block %d does not hold the blob", height)
	return nil
}

// wantVersionedHashes checks printed, the versioned_hashes a command
// printed, against the commitments of the included PayForBlobs m: one per
// chunk of data, each the commitment go-eth-kzg computes for the chunk.
func wantVersionedHashes(t *testing.T, printed []string, m *tx.MsgPayForBlobs, data []byte) {
	t.Helper()
	if len(m.KZG) != 1 {
		t.Fatalf("included PayForBlobs has KZG for %d blobs, want 1", len(m.KZG))
	}
	chunks, err := kzg.Chunks(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(printed) != len(chunks) || len(m.KZG[0].Commitments) != len(chunks) {
		t.Fatalf("%d versioned hashes printed, %d commitments included, want %d (chunks)", len(printed), len(m.KZG[0].Commitments), len(chunks))
	}
	for i, c := range m.KZG[0].Commitments {
		want, err := kzg.BlobToCommitment(chunks[i])
		if err != nil {
			t.Fatal(err)
		}
		if c != want {
			t.Fatalf("chunk %d: commitment %x included, the chunk's is %x", i, c, want)
		}
		h := kzg.VersionedHash(c)
		if printed[i] != "0x"+hex.EncodeToString(h[:]) {
			t.Fatalf("chunk %d: versioned hash %s printed, the included commitment's is 0x%x", i, printed[i], h)
		}
	}
}

// tx pay-for-blob --kzg signs the KZG commitments and proofs of the blob's
// chunks in and prints the versioned hashes of the commitments included;
// the account pays gas_per_kzg_chunk for each. Without --kzg nothing of
// KZG is printed or included.
func TestTxPayForBlobKZG(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := initCore(ctx, t, "cli-kzg-test")
	h, node, dev, c := n.h, n.node, n.dev, n.rpc

	data := bytes.Repeat([]byte("kzg chunk "), tx.KZGChunkSize/10+1)[:tx.KZGChunkSize+1] // two chunks
	file := filepath.Join(t.TempDir(), "blob.bin")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	before := balance(ctx, t, c, dev)
	out := mustRun(ctx, t, "tx", "pay-for-blob", h, node, "--from", "dev", "--namespace", "0x0102030405", "--data", "@"+file, "--kzg")
	height, err := strconv.ParseInt(field(t, out, "height"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	wantVersionedHashes(t, strings.Fields(field(t, out, "versioned_hashes")), includedPFB(ctx, t, c, height, data), data)
	p := tx.DefaultParams()
	gas := p.FixedGas + p.GasPerBlobByte*uint64(len(data)) + p.GasPerKZGChunk*2
	if after := balance(ctx, t, c, dev); after.Balance != before.Balance-gas*p.MinGasPrice {
		t.Fatalf("dev paid %d, want %d (%d gas)", before.Balance-after.Balance, gas*p.MinGasPrice, gas)
	}

	// -o json, a one-chunk blob.
	var res txResult
	out = mustRun(ctx, t, "tx", "pay-for-blob", h, node, "--from", "dev", "--namespace", "0x0102030405", "--data", "one chunk", "--kzg", "-o", "json")
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	wantVersionedHashes(t, res.VersionedHashes, includedPFB(ctx, t, c, res.Height, []byte("one chunk")), []byte("one chunk"))

	// Without --kzg.
	out = mustRun(ctx, t, "tx", "pay-for-blob", h, node, "--from", "dev", "--namespace", "0x0102030405", "--data", "no kzg", "-o", "json")
	if strings.Contains(out, "versioned_hashes") {
		t.Fatalf("pay-for-blob without --kzg printed %s", out)
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if m := includedPFB(ctx, t, c, res.Height, []byte("no kzg")); m.KZG != nil {
		t.Fatalf("pay-for-blob without --kzg included KZG %v", m.KZG)
	}
}
