package evm_test

import (
	"context"
	"crypto/ecdsa"
	_ "embed"
	"encoding/hex"
	"math/big"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/execution/evm"
	"github.com/datamesh/mesh-node/execution/evm/ethrpc"
	"github.com/dgraph-io/badger/v4"
	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	coreexec "github.com/evstack/ev-node/core/execution"
)

var (
	//go:embed testdata/Token.bin
	tokenBin string
	//go:embed testdata/Token.abi
	tokenABIJSON string
	//go:embed testdata/Loop.bin
	loopBin string
	//go:embed testdata/Loop.abi
	loopABIJSON string
)

var genesisTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	rollupChainID = "evm-test"
	evmChainID    = 1337
)

func mustABI(t testing.TB, s string) abi.ABI {
	t.Helper()
	a, err := abi.JSON(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// devGenesis is one development genesis shared by the executors of a
// test, so that they run the same chain.
func devGenesis(t testing.TB) (evm.Genesis, *ecdsa.PrivateKey) {
	t.Helper()
	g, key, err := evm.DevGenesis(evmChainID)
	if err != nil {
		t.Fatal(err)
	}
	return g, key
}

// chain is an executor with the blocks it executed, for a follower to
// replay.
type chain struct {
	t      testing.TB
	x      *evm.Executor
	root   []byte
	height uint64
	blocks [][][]byte
}

func newChain(t testing.TB, db *badger.DB, g evm.Genesis) *chain {
	t.Helper()
	x, err := evm.New(db, g, evm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	root, err := x.InitChain(context.Background(), genesisTime, 1, rollupChainID)
	if err != nil {
		t.Fatal(err)
	}
	return &chain{t: t, x: x, root: root}
}

func blockTime(h uint64) time.Time { return genesisTime.Add(time.Duration(h) * 2 * time.Second) }

// produce makes a block as a sequencer would: the mempool's transactions
// (GetTxs), those FilterTxs keeps, ExecuteTxs, SetFinal. It returns the
// block's transactions.
func (c *chain) produce(extra ...[]byte) [][]byte {
	c.t.Helper()
	ctx := context.Background()
	txs, err := c.x.GetTxs(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	txs = append(txs, extra...)
	info, err := c.x.GetExecutionInfo(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	st, err := c.x.FilterTxs(ctx, txs, 0, info.MaxGas, false)
	if err != nil {
		c.t.Fatal(err)
	}
	var block [][]byte
	for i, s := range st {
		if s == coreexec.FilterOK {
			block = append(block, txs[i])
		}
	}
	c.execute(block)
	return block
}

// execute runs block as the next one, unfiltered.
func (c *chain) execute(block [][]byte) {
	c.t.Helper()
	ctx := context.Background()
	c.height++
	res, err := c.x.ExecuteTxs(ctx, block, c.height, blockTime(c.height), c.root)
	if err != nil {
		c.t.Fatalf("block %d: %v", c.height, err)
	}
	c.root = res.UpdatedStateRoot
	c.blocks = append(c.blocks, block)
	if err := c.x.SetFinal(ctx, c.height); err != nil {
		c.t.Fatal(err)
	}
}

// serve starts the JSON-RPC server of x on 127.0.0.1 and dials it.
func serve(t testing.TB, x *evm.Executor) *ethclient.Client {
	t.Helper()
	s, err := ethrpc.New(x)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); s.Close() })
	c, err := ethclient.Dial(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// signDynamic signs an EIP-1559 transaction from key with the fees the
// RPC suggests, as bind's transactors do.
func signDynamic(t testing.TB, c *ethclient.Client, key *ecdsa.PrivateKey, to *common.Address, value *big.Int, data []byte, gas uint64) *types.Transaction {
	t.Helper()
	ctx := context.Background()
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, err := c.PendingNonceAt(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := c.SuggestGasTipCap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head, err := c.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	feeCap := new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
	if gas == 0 {
		gas, err = c.EstimateGas(ctx, ethereumCall(from, to, value, data, feeCap, tip))
		if err != nil {
			t.Fatal(err)
		}
	}
	chainID, err := c.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(chainID), &types.DynamicFeeTx{
		ChainID: chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, To: to, Value: value, Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func raw(t testing.TB, tx *types.Transaction) []byte {
	t.Helper()
	b, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ethereumCall(from common.Address, to *common.Address, value *big.Int, data []byte, feeCap, tip *big.Int) ethereum.CallMsg {
	return ethereum.CallMsg{From: from, To: to, Value: value, Data: data, GasFeeCap: feeCap, GasTipCap: tip}
}
