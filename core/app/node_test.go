package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/header"
)

// An in-process CometBFT validator running App over loopback.

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testValidator is one validator's home: CometBFT config and keys, and the
// application's Badger directory. It survives restarts of its node.
type testValidator struct {
	t       *testing.T
	home    string
	config  *cfg.Config
	pv      *privval.FilePV
	nodeKey *p2p.NodeKey
	rpcAddr string

	db   *badger.DB
	app  *App
	node *node.Node
	dbs  []*guardedDB // every CometBFT database the node opened
}

func newTestValidator(t *testing.T) *testValidator {
	t.Helper()
	home := t.TempDir()
	c := cfg.DefaultConfig().SetRoot(home)
	for _, d := range []string{"config", "data"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t))
	c.P2P.AddrBookStrict = false
	c.P2P.AllowDuplicateIP = true
	c.P2P.PexReactor = false
	c.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t))
	c.Consensus.TimeoutPropose = 200 * time.Millisecond
	c.Consensus.TimeoutProposeDelta = 50 * time.Millisecond
	c.Consensus.TimeoutPrevote = 100 * time.Millisecond
	c.Consensus.TimeoutPrecommit = 100 * time.Millisecond
	c.Consensus.TimeoutCommit = 200 * time.Millisecond
	c.Consensus.PeerGossipSleepDuration = 10 * time.Millisecond
	c.Instrumentation.Prometheus = false
	nodeKey, err := p2p.LoadOrGenNodeKey(c.NodeKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	return &testValidator{t: t, home: home, config: c, nodeKey: nodeKey, rpcAddr: c.RPC.ListenAddress,
		pv: privval.LoadOrGenFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())}
}

func (v *testValidator) p2pAddr() string {
	return fmt.Sprintf("%s@%s", v.nodeKey.ID(), strings.TrimPrefix(v.config.P2P.ListenAddress, "tcp://"))
}

// writeGenesis writes CometBFT's genesis for vals, with g as app state, in
// each validator's home.
func writeGenesis(t *testing.T, g *Genesis, vals ...*testValidator) {
	t.Helper()
	appState, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	doc := &cmttypes.GenesisDoc{ChainID: g.ChainID, GenesisTime: time.Now(), AppState: appState,
		ConsensusParams: cmttypes.DefaultConsensusParams()}
	for i, v := range vals {
		pk, err := v.pv.GetPubKey()
		if err != nil {
			t.Fatal(err)
		}
		doc.Validators = append(doc.Validators, cmttypes.GenesisValidator{Address: pk.Address(), PubKey: pk, Power: 10, Name: fmt.Sprint("v", i)})
	}
	for _, v := range vals {
		if err := doc.SaveAs(v.config.GenesisFile()); err != nil {
			t.Fatal(err)
		}
	}
}

// start opens the application's database and starts the node. wrap, if not
// nil, wraps the application CometBFT talks to.
func (v *testValidator) start(wrap func(*App) proxyApp) {
	v.t.Helper()
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(v.home, "app")).WithLogger(nil))
	if err != nil {
		v.t.Fatal(err)
	}
	a, err := New(db, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	var abciApp proxyApp = a
	if wrap != nil {
		abciApp = wrap(a)
	}
	n, err := node.NewNode(v.config, v.pv, v.nodeKey, proxy.NewLocalClientCreator(abciApp),
		node.DefaultGenesisDocProviderFunc(v.config), v.dbProvider,
		node.DefaultMetricsProvider(v.config.Instrumentation), log.NewNopLogger())
	if err != nil {
		v.t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		v.t.Fatal(err)
	}
	v.db, v.app, v.node = db, a, n
	v.t.Cleanup(v.stop)
}

// stop stops the node and closes the application's database; a no-op when
// stopped.
func (v *testValidator) stop() {
	if v.node == nil {
		return
	}
	if err := v.node.Stop(); err != nil {
		v.t.Errorf("stop node: %v", err)
	}
	v.node.Wait()
	// The node closes its block, state and evidence stores but not the
	// transaction index; close what is left so the directory can be reopened.
	for _, d := range v.dbs {
		if err := d.Close(); err != nil {
			v.t.Errorf("close CometBFT db: %v", err)
		}
	}
	v.dbs = nil
	if err := v.db.Close(); err != nil {
		v.t.Errorf("close app db: %v", err)
	}
	v.node, v.db, v.app = nil, nil, nil
}

// dbProvider opens CometBFT's databases like cfg.DefaultDBProvider and
// remembers them for stop.
func (v *testValidator) dbProvider(ctx *cfg.DBContext) (dbm.DB, error) {
	d, err := cfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	g := &guardedDB{DB: d}
	v.dbs = append(v.dbs, g)
	return g, nil
}

// guardedDB turns use after Close into "not found" and dropped writes.
// CometBFT's reactors leave peer goroutines running for a moment after the
// node stops and closes its stores; on a closed goleveldb their reads
// return errors the block store panics on.
type guardedDB struct {
	dbm.DB
	mu     sync.RWMutex
	closed bool
}

func (g *guardedDB) Get(k []byte) ([]byte, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil, nil
	}
	return g.DB.Get(k)
}

func (g *guardedDB) Has(k []byte) (bool, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return false, nil
	}
	return g.DB.Has(k)
}

func (g *guardedDB) Set(k, v []byte) error { return g.write(func() error { return g.DB.Set(k, v) }) }
func (g *guardedDB) SetSync(k, v []byte) error {
	return g.write(func() error { return g.DB.SetSync(k, v) })
}
func (g *guardedDB) Delete(k []byte) error { return g.write(func() error { return g.DB.Delete(k) }) }
func (g *guardedDB) DeleteSync(k []byte) error {
	return g.write(func() error { return g.DB.DeleteSync(k) })
}

func (g *guardedDB) write(f func() error) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil
	}
	return f()
}

func (g *guardedDB) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return g.DB.Close()
}

func (v *testValidator) client() *rpchttp.HTTP {
	v.t.Helper()
	c, err := rpchttp.New(v.rpcAddr, "/websocket")
	if err != nil {
		v.t.Fatal(err)
	}
	return c
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// waitHeight waits until the node has committed height h.
func waitHeight(ctx context.Context, t *testing.T, c *rpchttp.HTTP, h int64) {
	t.Helper()
	waitFor(ctx, t, fmt.Sprint("height ", h), func() bool {
		st, err := c.Status(ctx)
		return err == nil && st.SyncInfo.LatestBlockHeight >= h
	})
}

// checkDataRoot checks that block h ends with the data root transaction of
// the square its other transactions lay out, and returns the block's txs.
func checkDataRoot(ctx context.Context, t *testing.T, c *rpchttp.HTTP, h int64, maxSquareSize int) [][]byte {
	t.Helper()
	b, err := c.Block(ctx, &h)
	if err != nil {
		t.Fatal(err)
	}
	txs := make([][]byte, len(b.Block.Txs))
	for i, tx := range b.Block.Txs {
		txs[i] = tx
	}
	if len(txs) == 0 || !header.IsDataRootTx(txs[len(txs)-1]) {
		t.Fatalf("block %d: last tx is not the data root tx", h)
	}
	want, err := DataRootTx(txs[:len(txs)-1], maxSquareSize)
	if err != nil {
		t.Fatalf("block %d: rebuild square: %v", h, err)
	}
	if !bytes.Equal(want, txs[len(txs)-1]) {
		t.Fatalf("block %d: data root tx %X, the square gives %X", h, txs[len(txs)-1], want)
	}
	return txs
}

// committedInfo opens a stopped validator's application database and
// returns what Info reports.
func committedInfo(t *testing.T, v *testValidator) *abci.ResponseInfo {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(v.home, "app")).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := New(db, nil)
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
	alice, aliceA := testKey(t, "alice")
	p := DefaultParams()
	g := &Genesis{ChainID: "mesh-node-test", Authority: aliceA, Params: p,
		Accounts: []GenesisAccount{{Address: aliceA, Balance: 1e12}}}
	v := newTestValidator(t)
	writeGenesis(t, g, v)
	v.start(nil)
	c := v.client()
	waitHeight(ctx, t, c, 1)

	// A PayForBlobs with two blobs, broadcast through the RPC.
	raw := pfbTx(t, g.ChainID, alice, 0, testNamespace(t, 9), p.MinGasPrice, p, blobData(3000, 1), blobData(20, 2))
	res, err := c.BroadcastTxSync(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != CodeOK {
		t.Fatalf("CheckTx: code %d %s", res.Code, res.Log)
	}
	var height int64
	waitFor(ctx, t, "the PFB to be committed", func() bool {
		r, err := c.Tx(ctx, res.Hash, false)
		if err != nil {
			return false
		}
		if r.TxResult.Code != CodeOK {
			t.Fatalf("PFB executed with code %d: %s", r.TxResult.Code, r.TxResult.Log)
		}
		height = r.Height
		return true
	})
	txs := checkDataRoot(ctx, t, c, height, p.MaxSquareSize)
	if len(txs) != 2 || !bytes.Equal(txs[0], raw) {
		t.Fatalf("block %d holds %d txs, want the PFB and the data root tx", height, len(txs))
	}
	drt, _ := header.UnmarshalDataRootTx(txs[1])
	if drt.SquareSize < 4 {
		t.Fatalf("square size %d is too small for the blobs", drt.SquareSize)
	}
	// Empty blocks carry a data root tx too.
	checkDataRoot(ctx, t, c, 1, p.MaxSquareSize)

	// Kill and restart: the application resumes at the height and app hash
	// it committed, and the chain continues from there.
	v.stop()
	info := committedInfo(t, v)
	if info.LastBlockHeight < height {
		t.Fatalf("the app committed height %d, the PFB was in block %d", info.LastBlockHeight, height)
	}
	v.start(nil)
	c = v.client()
	waitHeight(ctx, t, c, info.LastBlockHeight+2)
	next := info.LastBlockHeight + 1
	b, err := c.Block(ctx, &next)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Block.AppHash, info.LastBlockAppHash) {
		t.Fatalf("block %d app hash %X, the app had committed %X", next, b.Block.AppHash, info.LastBlockAppHash)
	}
	checkDataRoot(ctx, t, c, next+1, p.MaxSquareSize)
	q, err := c.ABCIQuery(ctx, "/account", []byte(aliceA.String()))
	if err != nil {
		t.Fatal(err)
	}
	var acc AccountInfo
	if err := json.Unmarshal(q.Response.Value, &acc); err != nil || acc.Nonce != 1 {
		t.Fatalf("alice after restart: %s (%v)", q.Response.Value, err)
	}
}

// proxyApp is what CometBFT's local client runs.
type proxyApp = interface {
	abci.Application
}

// corruptProposer proposes a wrong data root: its PrepareProposal flips a
// byte of the data root transaction the honest application built. The rest
// of the application is honest.
type corruptProposer struct {
	*App
	proposals *atomic.Int64
}

func (c corruptProposer) PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	res, err := c.App.PrepareProposal(ctx, req)
	if err != nil {
		return nil, err
	}
	last := len(res.Txs) - 1
	drt, err := header.UnmarshalDataRootTx(res.Txs[last])
	if err != nil {
		return nil, err
	}
	drt.DataRoot[0] ^= 0xff
	if res.Txs[last], err = drt.Marshal(); err != nil {
		return nil, err
	}
	c.proposals.Add(1)
	return res, nil
}

func TestNodesRejectWrongDataRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four CometBFT nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	alice, aliceA := testKey(t, "alice")
	p := DefaultParams()
	g := &Genesis{ChainID: "mesh-4-test", Authority: aliceA, Params: p,
		Accounts: []GenesisAccount{{Address: aliceA, Balance: 1e12}}}
	vals := make([]*testValidator, 4)
	for i := range vals {
		vals[i] = newTestValidator(t)
	}
	for i, v := range vals {
		var peers []string
		for j, o := range vals {
			if j != i {
				peers = append(peers, o.p2pAddr())
			}
		}
		v.config.P2P.PersistentPeers = strings.Join(peers, ",")
	}
	writeGenesis(t, g, vals...)
	var corrupt atomic.Int64
	vals[0].start(func(a *App) proxyApp { return corruptProposer{App: a, proposals: &corrupt} })
	for _, v := range vals[1:] {
		v.start(nil)
	}
	c := vals[1].client()

	raw := pfbTx(t, g.ChainID, alice, 0, testNamespace(t, 5), p.MinGasPrice, p, blobData(5000, 3))
	res, err := c.BroadcastTxSync(ctx, raw)
	if err != nil || res.Code != CodeOK {
		t.Fatalf("broadcast: %v %+v", err, res)
	}
	// Run until the corrupt validator has proposed a few times (every fourth
	// round) and the PFB is in.
	const target = 12
	waitHeight(ctx, t, c, target)
	waitFor(ctx, t, "wrong proposals", func() bool { return corrupt.Load() >= 2 })
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
		checkDataRoot(ctx, t, c, h, p.MaxSquareSize)
	}
	t.Logf("%d wrong proposals rejected over %d blocks", corrupt.Load(), st.SyncInfo.LatestBlockHeight)
}
