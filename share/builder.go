package share

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
)

var (
	// ErrInvalidSquareSize is returned for a maximum square size that is
	// not a power of two in [1, SquareSizeUpperBound].
	ErrInvalidSquareSize = errors.New("share: invalid square size")
	// ErrTxDoesNotFit is returned by Construct for a transaction that does
	// not fit in the square.
	ErrTxDoesNotFit = errors.New("share: transaction does not fit in the square")
	// ErrTxOrder is returned by Construct for an ordinary transaction after
	// a BlobTx.
	ErrTxOrder = errors.New("share: ordinary transaction after a blob transaction")
)

// Square is an original data square laid out by the Builder (spec section
// 3).
type Square struct {
	// Width is the number of shares per row, a power of two.
	Width int
	// Shares holds the Width² shares in row-major order, each ShareSize
	// bytes, as eds extension takes them. They share one buffer owned by
	// the Square.
	Shares [][]byte
	// PFBs lists the square's PayForBlob transactions in the order they
	// were appended (which is their order in the PFB namespace).
	PFBs []PFB
}

// PFB is one BlobTx as laid out in a square.
type PFB struct {
	// Tx is the BlobTx's SDK transaction.
	Tx []byte
	// Wrapped is the IndexWrapper written to the PayForBlob namespace:
	// Tx and the start index of each blob.
	Wrapped []byte
	// Blobs are the BlobTx's blobs, in the BlobTx's order, with where each
	// starts.
	Blobs []PlacedBlob
}

// PlacedBlob is a blob and the index, in row-major order, of its first
// share in the square.
type PlacedBlob struct {
	Blob  *Blob
	Start int
}

// EmptySquare returns the square of a block without transactions: 1×1, one
// tail padding share.
func EmptySquare() Square {
	return Square{Width: MinSquareSize, Shares: [][]byte{TailPaddingShare()}}
}

// Builder lays out transactions in a square the way go-square v3 does (spec
// section 3; Celestia app versions 6 and 7). It is a synchronous value with
// no I/O; it is not safe for concurrent use. It keeps references to the
// transactions and blobs it is given, which must not be modified.
type Builder struct {
	maxSquareSize int
	// currentSize over-estimates the shares used: compact share counts of
	// the txs and of the PFBs with worst-case share indexes, plus each
	// blob's shares and worst-case alignment padding.
	currentSize int
	txs         [][]byte
	pfbs        []*BlobTx
	txCounter   CompactShareCounter
	pfbCounter  CompactShareCounter
}

// NewBuilder returns a builder for squares of width at most maxSquareSize,
// a power of two in [1, SquareSizeUpperBound].
func NewBuilder(maxSquareSize int) (*Builder, error) {
	if !IsPowerOfTwo(maxSquareSize) || maxSquareSize > SquareSizeUpperBound {
		return nil, fmt.Errorf("%w: %d is not a power of two in [1, %d]", ErrInvalidSquareSize, maxSquareSize, SquareSizeUpperBound)
	}
	return &Builder{maxSquareSize: maxSquareSize}, nil
}

// CurrentSize returns the builder's estimate of the shares used so far. The
// exported square's width is BlobMinSquareSize(CurrentSize()).
func (b *Builder) CurrentSize() int { return b.currentSize }

func (b *Builder) canFit(delta int) bool {
	return b.currentSize+delta <= b.maxSquareSize*b.maxSquareSize
}

// AppendTx adds an ordinary transaction to the Tx namespace. It returns
// false, leaving the builder unchanged, if the transaction does not fit.
func (b *Builder) AppendTx(tx []byte) bool {
	delta := b.txCounter.Add(len(tx))
	if !b.canFit(delta) {
		b.txCounter.Revert()
		return false
	}
	b.txs = append(b.txs, tx)
	b.currentSize += delta
	return true
}

// AppendBlobTx adds a BlobTx: its IndexWrapper to the PayForBlob namespace
// and its blobs to the blob area. It returns false, leaving the builder
// unchanged, if btx has no blobs, has a nil or zero-value blob, or does not
// fit by the worst-case estimate (share indexes as large as possible,
// maximal alignment padding before each blob).
func (b *Builder) AppendBlobTx(btx *BlobTx) bool {
	if btx == nil || len(btx.Blobs) == 0 || slices.ContainsFunc(btx.Blobs, func(b *Blob) bool { return b == nil || len(b.data) == 0 }) {
		return false
	}
	delta := b.pfbCounter.Add(worstCaseIndexWrapperSize(len(btx.Tx), len(btx.Blobs)))
	for _, blob := range btx.Blobs {
		n := blob.SharesNeeded()
		delta += n + SubTreeWidth(n) - 1
	}
	if !b.canFit(delta) {
		b.pfbCounter.Revert()
		return false
	}
	b.pfbs = append(b.pfbs, btx)
	b.currentSize += delta
	return true
}

// element is a blob waiting for its place.
type element struct {
	blob       *Blob
	pfb, index int // position in b.pfbs and in that BlobTx's blobs
	shares     int
}

// Export lays out the square. It does not change the builder, so more
// transactions may be appended and Export called again. With nothing
// appended it returns EmptySquare. An error means a broken invariant of the
// builder, not bad input.
func (b *Builder) Export() (Square, error) {
	if b.txCounter.Size() == 0 && b.pfbCounter.Size() == 0 {
		return EmptySquare(), nil
	}
	return b.ExportInto(nil)
}

// SquareCells returns where a square of width shares per row is laid out:
// width² cells of ShareSize bytes in row-major order. ExportInto overwrites
// every byte of every cell.
type SquareCells func(width int) ([][]byte, error)

// ExportInto is Export writing the shares into the cells that cells
// returns for the square's width, for a caller that wants the square laid
// out in place (eds.ODSBuffer's original quadrant): the Square's Shares are
// those cells. A nil cells allocates one buffer, as Export does. With
// nothing appended the square is EmptySquare's, written into the cells of
// width 1. Errors of cells are returned as they are; cells of the wrong
// number or size are an error.
func (b *Builder) ExportInto(cells SquareCells) (Square, error) {
	if cells == nil {
		cells = contiguousCells
	}
	if b.txCounter.Size() == 0 && b.pfbCounter.Size() == 0 {
		dst, err := exportCells(cells, MinSquareSize)
		if err != nil {
			return Square{}, err
		}
		writePadding(dst[0], TailPaddingNamespace, InfoByte(1))
		return Square{Width: MinSquareSize, Shares: dst}, nil
	}
	width := BlobMinSquareSize(b.currentSize)
	total := width * width

	// Blobs in namespace order; the stable sort keeps the append order
	// within a namespace.
	var elems []element
	for p, btx := range b.pfbs {
		for i, blob := range btx.Blobs {
			elems = append(elems, element{blob: blob, pfb: p, index: i, shares: blob.SharesNeeded()})
		}
	}
	slices.SortStableFunc(elems, func(x, y element) int { return x.blob.ns.Compare(y.blob.ns) })

	dst, err := exportCells(cells, width)
	if err != nil {
		return Square{}, err
	}

	// The blob area starts after the estimated reserved shares, rounded up
	// to the first blob's alignment.
	nonReservedStart := b.txCounter.Size() + b.pfbCounter.Size()
	starts := make([][]uint32, len(b.pfbs))
	for p, btx := range b.pfbs {
		starts[p] = make([]uint32, len(btx.Blobs))
	}
	cursor, end := nonReservedStart, nonReservedStart
	writes := make([]blobWrite, 0, len(elems))
	for i, e := range elems {
		cursor = NextShareIndex(cursor, e.shares)
		if i == 0 {
			nonReservedStart = cursor
		} else {
			if pad := cursor - end; pad > SubTreeWidth(e.shares)-1 {
				return Square{}, fmt.Errorf("share: builder invariant: %d padding shares before a blob of %d shares", pad, e.shares)
			}
			prev := elems[i-1].blob
			writePaddingCells(dst[end:cursor], prev.ns, InfoByte(prev.shareVersion<<1|1))
		}
		if cursor+e.shares > total {
			return Square{}, fmt.Errorf("share: builder invariant: blobs overflow a %d×%d square", width, width)
		}
		writes = append(writes, blobWrite{blob: e.blob, cells: dst[cursor : cursor+e.shares]})
		starts[e.pfb][e.index] = uint32(cursor)
		cursor += e.shares
		end = cursor
	}

	writeBlobs(writes, cursor-nonReservedStart)

	// PayForBlobs carry the real start indexes, so they are written last.
	sq := Square{Width: width, Shares: dst, PFBs: make([]PFB, len(b.pfbs))}
	wrapped := make([][]byte, len(b.pfbs))
	pfbSeqLen := 0
	for p, btx := range b.pfbs {
		wrapped[p] = MarshalIndexWrapper(btx.Tx, starts[p]...)
		pfbSeqLen += DelimitedLen(len(wrapped[p]))
		placed := make([]PlacedBlob, len(btx.Blobs))
		for i, blob := range btx.Blobs {
			placed[i] = PlacedBlob{Blob: blob, Start: int(starts[p][i])}
		}
		sq.PFBs[p] = PFB{Tx: btx.Tx, Wrapped: wrapped[p], Blobs: placed}
	}
	txShares := b.txCounter.Size()
	pfbShares := CompactSharesNeeded(pfbSeqLen)
	if pfbShares > b.pfbCounter.Size() {
		return Square{}, fmt.Errorf("share: builder invariant: %d PFB shares, %d estimated", pfbShares, b.pfbCounter.Size())
	}
	// The compact shares (a few per square) are written into a zeroed
	// buffer, which the compact writer expects, then copied to their cells.
	compact := make([]byte, (txShares+pfbShares)*ShareSize)
	writeCompact(compact[:txShares*ShareSize], TxNamespace, b.txs, b.txCounter.SequenceLen())
	writeCompact(compact[txShares*ShareSize:], PayForBlobNamespace, wrapped, pfbSeqLen)
	for i := range txShares + pfbShares {
		copy(dst[i], compact[i*ShareSize:(i+1)*ShareSize])
	}
	if len(elems) > 0 {
		writePaddingCells(dst[txShares+pfbShares:nonReservedStart], PrimaryReservedPaddingNamespace, InfoByte(1))
	}
	writePaddingCells(dst[end:], TailPaddingNamespace, InfoByte(1))
	return sq, nil
}

// contiguousCells returns the cells of a square in one new buffer.
func contiguousCells(width int) ([][]byte, error) {
	buf := make([]byte, width*width*ShareSize)
	out := make([][]byte, width*width)
	for i := range out {
		out[i] = buf[i*ShareSize : (i+1)*ShareSize : (i+1)*ShareSize]
	}
	return out, nil
}

// blobWrite is a blob and the cells its shares go to.
type blobWrite struct {
	blob  *Blob
	cells [][]byte
}

// parallelBlobShares is the number of blob shares (2 MiB) above which
// writeBlobs splits the copying over the processors: a square's blobs are
// most of its bytes, and the cells are often fresh memory whose first
// touch costs more than the copy.
const parallelBlobShares = 4096

// writeBlobs writes every blob's shares into its cells; total is about
// the number of cells (it only decides the split). The cells of distinct
// writes are disjoint, so parts of the list are written concurrently, each
// by a goroutine writeBlobs waits for.
func writeBlobs(writes []blobWrite, total int) {
	parts := min(runtime.GOMAXPROCS(0), 4)
	if parts < 2 || total < parallelBlobShares {
		writeBlobRange(writes)
		return
	}
	// Cut the list where each part has about total/parts shares.
	var wg sync.WaitGroup
	from, acc, per := 0, 0, (total+parts-1)/parts
	for i, w := range writes {
		acc += len(w.cells)
		if acc >= per && i+1 < len(writes) {
			part := writes[from : i+1]
			wg.Go(func() { writeBlobRange(part) })
			from, acc = i+1, 0
		}
	}
	writeBlobRange(writes[from:])
	wg.Wait()
}

func writeBlobRange(writes []blobWrite) {
	for _, w := range writes {
		for j, c := range w.cells {
			w.blob.writeShare(j, c)
		}
	}
}

// exportCells returns the cells of a square of width from cells, checked.
func exportCells(cells SquareCells, width int) ([][]byte, error) {
	dst, err := cells(width)
	if err != nil {
		return nil, err
	}
	if len(dst) != width*width {
		return nil, fmt.Errorf("share: %d cells for a %d×%d square", len(dst), width, width)
	}
	for i, c := range dst {
		if len(c) != ShareSize {
			return nil, fmt.Errorf("share: cell %d has %d bytes, want %d", i, len(c), ShareSize)
		}
	}
	return dst, nil
}

// writePaddingCells fills every cell of dst with padding.
func writePaddingCells(dst [][]byte, ns Namespace, ib InfoByte) {
	for _, c := range dst {
		writePadding(c, ns, ib)
	}
}

// Build lays out a block for a proposer. txs are in priority order; the
// ordinary transactions come first in the square and the BlobTxs after, each
// group in the given order. A transaction that does not fit is dropped, as
// is a BlobTx that fails UnmarshalBlobTx (go-square returns an error for
// it; a proposer must not propose it either way). kept lists the
// transactions in the square, in square order; it aliases txs, and so do
// the square's PFBs (their Tx and blobs): txs must not be modified while
// either is in use.
func Build(txs [][]byte, maxSquareSize int) (sq Square, kept [][]byte, err error) {
	return BuildInto(txs, maxSquareSize, nil)
}

// BuildInto is Build laying the square out in the cells that cells returns
// (see Builder.ExportInto; nil allocates them), for a proposer that extends
// the square in place (eds.ODSBuffer). cells is called once, after every
// transaction has been decoded and fitted.
func BuildInto(txs [][]byte, maxSquareSize int, cells SquareCells) (sq Square, kept [][]byte, err error) {
	b, err := NewBuilder(maxSquareSize)
	if err != nil {
		return Square{}, nil, err
	}
	var normal, blobTxs [][]byte
	for _, tx := range txs {
		btx, isBlobTx, err := unmarshalBlobTx(tx, true)
		switch {
		case isBlobTx && err != nil:
			continue
		case isBlobTx:
			if b.AppendBlobTx(btx) {
				blobTxs = append(blobTxs, tx)
			}
		default:
			if b.AppendTx(tx) {
				normal = append(normal, tx)
			}
		}
	}
	sq, err = b.ExportInto(cells)
	if err != nil {
		return Square{}, nil, err
	}
	return sq, append(normal, blobTxs...), nil
}

// Construct lays out a proposed block for a validator: txs must be in square
// order (ordinary transactions, then BlobTxs) and must all fit; otherwise it
// returns an error wrapping ErrTxOrder, ErrTxDoesNotFit or the BlobTx's
// decoding error. The result is the square the proposer's Build made, so
// comparing data roots checks the proposed layout. The square's PFBs (their
// Tx and blobs) alias txs, which must not be modified while it is in use.
func Construct(txs [][]byte, maxSquareSize int) (Square, error) {
	return ConstructInto(txs, maxSquareSize, nil)
}

// ConstructInto is Construct laying the square out in the cells that cells
// returns (see Builder.ExportInto; nil allocates them). cells is called
// once, after every transaction has been decoded and fitted, so a block
// that Construct refuses never calls it.
func ConstructInto(txs [][]byte, maxSquareSize int, cells SquareCells) (Square, error) {
	b, err := NewBuilder(maxSquareSize)
	if err != nil {
		return Square{}, err
	}
	seenBlobTx := false
	for i, tx := range txs {
		btx, isBlobTx, err := unmarshalBlobTx(tx, true)
		switch {
		case isBlobTx && err != nil:
			return Square{}, fmt.Errorf("share: tx %d: %w", i, err)
		case isBlobTx:
			seenBlobTx = true
			if !b.AppendBlobTx(btx) {
				return Square{}, fmt.Errorf("%w: blob tx %d", ErrTxDoesNotFit, i)
			}
		case seenBlobTx:
			return Square{}, fmt.Errorf("%w: tx %d", ErrTxOrder, i)
		default:
			if !b.AppendTx(tx) {
				return Square{}, fmt.Errorf("%w: tx %d", ErrTxDoesNotFit, i)
			}
		}
	}
	return b.ExportInto(cells)
}
