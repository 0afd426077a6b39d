package app

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
)

// BenchmarkProposal measures PrepareTxs and ProcessTxs for squares of width
// k filled to about 80% with blobs of up to 64 KiB from one account: the proposer's
// and every validator's work per block.
func BenchmarkProposal(b *testing.B) {
	for _, k := range []int{8, 32, 128} {
		key, addr := txtest.Key(b, "bench")
		p := tx.DefaultParams()
		st := NewState(&Genesis{ChainID: "bench", Authority: addr, Params: p,
			Accounts: []GenesisAccount{{Address: addr, Balance: 1 << 62}}})
		blobSize := min(64<<10, k*k*478*8/10)
		n := max(1, k*k*478*8/10/blobSize)
		txs := make([][]byte, n)
		for i := range txs {
			txs[i] = txtest.PFBTx(b, "bench", key, uint64(i), txtest.Namespace(b, byte(i)), 1, p, blobData(blobSize, byte(i)))
		}
		var proposal [][]byte
		b.Run(fmt.Sprintf("prepare/k=%d", k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if proposal, err = PrepareTxs(st, txs, 1<<30); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("process/k=%d", k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := ProcessTxs(st, proposal); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProcessProposalKZG measures ProcessTxs, every validator's work
// per block, for the largest block of 64 single-blob PayForBlobs that the
// default max square size (128) holds: blobs of 120,000 random bytes,
// 7,680,000 bytes (7.3 MiB) in all, each one KZG chunk (64 blobs of a
// full chunk, 130,044 bytes, do not fit: 59 do). "kzg" carries KZG
// commitments and proofs, verified in one batch of 64 chunks; "plain" is
// the same blobs without. Setting up computes 64 commitments and proofs
// (seconds).
func BenchmarkProcessProposalKZG(b *testing.B) {
	const n, size = 64, 120_000
	key, addr := txtest.Key(b, "bench")
	p := tx.DefaultParams()
	st := NewState(&Genesis{ChainID: "bench", Authority: addr, Params: p,
		Accounts: []GenesisAccount{{Address: addr, Balance: 1 << 62}}})
	plain, withKZG := make([][]byte, n), make([][]byte, n)
	for i := range n {
		blob := newBlob(b, byte(i), randomData(size, uint64(i)))
		plain[i], _ = txtest.BlobTx(b, "bench", key, uint64(i), 1, p, blob)
		withKZG[i], _ = txtest.KZGBlobTx(b, "bench", key, uint64(i), 1, p, blob)
	}
	for _, c := range []struct {
		name string
		txs  [][]byte
	}{{"kzg", withKZG}, {"plain", plain}} {
		proposal, err := PrepareTxs(st, c.txs, 1<<30)
		if err != nil {
			b.Fatal(err)
		}
		if len(proposal) != n+1 {
			b.Fatalf("%s: the square holds %d of the %d transactions", c.name, len(proposal)-1, n)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(n * size)
			for b.Loop() {
				if err := ProcessTxs(st, proposal); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProposerRound measures one height of the ABCI calls for a
// nearly full square of 1.9 MB blobs (one PayForBlobs each, every
// transaction CheckTx-ed first, as the mempool does): four at k = 128,
// sixteen at k = 256. "proposer" is PrepareProposal, ProcessProposal of
// that same proposal and FinalizeBlock on one application; "validator" is
// ProcessProposal and FinalizeBlock on another application that only saw
// the transactions in CheckTx. Nothing is committed, so every iteration
// runs the same height.
func BenchmarkProposerRound(b *testing.B) {
	for _, c := range []struct{ k, n int }{{128, 4}, {256, 16}} {
		b.Run(fmt.Sprintf("k=%d", c.k), func(b *testing.B) { benchmarkProposerRound(b, c.k, c.n) })
	}
}

func benchmarkProposerRound(b *testing.B, k, n int) {
	const size = 1_900_000
	key, addr := txtest.Key(b, "bench")
	p := tx.DefaultParams()
	p.MaxSquareSize = k
	g := &Genesis{ChainID: "bench", Authority: addr, Params: p,
		Validators: []GenesisValidator{{PubKey: ed25519.GenPrivKeyFromSecret([]byte("v")).PubKey().Bytes(), Power: 10}},
		Accounts:   []GenesisAccount{{Address: addr, Balance: 1 << 62}}}
	gb, err := json.Marshal(g)
	if err != nil {
		b.Fatal(err)
	}
	txs := make([][]byte, n)
	for i := range txs {
		txs[i] = txtest.PFBTx(b, "bench", key, uint64(i), txtest.Namespace(b, byte(i+1)), 1, p, randomData(size, uint64(i)))
	}
	ctx := context.Background()
	newApp := func() *App {
		a, err := New(badgertest.Open(b), nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.InitChain(ctx, &abci.RequestInitChain{ChainId: "bench", AppStateBytes: gb, InitialHeight: 1}); err != nil {
			b.Fatal(err)
		}
		for _, raw := range txs {
			if res, err := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New}); err != nil || res.Code != tx.CodeOK {
				b.Fatalf("CheckTx: %v %+v", err, res)
			}
		}
		return a
	}
	round := func(b *testing.B, a *App, proposal [][]byte) {
		res, err := a.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: proposal, Height: 1})
		if err != nil || res.Status != abci.ResponseProcessProposal_ACCEPT {
			b.Fatalf("ProcessProposal: %v %v", err, res)
		}
		fin, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Txs: proposal, Height: 1})
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range fin.TxResults {
			if r.Code != tx.CodeOK {
				b.Fatalf("tx %d: %s", i, r.Log)
			}
		}
	}
	proposer, validator := newApp(), newApp()
	var proposal [][]byte
	b.Run("proposer", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(n * size))
		for b.Loop() {
			res, err := proposer.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: txs, MaxTxBytes: 128 << 20, Height: 1})
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Txs) != n+1 {
				b.Fatalf("the proposal holds %d of the %d transactions", len(res.Txs)-1, n)
			}
			proposal = res.Txs
			round(b, proposer, proposal)
		}
	})
	b.Run("validator", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(n * size))
		for b.Loop() {
			round(b, validator, proposal)
		}
	})
}
