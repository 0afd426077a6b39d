package rollup_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/execution/kv"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/internal/devnetproc"
	"github.com/datamesh/mesh-node/rollup"
	"github.com/datamesh/mesh-node/rollup/meshapi"
	"github.com/datamesh/mesh-node/share"
)

// node is a rollup node's parts over one Badger database: the kv
// executor and the rollup store share it.
type node struct {
	dir   string
	db    *badger.DB
	exec  *kv.Executor
	store *rollup.Store
}

func openNode(t *testing.T, dir string, g *rollup.Genesis) *node {
	t.Helper()
	db := badgertest.OpenAt(t, dir)
	exec, err := kv.New(db, kv.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := rollup.OpenStore(db, g)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{dir: dir, db: db, exec: exec, store: st}
	t.Cleanup(func() { n.close(t) })
	return n
}

func (n *node) close(t *testing.T) {
	if n.db != nil {
		if err := n.db.Close(); err != nil {
			t.Error(err)
		}
		n.db = nil
	}
}

func dial(t *testing.T, ctx context.Context, url, token string) *client.Client {
	t.Helper()
	c, err := client.New(ctx, url, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
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
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

func testGenesis(t *testing.T, ctx context.Context, c *client.Client, chainID string, nsID string, key ed25519.PrivateKey) *rollup.Genesis {
	t.Helper()
	head, err := c.Header.LocalHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := share.NewV0Namespace([]byte(nsID))
	if err != nil {
		t.Fatal(err)
	}
	return &rollup.Genesis{ChainID: chainID, Namespace: ns, Sequencer: key.Public().(ed25519.PublicKey),
		DAStartHeight: head.Height(), InitialHeight: 1, Time: time.Now().UTC().Add(-time.Second).Truncate(time.Millisecond)}
}

func keyFrom(seed string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte(seed))
	return ed25519.NewKeyFromSeed(s[:])
}

func startFollower(t *testing.T, ctx context.Context, g *rollup.Genesis, n *node, headers rollup.HeaderSource, data rollup.NamespaceSource) *rollup.Follower {
	t.Helper()
	f, err := rollup.NewFollower(rollup.FollowerConfig{Genesis: g, Executor: n.exec, Store: n.store, Headers: headers, Data: data,
		RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, f) })
	return f
}

type stopper interface{ Stop(context.Context) error }

func stop(t *testing.T, s stopper) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Error(err)
	}
}

func getFoo(t *testing.T, ctx context.Context, n *node, root []byte, key string) string {
	t.Helper()
	a, err := n.exec.Query(ctx, kv.Query{Type: kv.TypeGet, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Verify(root, key, a); err != nil {
		t.Fatalf("get %s: the answer does not verify against the follower's state root: %v", key, err)
	}
	return a.Value
}

// TestDevnetRollup is issue 17's rollup node on a devnet: a sequencer
// posts kv blocks through the light node, a follower reading data from
// the full node (and headers from the light node) reaches the same state
// root and answers get foo = bar with a verifying proof, resumes from its
// store after a restart, and a follower behind an API that hides the
// namespace's data stops at the height it cannot verify.
func TestDevnetRollup(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet")
	}
	dn := devnetproc.Run(t, "..")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	light, full := dn.Info.Nodes["light"], dn.Info.Nodes["full"]
	lc := dial(t, ctx, light.RPC, light.Token)
	fc := dial(t, ctx, full.RPC, full.Token)

	key := keyFrom("sequencer")
	g := testGenesis(t, ctx, lc, "kv-devnet", "kvdevnet", key)

	seqNode := openNode(t, t.TempDir(), g)
	seq, err := rollup.NewSequencer(rollup.SequencerConfig{Genesis: g, Key: key, Executor: seqNode.exec, Store: seqNode.store,
		DA: meshapi.Submitter{C: lc}, BlockTime: 200 * time.Millisecond, RetryMin: 100 * time.Millisecond, RetryMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := seq.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, seq) })
	if err := seqNode.exec.SubmitTx(ctx, []byte(`{"type":"set","key":"foo","value":"bar"}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the sequencer to post block 1", func() bool { return seq.Status().Posted >= 1 })
	st := seq.Status()
	t.Logf("sequencer: block %d posted at DA height %d, state root %X", st.Posted, st.PostedDA, st.StateRoot)

	// A follower started from scratch, syncing from DataMesh alone.
	folDir := t.TempDir()
	folNode := openNode(t, folDir, g)
	fol := startFollower(t, ctx, g, folNode, meshapi.Headers{C: lc}, meshapi.Data{C: fc, Name: full.RPC})
	waitFor(ctx, t, "the follower to reach block 1", func() bool { return fol.Status().Height >= 1 })
	seqRoot1 := blockRoot(t, seqNode, 1)
	fs := fol.Status()
	if fs.Halted != nil || !bytes.Equal(blockRoot(t, folNode, 1), seqRoot1) {
		t.Fatalf("follower at block 1: halted %v, root %X; the sequencer's %X", fs.Halted, blockRoot(t, folNode, 1), seqRoot1)
	}
	if v := getFoo(t, ctx, folNode, fs.StateRoot, "foo"); v != "bar" {
		t.Fatalf("follower: get foo = %q, want bar", v)
	}

	// Restart the follower: it resumes from its store.
	stop(t, fol)
	before := fol.Status()
	folNode.close(t)
	folNode = openNode(t, folDir, g)
	fol = startFollower(t, ctx, g, folNode, meshapi.Headers{C: lc}, meshapi.Data{C: fc, Name: full.RPC})
	if after := fol.Status(); after.Height < before.Height || after.DAHeight < before.DAHeight {
		t.Fatalf("restarted follower at block %d, DA height %d; it had reached block %d, DA height %d", after.Height, after.DAHeight, before.Height, before.DAHeight)
	}
	if err := seqNode.exec.SubmitTx(ctx, []byte(`{"type":"set","key":"baz","value":"qux"}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the restarted follower to reach block 2", func() bool { return fol.Status().Height >= 2 })
	fs = fol.Status()
	if !bytes.Equal(blockRoot(t, folNode, 2), blockRoot(t, seqNode, 2)) {
		t.Fatalf("follower's block 2 root %X, the sequencer's %X", blockRoot(t, folNode, 2), blockRoot(t, seqNode, 2))
	}
	if v := getFoo(t, ctx, folNode, fs.StateRoot, "baz"); v != "qux" {
		t.Fatalf("restarted follower: get baz = %q, want qux", v)
	}

	// Followers whose data source hides the namespace's rows, or the
	// last share of each: they cannot verify block 1's DA height and
	// stay before it.
	b1, err := seqNode.store.Block(1)
	if err != nil {
		t.Fatal(err)
	}
	type hider struct {
		name string
		url  string
		fol  *rollup.Follower
	}
	var hiders []hider
	for _, mode := range []struct {
		name string
		hide func([]byte) []byte
	}{{"rows", dropRowsWithShares}, {"last share", dropLastShare}} {
		name, hide := mode.name, mode.hide
		proxy := hidingProxy(t, full.RPC, hide)
		hc := dial(t, ctx, proxy.URL, full.Token)
		hidNode := openNode(t, t.TempDir(), g)
		hid := startFollower(t, ctx, g, hidNode, meshapi.Headers{C: lc}, meshapi.Data{C: hc, Name: proxy.URL})
		hiders = append(hiders, hider{name, proxy.URL, hid})
	}
	for _, h := range hiders {
		want := fmt.Sprintf("DA height %d: namespace data from %s does not verify", b1.DAHeight, h.url)
		waitFor(ctx, t, "the follower behind the API hiding "+h.name+" to report it", func() bool { return strings.Contains(h.fol.Status().LastError, want) })
	}
	// They keep retrying that height and never pass it.
	if err := seqNode.exec.SubmitTx(ctx, []byte(`{"type":"set","key":"x","value":"y"}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the sequencer to post block 3", func() bool { return seq.Status().Posted >= 3 })
	for _, h := range hiders {
		want := fmt.Sprintf("DA height %d: namespace data from %s does not verify", b1.DAHeight, h.url)
		hs := h.fol.Status()
		if hs.Height != 0 || hs.DAHeight != b1.DAHeight-1 || !strings.Contains(hs.LastError, want) {
			t.Fatalf("follower behind the API hiding %s: block %d, DA height %d, last error %q; want block 0, DA height %d, %q",
				h.name, hs.Height, hs.DAHeight, hs.LastError, b1.DAHeight-1, want)
		}
		t.Logf("API hiding %s detected: %s", h.name, hs.LastError)
	}

	t.Run("BadBlocks", func(t *testing.T) { testBadBlocks(t, ctx, lc, fc, full.RPC) })
	t.Run("SequencerFaults", func(t *testing.T) { testSequencerFaults(t, ctx, lc, fc, full.RPC) })
	t.Run("ForcedInclusion", func(t *testing.T) { testForcedInclusion(t, ctx, lc, fc, full.RPC) })
}

// lostAnswerDA posts for real but reports the first submit as failed, as
// a timeout after inclusion would: the sequencer posts the block again.
type lostAnswerDA struct {
	inner rollup.Submitter
	mu    sync.Mutex
	calls int
}

func (d *lostAnswerDA) Submit(ctx context.Context, ns share.Namespace, blobs [][]byte) (uint64, error) {
	h, err := d.inner.Submit(ctx, ns, blobs)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if err == nil && d.calls == 1 {
		return 0, fmt.Errorf("answer lost (included at %d)", h)
	}
	return h, err
}

// testSequencerFaults: a sequencer whose DataMesh is down makes blocks
// that wait; restarted with DataMesh back, it posts them with the same
// bytes, the first submit's answer is lost so block 1 is posted twice,
// and a follower syncs both blocks once, to the sequencer's roots.
func testSequencerFaults(t *testing.T, ctx context.Context, lc, fc *client.Client, fullURL string) {
	key := keyFrom("faulty-sequencer")
	g := testGenesis(t, ctx, lc, "kv-faults", "kvfaults", key)
	dir := t.TempDir()
	n := openNode(t, dir, g)
	down := newSequencer(t, g, key, n.exec, n.store)
	produce(t, down, n.exec, `{"type":"set","key":"foo","value":"bar"}`)
	produce(t, down, n.exec, `{"type":"set","key":"foo","value":"baz"}`)
	stop(t, down)
	before, err := n.store.Unposted()
	if err != nil || len(before) != 2 {
		t.Fatalf("unposted while DataMesh is down: %d, %v", len(before), err)
	}
	n.close(t)

	n = openNode(t, dir, g)
	da := &lostAnswerDA{inner: meshapi.Submitter{C: lc}}
	seq, err := rollup.NewSequencer(rollup.SequencerConfig{Genesis: g, Key: key, Executor: n.exec, Store: n.store, DA: da,
		BlockTime: time.Hour, RetryMin: 100 * time.Millisecond, RetryMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := seq.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, seq) })
	waitFor(ctx, t, "the restarted sequencer to post blocks 1 and 2", func() bool { return seq.Status().Posted >= 2 })
	for _, b := range before {
		sb, err := n.store.Block(b.Block.Header.Height)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sb.Raw, b.Raw) {
			t.Fatalf("block %d posted with other bytes than it was made with", b.Block.Header.Height)
		}
	}
	da.mu.Lock()
	calls := da.calls
	da.mu.Unlock()
	if calls < 2 {
		t.Fatalf("%d submits; the lost answer should have caused a second", calls)
	}

	folNode := openNode(t, t.TempDir(), g)
	fol := startFollower(t, ctx, g, folNode, meshapi.Headers{C: lc}, meshapi.Data{C: fc, Name: fullURL})
	posted := seq.Status().PostedDA
	waitFor(ctx, t, "the follower to read past the last post", func() bool { return fol.Status().DAHeight >= posted })
	fs := fol.Status()
	if fs.Halted != nil || fs.Height != 2 || !bytes.Equal(fs.StateRoot, before[1].Block.Header.StateRoot) {
		t.Fatalf("follower: block %d root %X halted %v; want block 2 root %X", fs.Height, fs.StateRoot, fs.Halted, before[1].Block.Header.StateRoot)
	}
	if v := getFoo(t, ctx, folNode, fs.StateRoot, "foo"); v != "baz" {
		t.Fatalf("get foo = %q, want baz", v)
	}

	// The executor ahead of the store (a crash after executing, before
	// storing; here the store lost everything): the follower reads
	// DataMesh again, and the executor answers the blocks it executed
	// with the same roots.
	stop(t, fol)
	emptyStore, err := rollup.OpenStore(badgertest.Open(t), g)
	if err != nil {
		t.Fatal(err)
	}
	again := startFollower(t, ctx, g, &node{exec: folNode.exec, store: emptyStore}, meshapi.Headers{C: lc}, meshapi.Data{C: fc, Name: fullURL})
	waitFor(ctx, t, "the follower with an empty store to read past the last post", func() bool { return again.Status().DAHeight >= posted })
	if as := again.Status(); as.Halted != nil || as.Height != 2 || !bytes.Equal(as.StateRoot, fs.StateRoot) || as.LastError != "" {
		t.Fatalf("follower with an empty store over an executor at block 2: %+v", as)
	}
}

// testBadBlocks posts, in one DataMesh transaction, a blob that is not a
// block, a block 1 signed by another key, the sequencer's block 1, and
// its block 2 with a forged state root: a follower ignores the first
// two, accepts block 1 and halts on block 2 with the evidence.
func testBadBlocks(t *testing.T, ctx context.Context, lc, fc *client.Client, fullURL string) {
	key, other := keyFrom("bad-sequencer"), keyFrom("someone else")
	g := testGenesis(t, ctx, lc, "kv-bad", "kvbad", key)

	// The blocks, made with a kv executor of their own.
	local := openNode(t, t.TempDir(), g)
	root0, err := local.exec.InitChain(ctx, g.Time, g.InitialHeight, g.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	txs1 := [][]byte{[]byte(`{"type":"set","key":"foo","value":"bar"}`)}
	txs2 := [][]byte{[]byte(`{"type":"set","key":"foo","value":"evil"}`)}
	t1, t2 := g.Time.Add(time.Second), g.Time.Add(2*time.Second)
	res1, err := local.exec.ExecuteTxs(ctx, txs1, 1, t1, root0)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := local.exec.ExecuteTxs(ctx, txs2, 2, t2, res1.UpdatedStateRoot)
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, rollup.HashSize)
	block1 := signedBlock(t, key, rollup.Header{ChainID: g.ChainID, Height: 1, Time: t1, ParentHash: zero, StateRoot: res1.UpdatedStateRoot}, txs1)
	wrongKey := signedBlock(t, other, rollup.Header{ChainID: g.ChainID, Height: 1, Time: t1, ParentHash: zero, StateRoot: res1.UpdatedStateRoot}, txs2)
	b1, err := rollup.DecodeBlock(block1)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := b1.Header.Hash()
	if err != nil {
		t.Fatal(err)
	}
	forgedRoot := sha256.Sum256([]byte("forged"))
	forged := signedBlock(t, key, rollup.Header{ChainID: g.ChainID, Height: 2, Time: t2, ParentHash: parent, StateRoot: forgedRoot[:]}, txs2)

	daHeight, err := meshapi.Submitter{C: lc}.Submit(ctx, g.Namespace, [][]byte{[]byte("not a rollup block"), wrongKey, block1, forged})
	if err != nil {
		t.Fatal(err)
	}
	fol, logs := startLoggedFollower(t, ctx, g, openNode(t, t.TempDir(), g), lc, fc, fullURL)
	waitFor(ctx, t, "the follower to halt", func() bool { return fol.Status().Halted != nil })
	for _, want := range []string{"ignoring a blob that is not a rollup block", "ignoring a block not signed by the sequencer", "rejected a block signed by the sequencer; halting"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the follower's log does not say %q:\n%s", want, logs)
		}
	}
	st := fol.Status()
	ev := st.Halted
	if ev.DAHeight != daHeight || ev.Height != 2 || !bytes.Equal(ev.ClaimedStateRoot, forgedRoot[:]) ||
		!bytes.Equal(ev.ComputedStateRoot, res2.UpdatedStateRoot) || !bytes.Equal(ev.Block, forged) {
		t.Fatalf("evidence %s; want block 2 at DA height %d, claimed %X, computed %X", ev, daHeight, forgedRoot, res2.UpdatedStateRoot)
	}
	if st.Height != 1 || !bytes.Equal(st.StateRoot, res1.UpdatedStateRoot) || st.DAHeight != daHeight-1 {
		t.Fatalf("halted follower at block %d root %X DA height %d; want block 1 root %X, DA height %d",
			st.Height, st.StateRoot, st.DAHeight, res1.UpdatedStateRoot, daHeight-1)
	}
	t.Logf("follower halted: %s", ev)
}

// syncBuffer is a bytes.Buffer for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func signedBlock(t *testing.T, key ed25519.PrivateKey, h rollup.Header, txs [][]byte) []byte {
	t.Helper()
	h.DataHash = rollup.DataHash(txs)
	if err := h.Sign(key); err != nil {
		t.Fatal(err)
	}
	b := &rollup.Block{Header: h, Txs: txs}
	raw, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func blockRoot(t *testing.T, n *node, h uint64) []byte {
	t.Helper()
	sb, err := n.store.Block(h)
	if err != nil {
		t.Fatal(err)
	}
	return sb.Block.Header.StateRoot
}

// hidingProxy forwards JSON-RPC to target and passes every answer of
// share.GetNamespaceData through hide: an API node hiding some of the
// namespace's data.
func hidingProxy(t *testing.T, target string, hide func([]byte) []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, target, bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
		req.Header.Set("Authorization", r.Header.Get("Authorization"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		var call struct {
			Method string `json:"method"`
		}
		if json.Unmarshal(body, &call) == nil && call.Method == "share.GetNamespaceData" {
			out = hide(out)
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// dropRowsWithShares removes the rows that hold shares.
func dropRowsWithShares(answer []byte) []byte {
	return editRows(answer, func(rows []map[string]json.RawMessage) []map[string]json.RawMessage {
		kept := []map[string]json.RawMessage{}
		for _, r := range rows {
			if s := r["shares"]; s == nil || string(s) == "null" || string(s) == "[]" {
				kept = append(kept, r)
			}
		}
		return kept
	})
}

// dropLastShare removes the last share of each row that holds shares,
// keeping the row and its proof: a blob cut short or left out.
func dropLastShare(answer []byte) []byte {
	return editRows(answer, func(rows []map[string]json.RawMessage) []map[string]json.RawMessage {
		for _, r := range rows {
			var shares []json.RawMessage
			if json.Unmarshal(r["shares"], &shares) != nil || len(shares) == 0 {
				continue
			}
			b, err := json.Marshal(shares[:len(shares)-1])
			if err == nil {
				r["shares"] = b
			}
		}
		return rows
	})
}

func editRows(answer []byte, edit func([]map[string]json.RawMessage) []map[string]json.RawMessage) []byte {
	var msg map[string]json.RawMessage
	if json.Unmarshal(answer, &msg) != nil || msg["result"] == nil {
		return answer
	}
	var rows []map[string]json.RawMessage
	if json.Unmarshal(msg["result"], &rows) != nil {
		return answer
	}
	b, err := json.Marshal(edit(rows))
	if err != nil {
		return answer
	}
	msg["result"] = b
	out, err := json.Marshal(msg)
	if err != nil {
		return answer
	}
	return out
}
