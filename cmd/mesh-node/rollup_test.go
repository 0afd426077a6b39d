package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/datamesh/mesh-node/execution/kv"
	"github.com/datamesh/mesh-node/internal/devnetproc"
	"github.com/datamesh/mesh-node/internal/freeport"
	rollrpc "github.com/datamesh/mesh-node/rollup/rpc"
)

// rollupNode runs mesh-node rollup run in-process until the test ends
// and returns its JSON-RPC URL once it answers.
func rollupNode(ctx context.Context, t *testing.T, home string, args ...string) string {
	url, _ := rollupNodeStop(ctx, t, home, args...)
	return url
}

// rollupNodeStop is rollupNode that also returns a function stopping
// the node (as SIGINT does: its context ends) and failing t if it
// returned an error.
func rollupNodeStop(ctx context.Context, t *testing.T, home string, args ...string) (string, func()) {
	t.Helper()
	port, err := freeport.TCP()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	nctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := run(nctx, nil, append([]string{"rollup", "run", "--home", home, "--rpc.addr", addr}, args...)...)
		done <- err
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("rollup run %s: %v", strings.Join(args, " "), err)
			}
		})
	}
	t.Cleanup(stop)
	url := "http://" + addr
	waitUntil(ctx, t, "the rollup node at "+url+" to answer", func() bool {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("rollup run %s stopped: %v", strings.Join(args, " "), err)
		default:
		}
		var st rollrpc.Status
		return rollupCall(ctx, url, "rollup_status", &st) == nil
	})
	return url, stop
}

func waitUntil(ctx context.Context, t *testing.T, what string, cond func() bool) {
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

// rollupCall calls method with params over JSON-RPC and decodes its
// result into out.
func rollupCall(ctx context.Context, url, method string, out any, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	var msg struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		return fmt.Errorf("%s: %s: %w", method, b, err)
	}
	if msg.Error != nil {
		return fmt.Errorf("%s: error %d: %s", method, msg.Error.Code, msg.Error.Message)
	}
	return json.Unmarshal(msg.Result, out)
}

// queryKV runs rollup_query for get key and checks the answer's proof
// against the state root the node returns.
func queryKV(ctx context.Context, t *testing.T, url, key string) (*rollrpc.QueryResult, *kv.Answer) {
	t.Helper()
	var res rollrpc.QueryResult
	q := fmt.Sprintf(`{"type":"get","key":%q}`, key)
	if err := rollupCall(ctx, url, "rollup_query", &res, hex.EncodeToString([]byte(q))); err != nil {
		t.Fatal(err)
	}
	var a kv.Answer
	if err := json.Unmarshal(res.Answer, &a); err != nil {
		t.Fatal(err)
	}
	if err := kv.Verify(res.StateRoot, key, &a); err != nil {
		t.Fatalf("get %s from %s: the proof does not verify against the returned root %X: %v", key, url, []byte(res.StateRoot), err)
	}
	return &res, &a
}

// TestRollupRun is issue 17's done-when on a devnet, over mesh-node
// rollup run and its JSON-RPC: a kv sequencer (through the light node)
// takes set foo bar, the transaction goes pending, soft, included, and
// get foo answers bar with a proof; a follower reading data from the full
// node and headers from the light node reaches the same state root and
// answers the same; an evm sequencer takes a transfer signed with dev.key
// through ethclient.
func TestRollupRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet")
	}
	dn := devnetproc.Run(t, "../..")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	light, full := dn.Info.Nodes["light"], dn.Info.Nodes["full"]

	seqHome := t.TempDir()
	seq := rollupNode(ctx, t, seqHome, "--vm", "kv", "--sequencer", "--da.url", light.RPC, "--da.token", light.Token, "--block-time", "300ms")
	if fi, err := os.Stat(filepath.Join(seqHome, "sequencer.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("sequencer.key: %v, %v; want mode 0600", fi, err)
	}

	tx := []byte(`{"type":"set","key":"foo","value":"bar"}`)
	var hash rollrpc.Bytes
	if err := rollupCall(ctx, seq, "rollup_submitTx", &hash, hex.EncodeToString(tx)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hash, rollrpc.TxHash(tx)) {
		t.Fatalf("submitTx returned %X, want %X", []byte(hash), rollrpc.TxHash(tx))
	}
	// The states seen, in order: a subsequence of pending, soft,
	// included, ending in included.
	order := map[string]int{rollrpc.StatePending: 0, rollrpc.StateSoft: 1, rollrpc.StateIncluded: 2}
	var seen []string
	var final rollrpc.TxStatus
	waitUntil(ctx, t, "set foo bar to be included", func() bool {
		var s rollrpc.TxStatus
		if err := rollupCall(ctx, seq, "rollup_txStatus", &s, hex.EncodeToString(hash)); err != nil {
			t.Fatal(err)
		}
		if len(seen) == 0 || seen[len(seen)-1] != s.State {
			if _, ok := order[s.State]; !ok || (len(seen) > 0 && order[s.State] < order[seen[len(seen)-1]]) {
				t.Fatalf("status %q after %v", s.State, seen)
			}
			seen = append(seen, s.State)
		}
		final = s
		return s.State == rollrpc.StateIncluded
	})
	t.Logf("set foo bar: %v, block %d at DA height %d", seen, final.Height, final.DAHeight)
	if final.Height == 0 || final.DAHeight == 0 {
		t.Fatalf("included without a block or DA height: %+v", final)
	}
	var blk rollrpc.BlockInfo
	if err := rollupCall(ctx, seq, "rollup_getBlock", &blk, final.Height); err != nil {
		t.Fatal(err)
	}
	if blk.DAHeight != final.DAHeight || len(blk.Txs) == 0 || !bytes.Equal(blk.TxHashes[0], hash) {
		t.Fatalf("block %d: DA height %d, tx hashes %X; want DA height %d and the tx", blk.Height, blk.DAHeight, blk.TxHashes, final.DAHeight)
	}
	res, a := queryKV(ctx, t, seq, "foo")
	if !a.Found || a.Value != "bar" || res.Height < blk.Height {
		t.Fatalf("sequencer: get foo = %+v at height %d", a, res.Height)
	}
	if res.Height == blk.Height && !bytes.Equal(res.StateRoot, blk.StateRoot) {
		t.Fatalf("sequencer: query root %X at block %d, the block's %X", []byte(res.StateRoot), blk.Height, []byte(blk.StateRoot))
	}
	var seqStatus rollrpc.Status
	if err := rollupCall(ctx, seq, "rollup_status", &seqStatus); err != nil {
		t.Fatal(err)
	}
	if seqStatus.Role != "sequencer" || seqStatus.Height < final.Height {
		t.Fatalf("sequencer status %+v", seqStatus)
	}
	// Bad input gets a clear error.
	var ignored json.RawMessage
	for _, c := range []struct {
		method string
		params []any
		want   string
	}{
		{"rollup_submitTx", []any{hex.EncodeToString([]byte(`{"type":"jump"}`))}, "error -32602"},
		{"rollup_submitTx", []any{"zz"}, "error -32602"},
		{"rollup_getBlock", []any{1 << 40}, "error -32001"},
		{"rollup_query", []any{hex.EncodeToString([]byte(`{"type":"get","key":"foo"}`)), 0}, "error -32001"},
		{"rollup_nothing", nil, "error -32601"},
	} {
		err := rollupCall(ctx, seq, c.method, &ignored, c.params...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: %v, want %s", c.method, c.params, err, c.want)
		}
	}

	// A follower from the sequencer's genesis, data from the full node,
	// headers from the light node.
	folHome := t.TempDir()
	folArgs := []string{"--vm", "kv", "--da.url", full.RPC, "--da.token", full.Token, "--header.url", light.RPC, "--header.token", light.Token}
	fol, stopFol := rollupNodeStop(ctx, t, folHome, append(folArgs, "--genesis", filepath.Join(seqHome, "genesis.json"))...)
	waitUntil(ctx, t, "the follower to reach the block of set foo bar", func() bool {
		var st rollrpc.Status
		if err := rollupCall(ctx, fol, "rollup_status", &st); err != nil {
			t.Fatal(err)
		}
		if st.Halted != nil {
			t.Fatalf("follower halted: %+v", st.Halted)
		}
		return st.Height >= final.Height
	})
	var fblk rollrpc.BlockInfo
	if err := rollupCall(ctx, fol, "rollup_getBlock", &fblk, final.Height); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fblk.StateRoot, blk.StateRoot) || !bytes.Equal(fblk.Hash, blk.Hash) {
		t.Fatalf("follower's block %d: root %X hash %X; the sequencer's root %X hash %X", final.Height, []byte(fblk.StateRoot), []byte(fblk.Hash), []byte(blk.StateRoot), []byte(blk.Hash))
	}
	fres, fa := queryKV(ctx, t, fol, "foo")
	if !fa.Found || fa.Value != "bar" {
		t.Fatalf("follower: get foo = %+v", fa)
	}
	var fst rollrpc.TxStatus
	if err := rollupCall(ctx, fol, "rollup_txStatus", &fst, hex.EncodeToString(hash)); err != nil {
		t.Fatal(err)
	}
	if fst.State != rollrpc.StateIncluded || fst.Height != final.Height || fst.DAHeight != final.DAHeight {
		t.Fatalf("follower: tx status %+v, want included in block %d at DA height %d", fst, final.Height, final.DAHeight)
	}
	t.Logf("follower at block %d, state root %X: get foo = bar verified", fres.Height, []byte(fres.StateRoot))

	// Restarted from its home (no --genesis now), the follower resumes
	// from its store and answers the same.
	stopFol()
	fol = rollupNode(ctx, t, folHome, folArgs...)
	var rst rollrpc.Status
	if err := rollupCall(ctx, fol, "rollup_status", &rst); err != nil {
		t.Fatal(err)
	}
	if rst.Height < fres.Height {
		t.Fatalf("restarted follower at block %d; it had reached %d", rst.Height, fres.Height)
	}
	if _, ra := queryKV(ctx, t, fol, "foo"); !ra.Found || ra.Value != "bar" {
		t.Fatalf("restarted follower: get foo = %+v", ra)
	}

	// A follower without a genesis, and bad flags, are refused.
	for _, c := range []struct {
		want string
		args []string
	}{
		{"a follower needs --genesis FILE", []string{"--vm", "kv", "--da.url", full.RPC, "--da.token", full.Token}},
		{`--vm "move": want kv, wasm or evm`, []string{"--vm", "move", "--da.url", full.RPC}},
		{"--da.url is required", []string{"--vm", "kv"}},
		{"--vm evm, but", []string{"--vm", "evm", "--genesis", filepath.Join(seqHome, "genesis.json"), "--da.url", full.RPC, "--da.token", full.Token}},
	} {
		_, err := run(ctx, nil, append([]string{"rollup", "run", "--home", t.TempDir(), "--rpc.addr", "127.0.0.1:0"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("rollup run %v: %v, want %q", c.args, err, c.want)
		}
	}

	t.Run("EVM", func(t *testing.T) { testRollupRunEVM(ctx, t, light.RPC, light.Token) })
}

// testRollupRunEVM: an evm sequencer; ethclient sends a transfer signed
// with the dev.key the node wrote and reads the balances.
func testRollupRunEVM(ctx context.Context, t *testing.T, daURL, daToken string) {
	home := t.TempDir()
	url := rollupNode(ctx, t, home, "--vm", "evm", "--sequencer", "--da.url", daURL, "--da.token", daToken, "--block-time", "300ms")
	key, ec, chainID := devClient(ctx, t, home, url)
	from := crypto.PubkeyToAddress(key.PublicKey)
	before, err := ec.BalanceAt(ctx, from, nil)
	if err != nil || before.Sign() <= 0 {
		t.Fatalf("dev account balance %v, %v; want funded", before, err)
	}
	nonce, err := ec.PendingNonceAt(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	fee, err := ec.SuggestGasPrice(ctx)
	if err != nil {
		t.Fatal(err)
	}
	to := common.HexToAddress("0x00000000000000000000000000000000000a11ce")
	value := big.NewInt(1_000_000_000)
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(chainID), &types.DynamicFeeTx{ChainID: chainID, Nonce: nonce,
		GasTipCap: big.NewInt(0), GasFeeCap: fee, Gas: 21_000, To: &to, Value: value})
	if err != nil {
		t.Fatal(err)
	}
	if err := ec.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	var rcpt *types.Receipt
	waitUntil(ctx, t, "the transfer's receipt", func() bool {
		rcpt, err = ec.TransactionReceipt(ctx, tx.Hash())
		return err == nil
	})
	if rcpt.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("transfer receipt status %d", rcpt.Status)
	}
	got, err := ec.BalanceAt(ctx, to, nil)
	if err != nil || got.Cmp(value) != 0 {
		t.Fatalf("recipient balance %v, %v; want %v", got, err, value)
	}
	// The rollup_* methods beside eth_*: the block is posted to DataMesh.
	// The rollup's transaction hash is SHA-256 of the bytes, not the EVM's.
	bin, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(ctx, t, "the transfer's rollup block to be included on DataMesh", func() bool {
		var s rollrpc.TxStatus
		if err := rollupCall(ctx, url, "rollup_txStatus", &s, hex.EncodeToString(rollrpc.TxHash(bin))); err != nil {
			t.Fatal(err)
		}
		return s.State == rollrpc.StateIncluded && s.Height == rcpt.BlockNumber.Uint64()
	})
	var st rollrpc.Status
	if err := rollupCall(ctx, url, "rollup_status", &st); err != nil || st.Role != "sequencer" {
		t.Fatalf("evm rollup_status: %+v, %v", st, err)
	}
	if err := rollupCall(ctx, url, "rollup_query", new(json.RawMessage), "00"); err == nil || !strings.Contains(err.Error(), "serves no queries") {
		t.Fatalf("evm rollup_query: %v, want: serves no queries", err)
	}
}
