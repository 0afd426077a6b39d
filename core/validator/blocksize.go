package validator

import (
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/share"
)

// BlockMaxBytes returns the CometBFT block max_bytes of a chain whose
// squares are at most maxSquareSize wide: room for the transactions of a
// full square, whose share bytes (maxSquareSize² × share.ShareSize) they
// exceed by at most a quarter (a blob's transaction carries its namespace,
// its signed PayForBlobs and framing beside the data a share holds), plus
// 1 MiB for the header, the last commit and evidence; never less than
// CometBFT's default (21 MiB, which a square of 128 fits) nor more than
// its hard limit, types.MaxBlockSizeBytes (100 MiB).
//
// The cap binds at 512 only: a full 512 square is 128 MiB of shares, so a
// chain of max_square_size 512 makes squares 512 wide holding up to about
// 100 MiB of transactions, not full ones; the proposer stops adding
// transactions where CometBFT's limit says.
func BlockMaxBytes(maxSquareSize int) int64 {
	k := int64(maxSquareSize)
	n := k*k*share.ShareSize*5/4 + 1<<20
	return min(max(n, cmttypes.DefaultBlockParams().MaxBytes), cmttypes.MaxBlockSizeBytes)
}

// checkSizes checks the MaxSquareSize and MaxBlobSize of InitOptions or
// TestnetOptions: 0 (the default) or, for the square, a power of two up to
// share.SquareSizeUpperBound and, for blobs, a size up to
// share.MaxBlobSize.
func checkSizes(k, blobSize int) error {
	if k != 0 && (!share.IsPowerOfTwo(k) || k > share.SquareSizeUpperBound) {
		return fmt.Errorf("validator: max square size %d: want a power of two from 1 to %d", k, share.SquareSizeUpperBound)
	}
	if blobSize < 0 || blobSize > share.MaxBlobSize {
		return fmt.Errorf("validator: max blob size %d: want 1 to %d bytes", blobSize, share.MaxBlobSize)
	}
	return nil
}

// genesisParams returns the default params with max_square_size k and
// max_blob_size blobSize, where not 0.
func genesisParams(k, blobSize int) tx.Params {
	p := tx.DefaultParams()
	if k != 0 {
		p.MaxSquareSize = k
	}
	if blobSize != 0 {
		p.MaxBlobSize = blobSize
	}
	return p
}
