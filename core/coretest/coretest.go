// Package coretest runs in-process CometBFT validators with the DataMesh
// application over loopback, for the tests of every package that needs a
// real chain: the application, the follower, the bridge, light and full
// nodes. A Validator keeps its home (config, keys, databases) across
// restarts of its node, which core/validator starts and stops as it does
// mesh-node's core node; its config lives in memory, with short consensus
// timeouts, and a blobstream key that WriteGenesis registers, so the
// validators sign Blobstream attestations. NewValidators makes the homes
// of several validators peered with each other; StartCorruptNetwork runs them, one of which proposes
// wrong data roots (CorruptProposer). StartPoSNetwork runs a proof-of-stake
// network (PoSGenesis: validators with stake instead of power, operated by
// OperatorKey accounts), each node checking the staking invariants after
// every block (CheckInvariants).
package coretest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto/secp256k1"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	secp256k1dcr "github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/freeport"
	"github.com/datamesh/mesh-node/share"
)

// BlockTime is roughly the time between blocks of a test validator: its
// consensus timeouts are shortened so tests make blocks quickly.
const BlockTime = 300 * time.Millisecond

// FreePort returns a loopback TCP port reserved for this process by
// internal/freeport: free when reserved, outside the kernel's ephemeral
// range and never handed to another test binary.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.TCP()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Validator is one validator's home, in a t.TempDir: its CometBFT config
// and keys and the application's Badger directory (validator.AppDBDir).
type Validator struct {
	t       testing.TB
	Home    string
	Config  *cfg.Config
	PV      *privval.FilePV
	NodeKey *p2p.NodeKey
	// BlobstreamKey is the validator's blobstream key
	// (validator.BlobstreamKeyFile), which WriteGenesis registers.
	BlobstreamKey *secp256k1dcr.PrivateKey
	// RPCAddr is the node's CometBFT RPC address (http://127.0.0.1:port).
	RPCAddr string
	// Options are the node's start options (validator.Start); Start sets
	// their Wrap.
	Options validator.Options

	node *validator.Node
}

// NewValidator makes a validator home with loopback ports and test
// consensus timeouts. Its node is not started.
func NewValidator(t testing.TB) *Validator {
	t.Helper()
	home := t.TempDir()
	c := cfg.DefaultConfig().SetRoot(home)
	c.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", FreePort(t))
	c.P2P.AddrBookStrict = false
	c.P2P.AllowDuplicateIP = true
	c.P2P.PexReactor = false
	c.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", FreePort(t))
	c.Consensus.TimeoutPropose = 200 * time.Millisecond
	c.Consensus.TimeoutProposeDelta = 50 * time.Millisecond
	c.Consensus.TimeoutPrevote = 100 * time.Millisecond
	c.Consensus.TimeoutPrecommit = 100 * time.Millisecond
	c.Consensus.TimeoutCommit = 200 * time.Millisecond
	c.Consensus.PeerGossipSleepDuration = 10 * time.Millisecond
	c.Instrumentation.Prometheus = false
	nodeKey, pv, err := validator.GenerateKeys(c)
	if err != nil {
		t.Fatal(err)
	}
	bsKey, err := validator.GenerateBlobstreamKey(home)
	if err != nil {
		t.Fatal(err)
	}
	return &Validator{t: t, Home: home, Config: c, NodeKey: nodeKey, PV: pv, BlobstreamKey: bsKey, RPCAddr: validator.RPCURL(c)}
}

// NewValidators makes n validator homes, each with the others as its
// persistent peers.
func NewValidators(t testing.TB, n int) []*Validator {
	t.Helper()
	vals := make([]*Validator, n)
	for i := range vals {
		vals[i] = NewValidator(t)
	}
	for i, v := range vals {
		var peers []string
		for j, o := range vals {
			if j != i {
				peers = append(peers, o.P2PAddr())
			}
		}
		v.Config.P2P.PersistentPeers = strings.Join(peers, ",")
	}
	return vals
}

// P2PAddr is the node's CometBFT peer address (id@host:port), for
// persistent peers.
func (v *Validator) P2PAddr() string {
	return fmt.Sprintf("%s@%s", v.NodeKey.ID(), strings.TrimPrefix(v.Config.P2P.ListenAddress, "tcp://"))
}

// WriteGenesis writes the genesis of g, with vals as the validators
// (validator.ValidatorPower each), into every validator's home. When g
// registers no EVM addresses, the genesis written registers each
// validator's BlobstreamKey (g is not modified).
func WriteGenesis(t testing.TB, g *app.Genesis, vals ...*Validator) {
	t.Helper()
	gvs := make([]validator.GenesisValidator, len(vals))
	withEVM := *g
	for i, v := range vals {
		pk, err := v.PV.GetPubKey()
		if err != nil {
			t.Fatal(err)
		}
		gvs[i] = validator.GenesisValidator{Name: fmt.Sprint("v", i), PubKey: pk}
		if g.EVMAddresses == nil {
			withEVM.EVMAddresses = append(withEVM.EVMAddresses, app.GenesisEVMAddress{PubKey: pk.Bytes(), EVMAddress: blobstream.AddressOf(v.BlobstreamKey.PubKey())})
		}
	}
	doc, err := validator.GenesisDoc(&withEVM, gvs...)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		if err := doc.SaveAs(v.Config.GenesisFile()); err != nil {
			t.Fatal(err)
		}
	}
}

// Start starts the node (validator.Start); wrap, if not nil, wraps the
// application CometBFT runs. The node is stopped at the end of the test if
// Stop was not called.
func (v *Validator) Start(wrap func(*app.App) abci.Application) {
	v.t.Helper()
	o := v.Options
	o.Wrap = wrap
	n, err := validator.Start(v.Config, o)
	if err != nil {
		v.t.Fatal(err)
	}
	v.node = n
	v.t.Cleanup(v.Stop)
}

// Node is the running node; nil when it is not started.
func (v *Validator) Node() *validator.Node { return v.node }

// Stop stops the node and closes its databases; a no-op when stopped.
func (v *Validator) Stop() {
	if v.node == nil {
		return
	}
	if err := v.node.Stop(); err != nil {
		v.t.Errorf("stop validator: %v", err)
	}
	v.node = nil
}

// CorruptProposer returns a wrap for Start whose application proposes a
// wrong data root: its PrepareProposal flips a byte of the data root
// transaction the honest application built, and counts the proposals it
// corrupted in proposals. The rest of the application is honest.
func CorruptProposer(proposals *atomic.Int64) func(*app.App) abci.Application {
	return func(a *app.App) abci.Application { return corruptProposer{App: a, proposals: proposals} }
}

// StartCorruptNetwork starts n validators of g, each the others' peer,
// the first of which runs CorruptProposer. It returns them and the count
// of wrong proposals.
func StartCorruptNetwork(t testing.TB, g *app.Genesis, n int) ([]*Validator, *atomic.Int64) {
	t.Helper()
	vals := NewValidators(t, n)
	WriteGenesis(t, g, vals...)
	var corrupt atomic.Int64
	vals[0].Start(CorruptProposer(&corrupt))
	for _, v := range vals[1:] {
		v.Start(nil)
	}
	return vals, &corrupt
}

type corruptProposer struct {
	*app.App
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

// Client returns an RPC client of the node.
func (v *Validator) Client() *rpchttp.HTTP {
	v.t.Helper()
	c, err := rpchttp.New(v.RPCAddr, "/websocket")
	if err != nil {
		v.t.Fatal(err)
	}
	return c
}

// WaitUntil polls cond every 20 ms until it holds; it fails the test when
// ctx ends first.
func WaitUntil(ctx context.Context, t testing.TB, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// Height returns the node's latest committed height.
func Height(ctx context.Context, t testing.TB, c *rpchttp.HTTP) int64 {
	t.Helper()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st.SyncInfo.LatestBlockHeight
}

// WaitHeight waits until the node has committed height h.
func WaitHeight(ctx context.Context, t testing.TB, c *rpchttp.HTTP, h int64) {
	t.Helper()
	WaitUntil(ctx, t, fmt.Sprint("height ", h), func() bool {
		st, err := c.Status(ctx)
		return err == nil && st.SyncInfo.LatestBlockHeight >= h
	})
}

// CheckDataRoot checks that block h ends with the data root transaction of
// the square its other transactions lay out, and returns the block's txs.
func CheckDataRoot(ctx context.Context, t testing.TB, c *rpchttp.HTTP, h int64, maxSquareSize int) [][]byte {
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
	want, err := app.DataRootTx(txs[:len(txs)-1], maxSquareSize)
	if err != nil {
		t.Fatalf("block %d: rebuild square: %v", h, err)
	}
	if !bytes.Equal(want, txs[len(txs)-1]) {
		t.Fatalf("block %d: data root tx %X, the square gives %X", h, txs[len(txs)-1], want)
	}
	return txs
}

// Account queries the account of addr at c's latest height, through the
// application's AccountQueryPath, or fails t.
func Account(ctx context.Context, t testing.TB, c *rpchttp.HTTP, addr tx.Address) tx.AccountInfo {
	t.Helper()
	q, err := c.ABCIQuery(ctx, tx.AccountQueryPath, []byte(addr.String()))
	if err != nil || q.Response.Code != tx.CodeOK {
		t.Fatalf("query account %s: %v %+v", addr, err, q)
	}
	var acc tx.AccountInfo
	if err := json.Unmarshal(q.Response.Value, &acc); err != nil {
		t.Fatal(err)
	}
	return acc
}

// Key derives a secp256k1 key and its address from seed (txtest.Key).
func Key(t testing.TB, seed string) (secp256k1.PrivKey, tx.Address) {
	t.Helper()
	return txtest.Key(t, seed)
}

// Genesis returns a genesis of chainID with default parameters, in which
// each of keys' addresses (Key(t, seed)) holds 1e12 and the first is the
// authority.
func Genesis(t testing.TB, chainID string, keys ...string) *app.Genesis {
	t.Helper()
	g := &app.Genesis{ChainID: chainID, Params: tx.DefaultParams()}
	for i, k := range keys {
		_, a := Key(t, k)
		if i == 0 {
			g.Authority = a
		}
		g.Accounts = append(g.Accounts, app.GenesisAccount{Address: a, Balance: 1e12})
	}
	return g
}

// StartChain starts a one-validator chain of g and waits for its first
// block.
func StartChain(ctx context.Context, t testing.TB, g *app.Genesis) *Validator {
	t.Helper()
	v := NewValidator(t)
	WriteGenesis(t, g, v)
	v.Start(nil)
	WaitHeight(ctx, t, v.Client(), 1)
	return v
}

// Blob is a blob a test sends in a PayForBlobs; PFBTx sets its Commitment.
type Blob struct {
	Namespace  share.Namespace
	Data       []byte
	Commitment []byte
}

// PFBTx signs a PayForBlobs of blobs with key, at the minimum gas price
// of p, and wraps it with them in a BlobTx, setting each blob's
// Commitment.
func PFBTx(t testing.TB, chainID string, key secp256k1.PrivKey, nonce uint64, p tx.Params, blobs []Blob) []byte {
	t.Helper()
	bs := make([]*share.Blob, len(blobs))
	for i, sb := range blobs {
		b, err := share.NewBlob(sb.Namespace, sb.Data, share.ShareVersionZero, nil)
		if err != nil {
			t.Fatal(err)
		}
		bs[i] = b
	}
	raw, commitments := txtest.BlobTx(t, chainID, key, nonce, p.MinGasPrice, p, bs...)
	for i := range blobs {
		blobs[i].Commitment = commitments[i]
	}
	return raw
}

// Broadcast sends raw and waits until it is committed, returning its
// height. A transaction refused by CheckTx or failed in execution fails
// the test.
func Broadcast(ctx context.Context, t testing.TB, c *rpchttp.HTTP, raw []byte) int64 {
	t.Helper()
	res, err := c.BroadcastTxSync(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != tx.CodeOK {
		t.Fatalf("CheckTx: code %d %s", res.Code, res.Log)
	}
	var height int64
	WaitUntil(ctx, t, "the transaction to be committed", func() bool {
		r, err := c.Tx(ctx, res.Hash, false)
		if err != nil {
			return false
		}
		if r.TxResult.Code != tx.CodeOK {
			t.Fatalf("executed with code %d: %s", r.TxResult.Code, r.TxResult.Log)
		}
		height = r.Height
		return true
	})
	return height
}
