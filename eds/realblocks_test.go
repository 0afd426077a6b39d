package eds_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/share"
)

// TestRealBlocks rebuilds two real Celestia blocks (mainnet 10126899, app
// v6, k = 8; Mocha 10383867, app v7, k = 2) from their transactions with
// our square builder, extends them with our eds, and checks every share and
// root against rsmt2d and the data root against the block header's
// data_hash.
func TestRealBlocks(t *testing.T) {
	files, err := filepath.Glob("../testdata/celestia/*.json")
	if err != nil || len(files) != 2 {
		t.Fatalf("want the 2 real blocks in testdata/celestia, found %d (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var blk struct {
				DataHash string   `json:"data_hash"`
				Txs      []string `json:"txs"`
			}
			if err := json.Unmarshal(raw, &blk); err != nil {
				t.Fatal(err)
			}
			txs := make([][]byte, len(blk.Txs))
			for i, s := range blk.Txs {
				if txs[i], err = base64.StdEncoding.DecodeString(s); err != nil {
					t.Fatal(err)
				}
			}
			sq, err := share.Construct(txs, share.DefaultMaxSquareSize)
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
