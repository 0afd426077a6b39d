package wasm_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/execution/statemachine"
	"github.com/datamesh/mesh-node/execution/wasm"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/dgraph-io/badger/v4"
)

const chain = "wasm-test"

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func newExec(t testing.TB, db *badger.DB) *wasm.Executor {
	t.Helper()
	ctx := context.Background()
	vm, err := wasm.New(ctx, wasm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vm.Close(ctx) })
	e, err := wasm.NewExecutor(db, vm, statemachine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func initExec(t testing.TB, db *badger.DB) (*wasm.Executor, []byte) {
	t.Helper()
	e := newExec(t, db)
	root, err := e.InitChain(context.Background(), t0, 1, chain)
	if err != nil {
		t.Fatal(err)
	}
	return e, root
}

func signed(t testing.TB, k ed25519.PrivateKey, tx wasm.Tx) []byte {
	t.Helper()
	if err := tx.Sign(k, chain); err != nil {
		t.Fatal(err)
	}
	b, err := tx.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func code(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func block(t testing.TB, e *wasm.Executor, h uint64, prev []byte, txs ...[]byte) ([]byte, []statemachine.TxResult) {
	t.Helper()
	ctx := context.Background()
	res, err := e.ExecuteTxs(ctx, txs, h, t0.Add(time.Duration(h)*time.Second), prev)
	if err != nil {
		t.Fatalf("block %d: %v", h, err)
	}
	results, root, err := e.Results(ctx, h)
	if err != nil || !bytes.Equal(root, res.UpdatedStateRoot) {
		t.Fatalf("results of %d: %v", h, err)
	}
	return res.UpdatedStateRoot, results
}

// tokenBlocks are a deployment of the token (supply 1000 to alice) and
// a transfer of 300 to bob.
func tokenBlocks(t testing.TB) ([][][]byte, wasm.Address) {
	alice := key(1)
	deploy := signed(t, alice, wasm.Tx{Kind: wasm.KindDeploy, Nonce: 0, GasLimit: 10_000_000, Code: code(t, "token"), Args: u64(1000)})
	addr := wasm.ContractAddress(alice.Public().(ed25519.PublicKey), 0)
	bob := key(2).Public().(ed25519.PublicKey)
	transfer := signed(t, alice, wasm.Tx{Kind: wasm.KindCall, Nonce: 1, GasLimit: 1_000_000, Contract: addr, Method: "transfer", Args: append(u64(300), bob...)})
	return [][][]byte{{deploy}, {transfer}}, addr
}

func balance(t testing.TB, e *wasm.Executor, addr wasm.Address, who ed25519.PublicKey) uint64 {
	t.Helper()
	r, err := e.ViewCall(context.Background(), addr, "balance_of", who, nil, 1_000_000)
	if err != nil || r.Error != "" || len(r.Output) != 8 {
		t.Fatalf("balance_of: %+v, %v", r, err)
	}
	return binary.LittleEndian.Uint64(r.Output)
}

// TestTokenOnTwoExecutors deploys the example token and transfers on two
// executors: they agree on every root and every transaction's gas, the
// balances are right, and a raw storage read verifies against the root.
func TestTokenOnTwoExecutors(t *testing.T) {
	ctx := context.Background()
	a, rootA := initExec(t, badgertest.Open(t))
	b, rootB := initExec(t, badgertest.Open(t))
	blocks, addr := tokenBlocks(t)
	for i, txs := range blocks {
		h := uint64(i + 1)
		var resA, resB []statemachine.TxResult
		rootA, resA = block(t, a, h, rootA, txs...)
		rootB, resB = block(t, b, h, rootB, txs...)
		if !bytes.Equal(rootA, rootB) {
			t.Fatalf("block %d: roots %X, %X", h, rootA, rootB)
		}
		for j := range resA {
			if resA[j].Error != "" {
				t.Fatalf("block %d tx %d failed: %s", h, j, resA[j].Error)
			}
			if resA[j].GasUsed == 0 || resA[j].GasUsed != resB[j].GasUsed {
				t.Fatalf("block %d tx %d: gas %d and %d", h, j, resA[j].GasUsed, resB[j].GasUsed)
			}
		}
		if h == 1 && !bytes.Equal(resA[0].Output, addr[:]) {
			t.Fatalf("deploy returned %X, want the address %X", resA[0].Output, addr)
		}
		if h == 2 && len(resA[0].Events) != 1 {
			t.Fatalf("transfer events %q", resA[0].Events)
		}
	}
	alice, bob := key(1).Public().(ed25519.PublicKey), key(2).Public().(ed25519.PublicKey)
	if got := balance(t, b, addr, alice); got != 700 {
		t.Fatalf("alice has %d, want 700", got)
	}
	if got := balance(t, b, addr, bob); got != 300 {
		t.Fatalf("bob has %d, want 300", got)
	}
	ans, err := b.ProveStorage(ctx, addr, append([]byte("b:"), bob...))
	if err != nil {
		t.Fatal(err)
	}
	if !ans.Found || binary.LittleEndian.Uint64(ans.Value) != 300 {
		t.Fatalf("storage answer %+v", ans)
	}
	if err := wasm.VerifyStorage(rootA, addr, append([]byte("b:"), bob...), ans); err != nil {
		t.Fatalf("VerifyStorage: %v", err)
	}
	ans.Value = u64(301)
	if err := wasm.VerifyStorage(rootA, addr, append([]byte("b:"), bob...), ans); !errors.Is(err, statemachine.ErrInvalidAnswer) {
		t.Fatalf("tampered answer: %v", err)
	}
	if n, err := a.Nonce(ctx, alice); err != nil || n != 2 {
		t.Fatalf("alice's nonce %d, %v", n, err)
	}
	if info, _ := a.GetExecutionInfo(ctx); info.MaxGas != wasm.MaxBlockGas {
		t.Fatalf("MaxGas %d", info.MaxGas)
	}
}

// TestRestartAndOutOfGas: an infinite loop ends out of gas with its whole
// limit charged, the chain goes on, and a restarted executor resumes.
func TestRestartAndOutOfGas(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := badgertest.OpenAt(t, dir)
	e, root := initExec(t, db)
	blocks, addr := tokenBlocks(t)
	root, _ = block(t, e, 1, root, blocks[0]...)
	carol := key(3)
	loopDeploy := signed(t, carol, wasm.Tx{Kind: wasm.KindDeploy, GasLimit: 1_000_000, Code: code(t, "loop")})
	loopAddr := wasm.ContractAddress(carol.Public().(ed25519.PublicKey), 0)
	loopCall := signed(t, carol, wasm.Tx{Kind: wasm.KindCall, Nonce: 1, GasLimit: 2_000_000, Contract: loopAddr, Method: "run"})
	root, res := block(t, e, 2, root, loopDeploy, loopCall)
	if res[0].Error != "" || !strings.Contains(res[1].Error, "out of gas") || res[1].GasUsed != 2_000_000 {
		t.Fatalf("loop results %+v", res)
	}
	root3, res := block(t, e, 3, root, blocks[1]...)
	if res[0].Error != "" {
		t.Fatalf("the block after the loop: %+v", res)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = badgertest.OpenAt(t, dir)
	t.Cleanup(func() { _ = db.Close() })
	e = newExec(t, db)
	if h, err := e.Head(ctx); err != nil || h.Height != 3 || !bytes.Equal(h.StateRoot, root3) {
		t.Fatalf("head after restart %+v, %v", h, err)
	}
	if got := balance(t, e, addr, key(2).Public().(ed25519.PublicKey)); got != 300 {
		t.Fatalf("bob has %d after restart", got)
	}
	again := signed(t, key(1), wasm.Tx{Kind: wasm.KindCall, Nonce: 2, GasLimit: 1_000_000, Contract: addr, Method: "transfer", Args: append(u64(1), key(2).Public().(ed25519.PublicKey)...)})
	if _, res := block(t, e, 4, root3, again); res[0].Error != "" {
		t.Fatalf("block 4 after restart: %+v", res)
	}
}

// TestRejections: bad signatures, replayed nonces, unknown contracts and
// malformed transactions are refused by the mempool with clear errors and
// skipped inside a block, where they change nothing.
func TestTxRejections(t *testing.T) {
	ctx := context.Background()
	e, root := initExec(t, badgertest.Open(t))
	blocks, addr := tokenBlocks(t)
	root, _ = block(t, e, 1, root, blocks[0]...)
	alice := key(1)
	bob := key(2).Public().(ed25519.PublicKey)
	badSig := bytes.Clone(blocks[1][0])
	badSig[len(badSig)-1] ^= 1
	otherChain := wasm.Tx{Kind: wasm.KindCall, Nonce: 1, GasLimit: 1_000_000, Contract: addr, Method: "transfer", Args: append(u64(1), bob...)}
	if err := otherChain.Sign(alice, "other-chain"); err != nil {
		t.Fatal(err)
	}
	otherChainB, _ := otherChain.Encode()
	replay := blocks[0][0]
	unknown := signed(t, alice, wasm.Tx{Kind: wasm.KindCall, Nonce: 1, GasLimit: 1_000_000, Contract: wasm.Address{9}, Method: "transfer"})
	cases := []struct {
		name string
		tx   []byte
		want string
	}{
		{"bad signature", badSig, "bad signature"},
		{"other chain", otherChainB, "bad signature"},
		{"replayed nonce", replay, "nonce 0 already used"},
		{"malformed", []byte("not a transaction"), "too short"},
		{"trailing byte", append(bytes.Clone(blocks[1][0]), 0), "after the args"},
	}
	for _, c := range cases {
		err := e.SubmitTx(ctx, c.tx)
		if !errors.Is(err, wasm.ErrInvalidTx) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: SubmitTx = %v, want %q", c.name, err, c.want)
		}
	}
	var txs [][]byte
	for _, c := range cases {
		txs = append(txs, c.tx)
	}
	txs = append(txs, unknown)
	root2, res := block(t, e, 2, root, txs...)
	for i, r := range res {
		if r.Error == "" {
			t.Errorf("tx %d applied", i)
		}
	}
	if !strings.Contains(res[len(res)-1].Error, "unknown contract") {
		t.Errorf("unknown contract: %q", res[len(res)-1].Error)
	}
	// Only the unknown-contract call, validly signed, used alice's nonce 1.
	if n, _ := e.Nonce(ctx, alice.Public().(ed25519.PublicKey)); n != 2 {
		t.Fatalf("alice's nonce %d, want 2", n)
	}
	if got := balance(t, e, addr, bob); got != 0 {
		t.Fatalf("bob has %d", got)
	}
	_ = root2
}

func FuzzDecodeTx(f *testing.F) {
	k := key(7)
	for _, tx := range []wasm.Tx{
		{Kind: wasm.KindDeploy, GasLimit: 1, Code: []byte{0, 'a', 's', 'm'}, Args: []byte{1}},
		{Kind: wasm.KindCall, Nonce: 5, GasLimit: 100, Contract: wasm.Address{1}, Method: "transfer", Args: []byte("x")},
	} {
		f.Add(signed(f, k, tx))
	}
	f.Add([]byte{1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := wasm.DecodeTx(b)
		if err != nil {
			if !errors.Is(err, wasm.ErrInvalidTx) {
				t.Fatalf("error %v does not wrap ErrInvalidTx", err)
			}
			return
		}
		again, err := tx.Encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded tx encodes to %X, %v; want %X", again, err, b)
		}
	})
}
