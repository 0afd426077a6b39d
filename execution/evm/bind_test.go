package evm_test

import (
	"context"
	"math/big"
	"testing"

	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
)

// TestBindTransactor deploys and calls the ERC-20 through go-ethereum's
// bind transactor over ethclient, the path generated contract bindings
// take (pending code and nonce, the tip, the head's base fee, gas
// estimation, the receipt).
func TestBindTransactor(t *testing.T) {
	ctx := context.Background()
	g, key := devGenesis(t)
	ch := newChain(t, badgertest.Open(t), g)
	c := serve(t, ch.x)
	opts := bind.NewKeyedTransactor(key, big.NewInt(evmChainID))
	tokenABI := mustABI(t, tokenABIJSON)
	creator := bind.NewBoundContract(common.Address{}, tokenABI, c, c, c)
	args, err := tokenABI.Pack("", big.NewInt(1000))
	if err != nil {
		t.Fatal(err)
	}
	deploy, err := creator.RawCreationTransact(opts, append(mustHex(t, tokenBin), args...))
	if err != nil {
		t.Fatal(err)
	}
	ch.produce()
	addr, err := bind.WaitDeployed(ctx, c, deploy.Hash())
	if err != nil {
		t.Fatal(err)
	}
	token := bind.NewBoundContract(addr, tokenABI, c, c, c)
	bob := common.HexToAddress("0x0000000000000000000000000000000000000B0B")
	tx, err := token.Transact(opts, "transfer", bob, big.NewInt(42))
	if err != nil {
		t.Fatal(err)
	}
	ch.produce()
	r, err := bind.WaitMined(ctx, c, tx.Hash())
	if err != nil || r.Status != 1 {
		t.Fatalf("transfer: %+v, %v", r, err)
	}
	var out []any
	if err := token.Call(&bind.CallOpts{Context: ctx}, &out, "balanceOf", bob); err != nil {
		t.Fatal(err)
	}
	if out[0].(*big.Int).Int64() != 42 {
		t.Fatalf("bob has %v", out[0])
	}
}
