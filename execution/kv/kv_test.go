package kv_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/execution/kv"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/merkle"
	"github.com/dgraph-io/badger/v4"
	coreexec "github.com/evstack/ev-node/core/execution"
)

var genesisTime = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

const chainID = "kv-test"

func newExecutor(t testing.TB, db *badger.DB) *kv.Executor {
	t.Helper()
	e, err := kv.New(db, kv.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// initChain returns an initialised executor on a new database and its
// genesis root.
func initChain(t testing.TB) (*kv.Executor, []byte) {
	t.Helper()
	e := newExecutor(t, badgertest.Open(t))
	root, err := e.InitChain(context.Background(), genesisTime, 1, chainID)
	if err != nil {
		t.Fatal(err)
	}
	return e, root
}

func tx(t testing.TB, typ, key, value string) []byte {
	t.Helper()
	b, err := kv.Tx{Type: typ, Key: key, Value: value}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func execute(t testing.TB, e *kv.Executor, h uint64, prev []byte, txs ...[]byte) []byte {
	t.Helper()
	res, err := e.ExecuteTxs(context.Background(), txs, h, genesisTime.Add(time.Duration(h)*time.Second), prev)
	if err != nil {
		t.Fatalf("block %d: %v", h, err)
	}
	return res.UpdatedStateRoot
}

func query(t testing.TB, e *kv.Executor, key string) *kv.Answer {
	t.Helper()
	a, err := e.Query(context.Background(), kv.Query{Type: kv.TypeGet, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// oracleRoot computes the state root of entries straight from the
// definition: the RFC 6962 root of the sorted entries' leaves.
func oracleRoot(entries map[string]string) []byte {
	var items [][]byte
	for _, k := range slices.Sorted(maps.Keys(entries)) {
		items = append(items, kv.Leaf(k, entries[k]))
	}
	return merkle.HashFromByteSlices(items)
}

// TestProductExample is the product's own example: set foo bar through
// the mempool and a block, then get foo returns bar with a proof that
// verifies against the block's state root, and fails once tampered with.
func TestProductExample(t *testing.T) {
	ctx := context.Background()
	e, genesisRoot := initChain(t)
	if !bytes.Equal(genesisRoot, kv.EmptyRoot()) {
		t.Fatalf("genesis root %X, want the empty root", genesisRoot)
	}
	if err := e.SubmitTx(ctx, []byte(`{"type":"set","key":"foo","value":"bar"}`)); err != nil {
		t.Fatal(err)
	}
	txs, err := e.GetTxs(ctx)
	if err != nil || len(txs) != 1 {
		t.Fatalf("GetTxs: %d txs, %v", len(txs), err)
	}
	root := execute(t, e, 1, genesisRoot, txs...)
	if want := oracleRoot(map[string]string{"foo": "bar"}); !bytes.Equal(root, want) {
		t.Fatalf("root %X, want %X", root, want)
	}
	if left, _ := e.GetTxs(ctx); len(left) != 0 {
		t.Fatalf("%d txs left in the mempool after the block", len(left))
	}

	q, err := kv.DecodeQuery([]byte(`{"type":"get","key":"foo"}`))
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Found || a.Value != "bar" || a.Height != 1 {
		t.Fatalf("answer %+v, want bar at height 1", a)
	}
	if err := kv.Verify(root, "foo", a); err != nil {
		t.Fatalf("Verify: %v", err)
	}

	tampered := map[string]func(a *kv.Answer){
		"value":     func(a *kv.Answer) { a.Value = "baz" },
		"leaf hash": func(a *kv.Answer) { a.Proof.LeafHash[0] ^= 1 },
		"index":     func(a *kv.Answer) { a.Proof.Index = 1; a.Proof.Total = 2 },
		"root":      func(a *kv.Answer) { a.StateRoot = genesisRoot },
		"key":       func(a *kv.Answer) { a.Key = "fo" },
		"not found": func(a *kv.Answer) { a.Found, a.Value, a.Proof = false, "", nil },
		"no proof":  func(a *kv.Answer) { a.Proof = nil },
	}
	for name, tamper := range tampered {
		b := query(t, e, "foo")
		tamper(b)
		if err := kv.Verify(root, "foo", b); !errors.Is(err, kv.ErrInvalidAnswer) {
			t.Errorf("%s tampered: Verify = %v, want ErrInvalidAnswer", name, err)
		}
	}
	if err := kv.Verify(genesisRoot, "foo", a); !errors.Is(err, kv.ErrInvalidAnswer) {
		t.Errorf("against another root: Verify = %v", err)
	}
}

// TestAbsenceProofs proves every key around a state's entries absent or
// present, and checks that an answer hiding an entry fails.
func TestAbsenceProofs(t *testing.T) {
	e, root := initChain(t)
	if a := query(t, e, "x"); a.Found || a.Left != nil || a.Right != nil {
		t.Fatalf("empty state answered %+v", a)
	} else if err := kv.Verify(root, "x", a); err != nil {
		t.Fatalf("empty state: %v", err)
	}
	entries := map[string]string{"b": "1", "d": "2", "f": "3", "h": "4", "j": "5"}
	var txs [][]byte
	for _, k := range slices.Sorted(maps.Keys(entries)) {
		txs = append(txs, tx(t, kv.TypeSet, k, entries[k]))
	}
	root = execute(t, e, 1, root, txs...)
	for _, key := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "b\x00", "\u00e9"} {
		a := query(t, e, key)
		v, ok := entries[key]
		if a.Found != ok || a.Value != v {
			t.Fatalf("%q: answer %+v, want found=%v %q", key, a, ok, v)
		}
		if err := kv.Verify(root, key, a); err != nil {
			t.Fatalf("%q: %v", key, err)
		}
	}
	// An answer for "e" claiming "d" and "h" are neighbours skips "f".
	skip := query(t, e, "e")
	skip.Right = query(t, e, "g").Right // "h"
	if err := kv.Verify(root, "e", skip); !errors.Is(err, kv.ErrInvalidAnswer) {
		t.Fatalf("neighbours not adjacent: %v", err)
	}
	// Dropping the left neighbour of "c" claims nothing is before it.
	noLeft := query(t, e, "c")
	noLeft.Left = nil
	if err := kv.Verify(root, "c", noLeft); !errors.Is(err, kv.ErrInvalidAnswer) {
		t.Fatalf("left neighbour dropped: %v", err)
	}
	// "d" is present: its neighbours' answer must not prove it absent.
	hide := query(t, e, "c")
	hide.Key = "d"
	if err := kv.Verify(root, "d", hide); !errors.Is(err, kv.ErrInvalidAnswer) {
		t.Fatalf("present key shown absent: %v", err)
	}
	if err := kv.Verify(root, "x", nil); !errors.Is(err, kv.ErrInvalidAnswer) {
		t.Fatalf("nil answer: %v", err)
	}
}

// randomBlock returns a block of sets, deletes and gibberish over a small
// key space, and applies its valid transactions to entries.
func randomBlock(t testing.TB, rng *rand.Rand, entries map[string]string) [][]byte {
	var txs [][]byte
	for range rng.IntN(20) {
		key := fmt.Sprintf("k%02d", rng.IntN(30))
		switch rng.IntN(6) {
		case 0:
			txs = append(txs, tx(t, kv.TypeDelete, key, ""))
			delete(entries, key)
		case 1:
			txs = append(txs, []byte(fmt.Sprintf(`{"type":"set","key":%q}`, key))) // no value: fails
		default:
			v := fmt.Sprint(rng.Uint32())
			txs = append(txs, tx(t, kv.TypeSet, key, v))
			entries[key] = v
		}
	}
	return txs
}

// TestSameBlocksSameRoots feeds two executors the same blocks: they
// reach the same roots, which are the oracle's over the expected entries.
func TestSameBlocksSameRoots(t *testing.T) {
	a, rootA := initChain(t)
	b, rootB := initChain(t)
	rng := rand.New(rand.NewPCG(1, 2))
	entries := map[string]string{}
	for h := uint64(1); h <= 30; h++ {
		txs := randomBlock(t, rng, entries)
		rootA = execute(t, a, h, rootA, txs...)
		rootB = execute(t, b, h, rootB, txs...)
		if !bytes.Equal(rootA, rootB) {
			t.Fatalf("block %d: roots %X and %X", h, rootA, rootB)
		}
		if want := oracleRoot(entries); !bytes.Equal(rootA, want) {
			t.Fatalf("block %d: root %X, oracle %X", h, rootA, want)
		}
	}
	for k, v := range entries {
		if got := query(t, b, k); !got.Found || got.Value != v {
			t.Fatalf("%q = %+v, want %q", k, got, v)
		}
	}
}

// TestRestartResumes executes blocks, closes the database, opens it
// again and goes on from the same root; it also checks the refusals of
// blocks that do not follow.
func TestRestartResumes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := badgertest.OpenAt(t, dir)
	e := newExecutor(t, db)
	root, err := e.InitChain(ctx, genesisTime, 5, chainID)
	if err != nil {
		t.Fatal(err)
	}
	block5 := [][]byte{tx(t, kv.TypeSet, "a", "1")}
	root5 := execute(t, e, 5, root, block5...)
	root6 := execute(t, e, 6, root5, tx(t, kv.TypeSet, "b", "2"))
	if err := e.SetFinal(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = badgertest.OpenAt(t, dir)
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	e = newExecutor(t, db)
	head, err := e.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head.Height != 6 || !bytes.Equal(head.StateRoot, root6) || head.Final != 5 {
		t.Fatalf("head after restart %+v, want 6 %X final 5", head, root6)
	}
	if h, err := e.GetLatestHeight(ctx); err != nil || h != 6 {
		t.Fatalf("GetLatestHeight = %d, %v", h, err)
	}
	if g, err := e.InitChain(ctx, genesisTime, 5, chainID); err != nil || !bytes.Equal(g, kv.EmptyRoot()) {
		t.Fatalf("InitChain again = %X, %v", g, err)
	}
	if _, err := e.InitChain(ctx, genesisTime, 1, chainID); !errors.Is(err, kv.ErrGenesisMismatch) {
		t.Fatalf("InitChain with another initial height: %v", err)
	}
	// Re-executing block 5 as it was returns its root and changes nothing.
	if r := execute(t, e, 5, root, block5...); !bytes.Equal(r, root5) {
		t.Fatalf("block 5 again: %X, want %X", r, root5)
	}
	refused := []struct {
		name string
		h    uint64
		prev []byte
		txs  [][]byte
		want error
	}{
		{"other block 5", 5, root, [][]byte{tx(t, kv.TypeSet, "a", "2")}, kv.ErrConflict},
		{"gap", 8, root6, nil, kv.ErrHeight},
		{"before genesis", 4, root, nil, kv.ErrHeight},
		{"wrong parent", 7, root5, nil, kv.ErrPrevStateRoot},
	}
	for _, c := range refused {
		if _, err := e.ExecuteTxs(ctx, c.txs, c.h, genesisTime, c.prev); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	root7 := execute(t, e, 7, root6, tx(t, kv.TypeDelete, "a", ""))
	if want := oracleRoot(map[string]string{"b": "2"}); !bytes.Equal(root7, want) {
		t.Fatalf("block 7: %X, want %X", root7, want)
	}
	if err := e.SetFinal(ctx, 8); !errors.Is(err, kv.ErrHeight) {
		t.Fatalf("SetFinal of a future height: %v", err)
	}
}

// endingCtx is a context whose Err reports context.Canceled from its
// n-th call on: it ends a block in the middle, where ExecuteTxs checks it.
type endingCtx struct {
	context.Context
	calls, n int
}

func (c *endingCtx) Err() error {
	c.calls++
	if c.calls >= c.n {
		return context.Canceled
	}
	return nil
}

// TestBlockIsAtomic ends a block midway, after 1024 of its writes:
// nothing of it is kept, and the same block then executes in full.
func TestBlockIsAtomic(t *testing.T) {
	e, root := initChain(t)
	var txs [][]byte
	for i := range 3000 {
		txs = append(txs, tx(t, kv.TypeSet, fmt.Sprintf("key%05d", i), "v"))
	}
	// Err is called on entry, then before transactions 0, 1024 and 2048.
	ctx := &endingCtx{Context: context.Background(), n: 3}
	if _, err := e.ExecuteTxs(ctx, txs, 1, genesisTime, root); !errors.Is(err, context.Canceled) {
		t.Fatalf("block ended midway: %v", err)
	}
	if ctx.calls != 3 {
		t.Fatalf("Err called %d times, the block did not end midway", ctx.calls)
	}
	if h, _ := e.Head(context.Background()); h.Height != 0 || !bytes.Equal(h.StateRoot, root) {
		t.Fatalf("head after an ended block: %+v", h)
	}
	if a := query(t, e, "key00000"); a.Found {
		t.Fatal("an ended block's write is visible")
	}
	execute(t, e, 1, root, txs...)
	if a := query(t, e, "key02999"); !a.Found {
		t.Fatal("the block's last write is missing")
	}
}

// TestInvalidTxsInBlock: gibberish inside a block is skipped and recorded
// as failed, and the block's root is that of its valid transactions.
func TestInvalidTxsInBlock(t *testing.T) {
	ctx := context.Background()
	e, root := initChain(t)
	block := [][]byte{
		[]byte("gibberish"),
		tx(t, kv.TypeSet, "a", "1"),
		{},
		[]byte(`{"type":"set","key":"b","value":"2","extra":"x"}`),
		tx(t, kv.TypeSet, "c", "3"),
		[]byte(`{"type":"set","key":"\xff","value":"2"}`),
	}
	root = execute(t, e, 1, root, block...)
	if want := oracleRoot(map[string]string{"a": "1", "c": "3"}); !bytes.Equal(root, want) {
		t.Fatalf("root %X, want %X", root, want)
	}
	results, r, err := e.Results(ctx, 1)
	if err != nil || !bytes.Equal(r, root) {
		t.Fatalf("Results: %X, %v", r, err)
	}
	var failed []int
	for i, res := range results {
		if res.Error != "" {
			failed = append(failed, i)
		}
	}
	if !slices.Equal(failed, []int{0, 2, 3, 5}) || len(results) != len(block) {
		t.Fatalf("failed %v of %d results, want [0 2 3 5] of %d", failed, len(results), len(block))
	}
	if _, _, err := e.Results(ctx, 2); !errors.Is(err, kv.ErrHeight) {
		t.Fatalf("Results of a missing block: %v", err)
	}

	// A block past MaxBlockBytes applies what fits and fails the rest.
	big := repeatV(kv.MaxValueSize)
	var many [][]byte
	for i := range kv.MaxBlockBytes/kv.MaxValueSize + 10 {
		many = append(many, tx(t, kv.TypeSet, fmt.Sprintf("big%04d", i), big))
	}
	execute(t, e, 2, root, many...)
	results, _, _ = e.Results(ctx, 2)
	if results[0].Error != "" || results[len(results)-1].Error == "" {
		t.Fatalf("over the byte limit: first %q, last %q", results[0].Error, results[len(results)-1].Error)
	}
}

func repeatV(n int) string { return string(bytes.Repeat([]byte{'v'}, n)) }

func TestExecuteBeforeInitChain(t *testing.T) {
	ctx := context.Background()
	e := newExecutor(t, badgertest.Open(t))
	if _, err := e.ExecuteTxs(ctx, nil, 1, genesisTime, kv.EmptyRoot()); !errors.Is(err, kv.ErrNotInitialised) {
		t.Fatalf("ExecuteTxs: %v", err)
	}
	if _, err := e.Query(ctx, kv.Query{Type: kv.TypeGet, Key: "a"}); !errors.Is(err, kv.ErrNotInitialised) {
		t.Fatalf("Query: %v", err)
	}
	if err := e.SetFinal(ctx, 1); !errors.Is(err, kv.ErrNotInitialised) {
		t.Fatalf("SetFinal: %v", err)
	}
	if h, err := e.GetLatestHeight(ctx); h != 0 || err != nil {
		t.Fatalf("GetLatestHeight: %d, %v", h, err)
	}
	for _, c := range []struct {
		h  uint64
		id string
	}{{0, chainID}, {1, ""}, {1, repeatV(kv.MaxChainIDSize + 1)}} {
		if _, err := e.InitChain(ctx, genesisTime, c.h, c.id); err == nil {
			t.Errorf("InitChain(%d, %d-byte chain ID) accepted", c.h, len(c.id))
		}
	}
	if info, err := e.GetExecutionInfo(ctx); err != nil || info.MaxGas != 0 {
		t.Fatalf("GetExecutionInfo: %+v, %v", info, err)
	}
}

func TestMempool(t *testing.T) {
	ctx := context.Background()
	e, err := kv.New(badgertest.Open(t), kv.Config{MempoolTxs: 2})
	if err != nil {
		t.Fatal(err)
	}
	root, err := e.InitChain(ctx, genesisTime, 1, chainID)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := tx(t, kv.TypeSet, "a", "1"), tx(t, kv.TypeSet, "b", "2"), tx(t, kv.TypeSet, "c", "3")
	for _, x := range [][]byte{a, b, a} {
		if err := e.SubmitTx(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.SubmitTx(ctx, c); !errors.Is(err, kv.ErrMempoolFull) {
		t.Fatalf("third tx: %v", err)
	}
	if err := e.SubmitTx(ctx, []byte(`{"type":"get","key":"a"}`)); !errors.Is(err, kv.ErrInvalidTx) {
		t.Fatalf("a query as a tx: %v", err)
	}
	txs, _ := e.GetTxs(ctx)
	if len(txs) != 2 || !bytes.Equal(txs[0], a) || !bytes.Equal(txs[1], b) {
		t.Fatalf("GetTxs = %q", txs)
	}
	txs[0][0] = 'X' // the caller's copy
	execute(t, e, 1, root, a)
	txs, _ = e.GetTxs(ctx)
	if len(txs) != 1 || !bytes.Equal(txs[0], b) {
		t.Fatalf("after block 1: %q", txs)
	}
	if err := e.SubmitTx(ctx, c); err != nil {
		t.Fatalf("room after block 1: %v", err)
	}
	if _, err := kv.New(nil, kv.Config{}); err == nil {
		t.Fatal("New(nil) accepted")
	}
	if _, err := kv.New(badgertest.Open(t), kv.Config{MempoolBytes: -1}); err == nil {
		t.Fatal("negative bound accepted")
	}
}

func TestFilterTxs(t *testing.T) {
	e, _ := initChain(t)
	ok1 := tx(t, kv.TypeSet, "a", "1")   // 35 bytes
	ok2 := tx(t, kv.TypeSet, "b", "22")  // 36 bytes
	ok3 := tx(t, kv.TypeDelete, "c", "") // 28 bytes
	huge := tx(t, kv.TypeSet, "d", repeatV(200))
	txs := [][]byte{ok1, []byte("junk"), ok2, {}, huge, ok3}
	cases := []struct {
		maxBytes uint64
		want     []coreexec.FilterStatus
	}{
		{0, []coreexec.FilterStatus{coreexec.FilterOK, coreexec.FilterRemove, coreexec.FilterOK, coreexec.FilterRemove, coreexec.FilterOK, coreexec.FilterOK}},
		// huge is larger than maxBytes alone; ok3 would fit, but stays
		// behind ok2's postponement to keep the order.
		{uint64(len(ok1) + len(ok2) - 1), []coreexec.FilterStatus{coreexec.FilterOK, coreexec.FilterRemove, coreexec.FilterPostpone, coreexec.FilterRemove, coreexec.FilterRemove, coreexec.FilterPostpone}},
	}
	for _, c := range cases {
		got, err := e.FilterTxs(context.Background(), txs, c.maxBytes, 0, true)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("maxBytes %d: %v, %v; want %v", c.maxBytes, got, err, c.want)
		}
	}
}

// TestQueryDuringBlocks queries while blocks execute: every answer
// verifies against the root it names, which is one the blocks reached.
func TestQueryDuringBlocks(t *testing.T) {
	e, root := initChain(t)
	roots := map[string]bool{string(root): true}
	var blockRoots [][]byte
	var blocks [][]byte
	for h := 1; h <= 20; h++ {
		blocks = append(blocks, tx(t, kv.TypeSet, "k", fmt.Sprint(h)))
	}
	done := make(chan error, 1)
	go func() {
		r := root
		for h := uint64(1); h <= 20; h++ {
			res, err := e.ExecuteTxs(context.Background(), [][]byte{blocks[h-1]}, h, genesisTime, r)
			if err != nil {
				done <- err
				return
			}
			r = res.UpdatedStateRoot
			blockRoots = append(blockRoots, r)
		}
		done <- nil
	}()
	var answers []*kv.Answer
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		answers = append(answers, query(t, e, "k"))
	}
	for _, r := range blockRoots {
		roots[string(r)] = true
	}
	for _, a := range answers {
		if !roots[string(a.StateRoot)] {
			t.Fatalf("answer at height %d names root %X, which no block reached", a.Height, a.StateRoot)
		}
		if err := kv.Verify(a.StateRoot, "k", a); err != nil {
			t.Fatalf("answer at height %d: %v", a.Height, err)
		}
	}
}
