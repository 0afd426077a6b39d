package core_test

// An in-process CometBFT network running core/app, for the follower's
// end-to-end tests. The harness follows core/app's node tests, including
// their workaround for CometBFT's reactors touching closed databases.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto/secp256k1"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/share"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testValidator is one validator's home; it survives restarts of its node.
type testValidator struct {
	t       *testing.T
	home    string
	config  *cfg.Config
	pv      *privval.FilePV
	nodeKey *p2p.NodeKey
	rpcAddr string

	db   *badger.DB
	node *node.Node
	dbs  []*guardedDB
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
	return &testValidator{t: t, home: home, config: c, nodeKey: nodeKey,
		rpcAddr: strings.Replace(c.RPC.ListenAddress, "tcp://", "http://", 1),
		pv:      privval.LoadOrGenFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())}
}

func (v *testValidator) p2pAddr() string {
	return fmt.Sprintf("%s@%s", v.nodeKey.ID(), strings.TrimPrefix(v.config.P2P.ListenAddress, "tcp://"))
}

func writeGenesis(t *testing.T, g *app.Genesis, vals ...*testValidator) {
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

// start opens the application's database and starts the node; wrap, if not
// nil, wraps the application CometBFT runs.
func (v *testValidator) start(wrap func(*app.App) abci.Application) {
	v.t.Helper()
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(v.home, "app")).WithLogger(nil))
	if err != nil {
		v.t.Fatal(err)
	}
	a, err := app.New(db, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	var abciApp abci.Application = a
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
	v.db, v.node = db, n
	v.t.Cleanup(v.stop)
}

// stop stops the node and closes its databases; a no-op when stopped.
func (v *testValidator) stop() {
	if v.node == nil {
		return
	}
	if err := v.node.Stop(); err != nil {
		v.t.Errorf("stop node: %v", err)
	}
	v.node.Wait()
	for _, d := range v.dbs {
		if err := d.Close(); err != nil {
			v.t.Errorf("close CometBFT db: %v", err)
		}
	}
	v.dbs = nil
	if err := v.db.Close(); err != nil {
		v.t.Errorf("close app db: %v", err)
	}
	v.node, v.db = nil, nil
}

func (v *testValidator) dbProvider(ctx *cfg.DBContext) (dbm.DB, error) {
	d, err := cfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	g := &guardedDB{DB: d}
	v.dbs = append(v.dbs, g)
	return g, nil
}

// guardedDB turns use after Close into "not found" and dropped writes:
// CometBFT's reactors run for a moment after the node closes its stores.
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

func testKey(t testing.TB, seed string) (secp256k1.PrivKey, app.Address) {
	t.Helper()
	k := secp256k1.GenPrivKeySecp256k1([]byte(seed))
	a, err := app.AddressFromPubKey(k.PubKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return k, a
}

// submittedBlob is a blob the test sent in a PayForBlobs.
type submittedBlob struct {
	ns         share.Namespace
	data       []byte
	commitment []byte
}

// pfbTx signs a PayForBlobs of blobs (one per namespace and data) and wraps
// it with them in a BlobTx.
func pfbTx(t testing.TB, chainID string, key secp256k1.PrivKey, nonce uint64, p app.Params, blobs []submittedBlob) []byte {
	t.Helper()
	signer, err := app.AddressFromPubKey(key.PubKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	msg := &app.MsgPayForBlobs{Signer: signer}
	var bs []*share.Blob
	for i, sb := range blobs {
		b, err := share.NewBlob(sb.ns, sb.data, share.ShareVersionZero, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := b.Commitment()
		if err != nil {
			t.Fatal(err)
		}
		blobs[i].commitment = c
		bs = append(bs, b)
		msg.Namespaces = append(msg.Namespaces, sb.ns)
		msg.BlobSizes = append(msg.BlobSizes, uint32(len(sb.data)))
		msg.ShareCommitments = append(msg.ShareCommitments, c)
		msg.ShareVersions = append(msg.ShareVersions, 0)
	}
	gas, _ := app.GasUsed(p, msg)
	inner, err := app.SignTx(app.Body{ChainID: chainID, Nonce: nonce, Fee: app.Fee{GasLimit: gas, GasPrice: p.MinGasPrice}, Msg: msg}, key)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := share.MarshalBlobTx(inner, bs...)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// broadcast sends raw and waits until it is committed, returning its height.
func broadcast(ctx context.Context, t *testing.T, c *rpchttp.HTTP, raw []byte) int64 {
	t.Helper()
	res, err := c.BroadcastTxSync(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != app.CodeOK {
		t.Fatalf("CheckTx: code %d %s", res.Code, res.Log)
	}
	var height int64
	waitUntil(ctx, t, "the transaction to be committed", func() bool {
		r, err := c.Tx(ctx, res.Hash, false)
		if err != nil {
			return false
		}
		if r.TxResult.Code != app.CodeOK {
			t.Fatalf("executed with code %d: %s", r.TxResult.Code, r.TxResult.Log)
		}
		height = r.Height
		return true
	})
	return height
}

// coreHeight returns the node's latest height.
func coreHeight(ctx context.Context, t *testing.T, c *rpchttp.HTTP) int64 {
	t.Helper()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st.SyncInfo.LatestBlockHeight
}
