package dataset

import (
	"context"
	"fmt"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// Part is one blob of a dataset: a complete CARv1 whose header names the
// dataset's root and whose sections are whole blocks of the DAG, a run of
// the depth-first order Walk gives.
type Part struct {
	// Index is the part's position among the dataset's parts, from 0.
	Index int
	// Data is the part's CAR bytes; the receiver owns them.
	Data []byte
	// Blocks is the number of blocks in Data.
	Blocks int
}

// Summary describes what Pack packed.
type Summary struct {
	// Root is the dataset's root.
	Root cid.Cid
	// Size is the sum of the lengths of the blocks' data.
	Size uint64
	// Blocks is the number of distinct blocks of the DAG.
	Blocks uint64
	// Parts is the number of parts Pack emitted.
	Parts int
	// CARSize is the length of the DAG's CARv1 export: the header once and
	// every block's section.
	CARSize uint64
}

// Pack packs the DAG under root, read from src, into parts of at most
// maxPartSize bytes each (the chain's max_blob_size) and calls emit with
// each part, in order, before it reads the blocks of the next one.
//
// Blocks go in Walk's order, each once (the order and blocks of `ipfs dag
// export root`), and fill a part until the next block does not fit; a
// part holds whole blocks only. So CARHeader(root) followed by every
// part's bytes after its header is byte for byte the export of the DAG,
// and the same DAG and maxPartSize always give the same parts.
//
// A block that does not fit in a part even alone fails with
// ErrBlockTooLarge; Walk's errors pass through, as does emit's, which
// stops Pack. The parts emitted before an error stay valid. The summary
// is complete only when the error is nil.
func Pack(ctx context.Context, src BlockGetter, root cid.Cid, maxPartSize int, emit func(Part) error) (Summary, error) {
	header, err := CARHeader(root)
	if err != nil {
		return Summary{}, err
	}
	if maxPartSize <= len(header) {
		return Summary{}, fmt.Errorf("%w: a part of at most %d bytes cannot hold a block after its %d-byte header", ErrBlockTooLarge, maxPartSize, len(header))
	}
	sum := Summary{Root: root, CARSize: uint64(len(header))}
	var cur Part
	flush := func() error {
		if cur.Blocks == 0 {
			return nil
		}
		p := cur
		cur = Part{Index: p.Index + 1}
		sum.Parts++
		return emit(p)
	}
	err = Walk(ctx, src, root, func(b blocks.Block) error {
		c, data := b.Cid(), b.RawData()
		n := sectionSize(c, len(data))
		if len(header)+n > maxPartSize {
			return fmt.Errorf("%w: block %s takes %d bytes, a part of at most %d bytes has room for %d", ErrBlockTooLarge, c, n, maxPartSize, maxPartSize-len(header))
		}
		if cur.Blocks > 0 && len(cur.Data)+n > maxPartSize {
			if err := flush(); err != nil {
				return err
			}
		}
		if cur.Blocks == 0 {
			cur.Data = make([]byte, 0, min(maxPartSize, len(header)+n+ChunkSize))
			cur.Data = append(cur.Data, header...)
		}
		cur.Data = appendSection(cur.Data, c, data)
		cur.Blocks++
		sum.Blocks++
		sum.Size += uint64(len(data))
		sum.CARSize += uint64(n)
		return nil
	})
	if err != nil {
		return Summary{}, err
	}
	if err := flush(); err != nil {
		return Summary{}, err
	}
	return sum, nil
}

// PartBlock is a block of a decoded part.
type PartBlock struct {
	// Cid is the block's CID; the block's data hashes to it.
	Cid cid.Cid
	// Data is the block's data: a slice of the part's bytes, not a copy.
	Data []byte
	// Offset is where Data starts in the part.
	Offset int
}

// DecodePart decodes the bytes of a part of the dataset under root,
// untrusted, and returns its blocks in order. It accepts exactly what Pack
// writes and returns an error, never panics, for anything else:
//
//   - a root that is not a dataset CID (ErrUnsupportedCID);
//   - a part longer than maxSize bytes (ErrTooLarge) or a block of more
//     than MaxBlockSize bytes (ErrTooLarge);
//   - a header that is not CARHeader(root) (ErrWrongRoot when it is the
//     canonical header of another root, ErrMalformedCAR otherwise);
//   - a section that does not parse or ends past the data (so no trailing
//     bytes), a part with no block or with a block twice (ErrMalformedCAR);
//   - a CID other than CIDv1 sha2-256 dag-pb or raw (ErrUnsupportedCID);
//   - a block whose data does not hash to its CID (ErrHashMismatch).
//
// The blocks' Data alias part: the caller must not modify part while it
// uses them.
func DecodePart(part []byte, root cid.Cid, maxSize int) ([]PartBlock, error) {
	if err := checkDataCID(root); err != nil {
		return nil, err
	}
	if len(part) > maxSize {
		return nil, fmt.Errorf("%w: part is %d bytes, the limit is %d", ErrTooLarge, len(part), maxSize)
	}
	got, off, err := readHeader(part)
	if err != nil {
		return nil, err
	}
	if !got.Equals(root) {
		return nil, fmt.Errorf("%w: part names root %s, want %s", ErrWrongRoot, got, root)
	}
	return decodeSections(part, off)
}

// DecodeAnyPart decodes the bytes of a part of whichever dataset its CAR
// header names, untrusted, and returns that root and the part's blocks in
// order: it is DecodePart(part, root, maxSize) with the root read from the
// header, for an indexer that meets parts of datasets it does not know.
// It accepts exactly what Pack writes, returns the errors DecodePart
// returns (a header whose root is not a dataset CID is ErrUnsupportedCID)
// and never panics. The blocks' Data alias part. A manifest is not a part:
// its root is dag-cbor (ErrUnsupportedCID).
func DecodeAnyPart(part []byte, maxSize int) (cid.Cid, []PartBlock, error) {
	if len(part) > maxSize {
		return cid.Undef, nil, fmt.Errorf("%w: part is %d bytes, the limit is %d", ErrTooLarge, len(part), maxSize)
	}
	root, off, err := readHeader(part)
	if err != nil {
		return cid.Undef, nil, err
	}
	if err := checkDataCID(root); err != nil {
		return cid.Undef, nil, err
	}
	out, err := decodeSections(part, off)
	if err != nil {
		return cid.Undef, nil, err
	}
	return root, out, nil
}

// decodeSections decodes the sections of part from off, its header's end,
// as DecodePart documents.
func decodeSections(part []byte, off int) ([]PartBlock, error) {
	var out []PartBlock
	seen := map[cid.Cid]struct{}{}
	for off < len(part) {
		c, dataOff, next, err := readSection(part, off)
		if err != nil {
			return nil, err
		}
		if err := checkDataCID(c); err != nil {
			return nil, err
		}
		if next-dataOff > MaxBlockSize {
			return nil, fmt.Errorf("%w: block %s is %d bytes, the limit is %d", ErrTooLarge, c, next-dataOff, MaxBlockSize)
		}
		if _, dup := seen[c]; dup {
			return nil, fmt.Errorf("%w: block %s is in the part twice", ErrMalformedCAR, c)
		}
		seen[c] = struct{}{}
		data := part[dataOff:next:next]
		if err := verifyBlock(c, data); err != nil {
			return nil, err
		}
		out = append(out, PartBlock{Cid: c, Data: data, Offset: dataOff})
		off = next
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: part has no block", ErrMalformedCAR)
	}
	return out, nil
}
