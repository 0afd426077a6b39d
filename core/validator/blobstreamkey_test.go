package validator_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/validator"
)

// Init writes a blobstream key (0600) whose address the genesis registers
// for the validator, and enables vote extensions from height 1; a second
// key is refused, and a key file whose address disagrees is not loaded.
func TestInitBlobstreamKey(t *testing.T) {
	home := t.TempDir()
	if _, err := validator.Init(home, validator.InitOptions{ChainID: "bs-key", Moniker: "m", BlockTime: time.Second}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, validator.BlobstreamKeyFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	key, err := validator.LoadBlobstreamKey(home)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := cmttypes.GenesisDocFromFile(filepath.Join(home, "config/genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	if doc.ConsensusParams.ABCI.VoteExtensionsEnableHeight != 1 {
		t.Fatalf("vote extensions enabled at %d", doc.ConsensusParams.ABCI.VoteExtensionsEnableHeight)
	}
	g, err := app.ParseGenesis(doc.AppState)
	if err != nil {
		t.Fatal(err)
	}
	want := blobstream.AddressOf(key.PubKey())
	if len(g.EVMAddresses) != 1 || g.EVMAddresses[0].EVMAddress != want || string(g.EVMAddresses[0].PubKey) != string(doc.Validators[0].PubKey.Bytes()) {
		t.Fatalf("genesis registrations %+v, want %s for the validator", g.EVMAddresses, want)
	}
	if _, err := validator.GenerateBlobstreamKey(home); err == nil {
		t.Fatal("a second key replaced the first")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]string
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	j["evm_address"] = blobstream.Address{1}.String()
	bad, _ := json.Marshal(j)
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := validator.LoadBlobstreamKey(home); err == nil {
		t.Fatal("a key file with a wrong key loaded")
	}
}
