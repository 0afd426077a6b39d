package rollup_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	coreexec "github.com/evstack/ev-node/core/execution"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/execution/evm"
	"github.com/datamesh/mesh-node/execution/kv"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/internal/devnetproc"
	"github.com/datamesh/mesh-node/rollup"
	"github.com/datamesh/mesh-node/rollup/meshapi"
	"github.com/datamesh/mesh-node/share"
)

// evmSenders is how many funded accounts sign the EVM transfers.
const evmSenders = 8

// benchExecutor is an executor with a mempool, as both kv and evm are.
type benchExecutor interface {
	coreexec.Executor
	SubmitTx(ctx context.Context, raw []byte) error
}

// benchVM makes one VM's executors over a database and its blocks of
// transactions.
type benchVM struct {
	name string
	// nBlocks blocks of nTxs transactions: the chain a follower syncs in
	// one BenchmarkFollowerSync iteration, a few seconds on 2 cores.
	nBlocks, nTxs int
	open          func(tb testing.TB, db *badger.DB) benchExecutor
	// blocks returns n blocks of m transactions, made before any timer.
	blocks func(tb testing.TB, n, m int) [][][]byte
}

func kvBenchVM() benchVM {
	return benchVM{
		name:    "kv",
		nBlocks: 30,
		nTxs:    2000,
		open: func(tb testing.TB, db *badger.DB) benchExecutor {
			x, err := kv.New(db, kv.Config{})
			if err != nil {
				tb.Fatal(err)
			}
			return x
		},
		blocks: func(tb testing.TB, n, m int) [][][]byte {
			out := make([][][]byte, n)
			for i := range out {
				for j := range m {
					// Half new keys, half updates of the previous block's.
					key := fmt.Sprintf("key-%d-%d", i, j)
					if j%2 == 1 && i > 0 {
						key = fmt.Sprintf("key-%d-%d", i-1, j)
					}
					raw, err := kv.Tx{Type: kv.TypeSet, Key: key, Value: fmt.Sprintf("value-%d", i)}.Marshal()
					if err != nil {
						tb.Fatal(err)
					}
					out[i] = append(out[i], raw)
				}
			}
			return out
		},
	}
}

// evmBenchVM transfers 1 wei from evmSenders funded accounts, in turn,
// to a new account each time: signed EIP-1559 value transfers.
func evmBenchVM() benchVM {
	keys := make([]*ecdsa.PrivateKey, evmSenders)
	g := evm.Genesis{ChainID: 4242, GasLimit: evm.DefaultGasLimit, BaseFee: (*hexutil.Big)(big.NewInt(evm.DefaultBaseFee)),
		Alloc: map[common.Address]evm.Account{}}
	for i := range keys {
		seed := sha256.Sum256(fmt.Appendf(nil, "evm sender %d", i))
		k, err := crypto.ToECDSA(seed[:])
		if err != nil {
			panic(err) // a fixed valid seed
		}
		keys[i] = k
		g.Alloc[crypto.PubkeyToAddress(k.PublicKey)] = evm.Account{Balance: (*hexutil.Big)(new(big.Int).Set(evm.DevBalance))}
	}
	g.FeeRecipient = crypto.PubkeyToAddress(keys[0].PublicKey)
	return benchVM{
		name:    "evm",
		nBlocks: 20,
		nTxs:    1000,
		open: func(tb testing.TB, db *badger.DB) benchExecutor {
			x, err := evm.New(db, g, evm.Config{})
			if err != nil {
				tb.Fatal(err)
			}
			return x
		},
		blocks: func(tb testing.TB, n, m int) [][][]byte {
			chainID := new(big.Int).SetUint64(g.ChainID)
			signer := types.LatestSignerForChainID(chainID)
			nonces := make([]uint64, len(keys))
			out := make([][][]byte, n)
			for i := range out {
				for j := range m {
					s := j % len(keys)
					to := common.BigToAddress(big.NewInt(int64(1_000_000 + i*m + j)))
					tx, err := types.SignNewTx(keys[s], signer, &types.DynamicFeeTx{ChainID: chainID, Nonce: nonces[s],
						GasTipCap: big.NewInt(0), GasFeeCap: g.BaseFee.ToInt(), Gas: 21_000, To: &to, Value: big.NewInt(1)})
					if err != nil {
						tb.Fatal(err)
					}
					nonces[s]++
					raw, err := tx.MarshalBinary()
					if err != nil {
						tb.Fatal(err)
					}
					out[i] = append(out[i], raw)
				}
			}
			return out
		},
	}
}

// syncFixture is a rollup chain posted to a devnet, for followers to
// sync.
type syncFixture struct {
	g      *rollup.Genesis
	blocks []*rollup.StoredBlock
	// posted is the DataMesh height of the last post.
	posted uint64
}

// benchWait polls cond until it holds, failing b after a deadline.
func benchWait(b *testing.B, what string, timeout time.Duration, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("waiting for %s: not within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func benchDial(b *testing.B, ctx context.Context, n devnetproc.Node) *client.Client {
	b.Helper()
	c, err := client.New(ctx, n.RPC, n.Token)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

// postChain makes vm's blocks with a sequencer while DataMesh is
// unreachable, then starts it again with the light node as its DataMesh
// and waits until every block is included: the follower then finds them
// in a few submits (up to 16 blocks each, as the sequencer batches a
// backlog).
func postChain(b *testing.B, ctx context.Context, vm benchVM, lc *client.Client) *syncFixture {
	b.Helper()
	key := keyFrom("bench sequencer " + vm.name)
	head, err := lc.Header.LocalHead(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ns, err := share.NewV0Namespace([]byte("bench" + vm.name))
	if err != nil {
		b.Fatal(err)
	}
	g := &rollup.Genesis{ChainID: vm.name + "-bench", Namespace: ns, Sequencer: key.Public().(ed25519.PublicKey),
		DAStartHeight: head.Height(), InitialHeight: 1, Time: time.Now().UTC().Add(-time.Second).Truncate(time.Millisecond)}
	db := badgertest.Open(b)
	x := vm.open(b, db)
	st, err := rollup.OpenStore(db, g)
	if err != nil {
		b.Fatal(err)
	}
	down, err := rollup.NewSequencer(rollup.SequencerConfig{Genesis: g, Key: key, Executor: x, Store: st, DA: downDA{},
		BlockTime: time.Hour, RetryMin: time.Hour, RetryMax: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	if err := down.Start(ctx); err != nil {
		b.Fatal(err)
	}
	for i, txs := range vm.blocks(b, vm.nBlocks, vm.nTxs) {
		for _, tx := range txs {
			if err := x.SubmitTx(ctx, tx); err != nil {
				b.Fatalf("block %d: submit: %v", i+1, err)
			}
		}
		blk, err := down.ProduceBlock(ctx)
		if err != nil || blk == nil || len(blk.Txs) != vm.nTxs {
			b.Fatalf("block %d: %v, %v", i+1, blk, err)
		}
	}
	if err := down.Stop(ctx); err != nil {
		b.Fatal(err)
	}

	seq, err := rollup.NewSequencer(rollup.SequencerConfig{Genesis: g, Key: key, Executor: x, Store: st, DA: meshapi.Submitter{C: lc},
		BlockTime: time.Hour, RetryMin: 100 * time.Millisecond, RetryMax: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	if err := seq.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := seq.Stop(ctx); err != nil {
			b.Error(err)
		}
	}()
	benchWait(b, "the sequencer to post its blocks", 3*time.Minute, func() bool { return seq.Status().Posted >= uint64(vm.nBlocks) })
	f := &syncFixture{g: g, posted: seq.Status().PostedDA}
	for h := uint64(1); h <= uint64(vm.nBlocks); h++ {
		sb, err := st.Block(h)
		if err != nil {
			b.Fatal(err)
		}
		f.blocks = append(f.blocks, sb)
	}
	return f
}

// BenchmarkFollowerSync is issue 17's rollup full node throughput: on
// one devnet, a sequencer posts a chain (kv: 30 blocks of 2,000 sets,
// half of them new keys; evm: 20 blocks of 1,000 value transfers signed
// by 8 accounts, each to a new account); then, timed, a
// follower started from scratch syncs them from DataMesh alone: headers
// from the light node, the namespace's data from the full node verified
// against them, every block re-executed. It reports the follower's
// transactions per second (txs/s), the same blocks re-executed alone by
// a fresh executor without DataMesh (exec-txs/s), and the DA cost per
// transaction: bytes of blob (DA-bytes/tx) and of the shares the blobs
// occupy (share-bytes/tx).
func BenchmarkFollowerSync(b *testing.B) {
	dn := devnetproc.Run(b, "..")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	light, full := dn.Info.Nodes["light"], dn.Info.Nodes["full"]
	lc, fc := benchDial(b, ctx, light), benchDial(b, ctx, full)

	for _, vm := range []benchVM{kvBenchVM(), evmBenchVM()} {
		b.Run("vm="+vm.name, func(b *testing.B) {
			f := postChain(b, ctx, vm, lc)
			var blobBytes, shareBytes int
			for _, sb := range f.blocks {
				blobBytes += len(sb.Raw)
				shareBytes += share.SparseSharesNeeded(len(sb.Raw), false) * share.ShareSize
			}
			n, txs := uint64(vm.nBlocks), vm.nBlocks*vm.nTxs
			last := f.blocks[len(f.blocks)-1].Block.Header.StateRoot

			var syncTime, execTime time.Duration
			for b.Loop() {
				b.StopTimer()
				db := badgertest.Open(b)
				x := vm.open(b, db)
				st, err := rollup.OpenStore(db, f.g)
				if err != nil {
					b.Fatal(err)
				}
				fol, err := rollup.NewFollower(rollup.FollowerConfig{Genesis: f.g, Executor: x, Store: st,
					Headers: meshapi.Headers{C: lc}, Data: meshapi.Data{C: fc, Name: full.RPC}, RetryMin: 50 * time.Millisecond})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				if err := fol.Start(ctx); err != nil {
					b.Fatal(err)
				}
				benchWait(b, "the follower to sync", 10*time.Minute, func() bool {
					s := fol.Status()
					return s.Height >= n || s.Halted != nil
				})
				syncTime += time.Since(start)
				b.StopTimer()
				if err := fol.Stop(ctx); err != nil {
					b.Fatal(err)
				}
				if s := fol.Status(); s.Halted != nil || s.Height != n || !bytes.Equal(s.StateRoot, last) {
					b.Fatalf("follower at block %d, root %X, halted %v; want block %d, root %X", s.Height, s.StateRoot, s.Halted, n, last)
				}
				execTime += reexecute(b, ctx, vm, f)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*txs)/syncTime.Seconds(), "txs/s")
			b.ReportMetric(float64(b.N*txs)/execTime.Seconds(), "exec-txs/s")
			b.ReportMetric(float64(blobBytes)/float64(txs), "DA-bytes/tx")
			b.ReportMetric(float64(shareBytes)/float64(txs), "share-bytes/tx")
		})
	}
}

// reexecute executes f's blocks on a fresh executor, checks the last
// state root and returns the time the executions took.
func reexecute(b *testing.B, ctx context.Context, vm benchVM, f *syncFixture) time.Duration {
	b.Helper()
	x := vm.open(b, badgertest.Open(b))
	root, err := x.InitChain(ctx, f.g.Time, f.g.InitialHeight, f.g.ChainID)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for _, sb := range f.blocks {
		h := sb.Block.Header
		res, err := x.ExecuteTxs(ctx, sb.Block.Txs, h.Height, h.Time, root)
		if err != nil {
			b.Fatal(err)
		}
		root = res.UpdatedStateRoot
	}
	took := time.Since(start)
	if last := f.blocks[len(f.blocks)-1].Block.Header.StateRoot; !bytes.Equal(root, last) {
		b.Fatalf("re-executed root %X, the sequencer's %X", root, last)
	}
	return took
}
