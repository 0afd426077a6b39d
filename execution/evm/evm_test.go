package evm_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"testing"

	"github.com/datamesh/mesh-node/execution/evm"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
)

// deployToken deploys the test ERC-20 with supply from key over c and
// returns its address.
func deployToken(t testing.TB, ch *chain, c *ethclient.Client, key *ecdsa.PrivateKey, supply *big.Int) common.Address {
	t.Helper()
	ctx := context.Background()
	tokenABI := mustABI(t, tokenABIJSON)
	args, err := tokenABI.Pack("", supply)
	if err != nil {
		t.Fatal(err)
	}
	tx := signDynamic(t, c, key, nil, nil, append(mustHex(t, tokenBin), args...), 0)
	if err := c.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	ch.produce()
	r, err := c.TransactionReceipt(ctx, tx.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("deployment failed: %+v", r)
	}
	code, err := c.CodeAt(ctx, r.ContractAddress, nil)
	if err != nil || len(code) == 0 {
		t.Fatalf("no code at %s: %v", r.ContractAddress, err)
	}
	return r.ContractAddress
}

func tokenBalance(t testing.TB, c *ethclient.Client, token, who common.Address, block *big.Int) *big.Int {
	t.Helper()
	tokenABI := mustABI(t, tokenABIJSON)
	data, err := tokenABI.Pack("balanceOf", who)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.CallContract(context.Background(), ethereum.CallMsg{To: &token, Data: data}, block)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tokenABI.Unpack("balanceOf", out)
	if err != nil {
		t.Fatal(err)
	}
	return v[0].(*big.Int)
}

// TestERC20 deploys the ERC-20 through ethclient, transfers tokens, reads
// balances with eth_call and the Transfer logs from the receipt and
// eth_getLogs; a second executor fed the same blocks reaches the same
// roots and balances, and a restart from Badger keeps the state.
func TestERC20(t *testing.T) {
	ctx := context.Background()
	g, key := devGenesis(t)
	dir := t.TempDir()
	db := badgertest.OpenAt(t, dir)
	ch := newChain(t, db, g)
	c := serve(t, ch.x)
	dev := crypto.PubkeyToAddress(key.PublicKey)

	id, err := c.ChainID(ctx)
	if err != nil || id.Uint64() != evmChainID {
		t.Fatalf("chain ID %v, %v", id, err)
	}
	bal, err := c.BalanceAt(ctx, dev, nil)
	if err != nil || bal.Cmp(evm.DevBalance) != 0 {
		t.Fatalf("dev balance %v, %v; want %v", bal, err, evm.DevBalance)
	}

	supply := big.NewInt(1_000_000)
	token := deployToken(t, ch, c, key, supply)
	alice := common.HexToAddress("0x00000000000000000000000000000000000A11CE")
	tokenABI := mustABI(t, tokenABIJSON)
	data, err := tokenABI.Pack("transfer", alice, big.NewInt(250))
	if err != nil {
		t.Fatal(err)
	}
	tx1 := signDynamic(t, c, key, &token, nil, data, 0)
	if err := c.SendTransaction(ctx, tx1); err != nil {
		t.Fatal(err)
	}
	// A second transfer before the block: its nonce is the pending one.
	tx2 := signDynamic(t, c, key, &token, nil, data, 0)
	if tx2.Nonce() != tx1.Nonce()+1 {
		t.Fatalf("pending nonce %d after %d", tx2.Nonce(), tx1.Nonce())
	}
	if err := c.SendTransaction(ctx, tx2); err != nil {
		t.Fatal(err)
	}
	ch.produce()

	if got := tokenBalance(t, c, token, alice, nil); got.Int64() != 500 {
		t.Fatalf("alice has %v, want 500", got)
	}
	if got := tokenBalance(t, c, token, dev, nil); got.Int64() != 1_000_000-500 {
		t.Fatalf("dev has %v", got)
	}
	r, err := c.TransactionReceipt(ctx, tx2.Hash())
	if err != nil {
		t.Fatal(err)
	}
	transferID := tokenABI.Events["Transfer"].ID
	if r.Status != 1 || len(r.Logs) != 1 || r.Logs[0].Topics[0] != transferID || r.Logs[0].Index != 1 || r.TransactionIndex != 1 {
		t.Fatalf("receipt %+v", r)
	}
	if common.BytesToAddress(r.Logs[0].Topics[2].Bytes()) != alice || new(big.Int).SetBytes(r.Logs[0].Data).Int64() != 250 {
		t.Fatalf("log %+v", r.Logs[0])
	}
	logs, err := c.FilterLogs(ctx, ethereum.FilterQuery{Addresses: []common.Address{token}, Topics: [][]common.Hash{{transferID}, nil, {common.BytesToHash(alice.Bytes())}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 || logs[0].TxHash != tx1.Hash() || logs[1].TxHash != tx2.Hash() || logs[0].BlockHash != r.BlockHash {
		t.Fatalf("logs %+v", logs)
	}
	all, err := c.FilterLogs(ctx, ethereum.FilterQuery{Topics: [][]common.Hash{{transferID}}})
	if err != nil || len(all) != 3 { // the mint and two transfers
		t.Fatalf("%d Transfer logs, %v", len(all), err)
	}
	blk, err := c.BlockByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if blk.NumberU64() != ch.height || len(blk.Transactions()) != 2 || blk.Root() != common.BytesToHash(ch.root) || blk.Hash() != r.BlockHash {
		t.Fatalf("block %d, %d txs, root %s", blk.NumberU64(), len(blk.Transactions()), blk.Root())
	}
	// The balance at the deployment block, before the transfers.
	if got := tokenBalance(t, c, token, alice, big.NewInt(int64(ch.height-1))); got.Sign() != 0 {
		t.Fatalf("alice had %v before the transfers", got)
	}

	// A follower replaying the blocks reaches the same roots and answers.
	follower := newChain(t, badgertest.Open(t), g)
	for _, b := range ch.blocks {
		follower.execute(b)
	}
	if !bytes.Equal(follower.root, ch.root) {
		t.Fatalf("follower root %X, sequencer %X", follower.root, ch.root)
	}
	fc := serve(t, follower.x)
	if got := tokenBalance(t, fc, token, alice, nil); got.Int64() != 500 {
		t.Fatalf("follower: alice has %v", got)
	}
	fr, err := fc.TransactionReceipt(ctx, tx2.Hash())
	if err != nil || fr.BlockHash != r.BlockHash {
		t.Fatalf("follower receipt %+v, %v", fr, err)
	}

	// Restart: a new executor on the reopened database resumes.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = badgertest.OpenAt(t, dir)
	t.Cleanup(func() { _ = db.Close() })
	x, err := evm.New(db, g, evm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if root, err := x.InitChain(ctx, genesisTime, 1, rollupChainID); err != nil || bytes.Equal(root, ch.root) {
		t.Fatalf("InitChain after restart: %X, %v (want the genesis root)", root, err)
	}
	h, err := x.Head(ctx)
	if err != nil || h.Height != ch.height || !bytes.Equal(h.StateRoot[:], ch.root) || h.Final != ch.height {
		t.Fatalf("head after restart %+v, %v", h, err)
	}
	rc := serve(t, x)
	if got := tokenBalance(t, rc, token, alice, nil); got.Int64() != 500 {
		t.Fatalf("after restart: alice has %v", got)
	}
	// Replaying a block returns its root; another block at its height is refused.
	res, err := x.ExecuteTxs(ctx, ch.blocks[len(ch.blocks)-1], ch.height, blockTime(ch.height), follower.rootAt(t, ch.height-1))
	if err != nil || !bytes.Equal(res.UpdatedStateRoot, ch.root) {
		t.Fatalf("replay: %X, %v", res.UpdatedStateRoot, err)
	}
	if _, err := x.ExecuteTxs(ctx, nil, ch.height, blockTime(ch.height), follower.rootAt(t, ch.height-1)); !errors.Is(err, evm.ErrConflict) {
		t.Fatalf("conflicting block: %v", err)
	}
	// The chain goes on after the restart.
	ch2 := &chain{t: t, x: x, root: ch.root, height: ch.height}
	tx3 := signDynamic(t, rc, key, &token, nil, data, 0)
	if err := rc.SendTransaction(ctx, tx3); err != nil {
		t.Fatal(err)
	}
	ch2.produce()
	if got := tokenBalance(t, rc, token, alice, nil); got.Int64() != 750 {
		t.Fatalf("after the restart's block: alice has %v", got)
	}
}

// rootAt is the state root after the block at height h.
func (c *chain) rootAt(t testing.TB, h uint64) []byte {
	t.Helper()
	b, err := c.x.BlockByNumber(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return b.Header.Root.Bytes()
}

func deployTokenB(b *testing.B, ch *chain, c *ethclient.Client, key *ecdsa.PrivateKey) common.Address {
	return deployToken(b, ch, c, key, new(big.Int).Lsh(big.NewInt(1), 128))
}
