package share_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	gsmerkle "github.com/celestiaorg/go-square/merkle"
	"github.com/celestiaorg/go-square/v3/inclusion"
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
// commitmentData, as computed by go-square v3.0.2 inclusion.CreateCommitment.
// Only -short runs rely on them; a full run checks every size live and
// logs the digest.
var goldenCommitmentDigests = map[uint8]string{
	share.ShareVersionZero: "58d5f05c491c65b927ae2729826e3b1c96f5ff4e2f676e2e5e8880fdd4a758f3",
	share.ShareVersionOne:  "f82c8d65a9894da828be1fa171f3b92155cf324595c3db11ec2cb9d71ae5fd19",
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

// liveOracleSize reports whether the sweep also runs go-square live at a
// size: every size up to 64 shares and every 64th share boundary beyond.
func liveOracleSize(i, size int) bool {
	return size <= 64*share.ContinuationSparseShareContentSize || (i/3)%64 == 0
}

// TestCommitmentMatchesReference checks Commitment at every share boundary
// up to 2 MiB (and ±1 byte), for share versions 0 and 1, against go-square's
// inclusion.CreateCommitment. A full run (make test) compares every size
// live. With -short, every size is computed but only a subset is compared
// live, the rest through a digest of go-square's answers; with -short under
// the race detector only every 16th boundary is checked, all live. Sizes are spread over GOMAXPROCS workers; most
// of the time goes into SHA-256 over ~27 GB of blob data.
func TestCommitmentMatchesReference(t *testing.T) {
	fullOracle := !testing.Short()
	data := commitmentData()
	ns, _ := share.NewV0Namespace([]byte("commitment"))
	signer := bytes.Repeat([]byte{0xAB}, share.SignerSize)
	for _, version := range []uint8{share.ShareVersionZero, share.ShareVersionOne} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			var sg []byte
			if version == share.ShareVersionOne {
				sg = signer
			}
			sizes := commitmentSizes(version)
			if raceEnabled && !fullOracle {
				// The race detector makes the full sweep take minutes;
				// check every 16th share boundary, all of them live.
				var sub []int
				for i, size := range sizes {
					if (i/3)%16 == 0 {
						sub = append(sub, size)
					}
				}
				sizes = sub
			}
			got := make([][]byte, len(sizes))
			errs := make([]error, len(sizes))
			work := make(chan int)
			var wg sync.WaitGroup
			for range runtime.GOMAXPROCS(0) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range work {
						size := sizes[i]
						b, err := share.NewBlob(ns, data[:size], version, sg)
						if err != nil {
							errs[i] = err
							continue
						}
						if got[i], err = b.Commitment(); err != nil {
							errs[i] = err
							continue
						}
						if fullOracle || raceEnabled || liveOracleSize(i, size) {
							want, err := inclusion.CreateCommitment(refBlob(t, b), gsmerkle.HashFromByteSlices, share.SubtreeRootThreshold)
							if err != nil || !bytes.Equal(got[i], want) {
								errs[i] = fmt.Errorf("commitment %x, go-square %x (%v)", got[i], want, err)
							}
						}
					}
				}()
			}
			for i := range sizes {
				work <- i
			}
			close(work)
			wg.Wait()
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
			h := sha256.New()
			for i, size := range sizes {
				h.Write(binary.BigEndian.AppendUint32(nil, uint32(size)))
				h.Write(got[i])
			}
			digest := hex.EncodeToString(h.Sum(nil))
			if raceEnabled && !fullOracle {
				t.Logf("race detector: %d sizes checked live against go-square", len(sizes))
				return
			}
			if fullOracle {
				t.Logf("all %d sizes match go-square live; digest %s", len(sizes), digest)
			}
			if digest != goldenCommitmentDigests[version] {
				t.Fatalf("digest over %d commitments is %s, go-square's is %s; run without -short to find the sizes",
					len(sizes), digest, goldenCommitmentDigests[version])
			}
		})
	}
}
