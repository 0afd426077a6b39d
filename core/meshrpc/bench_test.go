package meshrpc_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/meshrpc"
	"github.com/datamesh/mesh-node/share"
)

// BenchmarkFetchBlock fetches one block of seven 1 MB blobs (a k = 128
// square) from a real core node as the follower does: /block, /commit and
// /validators as JSON, or the binary block route.
func BenchmarkFetchBlock(b *testing.B) {
	if testing.Short() {
		b.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const blobs = 7
	var names []string
	for i := range blobs {
		names = append(names, fmt.Sprint("k", i))
	}
	g := coretest.Genesis(b, "meshrpc-bench", names...)
	v := coretest.NewValidator(b)
	coretest.WriteGenesis(b, g, v)
	v.Config.Mempool.MaxTxBytes = 4 << 20
	v.Config.Consensus.TimeoutCommit = 2 * time.Second // room to gather the blobs in one block
	v.Start(nil)
	c := v.Client()
	coretest.WaitHeight(ctx, b, c, 1)
	ns, err := share.NewV0Namespace(bytes.Repeat([]byte{9}, share.NamespaceVersionZeroIDSize))
	if err != nil {
		b.Fatal(err)
	}
	var hashes [][]byte
	for i, name := range names {
		k, _ := coretest.Key(b, name)
		raw := coretest.PFBTx(b, g.ChainID, k, 0, g.Params, []coretest.Blob{{Namespace: ns, Data: bytes.Repeat([]byte{byte(i)}, 1_000_000)}})
		res, err := http.Post(v.RPCAddr+meshrpc.BroadcastTxPath, "application/octet-stream", bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("broadcast: %s", res.Status)
		}
		hashes = append(hashes, cmttypes.Tx(raw).Hash())
	}
	var height int64
	for _, h := range hashes {
		coretest.WaitUntil(ctx, b, "the blobs to be included", func() bool {
			res, err := http.Get(v.RPCAddr + meshrpc.TxPath + "?hash=" + hex.EncodeToString(h))
			if err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode == http.StatusOK
		})
		r, err := c.Tx(ctx, h, false)
		if err != nil {
			b.Fatal(err)
		}
		height = max(height, r.Height)
	}
	coretest.WaitHeight(ctx, b, c, height+1)
	blk, err := meshrpc.FetchBlock(ctx, http.DefaultClient, v.RPCAddr, height, 100)
	if err != nil {
		b.Fatal(err)
	}
	size := int64(blk.Block.Size())
	b.Logf("block %d: %d transactions, %d bytes", height, len(blk.Block.Txs), size)
	b.Run("json", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Block(ctx, &height); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Commit(ctx, &height); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Validators(ctx, &height, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("binary", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := meshrpc.FetchBlock(ctx, http.DefaultClient, v.RPCAddr, height, 100); err != nil {
				b.Fatal(err)
			}
		}
	})
}
