package share_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	gsmerkle "github.com/celestiaorg/go-square/merkle"
	"github.com/celestiaorg/go-square/v3/inclusion"
	gsshare "github.com/celestiaorg/go-square/v3/share"
	"github.com/datamesh/mesh-node/share"
)

const knownCommitment = "5bf868c8a4ec488673460426f94127d035554c0537be2ae31f609373911dbd36"

func TestCommitmentKnownAnswer(t *testing.T) {
	ns, err := share.NewV0Namespace([]byte("oracle-ns1"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := share.NewBlob(ns, []byte("hello"), share.ShareVersionZero, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Commitment()
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(c); got != knownCommitment {
		t.Fatalf("commitment %s, want %s", got, knownCommitment)
	}
}

// commitmentSizes returns the blob sizes to check for a share version: 1,
// the first-share capacity ±1, and every share boundary (first-share
// capacity + 482·n, ±1) up to 2 MiB.
func commitmentSizes(version uint8) []int {
	first := share.FirstSparseShareContentSize
	if version == share.ShareVersionOne {
		first = share.FirstSparseShareContentSizeWithSigner
	}
	sizes := []int{1, 2, 458, 459, 478, 479}
	const limit = 2 << 20
	for n := 0; ; n++ {
		b := first + n*share.ContinuationSparseShareContentSize
		if b+1 > limit {
			break
		}
		sizes = append(sizes, b-1, b, b+1)
	}
	return sizes
}

// goldenCommitmentDigests are SHA-256 digests over (size as uint32 BE ||
// commitment) for every size of commitmentSizes, with the data of
// commitmentData, as computed by go-square's inclusion.CreateCommitment at
// version goldenGoSquare (recorded by a run in which every size matched
// go-square live; -commitment.live repeats that).
var goldenCommitmentDigests = map[uint8]string{
	share.ShareVersionZero: "58d5f05c491c65b927ae2729826e3b1c96f5ff4e2f676e2e5e8880fdd4a758f3",
	share.ShareVersionOne:  "f82c8d65a9894da828be1fa171f3b92155cf324595c3db11ec2cb9d71ae5fd19",
}

// goldenGoSquare is the go-square version goldenCommitmentDigests were
// recorded with. With another version in the build, the sweep runs
// go-square at every size.
const (
	goSquarePath   = "github.com/celestiaorg/go-square/v3"
	goldenGoSquare = "v3.0.2"
)

var liveCommitments = flag.Bool("commitment.live", false,
	"TestCommitmentMatchesReference: run go-square at every size rather than checking most sizes against goldenCommitmentDigests")

// goSquareVersion returns the version of go-square that go.mod requires,
// or "" if it does not say or replaces the module (a test binary carries
// no dependency versions in its build info).
func goSquareVersion(t *testing.T) string {
	t.Helper()
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Logf("reading go.mod: %v", err)
		return ""
	}
	version := ""
	for line := range strings.Lines(string(mod)) {
		f := strings.Fields(line)
		switch {
		case slices.Contains(f, "=>") && slices.Contains(f, goSquarePath):
			return "" // replaced
		case len(f) >= 2 && f[0] == goSquarePath:
			version = f[1]
		}
	}
	return version
}

// commitmentData returns the deterministic blob data the sweep slices
// (math/rand/v2's PCG output is specified, so it is stable).
func commitmentData() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 2<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	return data
}

// liveOracleSize reports whether the sweep runs go-square live at the i-th
// size: every size up to 64 shares and, beyond, the three sizes of every
// every-th share boundary.
func liveOracleSize(i, size, every int) bool {
	return size <= 64*share.ContinuationSparseShareContentSize || (i/3)%every == 0
}

// refCommitment is go-square's commitment of b.
func refCommitment(b *share.Blob) ([]byte, error) {
	ns := b.Namespace()
	rns, err := gsshare.NewNamespaceFromBytes(ns[:])
	if err != nil {
		return nil, err
	}
	rb, err := gsshare.NewBlob(rns, b.Data(), b.ShareVersion(), b.Signer())
	if err != nil {
		return nil, err
	}
	return inclusion.CreateCommitment(rb, gsmerkle.HashFromByteSlices, share.SubtreeRootThreshold)
}

// TestCommitmentMatchesReference checks Commitment at every share boundary
// up to 2 MiB (and ±1 byte), for share versions 0 and 1, against go-square's
// inclusion.CreateCommitment: every size is computed, a subset is compared
// with go-square live (every size up to 64 shares and every 16th share
// boundary beyond; with -short every 64th), and all of them through a
// digest of the commitments against goldenCommitmentDigests, which holds
// go-square's. A digest that differs, a go-square version other than the
// golden's in go.mod, or -commitment.live runs go-square at every size, and a
// mismatch then names the sizes. Under the race detector with -short only
// every 16th boundary is checked, all live. Most of the time goes into
// SHA-256: our side hashes about 27 GB of blob data over both versions,
// go-square as much again over the sizes it runs at.
func TestCommitmentMatchesReference(t *testing.T) {
	data := commitmentData()
	ns, _ := share.NewV0Namespace([]byte("commitment"))
	signer := bytes.Repeat([]byte{0xAB}, share.SignerSize)
	gsVersion := goSquareVersion(t)
	allLive := *liveCommitments || gsVersion != goldenGoSquare
	if allLive {
		t.Logf("go-square %q (golden from %s), -commitment.live=%v: every size runs go-square live", gsVersion, goldenGoSquare, *liveCommitments)
	}
	every := 16
	if testing.Short() {
		every = 64
	}
	for _, version := range []uint8{share.ShareVersionZero, share.ShareVersionOne} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			t.Parallel()
			var sg []byte
			if version == share.ShareVersionOne {
				sg = signer
			}
			sizes := commitmentSizes(version)
			allLive, raceShort := allLive, false
			if raceEnabled && testing.Short() && !allLive {
				// The race detector makes the sweep take minutes; check
				// every 16th share boundary, all of them live.
				var sub []int
				for i, size := range sizes {
					if (i/3)%16 == 0 {
						sub = append(sub, size)
					}
				}
				sizes = sub
				allLive, raceShort = true, true
			}
			blob := func(i int) (*share.Blob, error) { return share.NewBlob(ns, data[:sizes[i]], version, sg) }

			got := make([][]byte, len(sizes))
			live := make([]bool, len(sizes)) // compared with go-square
			errs := make([]error, len(sizes))
			sweep(len(sizes), func(i int) {
				b, err := blob(i)
				if err == nil {
					got[i], err = b.Commitment()
				}
				if err != nil {
					errs[i] = err
					return
				}
				if allLive || liveOracleSize(i, sizes[i], every) {
					live[i] = true
					errs[i] = compareWithReference(b, got[i])
				}
			})
			reportSizes(t, sizes, errs)

			h := sha256.New()
			for i, size := range sizes {
				h.Write(binary.BigEndian.AppendUint32(nil, uint32(size)))
				h.Write(got[i])
			}
			digest, golden := hex.EncodeToString(h.Sum(nil)), goldenCommitmentDigests[version]
			nLive := 0
			for _, l := range live {
				if l {
					nLive++
				}
			}
			switch {
			case raceShort:
				t.Logf("race detector: %d sizes checked live against go-square", len(sizes))
				return
			case digest == golden && gsVersion != "" && gsVersion != goldenGoSquare:
				t.Fatalf("all %d sizes match go-square %s live and the golden digest: set goldenGoSquare to %s", len(sizes), gsVersion, gsVersion)
			case digest == golden:
				t.Logf("%d sizes: %d compared with go-square live, all through the golden digest", len(sizes), nLive)
				return
			}
			if nLive < len(sizes) {
				// Find the sizes: go-square at the rest.
				sweep(len(sizes), func(i int) {
					if live[i] {
						return
					}
					b, err := blob(i)
					if err == nil {
						err = compareWithReference(b, got[i])
					}
					errs[i] = err
				})
				reportSizes(t, sizes, errs)
			}
			t.Fatalf("all %d sizes match go-square %s live, but their digest is %s, not the golden %s: "+
				"if the sweep or go-square changed, record the digest and goldenGoSquare", len(sizes), gsVersion, digest, golden)
		})
	}
}

// compareWithReference returns an error unless got is go-square's
// commitment of b.
func compareWithReference(b *share.Blob, got []byte) error {
	want, err := refCommitment(b)
	if err != nil || !bytes.Equal(got, want) {
		return fmt.Errorf("commitment %x, go-square %x (%v)", got, want, err)
	}
	return nil
}

// sweep calls f(i) for i in [0, n) on GOMAXPROCS goroutines, the highest
// i (the largest blob) first so that no worker is left with a long tail.
func sweep(n int, f func(i int)) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range work {
				f(i)
			}
		})
	}
	for i := n - 1; i >= 0; i-- {
		work <- i
	}
	close(work)
	wg.Wait()
}

// reportSizes fails t with the first ten sizes whose errs entry is set.
func reportSizes(t *testing.T, sizes []int, errs []error) {
	t.Helper()
	failed := 0
	for i, err := range errs {
		if err != nil {
			if failed++; failed <= 10 {
				t.Errorf("size %d: %v", sizes[i], err)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d sizes failed", failed, len(sizes))
	}
}
