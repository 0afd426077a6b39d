package evm_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/execution/evm"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	coreexec "github.com/evstack/ev-node/core/execution"
)

// TestBadTransactions: each bad transaction is refused by
// eth_sendRawTransaction (SubmitTx) with an error saying why, removed by
// FilterTxs, and skipped without stopping the block when a block carries
// it anyway; a good transaction beside them applies.
func TestBadTransactions(t *testing.T) {
	ctx := context.Background()
	g, key := devGenesis(t)
	ch := newChain(t, badgertest.Open(t), g)
	c := serve(t, ch.x)
	dev := crypto.PubkeyToAddress(key.PublicKey)
	to := common.HexToAddress("0x00000000000000000000000000000000000B0B00")
	chainID := big.NewInt(evmChainID)
	signer := types.LatestSignerForChainID(chainID)
	baseFee := g.BaseFee.ToInt()
	sign := func(k *ecdsa.PrivateKey, inner types.TxData) *types.Transaction {
		t.Helper()
		tx, err := types.SignNewTx(k, signer, inner)
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	dyn := func(nonce, gas uint64, value *big.Int) *types.DynamicFeeTx {
		return &types.DynamicFeeTx{ChainID: chainID, Nonce: nonce, GasTipCap: big.NewInt(0), GasFeeCap: baseFee, Gas: gas, To: &to, Value: value}
	}

	// One good transfer first, so that nonce 0 is too low afterwards.
	good := sign(key, dyn(0, 21000, big.NewInt(1)))
	if err := c.SendTransaction(ctx, good); err != nil {
		t.Fatal(err)
	}
	ch.produce()

	poor, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	badSig := sign(key, dyn(1, 21000, big.NewInt(1)))
	v, r, _ := badSig.RawSignatureValues()
	badSig, err = badSig.WithSignature(signer, append(append(common.LeftPadBytes(r.Bytes(), 32), make([]byte, 32)...), byte(v.Uint64())))
	if err != nil {
		t.Fatal(err)
	}
	wrongChain, err := types.SignNewTx(key, types.LatestSignerForChainID(big.NewInt(evmChainID+1)),
		&types.DynamicFeeTx{ChainID: big.NewInt(evmChainID + 1), Nonce: 1, GasFeeCap: baseFee, GasTipCap: big.NewInt(0), Gas: 21000, To: &to})
	if err != nil {
		t.Fatal(err)
	}
	unprotected, err := types.SignNewTx(key, types.HomesteadSigner{}, &types.LegacyTx{Nonce: 1, GasPrice: baseFee, Gas: 21000, To: &to})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		tx      *types.Transaction
		is      error
		message string
	}{
		{"bad signature", badSig, evm.ErrInvalidTx, "signature"},
		{"wrong chain ID", wrongChain, types.ErrInvalidChainId, "chain ID 1338, this chain is 1337"},
		{"no EIP-155", unprotected, evm.ErrInvalidTx, "without EIP-155"},
		{"nonce too low", sign(key, dyn(0, 21000, nil)), core.ErrNonceTooLow, "nonce too low"},
		{"nonce too high", sign(key, dyn(5, 21000, nil)), core.ErrNonceTooHigh, "nonce too high"},
		{"too little gas", sign(key, dyn(1, 20000, nil)), core.ErrIntrinsicGas, "intrinsic gas too low"},
		{"gas above the block's", sign(key, dyn(1, g.GasLimit+1, nil)), evm.ErrInvalidTx, "above the block's"},
		{"insufficient funds", sign(poor, dyn(0, 21000, big.NewInt(1))), core.ErrInsufficientFunds, "insufficient funds"},
		{"fee cap below the base fee", sign(key, &types.DynamicFeeTx{ChainID: chainID, Nonce: 1, GasTipCap: big.NewInt(0), GasFeeCap: big.NewInt(1), Gas: 21000, To: &to}), core.ErrFeeCapTooLow, "less than block base fee"},
		{"value beyond the balance", sign(key, dyn(1, 21000, new(big.Int).Mul(evm.DevBalance, big.NewInt(2)))), core.ErrInsufficientFunds, "insufficient funds"},
	}
	var bad [][]byte
	for _, tc := range cases {
		b := raw(t, tc.tx)
		bad = append(bad, b)
		err := ch.x.SubmitTx(ctx, b)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("%s: SubmitTx: %v, want %v (%q)", tc.name, err, tc.is, tc.message)
		}
		err = c.SendTransaction(ctx, tc.tx)
		if err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("%s: eth_sendRawTransaction: %v, want %q", tc.name, err, tc.message)
		}
	}
	if txs, _ := ch.x.GetTxs(ctx); len(txs) != 0 {
		t.Fatalf("%d transactions in the mempool", len(txs))
	}
	st, err := ch.x.FilterTxs(ctx, bad, 0, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range st {
		if s != coreexec.FilterRemove {
			t.Errorf("%s: FilterTxs %v, want remove", cases[i].name, s)
		}
	}

	// A block carrying them anyway, around a good one and garbage.
	ok := sign(key, dyn(1, 21000, big.NewInt(7)))
	block := append([][]byte{[]byte("not a transaction"), raw(t, ok)}, bad...)
	ch.execute(block)
	b, err := ch.x.BlockByNumber(ctx, ch.height)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Txs) != 1 || b.Txs[0].Hash() != ok.Hash() || len(b.Results) != len(block) {
		t.Fatalf("block of %d applied, %d results", len(b.Txs), len(b.Results))
	}
	if b.Results[0].Error == "" || b.Results[1].Error != "" {
		t.Fatalf("results %+v", b.Results[:2])
	}
	for i, res := range b.Results[2:] {
		if res.Error == "" {
			t.Errorf("%s: applied in a block", cases[i].name)
		}
	}
	if got, err := c.BalanceAt(ctx, to, nil); err != nil || got.Int64() != 8 {
		t.Fatalf("recipient has %v, %v; want 8", got, err)
	}
	if n, err := c.NonceAt(ctx, dev, nil); err != nil || n != 2 {
		t.Fatalf("dev nonce %d, %v", n, err)
	}
}

// TestInfiniteLoop: a call that never returns uses up its gas, the
// transaction fails in its receipt and the chain goes on; eth_call and
// eth_estimateGas end with an error too.
func TestInfiniteLoop(t *testing.T) {
	ctx := context.Background()
	g, key := devGenesis(t)
	ch := newChain(t, badgertest.Open(t), g)
	c := serve(t, ch.x)
	deploy := signDynamic(t, c, key, nil, nil, mustHex(t, loopBin), 0)
	if err := c.SendTransaction(ctx, deploy); err != nil {
		t.Fatal(err)
	}
	ch.produce()
	r, err := c.TransactionReceipt(ctx, deploy.Hash())
	if err != nil || r.Status != 1 {
		t.Fatalf("deploy: %+v, %v", r, err)
	}
	loop := r.ContractAddress
	spin, err := mustABI(t, loopABIJSON).Pack("spin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EstimateGas(ctx, ethereum.CallMsg{From: crypto.PubkeyToAddress(key.PublicKey), To: &loop, Data: spin}); err == nil || !strings.Contains(err.Error(), "out of gas") {
		t.Fatalf("estimate: %v, want out of gas", err)
	}
	if _, err := c.CallContract(ctx, ethereum.CallMsg{To: &loop, Data: spin}, nil); err == nil || !strings.Contains(err.Error(), "out of gas") {
		t.Fatalf("call: %v, want out of gas", err)
	}
	const gas = 2_000_000
	tx := signDynamic(t, c, key, &loop, nil, spin, gas)
	if err := c.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	ch.produce()
	r, err = c.TransactionReceipt(ctx, tx.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != types.ReceiptStatusFailed || r.GasUsed != gas {
		t.Fatalf("spin: status %d, gas used %d; want failed with all %d", r.Status, r.GasUsed, gas)
	}
	// The chain goes on.
	to := common.HexToAddress("0x0000000000000000000000000000000000000001")
	pay := signDynamic(t, c, key, &to, big.NewInt(5), nil, 0)
	if err := c.SendTransaction(ctx, pay); err != nil {
		t.Fatal(err)
	}
	ch.produce()
	if r, err := c.TransactionReceipt(ctx, pay.Hash()); err != nil || r.Status != 1 {
		t.Fatalf("after the loop: %+v, %v", r, err)
	}
}
