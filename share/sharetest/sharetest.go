// Package sharetest reads the real Celestia blocks of testdata/celestia
// for the tests that rebuild their squares (share's square builder, eds's
// extension). It is imported by tests only.
package sharetest

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// RealBlock is a real block's transactions and what its header says of
// them.
type RealBlock struct {
	Path       string // the file it was read from
	Height     int64
	AppVersion int
	// DataHash is the header's data_hash in hex, as in the file.
	DataHash string
	// SquareSize is the square's width, or 0 or less when the file does
	// not give it.
	SquareSize int
	Txs        [][]byte
}

// NumRealBlocks is how many blocks testdata/celestia holds: mainnet
// 10126899 (app v6) and Mocha 10383867 (app v7).
const NumRealBlocks = 2

// RealBlocks reads the blocks *.json in dir (the repository's
// testdata/celestia, relative to the test's package), in the order of
// their names. It fails t if it cannot, or if it does not find
// NumRealBlocks of them, so that a block lost from testdata is noticed.
func RealBlocks(t testing.TB, dir string) []RealBlock {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) != NumRealBlocks {
		t.Fatalf("want the %d real blocks in %s, found %d (%v)", NumRealBlocks, dir, len(files), err)
	}
	blocks := make([]RealBlock, len(files))
	for i, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var blk struct {
			Height     int64    `json:"height"`
			AppVersion int      `json:"app_version"`
			DataHash   string   `json:"data_hash"`
			SquareSize int      `json:"square_size"`
			Txs        []string `json:"txs"`
		}
		if err := json.Unmarshal(raw, &blk); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		txs := make([][]byte, len(blk.Txs))
		for j, s := range blk.Txs {
			if txs[j], err = base64.StdEncoding.DecodeString(s); err != nil {
				t.Fatalf("%s: transaction %d: %v", f, j, err)
			}
		}
		blocks[i] = RealBlock{Path: f, Height: blk.Height, AppVersion: blk.AppVersion, DataHash: blk.DataHash, SquareSize: blk.SquareSize, Txs: txs}
	}
	return blocks
}
