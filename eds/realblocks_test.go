package eds_test

import (
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/share/sharetest"
)

// TestRealBlocks rebuilds two real Celestia blocks (mainnet 10126899, app
// v6, k = 8; Mocha 10383867, app v7, k = 2) from their transactions with
// our square builder, extends them with our eds, and checks every share and
// root against rsmt2d and the data root against the block header's
// data_hash.
func TestRealBlocks(t *testing.T) {
	for _, blk := range sharetest.RealBlocks(t, "../testdata/celestia") {
		t.Run(filepath.Base(blk.Path), func(t *testing.T) {
			sq, err := share.Construct(blk.Txs, share.DefaultMaxSquareSize)
			if err != nil {
				t.Fatal(err)
			}
			dah := checkAgainstRSMT2D(t, sq.Shares)
			if got := hex.EncodeToString(dah.Hash()); !strings.EqualFold(got, blk.DataHash) {
				t.Fatalf("data root %s, header data_hash %s", got, blk.DataHash)
			}
		})
	}
}
