package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/share"
)

// tx blobstream register-evm-address registers the address of a key file
// for the home's validator: the chain then reports it for the validator's
// consensus key. A missing key file or a home without a validator is
// refused before anything is sent.
func TestTxRegisterEVMAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := initCore(ctx, t, "register-test")

	wantErr(ctx, t, "--key-file", "tx", "blobstream", "register-evm-address", n.h, n.node, "--from", "dev",
		"--key-file", filepath.Join(t.TempDir(), "none.json"))
	wantErr(ctx, t, "core init", "tx", "blobstream", "register-evm-address", "--home="+t.TempDir(), n.node, "--from", "dev")

	keyHome := t.TempDir()
	key, err := validator.GenerateBlobstreamKey(keyHome)
	if err != nil {
		t.Fatal(err)
	}
	want := blobstream.AddressOf(key.PubKey())
	out := mustRun(ctx, t, "tx", "blobstream", "register-evm-address", n.h, n.node, "--from", "dev",
		"--key-file", filepath.Join(keyHome, validator.BlobstreamKeyFile), "-o", "json")
	var res txResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if res.Height < 1 || res.EVMAddress != want.String() {
		t.Fatalf("result %+v, want a height and %s", res, want)
	}
	conf, err := validator.LoadConfig(n.home)
	if err != nil {
		t.Fatal(err)
	}
	pv, err := validator.LoadValidatorKey(conf.PrivValidatorKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	q, err := n.rpc.ABCIQuery(ctx, tx.EVMAddressQueryPath, []byte(pv.Address.String()))
	if err != nil || q.Response.Code != tx.CodeOK {
		t.Fatalf("query the validator's address: %+v %v", q, err)
	}
	var info tx.EVMAddressInfo
	if err := json.Unmarshal(q.Response.Value, &info); err != nil || info.EVMAddress != want {
		t.Fatalf("the chain has %s (%v), want %s", info.EVMAddress, err, want)
	}
}

// The devnet's genesis attests every devnetDataCommitmentWindow blocks;
// core init keeps the default window.
func TestDevnetDataCommitmentWindow(t *testing.T) {
	home := t.TempDir()
	if _, err := initDevnet(devnetOptions{home: home, blockTime: time.Second,
		maxSquareSize: share.DefaultMaxSquareSize, maxBlobSize: tx.DefaultParams().MaxBlobSize}); err != nil {
		t.Fatal(err)
	}
	coreHome := t.TempDir()
	if _, _, err := initHome(initOptions{home: coreHome, chainID: "c", moniker: "m", blockTime: time.Second,
		maxSquareSize: share.DefaultMaxSquareSize, maxBlobSize: tx.DefaultParams().MaxBlobSize}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		home string
		want uint64
	}{{filepath.Join(home, "core"), devnetDataCommitmentWindow}, {coreHome, tx.DefaultDataCommitmentWindow}} {
		doc, err := cmttypes.GenesisDocFromFile(filepath.Join(tc.home, "config", "genesis.json"))
		if err != nil {
			t.Fatal(err)
		}
		_, p, err := tx.ParseGenesisParams(doc.AppState)
		if err != nil {
			t.Fatal(err)
		}
		if p.DataCommitmentWindow != tc.want {
			t.Errorf("%s: data_commitment_window %d, want %d", tc.home, p.DataCommitmentWindow, tc.want)
		}
	}
}
