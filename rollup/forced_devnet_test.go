package rollup_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/rollup"
	"github.com/datamesh/mesh-node/rollup/meshapi"
)

// testForcedInclusion: a forced transaction posted with blob.Submit,
// next to junk, is included by the sequencer within the epoch and the
// follower agrees; a sequencer that ignores the forced namespace makes
// the follower halt at the deadline with the evidence; a block claiming
// a forced transaction that is not pending is rejected.
func testForcedInclusion(t *testing.T, ctx context.Context, lc, fc *client.Client, fullURL string) {
	post := meshapi.Submitter{C: lc}

	t.Run("Included", func(t *testing.T) {
		key := keyFrom("forced-sequencer")
		g := testGenesis(t, ctx, lc, "kv-forced", "kvforced", key)
		g.ForcedEpoch = 5
		n := openNode(t, t.TempDir(), g)
		seq := startSequencer(t, ctx, rollup.SequencerConfig{Genesis: g, Key: key, Executor: n.exec, Store: n.store,
			DA: post, Headers: meshapi.Headers{C: lc}, Data: meshapi.Data{C: fc, Name: fullURL}})

		tx := []byte(`{"type":"set","key":"forced","value":"in"}`)
		env, err := rollup.EncodeForcedTx(tx)
		if err != nil {
			t.Fatal(err)
		}
		// Junk around it: not an envelope, an empty envelope, a block.
		d, err := post.Submit(ctx, g.ForcedInclusionNamespace(), [][]byte{[]byte("junk"), []byte("DMFX\x01"), env, []byte("DMRB\x01")})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(ctx, t, "the sequencer to post a block", func() bool { return seq.Status().Posted >= 1 })
		sb, err := n.store.Block(1)
		if err != nil {
			t.Fatal(err)
		}
		if sb.Block.Header.ForcedTxs != 1 || len(sb.Block.Txs) != 1 || !bytes.Equal(sb.Block.Txs[0], tx) {
			t.Fatalf("block 1: %d forced of %q; want the forced tx alone", sb.Block.Header.ForcedTxs, sb.Block.Txs)
		}
		if sb.DAHeight > d+g.ForcedInclusionEpoch() {
			t.Fatalf("block 1 posted at DA height %d, the forced tx at %d: past the epoch", sb.DAHeight, d)
		}
		t.Logf("forced tx posted at DA height %d, included in block 1 posted at %d", d, sb.DAHeight)

		folNode := openNode(t, t.TempDir(), g)
		fol, logs := startLoggedFollower(t, ctx, g, folNode, lc, fc, fullURL)
		deadline := d + g.ForcedInclusionEpoch() + 1
		waitFor(ctx, t, "the follower to read past the forced tx's deadline", func() bool {
			return fol.Status().DAHeight >= deadline || fol.Status().Halted != nil
		})
		fs := fol.Status()
		if fs.Halted != nil || fs.Height != 1 || fs.ForcedPending != 0 || !bytes.Equal(fs.StateRoot, sb.Block.Header.StateRoot) {
			t.Fatalf("follower: %+v; want block 1, root %X, nothing pending", fs, sb.Block.Header.StateRoot)
		}
		if v := getFoo(t, ctx, folNode, fs.StateRoot, "forced"); v != "in" {
			t.Fatalf("follower: get forced = %q, want in", v)
		}
		if c := strings.Count(logs.String(), "ignoring a blob of the forced namespace"); c != 3 {
			t.Fatalf("the follower logged %d ignored forced blobs, want 3:\n%s", c, logs)
		}
	})

	t.Run("Censored", func(t *testing.T) {
		key := keyFrom("censoring-sequencer")
		g := testGenesis(t, ctx, lc, "kv-censor", "kvcensor", key)
		g.ForcedEpoch = 2
		n := openNode(t, t.TempDir(), g)
		// No Headers or Data: this sequencer never reads the forced namespace.
		startSequencer(t, ctx, rollup.SequencerConfig{Genesis: g, Key: key, Executor: n.exec, Store: n.store, DA: post})
		folNode := openNode(t, t.TempDir(), g)
		fol := startFollower(t, ctx, g, folNode, meshapi.Headers{C: lc}, meshapi.Data{C: fc, Name: fullURL})

		tx := []byte(`{"type":"set","key":"censored","value":"yes"}`)
		env, err := rollup.EncodeForcedTx(tx)
		if err != nil {
			t.Fatal(err)
		}
		d, err := post.Submit(ctx, g.ForcedInclusionNamespace(), [][]byte{env})
		if err != nil {
			t.Fatal(err)
		}
		// The sequencer keeps making blocks, without the forced tx.
		if err := n.exec.SubmitTx(ctx, []byte(`{"type":"set","key":"other","value":"tx"}`)); err != nil {
			t.Fatal(err)
		}
		waitFor(ctx, t, "the follower to halt", func() bool { return fol.Status().Halted != nil })
		fs := fol.Status()
		ev := fs.Halted
		if ev.DAHeight != d+3 || ev.ForcedDAHeight != d || ev.ForcedDeadline != d+2 || !bytes.Equal(ev.ForcedTx, tx) || ev.Block != nil ||
			!strings.Contains(ev.Reason, "did not include a forced transaction by its deadline") {
			t.Fatalf("evidence %s; want the forced tx of DA height %d, deadline %d, detected at %d", ev, d, d+2, d+3)
		}
		if fs.DAHeight != d+2 {
			t.Fatalf("halted follower read to DA height %d, want %d", fs.DAHeight, d+2)
		}
		t.Logf("follower halted: %s", ev)
	})

	t.Run("NotPending", func(t *testing.T) {
		key := keyFrom("lying-sequencer")
		g := testGenesis(t, ctx, lc, "kv-lying", "kvlying", key)
		tx := []byte(`{"type":"set","key":"a","value":"b"}`)
		root := sha256.Sum256([]byte("any root: the forced check comes first"))
		blk := signedBlock(t, key, rollup.Header{ChainID: g.ChainID, Height: 1, Time: g.Time.Add(time.Second),
			ParentHash: make([]byte, rollup.HashSize), StateRoot: root[:], ForcedTxs: 1}, [][]byte{tx})
		d, err := post.Submit(ctx, g.Namespace, [][]byte{blk})
		if err != nil {
			t.Fatal(err)
		}
		fol := startFollower(t, ctx, g, openNode(t, t.TempDir(), g), meshapi.Headers{C: lc}, meshapi.Data{C: fc, Name: fullURL})
		waitFor(ctx, t, "the follower to halt", func() bool { return fol.Status().Halted != nil })
		ev := fol.Status().Halted
		if ev.DAHeight != d || ev.Height != 1 || !bytes.Equal(ev.Block, blk) || !strings.Contains(ev.Reason, "claims 1 forced transactions, 0 are pending") {
			t.Fatalf("evidence %s; want block 1 at DA height %d claiming a forced tx never posted", ev, d)
		}
	})

	t.Run("OutOfOrder", func(t *testing.T) {
		key := keyFrom("reordering-sequencer")
		g := testGenesis(t, ctx, lc, "kv-reorder", "kvreorder", key)
		txA, txB := []byte(`{"type":"set","key":"a","value":"1"}`), []byte(`{"type":"set","key":"b","value":"2"}`)
		envA, _ := rollup.EncodeForcedTx(txA)
		envB, _ := rollup.EncodeForcedTx(txB)
		fd, err := post.Submit(ctx, g.ForcedInclusionNamespace(), [][]byte{envA, envB})
		if err != nil {
			t.Fatal(err)
		}
		root := sha256.Sum256([]byte("any root: the forced check comes first"))
		blk := signedBlock(t, key, rollup.Header{ChainID: g.ChainID, Height: 1, Time: g.Time.Add(time.Second),
			ParentHash: make([]byte, rollup.HashSize), StateRoot: root[:], ForcedTxs: 2}, [][]byte{txB, txA})
		d, err := post.Submit(ctx, g.Namespace, [][]byte{blk})
		if err != nil {
			t.Fatal(err)
		}
		fol := startFollower(t, ctx, g, openNode(t, t.TempDir(), g), meshapi.Headers{C: lc}, meshapi.Data{C: fc, Name: fullURL})
		waitFor(ctx, t, "the follower to halt", func() bool { return fol.Status().Halted != nil })
		ev := fol.Status().Halted
		if ev.DAHeight != d || ev.Height != 1 || !bytes.Equal(ev.ForcedTx, txA) || ev.ForcedDAHeight != fd ||
			ev.ForcedDeadline != fd+rollup.DefaultForcedInclusionEpoch || !strings.Contains(ev.Reason, "not the next pending one") {
			t.Fatalf("evidence %s (forced tx %q of %d, deadline %d); want block 1 at DA height %d, expecting the forced tx a of DA height %d",
				ev, ev.ForcedTx, ev.ForcedDAHeight, ev.ForcedDeadline, d, fd)
		}
	})
}

// startSequencer starts a sequencer of cfg with the devnet tests' block
// time and retries.
func startSequencer(t *testing.T, ctx context.Context, cfg rollup.SequencerConfig) *rollup.Sequencer {
	t.Helper()
	cfg.BlockTime, cfg.RetryMin, cfg.RetryMax = 200*time.Millisecond, 100*time.Millisecond, time.Second
	seq, err := rollup.NewSequencer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := seq.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, seq) })
	return seq
}

// startLoggedFollower starts a follower of n over the light node's
// headers and the full node's data, logging to the buffer it returns.
func startLoggedFollower(t *testing.T, ctx context.Context, g *rollup.Genesis, n *node, lc, fc *client.Client, fullURL string) (*rollup.Follower, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	fol, err := rollup.NewFollower(rollup.FollowerConfig{Genesis: g, Executor: n.exec, Store: n.store,
		Headers: meshapi.Headers{C: lc}, Data: meshapi.Data{C: fc, Name: fullURL}, RetryMin: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := fol.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, fol) })
	return fol, logs
}
