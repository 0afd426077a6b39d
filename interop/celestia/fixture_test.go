package celestia_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/celestiaorg/celestia-app/v9/pkg/da"
	"github.com/celestiaorg/celestia-app/v9/pkg/wrapper"
	"github.com/celestiaorg/celestia-node/blob"
	"github.com/celestiaorg/celestia-node/header"
	"github.com/celestiaorg/celestia-node/state"
	libshare "github.com/celestiaorg/go-square/v4/share"
	"github.com/celestiaorg/rsmt2d"
)

// posted is a height holding blobs submitted through celestia-node's client.
type posted struct {
	height uint64
	header *header.ExtendedHeader
	blobs  []*blob.Blob // as submitted (no index)
	// big spans several rows of the square, so its proofs have more than
	// one NMT proof and its commitment several subtree roots.
	big *blob.Blob
}

var (
	postOnce sync.Once
	post     posted
	postErr  error
)

// postedBlobs submits, once per test binary, three blobs in two namespaces
// through the light node with celestia-node's client (blob.Submit), and
// waits until every node has the header of their height.
func postedBlobs(t *testing.T) posted {
	t.Helper()
	postOnce.Do(func() { post, postErr = submitBlobs() })
	if postErr != nil {
		t.Fatal(postErr)
	}
	return post
}

func submitBlobs() (posted, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := dialClient("light", "http")
	if err != nil {
		return posted{}, err
	}
	defer c.Close()
	nsA, err := libshare.NewV0Namespace([]byte("interop-a"))
	if err != nil {
		return posted{}, err
	}
	nsB, err := libshare.NewV0Namespace([]byte("interop-b"))
	if err != nil {
		return posted{}, err
	}
	bigData := make([]byte, 40_000) // about 85 shares: several rows of a k >= 16 square
	_, _ = rand.Read(bigData)
	var blobs []*blob.Blob
	for _, b := range []struct {
		ns   libshare.Namespace
		data []byte
	}{{nsA, []byte("hello from celestia-node's client")}, {nsB, []byte("second namespace")}, {nsA, bigData}} {
		bl, err := blob.NewBlobV0(b.ns, b.data)
		if err != nil {
			return posted{}, err
		}
		blobs = append(blobs, bl)
	}
	height, err := c.Blob.Submit(ctx, blobs, txConfig())
	if err != nil {
		return posted{}, fmt.Errorf("blob.Submit through celestia-node's client: %w", err)
	}
	p := posted{height: height, blobs: blobs, big: blobs[2]}
	for _, mode := range modes {
		mc, err := dialClient(mode, "http")
		if err != nil {
			return posted{}, err
		}
		h, err := mc.Header.WaitForHeight(ctx, height)
		mc.Close()
		if err != nil {
			return posted{}, fmt.Errorf("%s: WaitForHeight(%d): %w", mode, height, err)
		}
		p.header = h
	}
	return p, nil
}

// dataRoot is the data root of h: the hash of its DAH, computed by
// celestia-app's da package.
func dataRoot(h *header.ExtendedHeader) []byte {
	return h.DAH.Hash()
}

// checkEDS extends the ODS of eds with rsmt2d and celestia-app's NMT
// wrapper and checks that its DAH, computed by celestia-app's da package,
// is h's, and that the served parity is the recomputed one.
func checkEDS(t *testing.T, h *header.ExtendedHeader, eds *rsmt2d.ExtendedDataSquare) {
	t.Helper()
	k := eds.Width() / 2
	ext, err := rsmt2d.ComputeExtendedDataSquare(eds.FlattenedODS(), rsmt2d.NewLeoRSCodec(), wrapper.NewConstructor(uint64(k)))
	if err != nil {
		t.Fatalf("extend the served ODS: %v", err)
	}
	dah, err := da.NewDataAvailabilityHeader(ext)
	if err != nil {
		t.Fatalf("DAH of the served ODS: %v", err)
	}
	if !dah.Equals(h.DAH) {
		t.Fatalf("height %d: the served ODS extends to DAH %X, the header's is %X", h.Height(), dah.Hash(), h.DAH.Hash())
	}
	got, want := eds.Flattened(), ext.Flattened()
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("height %d: served EDS cell %d differs from the recomputed extension", h.Height(), i)
		}
	}
}

// txConfig is celestia-node's default transaction configuration with a
// maximum gas price DataMesh's prices fit under. Its default maximum,
// 0.4 (100 times Celestia's minimum of 0.004 utia per gas), is below
// DataMesh's minimum of 1 umesh per gas: gas prices on DataMesh are whole
// umesh (docs/api.md). TestDefaultTxConfig checks what the default gets.
func txConfig() *state.TxConfig {
	return state.NewTxConfig(state.WithMaxGasPrice(100))
}
