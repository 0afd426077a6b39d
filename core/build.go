package core

import (
	"bytes"
	"errors"
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
)

// Errors of BuildHeader and the follower.
var (
	// ErrMalformedBlock is wrapped when a block fetched from the core node
	// cannot be turned into a valid extended header: no data root
	// transaction last, transactions that do not lay out in a square, a
	// square whose DAH is not the one the data root transaction commits to,
	// or a header that fails Validate (whose error is wrapped too).
	ErrMalformedBlock = errors.New("core: malformed block")
	// ErrChainIDMismatch is wrapped when the core node serves another chain
	// than the one the follower expects.
	ErrChainIDMismatch = errors.New("core: chain ID mismatch")
	// ErrSquareMismatch is wrapped by BuildHeaderFrom when the square it is
	// given is not the one the block's data root transaction commits to:
	// the block may be fine, the square is to be built (BuildHeader).
	ErrSquareMismatch = errors.New("core: given square is not the block's")
)

// MaxBlockTxs bounds the number of transactions BuildHeader accepts in one
// block: a square of share.SquareSizeUpperBound² shares cannot hold more.
const MaxBlockTxs = share.MaxShareCount

// BuildHeader turns a committed block, its commit and the validator set that
// signed it into the block's validated extended header and its extended data
// square. It is pure: no I/O, no clock (the transactions' hash runs on a
// goroutine of its own, which BuildHeader waits for). maxSquareSize is the chain's
// MaxSquareSize parameter (a power of two up to
// share.SquareSizeUpperBound).
//
// The last transaction must be the data root transaction; the others are
// laid out with share.ConstructInto straight into the original quadrant of
// the extended square (an eds.ODSBuffer), extended in place, and their DAH
// (eds.NewDAH) must be the one the data root transaction commits to: the
// square and DAH are those of share.Construct, eds.Extend and eds.NewDAH. Every
// failure wraps ErrMalformedBlock and names the height; it never panics on
// what a core node sent. The header shares commit and vals with the caller,
// who must not modify them afterwards.
func BuildHeader(block *cmttypes.Block, commit *cmttypes.Commit, vals *cmttypes.ValidatorSet,
	maxSquareSize int) (*header.ExtendedHeader, *eds.ExtendedDataSquare, error) {
	return buildHeader(block, commit, vals, maxSquareSize, nil)
}

// buildHeader is BuildHeader calling laidOut, when not nil, with the rows
// of the original square (eds.ODSBuffer.Rows) once it is laid out and
// before it is extended: the rows are final, and are read only from then
// on, while extension writes the rest of the square and its roots are
// computed. It is not called when the layout fails.
func buildHeader(block *cmttypes.Block, commit *cmttypes.Commit, vals *cmttypes.ValidatorSet,
	maxSquareSize int, laidOut func(rows [][]byte)) (*header.ExtendedHeader, *eds.ExtendedDataSquare, error) {
	if err := checkBlock(block, commit, vals, maxSquareSize); err != nil {
		return nil, nil, err
	}
	height, txs := block.Height, block.Txs
	// The transactions' hash (one SHA-256 pass over all of them, whose
	// proof of the data root transaction goes into the header) runs beside
	// the square work. A block whose transactions are not the header's is
	// refused for that first, whatever the square work found.
	proofc := make(chan cmttypes.TxProof, 1)
	go func() { proofc <- txs.Proof(len(txs) - 1) }()
	ext, dah, sqErr := buildSquare(txs, maxSquareSize, height, laidOut)
	proof := <-proofc
	if err := checkProof(block, proof); err != nil {
		return nil, nil, err
	}
	if sqErr != nil {
		return nil, nil, sqErr
	}
	return makeHeader(block, proof, commit, vals, dah, ext)
}

// BuildHeaderFrom is BuildHeader for a block whose extended square ext and
// DAH dah were built already (by the application that accepted the block,
// handed over by a Squares): it checks everything BuildHeader does but
// lays out, extends and hashes nothing. The transactions must hash to the
// header's DataHash and end with the data root transaction (no other may
// look like one), and dah must be the DAH of ext (eds.NewDAH, the roots
// the square cached when it was built: a square without them has them
// computed, at BuildHeader's cost) and the one the data root transaction
// commits to, width and data root. When the square is not the block's,
// the error wraps ErrSquareMismatch and the caller should build it
// (BuildHeader); every other failure wraps ErrMalformedBlock, as
// BuildHeader's would. The header and square returned are exactly those
// BuildHeader returns for the block; the square is ext, which the caller
// then owns. It never panics on what a core node sent.
//
// What it does not check is that the block's transactions lay out to ext:
// the square is trusted as far as its data root, which is why only a
// source in the same process as the application that checked exactly that
// (ProcessProposal, for the proposal of this data root transaction) may
// provide it. A block the application never accepted has no square there.
func BuildHeaderFrom(block *cmttypes.Block, commit *cmttypes.Commit, vals *cmttypes.ValidatorSet, maxSquareSize int,
	ext *eds.ExtendedDataSquare, dah *eds.DataAvailabilityHeader) (*header.ExtendedHeader, *eds.ExtendedDataSquare, error) {
	if err := checkBlock(block, commit, vals, maxSquareSize); err != nil {
		return nil, nil, err
	}
	height, txs := block.Height, block.Txs
	proof := txs.Proof(len(txs) - 1)
	if err := checkProof(block, proof); err != nil {
		return nil, nil, err
	}
	drt, err := checkTxs(txs, maxSquareSize, height)
	if err != nil {
		return nil, nil, err
	}
	if ext == nil || dah == nil {
		return nil, nil, fmt.Errorf("%w: height %d: no square", ErrSquareMismatch, height)
	}
	own, err := eds.NewDAH(ext)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: height %d: %w", ErrSquareMismatch, height, err)
	}
	if !own.Equals(dah) {
		return nil, nil, fmt.Errorf("%w: height %d: the DAH given (data root %X) is not the square's (%X)", ErrSquareMismatch, height, dah.Hash(), own.Hash())
	}
	if err := matchDataRootTx(own, drt); err != nil {
		return nil, nil, fmt.Errorf("%w: height %d: %w", ErrSquareMismatch, height, err)
	}
	return makeHeader(block, proof, commit, vals, own, ext)
}

// checkBlock checks the arguments of BuildHeader and the shape of the
// block: at most MaxBlockTxs transactions, the last of them looking like
// the data root transaction.
func checkBlock(block *cmttypes.Block, commit *cmttypes.Commit, vals *cmttypes.ValidatorSet, maxSquareSize int) error {
	if block == nil {
		return fmt.Errorf("%w: nil block", ErrMalformedBlock)
	}
	height := block.Height
	if commit == nil || vals == nil {
		return fmt.Errorf("%w: height %d: no commit or validator set", ErrMalformedBlock, height)
	}
	if !share.IsPowerOfTwo(maxSquareSize) || maxSquareSize > share.SquareSizeUpperBound {
		return fmt.Errorf("core: max square size %d is not a power of two up to %d", maxSquareSize, share.SquareSizeUpperBound)
	}
	txs := block.Txs
	if len(txs) > MaxBlockTxs {
		return fmt.Errorf("%w: height %d: %d transactions, at most %d", ErrMalformedBlock, height, len(txs), MaxBlockTxs)
	}
	if len(txs) == 0 || !header.IsDataRootTx(txs[len(txs)-1]) {
		return fmt.Errorf("%w: height %d: the last transaction is not the data root transaction", ErrMalformedBlock, height)
	}
	return nil
}

// checkProof checks that the transactions' hash, proof's root, is the
// header's DataHash.
func checkProof(block *cmttypes.Block, proof cmttypes.TxProof) error {
	if !bytes.Equal(proof.RootHash, block.DataHash) {
		return fmt.Errorf("%w: height %d: transactions hash to %X, the header's DataHash is %X", ErrMalformedBlock, block.Height, proof.RootHash, block.DataHash)
	}
	return nil
}

// makeHeader makes the block's extended header, for BuildHeader and
// BuildHeaderFrom alike.
func makeHeader(block *cmttypes.Block, proof cmttypes.TxProof, commit *cmttypes.Commit, vals *cmttypes.ValidatorSet,
	dah *eds.DataAvailabilityHeader, ext *eds.ExtendedDataSquare) (*header.ExtendedHeader, *eds.ExtendedDataSquare, error) {
	h, err := header.MakeExtendedHeaderWithProof(&block.Header, proof, commit, vals, dah)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: height %d: %w", ErrMalformedBlock, block.Height, err)
	}
	return h, ext, nil
}

// checkTxs decodes the data root transaction, last of txs, and checks its
// square size against maxSquareSize and that no other transaction looks
// like one. Errors wrap ErrMalformedBlock.
func checkTxs(txs cmttypes.Txs, maxSquareSize int, height int64) (header.DataRootTx, error) {
	drt, err := header.UnmarshalDataRootTx(txs[len(txs)-1])
	if err != nil {
		return drt, fmt.Errorf("%w: height %d: %w", ErrMalformedBlock, height, err)
	}
	if int(drt.SquareSize) > maxSquareSize {
		return drt, fmt.Errorf("%w: height %d: square size %d over the maximum %d", ErrMalformedBlock, height, drt.SquareSize, maxSquareSize)
	}
	for i, tx := range txs[:len(txs)-1] {
		if header.IsDataRootTx(tx) {
			return drt, fmt.Errorf("%w: height %d: data root transaction at %d, not last", ErrMalformedBlock, height, i)
		}
	}
	return drt, nil
}

// matchDataRootTx checks that dah is the DAH drt commits to.
func matchDataRootTx(dah *eds.DataAvailabilityHeader, drt header.DataRootTx) error {
	if dah.SquareSize() != int(drt.SquareSize) || !bytes.Equal(dah.Hash(), drt.DataRoot) {
		return fmt.Errorf("the square (width %d, data root %X) is not the one the data root transaction commits to (width %d, data root %X)",
			dah.SquareSize(), dah.Hash(), drt.SquareSize, drt.DataRoot)
	}
	return nil
}

// buildSquare lays out txs but the last (the data root transaction),
// extends the square and checks its DAH against the data root transaction.
// Errors wrap ErrMalformedBlock. laidOut is buildHeader's.
func buildSquare(txs cmttypes.Txs, maxSquareSize int, height int64, laidOut func(rows [][]byte)) (*eds.ExtendedDataSquare, *eds.DataAvailabilityHeader, error) {
	drt, err := checkTxs(txs, maxSquareSize, height)
	if err != nil {
		return nil, nil, err
	}
	raw := make([][]byte, len(txs)-1)
	for i, tx := range txs[:len(txs)-1] {
		raw[i] = tx
	}
	// The square is laid out straight into the original quadrant of the
	// extended square and extended in place.
	var buf *eds.ODSBuffer
	_, err = share.ConstructInto(raw, maxSquareSize, func(width int) ([][]byte, error) {
		var err error
		if buf, err = eds.NewODSBuffer(width); err != nil {
			return nil, err
		}
		return buf.Shares(), nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: height %d: laying out the square: %w", ErrMalformedBlock, height, err)
	}
	if laidOut != nil {
		laidOut(buf.Rows())
	}
	ext, err := buf.Extend()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: height %d: extending the square: %w", ErrMalformedBlock, height, err)
	}
	dah, err := eds.NewDAH(ext)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: height %d: computing the DAH: %w", ErrMalformedBlock, height, err)
	}
	if err := matchDataRootTx(dah, drt); err != nil {
		return nil, nil, fmt.Errorf("%w: height %d: %w", ErrMalformedBlock, height, err)
	}
	return ext, dah, nil
}
