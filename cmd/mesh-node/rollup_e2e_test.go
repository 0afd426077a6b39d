package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/execution/statemachine"
	"github.com/datamesh/mesh-node/execution/wasm"
	"github.com/datamesh/mesh-node/internal/devnetproc"
	"github.com/datamesh/mesh-node/rollup/meshapi"
	"github.com/datamesh/mesh-node/rollup/node"
	rollrpc "github.com/datamesh/mesh-node/rollup/rpc"
)

// e2eNodes are the DataMesh nodes a rollup end-to-end test runs against:
// sequencers post through the light node, followers read data from the
// full node and headers from the light node, and post is another client
// of the light node that posts junk into a rollup's namespace.
type e2eNodes struct {
	light, full devnetproc.Node
	post        *client.Client
}

func (n e2eNodes) seqArgs(vm string) []string {
	return []string{"--vm", vm, "--sequencer", "--da.url", n.light.RPC, "--da.token", n.light.Token, "--block-time", "300ms"}
}

func (n e2eNodes) folArgs(vm string) []string {
	return []string{"--vm", vm, "--da.url", n.full.RPC, "--da.token", n.full.Token, "--header.url", n.light.RPC, "--header.token", n.light.Token}
}

// TestRollupRunE2E is issue 17's WASM and EVM done-when on one devnet,
// through mesh-node rollup run: the example token on a wasm rollup with
// the same gas reported by a follower, an infinite loop out of gas; the
// ERC-20 through ethclient on an evm rollup, a follower synced from
// DataMesh alone with the same balances and state root, also after a
// restart; and bad input (malformed transactions, a used nonce, junk
// blobs in the rollup's namespace) refused or ignored without
// divergence.
func TestRollupRunE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet")
	}
	dn := devnetproc.Run(t, "../..")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n := e2eNodes{light: dn.Info.Nodes["light"], full: dn.Info.Nodes["full"]}
	post, err := client.New(ctx, n.light.RPC, n.light.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer post.Close()
	n.post = post
	t.Run("WASM", func(t *testing.T) { testRollupE2EWASM(ctx, t, n) })
	t.Run("EVM", func(t *testing.T) { testRollupE2EEVM(ctx, t, n) })
}

// postJunk posts blobs that are not blocks of the rollup of home into
// its namespace (someone else writing there) and returns their DataMesh
// height.
func postJunk(ctx context.Context, t *testing.T, n e2eNodes, home string) uint64 {
	t.Helper()
	doc, err := node.ReadGenesisDoc(filepath.Join(home, node.GenesisFile))
	if err != nil {
		t.Fatal(err)
	}
	// Garbage, the block magic alone, and a truncated block-like blob.
	d, err := meshapi.Submitter{C: n.post}.Submit(ctx, doc.Rollup.Namespace, [][]byte{[]byte("junk"), []byte("DMRB\x01"),
		append([]byte("DMRB\x01"), bytes.Repeat([]byte{0xff}, 300)...)})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitSoft waits until the transaction of hash is in a block of url's
// chain and returns the block's height.
func waitSoft(ctx context.Context, t *testing.T, url string, hash []byte) uint64 {
	t.Helper()
	var h uint64
	waitUntil(ctx, t, "a transaction in a block", func() bool {
		var s rollrpc.TxStatus
		if err := rollupCall(ctx, url, "rollup_txStatus", &s, hex.EncodeToString(hash)); err != nil {
			t.Fatal(err)
		}
		h = s.Height
		return s.State == rollrpc.StateSoft || s.State == rollrpc.StateIncluded
	})
	return h
}

// waitFollower waits until the follower at url holds block height (and
// has not halted).
func waitFollower(ctx context.Context, t *testing.T, url string, height uint64) rollrpc.Status {
	t.Helper()
	var st rollrpc.Status
	waitUntil(ctx, t, "the follower to reach the sequencer's block", func() bool {
		if err := rollupCall(ctx, url, "rollup_status", &st); err != nil {
			t.Fatal(err)
		}
		if st.Halted != nil {
			t.Fatalf("follower halted: %+v", st.Halted)
		}
		return st.Height >= height
	})
	return st
}

// blockResults is rollup_getBlock of height at url with its results.
func blockResults(ctx context.Context, t *testing.T, url string, height uint64) (*rollrpc.BlockInfo, []statemachine.TxResult) {
	t.Helper()
	var b rollrpc.BlockInfo
	if err := rollupCall(ctx, url, "rollup_getBlock", &b, height); err != nil {
		t.Fatal(err)
	}
	var res []statemachine.TxResult
	if err := json.Unmarshal(b.Results, &res); err != nil || len(res) != len(b.Txs) {
		t.Fatalf("block %d at %s: results %s for %d txs: %v", height, url, b.Results, len(b.Txs), err)
	}
	return &b, res
}

// devClient reads the dev.key an evm sequencer wrote in home and dials
// its node at url with ethclient (closed when the test ends), returning
// the key, the client and the EIP-155 chain ID.
func devClient(ctx context.Context, t *testing.T, home, url string) (*ecdsa.PrivateKey, *ethclient.Client, *big.Int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, node.DevKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.HexToECDSA(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ethclient.DialContext(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ec.Close)
	chainID, err := ec.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return key, ec, chainID
}

func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// testRollupE2EWASM: the example token deployed and used on a wasm
// sequencer, balances read with storage proofs, an infinite loop out of
// gas and a later transfer included; a follower reports the same gas for
// every transaction and the same state roots, through junk blobs.
func testRollupE2EWASM(ctx context.Context, t *testing.T, n e2eNodes) {
	seqHome := t.TempDir()
	seq := rollupNode(ctx, t, seqHome, n.seqArgs("wasm")...)
	var st rollrpc.Status
	if err := rollupCall(ctx, seq, "rollup_status", &st); err != nil {
		t.Fatal(err)
	}
	readCode := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "execution", "wasm", "testdata", name+".wasm"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	keyOf := func(name string) ed25519.PrivateKey {
		seed := sha256.Sum256([]byte(name))
		return ed25519.NewKeyFromSeed(seed[:])
	}
	alice, carol := keyOf("alice"), keyOf("carol")
	bob := keyOf("bob").Public().(ed25519.PublicKey)
	submit := func(k ed25519.PrivateKey, tx wasm.Tx) (uint64, []byte) {
		t.Helper()
		if err := tx.Sign(k, st.ChainID); err != nil {
			t.Fatal(err)
		}
		b, err := tx.Encode()
		if err != nil {
			t.Fatal(err)
		}
		var hash rollrpc.Bytes
		if err := rollupCall(ctx, seq, "rollup_submitTx", &hash, hex.EncodeToString(b)); err != nil {
			t.Fatal(err)
		}
		return waitSoft(ctx, t, seq, hash), hash
	}
	token := wasm.ContractAddress(alice.Public().(ed25519.PublicKey), 0)
	loop := wasm.ContractAddress(carol.Public().(ed25519.PublicKey), 0)
	// One transaction at a time: each waits for its block, so nonces and
	// block order are the submission order.
	txs := []struct {
		name string
		key  ed25519.PrivateKey
		tx   wasm.Tx
		fail string // a substring of the result's error; "" for success
	}{
		{"deploy token", alice, wasm.Tx{Kind: wasm.KindDeploy, Nonce: 0, GasLimit: 10_000_000, Code: readCode("token"), Args: le64(1000)}, ""},
		{"transfer 300", alice, wasm.Tx{Kind: wasm.KindCall, Nonce: 1, GasLimit: 1_000_000, Contract: token, Method: "transfer", Args: append(le64(300), bob...)}, ""},
		{"deploy loop", carol, wasm.Tx{Kind: wasm.KindDeploy, Nonce: 0, GasLimit: 1_000_000, Code: readCode("loop")}, ""},
		{"run loop", carol, wasm.Tx{Kind: wasm.KindCall, Nonce: 1, GasLimit: 2_000_000, Contract: loop, Method: "run"}, "out of gas"},
		{"transfer 1 after the loop", alice, wasm.Tx{Kind: wasm.KindCall, Nonce: 2, GasLimit: 1_000_000, Contract: token, Method: "transfer", Args: append(le64(1), bob...)}, ""},
	}
	type where struct {
		height uint64
		index  int
	}
	at := make([]where, len(txs))
	for i, c := range txs {
		h, hash := submit(c.key, c.tx)
		b, res := blockResults(ctx, t, seq, h)
		j := -1
		for k, th := range b.TxHashes {
			if bytes.Equal(th, hash) {
				j = k
			}
		}
		if j < 0 {
			t.Fatalf("%s: not in block %d", c.name, h)
		}
		r := res[j]
		if (c.fail == "") != (r.Error == "") || !strings.Contains(r.Error, c.fail) || r.GasUsed == 0 {
			t.Fatalf("%s: result %+v, want error %q and gas", c.name, r, c.fail)
		}
		if c.fail != "" && r.GasUsed != c.tx.GasLimit {
			t.Fatalf("%s: out of gas charging %d, want the whole limit %d", c.name, r.GasUsed, c.tx.GasLimit)
		}
		at[i] = where{h, j}
		t.Logf("wasm %s: block %d, gas %d %s", c.name, h, r.GasUsed, r.Error)
	}
	last := at[len(at)-1].height

	// Balances with proofs against the returned root.
	balance := func(url string, who []byte) (uint64, *rollrpc.QueryResult) {
		t.Helper()
		key := append([]byte("b:"), who...)
		q, err := json.Marshal(map[string]any{"type": "storage", "contract": rollrpc.Bytes(token[:]), "key": rollrpc.Bytes(key)})
		if err != nil {
			t.Fatal(err)
		}
		var res rollrpc.QueryResult
		if err := rollupCall(ctx, url, "rollup_query", &res, hex.EncodeToString(q)); err != nil {
			t.Fatal(err)
		}
		var a statemachine.Answer
		if err := json.Unmarshal(res.Answer, &a); err != nil {
			t.Fatal(err)
		}
		if err := wasm.VerifyStorage(res.StateRoot, token, key, &a); err != nil {
			t.Fatalf("balance at %s: the proof does not verify against root %X: %v", url, []byte(res.StateRoot), err)
		}
		if !a.Found || len(a.Value) != 8 {
			t.Fatalf("balance at %s: %+v", url, a)
		}
		return binary.LittleEndian.Uint64(a.Value), &res
	}
	if b, _ := balance(seq, bob); b != 301 {
		t.Fatalf("sequencer: bob has %d, want 301", b)
	}
	if a, _ := balance(seq, alice.Public().(ed25519.PublicKey)); a != 699 {
		t.Fatalf("sequencer: alice has %d, want 699", a)
	}

	// Bad input: malformed or unsigned transactions are refused with a
	// clear error, and junk blobs go into the namespace.
	bad := wasm.Tx{Kind: wasm.KindCall, Nonce: 3, GasLimit: 1_000_000, Contract: token, Method: "transfer", Args: append(le64(1), bob...)}
	if err := bad.Sign(alice, "another-chain"); err != nil {
		t.Fatal(err)
	}
	wrongChain, err := bad.Encode()
	if err != nil {
		t.Fatal(err)
	}
	used := wasm.Tx{Kind: wasm.KindCall, Nonce: 0, GasLimit: 1_000_000, Contract: token, Method: "transfer", Args: append(le64(1), bob...)}
	if err := used.Sign(alice, st.ChainID); err != nil {
		t.Fatal(err)
	}
	usedNonce, err := used.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tx   []byte
		want string
	}{
		{[]byte("not a wasm transaction"), "invalid transaction"},
		{wrongChain, "bad signature"},
		{usedNonce, "nonce 0 already used"},
	} {
		var ignored json.RawMessage
		err := rollupCall(ctx, seq, "rollup_submitTx", &ignored, hex.EncodeToString(c.tx))
		if err == nil || !strings.Contains(err.Error(), "error -32602") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("submitTx of %.20q: %v, want -32602 and %q", c.tx, err, c.want)
		}
	}
	junkAt := postJunk(ctx, t, n, seqHome)
	// A block after the junk: the follower must read past it.
	after, _ := submit(alice, wasm.Tx{Kind: wasm.KindCall, Nonce: 3, GasLimit: 1_000_000, Contract: token, Method: "transfer", Args: append(le64(1), bob...)})
	waitUntil(ctx, t, "the block after the junk to be posted past it", func() bool {
		var s rollrpc.Status
		if err := rollupCall(ctx, seq, "rollup_status", &s); err != nil {
			t.Fatal(err)
		}
		return s.Posted >= after && s.DAHeight > junkAt
	})

	// The follower, from scratch, through another DataMesh node.
	fol := rollupNode(ctx, t, t.TempDir(), append(n.folArgs("wasm"), "--genesis", filepath.Join(seqHome, node.GenesisFile))...)
	fst := waitFollower(ctx, t, fol, after)
	if fst.DAHeight < junkAt {
		t.Fatalf("follower read to DA height %d, the junk is at %d", fst.DAHeight, junkAt)
	}
	for h := uint64(1); h <= after; h++ {
		sb, sres := blockResults(ctx, t, seq, h)
		fb, fres := blockResults(ctx, t, fol, h)
		if !bytes.Equal(sb.Hash, fb.Hash) || !bytes.Equal(sb.StateRoot, fb.StateRoot) {
			t.Fatalf("block %d: follower hash %X root %X, sequencer %X %X", h, []byte(fb.Hash), []byte(fb.StateRoot), []byte(sb.Hash), []byte(sb.StateRoot))
		}
		for i := range sres {
			if sres[i].GasUsed != fres[i].GasUsed || sres[i].Error != fres[i].Error {
				t.Fatalf("block %d tx %d: follower %+v, sequencer %+v", h, i, fres[i], sres[i])
			}
		}
	}
	if b, res := balance(fol, bob); b != 302 || res.Height < after {
		t.Fatalf("follower: bob has %d at height %d, want 302 at %d or later", b, res.Height, after)
	}
	t.Logf("wasm: %d blocks (the loop's out of gas at block %d, a transfer after it at %d), the same gas and roots on the follower", after, at[3].height, last)
}

// testRollupE2EEVM: the ERC-20 deployed and transferred through
// ethclient and bind on an evm sequencer, balances and Transfer logs
// read; bad transactions refused; a follower from scratch answers the
// same balances and state root, also after a restart.
func testRollupE2EEVM(ctx context.Context, t *testing.T, n e2eNodes) {
	seqHome := t.TempDir()
	seq := rollupNode(ctx, t, seqHome, n.seqArgs("evm")...)
	key, ec, chainID := devClient(ctx, t, seqHome, seq)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "execution", "evm", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	tokenABI, err := abi.JSON(strings.NewReader(read("Token.abi")))
	if err != nil {
		t.Fatal(err)
	}
	bin, err := hex.DecodeString(read("Token.bin"))
	if err != nil {
		t.Fatal(err)
	}
	receipt := func(tx *types.Transaction) *types.Receipt {
		t.Helper()
		var r *types.Receipt
		waitUntil(ctx, t, "the receipt of "+tx.Hash().Hex(), func() bool {
			r, err = ec.TransactionReceipt(ctx, tx.Hash())
			return err == nil
		})
		if r.Status != types.ReceiptStatusSuccessful {
			t.Fatalf("tx %s failed: %+v", tx.Hash().Hex(), r)
		}
		return r
	}
	opts := bind.NewKeyedTransactor(key, chainID)
	opts.Context = ctx
	args, err := tokenABI.Pack("", big.NewInt(1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	deploy, err := bind.NewBoundContract(common.Address{}, tokenABI, ec, ec, ec).RawCreationTransact(opts, append(bin, args...))
	if err != nil {
		t.Fatal(err)
	}
	addr := receipt(deploy).ContractAddress
	token := bind.NewBoundContract(addr, tokenABI, ec, ec, ec)
	dev := crypto.PubkeyToAddress(key.PublicKey)
	bob := common.HexToAddress("0x0000000000000000000000000000000000000b0b")
	transfer, err := token.Transact(opts, "transfer", bob, big.NewInt(4242))
	if err != nil {
		t.Fatal(err)
	}
	tr := receipt(transfer)
	balanceOf := func(c *ethclient.Client, who common.Address) int64 {
		t.Helper()
		var out []any
		if err := bind.NewBoundContract(addr, tokenABI, c, c, c).Call(&bind.CallOpts{Context: ctx}, &out, "balanceOf", who); err != nil {
			t.Fatal(err)
		}
		return out[0].(*big.Int).Int64()
	}
	if b, d := balanceOf(ec, bob), balanceOf(ec, dev); b != 4242 || d != 1_000_000-4242 {
		t.Fatalf("sequencer: bob %d, dev %d", b, d)
	}
	logs, err := ec.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: big.NewInt(0), Addresses: []common.Address{addr},
		Topics: [][]common.Hash{{tokenABI.Events["Transfer"].ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 || logs[1].TxHash != transfer.Hash() || logs[1].Topics[1] != common.BytesToHash(dev[:]) ||
		logs[1].Topics[2] != common.BytesToHash(bob[:]) || new(big.Int).SetBytes(logs[1].Data).Int64() != 4242 {
		t.Fatalf("Transfer logs %+v; want the mint and dev to bob 4242", logs)
	}

	// Bad input: a used nonce and a malformed raw transaction through
	// eth_sendRawTransaction, junk through rollup_submitTx.
	fee, err := ec.SuggestGasPrice(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := types.SignNewTx(key, types.LatestSignerForChainID(chainID), &types.DynamicFeeTx{ChainID: chainID, Nonce: 0,
		GasTipCap: big.NewInt(0), GasFeeCap: fee, Gas: 21_000, To: &bob, Value: big.NewInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := ec.SendTransaction(ctx, stale); err == nil || !strings.Contains(err.Error(), "nonce") {
		t.Errorf("a used nonce: %v, want a nonce error", err)
	} else {
		t.Logf("a used nonce: %v", err)
	}
	var ignored json.RawMessage
	if err := rollupCall(ctx, seq, "eth_sendRawTransaction", &ignored, "0x01deadbeef"); err == nil || !strings.Contains(err.Error(), "evm: invalid transaction") {
		t.Errorf("eth_sendRawTransaction of junk: %v, want evm: invalid transaction", err)
	}
	err = rollupCall(ctx, seq, "rollup_submitTx", &ignored, hex.EncodeToString([]byte("not an evm transaction")))
	if err == nil || !strings.Contains(err.Error(), "invalid params: evm: invalid transaction") {
		t.Errorf("rollup_submitTx of junk: %v, want invalid params: evm: invalid transaction", err)
	}
	junkAt := postJunk(ctx, t, n, seqHome)
	after, err := token.Transact(opts, "transfer", bob, big.NewInt(8))
	if err != nil {
		t.Fatal(err)
	}
	last := receipt(after).BlockNumber.Uint64()
	waitUntil(ctx, t, "the block after the junk to be posted past it", func() bool {
		var s rollrpc.Status
		if err := rollupCall(ctx, seq, "rollup_status", &s); err != nil {
			t.Fatal(err)
		}
		return s.Posted >= last && s.DAHeight > junkAt
	})
	seqHeader, err := ec.HeaderByNumber(ctx, new(big.Int).SetUint64(last))
	if err != nil {
		t.Fatal(err)
	}
	var seqBlock rollrpc.BlockInfo
	if err := rollupCall(ctx, seq, "rollup_getBlock", &seqBlock, last); err != nil {
		t.Fatal(err)
	}

	// The follower, from scratch with the sequencer's genesis, through
	// another DataMesh node; then restarted from its home.
	folHome := t.TempDir()
	fol, stopFol := rollupNodeStop(ctx, t, folHome, append(n.folArgs("evm"), "--genesis", filepath.Join(seqHome, node.GenesisFile))...)
	check := func(url, what string) {
		t.Helper()
		waitFollower(ctx, t, url, last)
		fc, err := ethclient.DialContext(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer fc.Close()
		if b, d := balanceOf(fc, bob), balanceOf(fc, dev); b != 4250 || d != 1_000_000-4250 {
			t.Fatalf("%s: bob %d, dev %d", what, b, d)
		}
		h, err := fc.HeaderByNumber(ctx, new(big.Int).SetUint64(last))
		if err != nil {
			t.Fatal(err)
		}
		if h.Root != seqHeader.Root || h.Hash() != seqHeader.Hash() {
			t.Fatalf("%s: block %d root %s hash %s; the sequencer's %s %s", what, last, h.Root, h.Hash(), seqHeader.Root, seqHeader.Hash())
		}
		var b rollrpc.BlockInfo
		if err := rollupCall(ctx, url, "rollup_getBlock", &b, last); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.StateRoot, seqBlock.StateRoot) || !bytes.Equal(b.Hash, seqBlock.Hash) {
			t.Fatalf("%s: rollup block %d root %X; the sequencer's %X", what, last, []byte(b.StateRoot), []byte(seqBlock.StateRoot))
		}
		r, err := fc.TransactionReceipt(ctx, tr.TxHash)
		if err != nil || r.Status != types.ReceiptStatusSuccessful || len(r.Logs) != 1 || r.BlockNumber.Cmp(tr.BlockNumber) != 0 {
			t.Fatalf("%s: receipt of the transfer %+v, %v", what, r, err)
		}
	}
	check(fol, "follower")
	stopFol()
	check(rollupNode(ctx, t, folHome, n.folArgs("evm")...), "restarted follower")
	t.Logf("evm: token at %s, %d blocks; follower and restarted follower at root %s", addr, last, seqHeader.Root)
}
