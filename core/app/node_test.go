package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/secp256k1"

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

// kzgByzantine is a validator's application that adds to each of its
// proposals one of its PayForBlobs with wrong KZG commitments or proofs,
// in turn, and the data root of the square with it: a proposal that
// ProcessProposal can refuse only for the proofs.
type kzgByzantine struct {
	*app.App
	bad           [][]byte
	maxSquareSize int
	proposals     *atomic.Int64
}

func (b kzgByzantine) PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	res, err := b.App.PrepareProposal(ctx, req)
	if err != nil {
		return nil, err
	}
	n := b.proposals.Add(1)
	body := append(slices.Clip(res.Txs[:len(res.Txs)-1]), b.bad[int(n-1)%len(b.bad)])
	drt, err := app.DataRootTx(body, b.maxSquareSize)
	if err != nil {
		return nil, err
	}
	res.Txs = append(body, drt)
	return res, nil
}

// rejections records the errors of the application's "rejected proposal"
// log records.
type rejections struct {
	mu   sync.Mutex
	errs []string
}

func (r *rejections) Enabled(context.Context, slog.Level) bool { return true }
func (r *rejections) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *rejections) WithGroup(string) slog.Handler            { return r }
func (r *rejections) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "rejected proposal" {
		return nil
	}
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			r.mu.Lock()
			r.errs = append(r.errs, a.Value.String())
			r.mu.Unlock()
		}
		return true
	})
	return nil
}

func (r *rejections) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// seen reports whether every one of wants is in some recorded error, and
// whether every recorded error is about KZG commitments.
func (r *rejections) seen(wants ...string) (all, onlyKZG bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	all = true
	for _, w := range wants {
		all = all && slices.ContainsFunc(r.errs, func(e string) bool { return strings.Contains(e, w) })
	}
	onlyKZG = !slices.ContainsFunc(r.errs, func(e string) bool { return !strings.Contains(e, "invalid KZG commitments") })
	return all, onlyKZG
}

// Four validators, one of which proposes, with each of its blocks,
// mallory's PayForBlobs with a flipped proof byte, a missing commitment or
// one commitment too many (in turn), in a square whose data root is right:
// the other three reject each such proposal in ProcessProposal for the KZG
// proofs, the chain goes on, and a valid KZG blob sent to an honest node is
// committed while the bad ones never are.
func TestNodesRejectWrongKZG(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four CometBFT nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	alice, _ := coretest.Key(t, "alice")
	mallory, malloryA := coretest.Key(t, "mallory")
	g := coretest.Genesis(t, "mesh-kzg-test", "alice", "mallory")
	p := g.Params

	// A blob of two chunks; its KZG commitments and proofs, computed once.
	data := blobData(tx.KZGChunkSize+1, 6)
	good := txtest.KZG(t, data)
	pfb := func(key secp256k1.PrivKey, ns byte, mutate func(k *tx.BlobKZG)) []byte {
		b, err := share.NewBlob(txtest.Namespace(t, ns), data, share.ShareVersionZero, nil)
		if err != nil {
			t.Fatal(err)
		}
		k := tx.BlobKZG{Commitments: slices.Clone(good.Commitments), Proofs: slices.Clone(good.Proofs)}
		mutate(&k)
		msg := txtest.PFBMsg(t, key, b)
		msg.KZG = []tx.BlobKZG{k}
		return txtest.SignBlobTx(t, g.ChainID, key, 0, p.MinGasPrice, p, msg, b)
	}
	flipped := pfb(mallory, 7, func(k *tx.BlobKZG) { k.Proofs[1][20] ^= 1 })
	bad := [][]byte{
		flipped,
		pfb(mallory, 7, func(k *tx.BlobKZG) { k.Commitments, k.Proofs = k.Commitments[:1], k.Proofs[:1] }),
		pfb(mallory, 7, func(k *tx.BlobKZG) {
			k.Commitments, k.Proofs = append(k.Commitments, k.Commitments[0]), append(k.Proofs, k.Proofs[0])
		}),
	}

	vals := coretest.NewValidators(t, 4)
	coretest.WriteGenesis(t, g, vals...)
	var proposals atomic.Int64
	vals[0].Start(func(a *app.App) abci.Application {
		return kzgByzantine{App: a, bad: bad, maxSquareSize: p.MaxSquareSize, proposals: &proposals}
	})
	rejected := &rejections{}
	for _, v := range vals[1:] {
		n, err := validator.Start(v.Config, validator.Options{AppLogger: slog.New(rejected)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := n.Stop(); err != nil {
				t.Error(err)
			}
		})
	}
	c := vals[1].Client()
	coretest.WaitHeight(ctx, t, c, 1)

	// CheckTx refuses the bad transaction; a valid one is committed.
	res, err := c.BroadcastTxSync(ctx, flipped)
	if err != nil || res.Code != tx.CodeInvalidKZG {
		t.Fatalf("broadcast of a flipped proof: %v %+v", err, res)
	}
	height := coretest.Broadcast(ctx, t, c, pfb(alice, 8, func(*tx.BlobKZG) {}))
	coretest.CheckDataRoot(ctx, t, c, height, p.MaxSquareSize)

	// Each kind of wrong proposal is rejected, for its KZG commitments.
	coretest.WaitUntil(ctx, t, "each wrong KZG proposal rejected", func() bool {
		all, _ := rejected.seen("2 chunks", "1 KZG commitments, want 2", "3 KZG commitments, want 2")
		return all
	})
	if _, onlyKZG := rejected.seen(); !onlyKZG {
		t.Fatalf("a proposal was rejected for something else: %q", rejected.list())
	}
	// The chain goes on, with the right data root in every block and none
	// of mallory's transactions.
	last := coretest.Height(ctx, t, c) + 2
	coretest.WaitHeight(ctx, t, c, last)
	for h := int64(1); h <= last; h++ {
		coretest.CheckDataRoot(ctx, t, c, h, p.MaxSquareSize)
	}
	if acc := coretest.Account(ctx, t, c, malloryA); acc.Nonce != 0 || acc.Balance != 1e12 {
		t.Fatalf("mallory's account %+v: a bad transaction was executed", acc)
	}
	t.Logf("%d wrong KZG proposals, %d rejections over %d blocks", proposals.Load(), len(rejected.list()), last)
}
