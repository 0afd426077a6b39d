package evm_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// BenchmarkERC20Transfers executes blocks of 500 ERC-20 transfers (about 26 million of the 30 million gas) to
// distinct recipients and reports transfers per second (signature
// recovery, EVM execution, the trie commit and the block's record).
func BenchmarkERC20Transfers(b *testing.B) {
	const perBlock = 500
	ctx := context.Background()
	g, key := devGenesis(b)
	ch := newChain(b, badgertest.Open(b), g)
	c := serve(b, ch.x)
	token := deployTokenB(b, ch, c, key)
	tokenABI := mustABI(b, tokenABIJSON)
	chainID := big.NewInt(evmChainID)
	signer := types.LatestSignerForChainID(chainID)
	nonce, err := c.PendingNonceAt(ctx, crypto.PubkeyToAddress(key.PublicKey))
	if err != nil {
		b.Fatal(err)
	}
	blocks := make([][][]byte, b.N)
	for i := range blocks {
		for j := range perBlock {
			data, err := tokenABI.Pack("transfer", common.BigToAddress(big.NewInt(int64(i*perBlock+j+1))), big.NewInt(1))
			if err != nil {
				b.Fatal(err)
			}
			tx, err := types.SignNewTx(key, signer, &types.DynamicFeeTx{ChainID: chainID, Nonce: nonce, GasTipCap: big.NewInt(0), GasFeeCap: g.BaseFee.ToInt(), Gas: 60_000, To: &token, Data: data})
			if err != nil {
				b.Fatal(err)
			}
			nonce++
			blocks[i] = append(blocks[i], raw(b, tx))
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for _, block := range blocks {
		ch.execute(block)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	last, err := ch.x.BlockByNumber(ctx, ch.height)
	if err != nil || len(last.Txs) != perBlock {
		b.Fatalf("last block applied %d of %d: %v", len(last.Txs), perBlock, err)
	}
	b.ReportMetric(float64(b.N*perBlock)/elapsed.Seconds(), "transfers/s")
}
