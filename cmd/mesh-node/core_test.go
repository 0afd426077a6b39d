package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/validator"
)

func TestCoreInit(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	h := "--home=" + home
	wantErr(ctx, t, "run mesh-node core init", "core", "start", h)
	wantErr(ctx, t, "block-time", "core", "init", h, "--block-time", "0s")

	out := mustRun(ctx, t, "core", "init", h, "--chain-id", "init-test", "--dev-balance", "777")
	dev := field(t, out, "dev_account")
	if field(t, out, "dev_key") != validator.DevKeyName || field(t, out, "chain_id") != "init-test" {
		t.Fatalf("core init printed\n%s", out)
	}
	if show := mustRun(ctx, t, "keys", "show", validator.DevKeyName, h); field(t, show, "address") != dev {
		t.Fatalf("the dev key is not the dev account:\n%s", show)
	}
	for _, f := range []string{"config/priv_validator_key.json", "config/node_key.json", "config/blobstream_key.json", "data/priv_validator_state.json", "keys/dev.json"} {
		st, err := os.Stat(filepath.Join(home, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %o, want 0600", f, st.Mode().Perm())
		}
	}
	doc, err := cmttypes.GenesisDocFromFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := app.ParseGenesis(doc.AppState)
	if err != nil {
		t.Fatal(err)
	}
	if doc.ChainID != "init-test" || g.ChainID != "init-test" || len(doc.Validators) != 1 ||
		len(g.Accounts) != 1 || g.Accounts[0].Address.String() != dev || g.Accounts[0].Balance != 777 ||
		g.Authority.String() != dev || g.Params != tx.DefaultParams() {
		t.Fatalf("genesis: %+v, app state %+v", doc, g)
	}

	conf, err := validator.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if conf.Consensus.TimeoutCommit != defaultBlockTime || conf.Mempool.MaxTxBytes <= g.Params.MaxBlobSize ||
		conf.RPC.MaxBodyBytes <= int64(g.Params.MaxBlobSize)*4/3 {
		t.Fatalf("config.toml: timeout_commit %s, max_tx_bytes %d, max_body_bytes %d", conf.Consensus.TimeoutCommit,
			conf.Mempool.MaxTxBytes, conf.RPC.MaxBodyBytes)
	}

	// A refused init leaves the home as it was; --force recreates it.
	before, err := os.ReadFile(filepath.Join(home, "keys", "dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantErr(ctx, t, "--force", "core", "init", h)
	if after, err := os.ReadFile(filepath.Join(home, "keys", "dev.json")); err != nil || !bytes.Equal(before, after) {
		t.Fatalf("a refused init changed the dev key (%v)", err)
	}
	mustRun(ctx, t, "core", "init", h, "--force")
	if after, err := os.ReadFile(filepath.Join(home, "keys", "dev.json")); err != nil || bytes.Equal(before, after) {
		t.Fatalf("init --force kept the dev key (%v)", err)
	}
}

// The node stops on cancellation, closes its databases, and a restart
// resumes the chain with the state it had.
func TestCoreStartRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	home := t.TempDir()
	out := mustRun(ctx, t, "core", "init", "--home", home, "--block-time", "50ms", "--dev-balance", "4242")
	dev := field(t, out, "dev_account")

	_, stop := startCore(ctx, t, home, 3)
	stop()
	url, stop := startCore(ctx, t, home, 5)
	defer stop()
	c, err := rpchttp.New(url, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	q, err := c.ABCIQuery(ctx, "/account", []byte(dev))
	if err != nil {
		t.Fatal(err)
	}
	var acc tx.AccountInfo
	if err := json.Unmarshal(q.Response.Value, &acc); err != nil || acc.Balance != 4242 || q.Response.Height < 4 {
		t.Fatalf("dev account after restart: %s at height %d (%v)", q.Response.Value, q.Response.Height, err)
	}
	wantErr(ctx, t, "--log.level", "core", "start", "--home", home, "--log.level", "loud")
	// A second node on the same home finds the application's database locked.
	wantErr(ctx, t, "open application database", "core", "start", "--home", home, "--log.level", "none")
	stop()

	// An RPC port in use is an error, and the databases are closed: the
	// next start works.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	wantErr(ctx, t, "start CometBFT node", "core", "start", "--home", home, "--log.level", "none",
		"--rpc.laddr", "tcp://"+busy.Addr().String(), "--p2p.laddr", fmt.Sprintf("tcp://127.0.0.1:%d", coretest.FreePort(t)))
	_, stop = startCore(ctx, t, home, 6)
	stop()
}

// core init --consensus pos makes a one-validator proof-of-stake chain
// whose dev account bonds the validator's stake, and it produces blocks;
// bad staking flags are refused.
func TestCoreInitPoS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	home := t.TempDir()
	h := "--home=" + home
	for _, c := range []struct{ want, flag, value string }{
		{"want pos or poa", "--consensus", "pow"},
		{"applies to --consensus pos only", "--self-bond", "5000000"},
		{"want whole seconds", "--unbonding-time", "1500ms"},
		{"max validators 0", "--max-validators", "0"},
	} {
		args := []string{"core", "init", h, c.flag, c.value}
		if c.flag == "--unbonding-time" || c.flag == "--max-validators" {
			args = append(args, "--consensus", "pos")
		}
		wantErr(ctx, t, c.want, args...)
	}
	wantErr(ctx, t, "one unit of voting power", "core", "init", h, "--consensus", "pos", "--self-bond", "999")
	wantErr(ctx, t, "--consensus makes a new chain", "core", "init", h, "--consensus", "pos", "--genesis", "g.json", "--peers", "x")

	out := mustRun(ctx, t, "core", "init", h, "--chain-id", "init-pos", "--dev-balance", "5000000000", "--consensus", "pos",
		"--self-bond", "2000000000", "--unbonding-time", "2m", "--max-validators", "9", "--block-time", "100ms")
	doc, g := readGenesis(t, filepath.Join(home, "config", "genesis.json"))
	if !g.IsPoS() || g.Staking.Params.UnbondingTime != 120 || g.Staking.Params.MaxValidators != 9 || len(g.Staking.Validators) != 1 ||
		g.Staking.Validators[0].Operator.String() != field(t, out, "dev_account") || g.Staking.Validators[0].SelfBond != 2e9 ||
		len(doc.Validators) != 1 || doc.Validators[0].Power != 2000 {
		t.Fatalf("genesis %+v, staking %+v, CometBFT validators %+v", g, g.Staking, doc.Validators)
	}
	_, stop := startCore(ctx, t, home, 3)
	stop()
}

// readGenesis reads and checks the genesis document at path, failing t.
func readGenesis(t *testing.T, path string) (*cmttypes.GenesisDoc, *app.Genesis) {
	t.Helper()
	data, err := validator.ReadGenesisFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, g, err := validator.ParseGenesisDoc(data)
	if err != nil {
		t.Fatal(err)
	}
	return doc, g
}
