package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/share"
)

// CometBFT validators running App over loopback, from coretest.

// blobs returns one coretest.Blob under ns per data slice.
func blobs(ns share.Namespace, datas ...[]byte) []coretest.Blob {
	bs := make([]coretest.Blob, len(datas))
	for i, d := range datas {
		bs[i] = coretest.Blob{Namespace: ns, Data: d}
	}
	return bs
}

func blobData(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// committedInfo opens a stopped validator's application database and
// returns what Info reports.
func committedInfo(t *testing.T, v *coretest.Validator) *abci.ResponseInfo {
	t.Helper()
	db := badgertest.OpenAt(t, filepath.Join(v.Home, validator.AppDBDir))
	defer db.Close()
	a, err := app.New(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := a.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestNodeCommitsBlobsAndRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice, aliceA := coretest.Key(t, "alice")
	g := coretest.Genesis(t, "mesh-node-test", "alice")
	p := g.Params
	v := coretest.StartChain(ctx, t, g)
	c := v.Client()

	// A PayForBlobs with two blobs, broadcast through the RPC.
	raw := coretest.PFBTx(t, g.ChainID, alice, 0, p, blobs(txtest.Namespace(t, 9), blobData(3000, 1), blobData(20, 2)))
	height := coretest.Broadcast(ctx, t, c, raw)
	txs := coretest.CheckDataRoot(ctx, t, c, height, p.MaxSquareSize)
	if len(txs) != 2 || !bytes.Equal(txs[0], raw) {
		t.Fatalf("block %d holds %d txs, want the PFB and the data root tx", height, len(txs))
	}
	drt, _ := header.UnmarshalDataRootTx(txs[1])
	if drt.SquareSize < 4 {
		t.Fatalf("square size %d is too small for the blobs", drt.SquareSize)
	}
	// Empty blocks carry a data root tx too.
	coretest.CheckDataRoot(ctx, t, c, 1, p.MaxSquareSize)

	// Kill and restart: the application resumes at the height and app hash
	// it committed, and the chain continues from there.
	v.Stop()
	info := committedInfo(t, v)
	if info.LastBlockHeight < height {
		t.Fatalf("the app committed height %d, the PFB was in block %d", info.LastBlockHeight, height)
	}
	v.Start(nil)
	c = v.Client()
	coretest.WaitHeight(ctx, t, c, info.LastBlockHeight+2)
	next := info.LastBlockHeight + 1
	b, err := c.Block(ctx, &next)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Block.AppHash, info.LastBlockAppHash) {
		t.Fatalf("block %d app hash %X, the app had committed %X", next, b.Block.AppHash, info.LastBlockAppHash)
	}
	coretest.CheckDataRoot(ctx, t, c, next+1, p.MaxSquareSize)
	q, err := c.ABCIQuery(ctx, "/account", []byte(aliceA.String()))
	if err != nil {
		t.Fatal(err)
	}
	var acc tx.AccountInfo
	if err := json.Unmarshal(q.Response.Value, &acc); err != nil || acc.Nonce != 1 {
		t.Fatalf("alice after restart: %s (%v)", q.Response.Value, err)
	}
}

func TestNodesRejectWrongDataRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four CometBFT nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	alice, _ := coretest.Key(t, "alice")
	g := coretest.Genesis(t, "mesh-4-test", "alice")
	p := g.Params
	vals, corrupt := coretest.StartCorruptNetwork(t, g, 4)
	c := vals[1].Client()

	raw := coretest.PFBTx(t, g.ChainID, alice, 0, p, blobs(txtest.Namespace(t, 5), blobData(5000, 3)))
	res, err := c.BroadcastTxSync(ctx, raw)
	if err != nil || res.Code != tx.CodeOK {
		t.Fatalf("broadcast: %v %+v", err, res)
	}
	// Run until the corrupt validator has proposed a few times (every fourth
	// round) and the PFB is in.
	const target = 12
	coretest.WaitHeight(ctx, t, c, target)
	coretest.WaitUntil(ctx, t, "wrong proposals", func() bool { return corrupt.Load() >= 2 })
	if _, err := c.Tx(ctx, res.Hash, false); err != nil {
		t.Fatalf("PFB not committed: %v", err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every committed block carries the right data root: none of the wrong
	// proposals was accepted, and the chain went on without them.
	for h := int64(1); h <= st.SyncInfo.LatestBlockHeight; h++ {
		coretest.CheckDataRoot(ctx, t, c, h, p.MaxSquareSize)
	}
	t.Logf("%d wrong proposals rejected over %d blocks", corrupt.Load(), st.SyncInfo.LatestBlockHeight)
}
