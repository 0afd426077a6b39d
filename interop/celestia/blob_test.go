package celestia_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/celestiaorg/celestia-node/api/rpc/client"
	"github.com/celestiaorg/celestia-node/blob"
	"github.com/celestiaorg/celestia-node/state"
	libshare "github.com/celestiaorg/go-square/v4/share"
)

func TestBlobModule(t *testing.T) {
	p := postedBlobs(t)
	width := len(p.header.DAH.RowRoots)
	// Proofs come from the full node and are checked by every node: a
	// rollup client takes a proof from one node and asks another.
	fullC := newClient(t, "full", "http")
	proofs := make([]*blob.Proof, len(p.blobs))
	for i, b := range p.blobs {
		pr, err := fullC.Blob.GetProof(testCtx(t), p.height, b.Namespace(), b.Commitment)
		if err != nil {
			t.Fatalf("full node: GetProof of blob %d: %v", i, err)
		}
		proofs[i] = pr
	}
	if len(*proofs[2]) < 2 {
		t.Fatalf("the big blob's proof has %d NMT proofs; it should span rows", len(*proofs[2]))
	}

	forEachClient(t, func(t *testing.T, mode string, c *client.Client) {
		ctx := testCtx(t)
		eds, err := c.Share.GetEDS(ctx, p.height)
		if err != nil {
			t.Fatalf("GetEDS: %v", err)
		}
		for i, want := range p.blobs {
			got, err := c.Blob.Get(ctx, p.height, want.Namespace(), want.Commitment)
			if err != nil {
				t.Fatalf("Get blob %d: %v", i, err)
			}
			if !bytes.Equal(got.Data(), want.Data()) || !bytes.Equal(got.Commitment, want.Commitment) || !got.Namespace().Equals(want.Namespace()) {
				t.Fatalf("Get blob %d: other blob", i)
			}
			// The index is the blob's first share in the EDS (row*2k+col).
			first := eds.GetCell(uint(got.Index()/width), uint(got.Index()%width))
			sh, err := libshare.NewShare(first)
			if err != nil || !sh.Namespace().Equals(want.Namespace()) || !sh.IsSequenceStart() {
				t.Fatalf("blob %d: index %d is not its first share (%v)", i, got.Index(), err)
			}

			pr, err := c.Blob.GetProof(ctx, p.height, want.Namespace(), want.Commitment)
			if err != nil {
				t.Fatalf("GetProof blob %d: %v", i, err)
			}
			for who, proof := range map[string]*blob.Proof{"own": pr, "full node's": proofs[i]} {
				ok, err := c.Blob.Included(ctx, p.height, want.Namespace(), proof, want.Commitment)
				if err != nil || !ok {
					t.Fatalf("Included(blob %d, %s proof) = %v, %v", i, who, ok, err)
				}
			}
			// A proof of another blob does not prove this one.
			other := proofs[(i+1)%len(proofs)]
			if ok, _ := c.Blob.Included(ctx, p.height, want.Namespace(), other, want.Commitment); ok {
				t.Fatalf("Included(blob %d) with another blob's proof = true", i)
			}

			cp, err := c.Blob.GetCommitmentProof(ctx, p.height, want.Namespace(), want.Commitment)
			if err != nil {
				t.Fatalf("GetCommitmentProof blob %d: %v", i, err)
			}
			if err := cp.Verify(dataRoot(p.header), want.Commitment); err != nil {
				t.Fatalf("blob %d: CommitmentProof.Verify: %v", i, err)
			}
			if err := cp.Verify(dataRoot(p.header), p.blobs[(i+1)%len(p.blobs)].Commitment); err == nil {
				t.Fatalf("blob %d: CommitmentProof verifies another blob's commitment", i)
			}
		}

		all, err := c.Blob.GetAll(ctx, p.height, []libshare.Namespace{p.blobs[1].Namespace(), p.blobs[0].Namespace()})
		if err != nil {
			t.Fatalf("GetAll: %v", err)
		}
		// celestia-node groups the answer by namespace, in the order asked.
		want := []*blob.Blob{p.blobs[1], p.blobs[0], p.blobs[2]}
		if len(all) != len(want) {
			t.Fatalf("GetAll: %d blobs, want %d", len(all), len(want))
		}
		for i := range want {
			if !bytes.Equal(all[i].Commitment, want[i].Commitment) {
				t.Fatalf("GetAll[%d]: other blob", i)
			}
		}

		// Submit through this node and this transport, then read it back.
		ns, err := libshare.NewV0Namespace([]byte("s-" + mode))
		if err != nil {
			t.Fatal(err)
		}
		b, err := blob.NewBlobV0(ns, []byte(fmt.Sprintf("submitted to the %s node", mode)))
		if err != nil {
			t.Fatal(err)
		}
		height, err := c.Blob.Submit(ctx, []*blob.Blob{b}, txConfig())
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		got, err := c.Blob.Get(ctx, height, ns, b.Commitment)
		if err != nil || !bytes.Equal(got.Data(), b.Data()) {
			t.Fatalf("Get after Submit at %d: %v", height, err)
		}
	})
}

// TestBlobSubscribe subscribes over WebSocket and receives the blob a later
// Submit posts, with the DA header rollup frameworks take the block time
// from.
func TestBlobSubscribe(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ctx := testCtx(t)
			c := newClient(t, mode, "ws")
			ns, err := libshare.NewV0Namespace([]byte("w-" + mode))
			if err != nil {
				t.Fatal(err)
			}
			sub, err := c.Blob.Subscribe(ctx, ns)
			if err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			b, err := blob.NewBlobV0(ns, []byte("for the subscriber"))
			if err != nil {
				t.Fatal(err)
			}
			height, err := newClient(t, "light", "http").Blob.Submit(ctx, []*blob.Blob{b}, txConfig())
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			for {
				select {
				case resp, ok := <-sub:
					if !ok {
						t.Fatal("subscription closed")
					}
					if resp.Header == nil {
						t.Fatalf("response at %d has no header", resp.Height)
					}
					if uint64(resp.Header.Height) != resp.Height {
						t.Fatalf("response height %d, header height %d", resp.Height, resp.Header.Height)
					}
					if resp.Header.Time.IsZero() || resp.Header.ChainID != dn.ChainID {
						t.Fatalf("header at %d: time %v, chain %q", resp.Height, resp.Header.Time, resp.Header.ChainID)
					}
					if resp.Height < height {
						continue // an empty height before ours
					}
					if resp.Height != height || len(resp.Blobs) != 1 || !bytes.Equal(resp.Blobs[0].Commitment, b.Commitment) {
						t.Fatalf("at %d (submitted at %d): %d blobs", resp.Height, height, len(resp.Blobs))
					}
					return
				case <-ctx.Done():
					t.Fatal(ctx.Err())
				}
			}
		})
	}
}

// TestDefaultTxConfig submits with celestia-node's default configuration,
// whose maximum gas price is below DataMesh's minimum: the node refuses
// before signing, naming both prices, and nothing is posted.
func TestDefaultTxConfig(t *testing.T) {
	ctx := testCtx(t)
	c := newClient(t, "light", "http")
	ns, err := libshare.NewV0Namespace([]byte("default"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := blob.NewBlobV0(ns, []byte("with NewTxConfig()"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Blob.Submit(ctx, []*blob.Blob{b}, state.NewTxConfig())
	if err == nil || !strings.Contains(err.Error(), "gas price above the maximum: gas price 1, the maximum is 0.4") {
		t.Fatalf("Submit with NewTxConfig(): %v; want the gas price refusal", err)
	}
	// With no configuration (null), the node's defaults apply.
	if _, err := c.Blob.Submit(ctx, []*blob.Blob{b}, nil); err != nil {
		t.Fatalf("Submit with a nil configuration: %v", err)
	}
}
