package validator_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/datamesh/mesh-node/core/meshrpc"
	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// The transaction index keeps no transaction bytes, and what reads it
// still works once a blob transaction is included: state's client learns
// its height and code (through meshrpc's tx route), the route answers its
// height, index and code, CometBFT's /tx and /tx_search answer as they
// did, the transaction (from the block store) and its hash included, and
// with prove=true a valid proof. The index's entry for the hash, read
// after Stop, is a TxResult without the transaction.
func TestTxIndexWithoutTransactions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	home := t.TempDir()
	if _, err := validator.Init(home, validator.InitOptions{ChainID: "txindex-lib", Moniker: "x", BlockTime: 50 * time.Millisecond, DevBalance: 1e15}); err != nil {
		t.Fatal(err)
	}
	conf := loopbackConfig(t, home, "")
	n, err := validator.Start(conf, validator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	sc, err := state.New(state.Options{RPC: n.RPCURL(), Keyring: validator.Keyring(home), DefaultKey: validator.DevKeyName, Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop(context.Background())

	data := make([]byte, 1500_000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	ns, err := share.NewV0Namespace([]byte("txindex"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := share.NewBlob(ns, data, share.ShareVersionZero, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sc.SubmitPayForBlob(ctx, []*share.Blob{b}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Height < 1 || res.Code != 0 {
		t.Fatalf("state's client: %+v", res)
	}
	hash, err := hex.DecodeString(res.TxHash)
	if err != nil {
		t.Fatal(err)
	}

	st := meshTx(ctx, t, n.RPCURL(), hash)
	if st.Height != res.Height || st.Code != 0 || !bytes.Equal(st.Hash, hash) {
		t.Fatalf("tx route %+v, state's client %+v", st, res)
	}

	c := client(t, n)
	r, err := c.Tx(ctx, hash, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Height != st.Height || r.Index != st.Index || r.TxResult.Code != 0 || r.TxResult.GasUsed != res.GasUsed {
		t.Fatalf("/tx: height %d index %d result %+v; tx route %+v", r.Height, r.Index, r.TxResult, st)
	}
	if h := sha256.Sum256(r.Tx); !bytes.Equal(h[:], hash) || !bytes.Contains(r.Tx, data[:1000]) {
		t.Fatalf("/tx answers %d bytes that are not the blob transaction", len(r.Tx))
	}
	block, err := c.Block(ctx, &r.Height)
	if err != nil {
		t.Fatal(err)
	}
	proved, err := c.Tx(ctx, hash, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := proved.Proof.Validate(block.Block.DataHash); err != nil || !bytes.Equal(proved.Proof.Data, r.Tx) || !bytes.Equal(proved.Tx, r.Tx) {
		t.Fatalf("/tx with prove: %v, proves %d bytes, answers %d", err, len(proved.Proof.Data), len(proved.Tx))
	}
	for _, prove := range []bool{false, true} {
		found, err := c.TxSearch(ctx, fmt.Sprintf("tx.height=%d", r.Height), prove, nil, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(found.Txs, func(f *coretypes.ResultTx) bool { return bytes.Equal(f.Hash, hash) })
		if i < 0 {
			t.Fatalf("/tx_search at height %d did not find the transaction among %d", r.Height, len(found.Txs))
		}
		if f := found.Txs[i]; f.Index != r.Index || !bytes.Equal(f.Tx, r.Tx) || prove && f.Proof.Validate(block.Block.DataHash) != nil {
			t.Fatalf("/tx_search (prove %v) answers index %d, %d transaction bytes", prove, f.Index, len(f.Tx))
		}
	}

	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	db, err := dbm.NewGoLevelDB("tx_index", conf.DBDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := db.Get(hash)
	if err != nil {
		t.Fatal(err)
	}
	var stored abci.TxResult
	if err := stored.Unmarshal(v); err != nil {
		t.Fatal(err)
	}
	if len(v) > 4096 || bytes.Contains(v, data[:64]) || len(stored.Tx) != 0 || stored.Height != r.Height || stored.Index != r.Index {
		t.Fatalf("the index holds %d bytes for the transaction: height %d, index %d, %d transaction bytes", len(v), stored.Height, stored.Index, len(stored.Tx))
	}
}

// meshTx asks the tx route of the node at base about hash.
func meshTx(ctx context.Context, t *testing.T, base string, hash []byte) meshrpc.TxStatus {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+meshrpc.TxPath+"?hash="+hex.EncodeToString(hash), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := meshrpc.CheckResponse(resp); err != nil {
		t.Fatal(err)
	}
	var st meshrpc.TxStatus
	if err := json.NewDecoder(io.LimitReader(resp.Body, meshrpc.MaxTxStatusBytes)).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}
