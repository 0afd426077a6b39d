package main

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/share"
)

// TestMaxSquareSizeFlags checks --max-square-size and --max-blob-size of
// core init, core testnet and devnet: the width lands in the genesis
// params, with block max_bytes to match, and so does the blob size, with
// config.toml's mempool and RPC limits to match; a width that is not a
// power of two up to 512, or a blob size out of range, is refused by name;
// a devnet home keeps the width it was made with.
func TestMaxSquareSizeFlags(t *testing.T) {
	ctx := context.Background()
	for _, bad := range []string{"0", "100", "1024", "-2"} {
		wantErr(ctx, t, "--max-square-size", "core", "init", "--home", t.TempDir(), "--max-square-size", bad)
		wantErr(ctx, t, "--max-square-size", "core", "testnet", "--output", filepath.Join(t.TempDir(), "net"), "--max-square-size", bad)
		wantErr(ctx, t, "--max-square-size", "devnet", "--home", t.TempDir(), "--base-port", "0", "--max-square-size", bad)
	}
	for _, bad := range []string{"0", strconv.Itoa(share.MaxBlobSize + 1)} {
		wantErr(ctx, t, "--max-blob-size", "core", "init", "--home", t.TempDir(), "--max-blob-size", bad)
		wantErr(ctx, t, "--max-blob-size", "core", "testnet", "--output", filepath.Join(t.TempDir(), "net"), "--max-blob-size", bad)
		wantErr(ctx, t, "--max-blob-size", "devnet", "--home", t.TempDir(), "--base-port", "0", "--max-blob-size", bad)
	}

	home := t.TempDir()
	mustRun(ctx, t, "core", "init", "--home", home, "--max-square-size", "256", "--max-blob-size", "8388608")
	g := checkGenesisSquare(t, filepath.Join(home, "config", "genesis.json"), 256)
	conf, err := validator.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	// An 8 MiB blob's BlobTx fits the mempool, and as base64 in
	// broadcast_tx's JSON the RPC body limit.
	if g.Params.MaxBlobSize != 8<<20 || conf.Mempool.MaxTxBytes <= 8<<20 || conf.RPC.MaxBodyBytes <= 8<<20*4/3 {
		t.Fatalf("max_blob_size %d, mempool.max_tx_bytes %d, rpc.max_body_bytes %d", g.Params.MaxBlobSize, conf.Mempool.MaxTxBytes, conf.RPC.MaxBodyBytes)
	}
	net := filepath.Join(t.TempDir(), "net")
	mustRun(ctx, t, "core", "testnet", "--output", net, "--validators", "1", "--max-square-size", "512")
	checkGenesisSquare(t, filepath.Join(net, "validator0", "config", "genesis.json"), 512)

	// A devnet home's chain keeps its width: a later run follows the
	// genesis and refuses another --max-square-size.
	dev := t.TempDir()
	if _, _, err := initHome(initOptions{home: filepath.Join(dev, "core"), chainID: devnetChainID, moniker: "devnet",
		blockTime: defaultBlockTime, devBalance: 1, maxSquareSize: 64, maxBlobSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if k, err := devnetMaxSquareSize(devnetOptions{home: dev, maxSquareSize: 128}); err != nil || k != 64 {
		t.Fatalf("devnetMaxSquareSize without the flag = %d, %v; want 64", k, err)
	}
	if _, err := devnetMaxSquareSize(devnetOptions{home: dev, maxSquareSize: 128, maxSquareSizeSet: true}); err == nil {
		t.Fatal("devnetMaxSquareSize accepted --max-square-size 128 for a chain of 64")
	}
}

// checkGenesisSquare checks the max_square_size and block max_bytes of the
// genesis at path and returns its app genesis.
func checkGenesisSquare(t *testing.T, path string, k int) *app.Genesis {
	t.Helper()
	doc, g := readGenesis(t, path)
	if g.Params.MaxSquareSize != k || doc.ConsensusParams.Block.MaxBytes != validator.BlockMaxBytes(k) {
		t.Fatalf("%s: max_square_size %d, block max_bytes %d; want %d, %d", path, g.Params.MaxSquareSize,
			doc.ConsensusParams.Block.MaxBytes, k, validator.BlockMaxBytes(k))
	}
	return g
}
