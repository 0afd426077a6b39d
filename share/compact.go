package share

import (
	"encoding/binary"
	"fmt"
)

// Compact shares (spec section 2) hold the transactions of the Tx namespace
// and the IndexWrapper-wrapped PayForBlobs of the PFB namespace. Each unit
// is written as uvarint(len(unit)) || unit, and units flow from share to
// share:
//
//	first:        ns | info | seq_len | reserved | units... | 0x00 pad
//	continuation: ns | info | reserved | units... | 0x00 pad
//
// reserved is the offset, from the start of the share, of the first unit
// that starts in that share, or 0 if none does; seq_len is the total length
// of the delimited units.

// DelimitedLen returns the size of a unit of unitLen bytes once prefixed
// with its uvarint length.
func DelimitedLen(unitLen int) int {
	return uvarintLen(uint64(unitLen)) + unitLen
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// SplitCompact splits units into the compact shares of namespace ns, which
// must be TxNamespace or PayForBlobNamespace. No units give no shares.
func SplitCompact(ns Namespace, units [][]byte) ([]Share, error) {
	if !ns.IsCompact() {
		return nil, fmt.Errorf("%w: %s does not use compact shares", ErrInvalidNamespace, ns)
	}
	seqLen := 0
	for _, u := range units {
		seqLen += DelimitedLen(len(u))
	}
	n := CompactSharesNeeded(seqLen)
	buf := make([]byte, n*ShareSize)
	writeCompact(buf, ns, units, seqLen)
	out := make([]Share, n)
	for i := range out {
		out[i] = Share(buf[i*ShareSize : (i+1)*ShareSize])
	}
	return out, nil
}

// writeCompact writes the compact shares of units into dst, which must be
// exactly CompactSharesNeeded(seqLen) shares of zeroed memory; seqLen is the
// total delimited length of units.
func writeCompact(dst []byte, ns Namespace, units [][]byte, seqLen int) {
	if seqLen == 0 {
		return
	}
	w := compactWriter{dst: dst, ns: ns, share: -1}
	w.startShare()
	binary.BigEndian.PutUint32(dst[NamespaceSize+ShareInfoBytes:], uint32(seqLen))
	var lenBuf [binary.MaxVarintLen64]byte
	for _, u := range units {
		if w.pos == ShareSize {
			w.startShare()
		}
		w.markUnitStart()
		n := binary.PutUvarint(lenBuf[:], uint64(len(u)))
		w.write(lenBuf[:n])
		w.write(u)
	}
}

// compactWriter writes delimited units into consecutive shares of dst.
type compactWriter struct {
	dst   []byte
	ns    Namespace
	share int // index of the current share; -1 before the first
	pos   int // write offset inside the current share
}

// startShare begins the next share and writes its header.
func (w *compactWriter) startShare() {
	w.share++
	s := w.cur()
	copy(s, w.ns[:])
	if w.share == 0 {
		s[NamespaceSize] = 1 // share version 0, sequence start
		w.pos = compactFirstHeaderSize
	} else {
		s[NamespaceSize] = 0
		w.pos = compactContinuationHeaderSize
	}
}

func (w *compactWriter) cur() []byte {
	return w.dst[w.share*ShareSize : (w.share+1)*ShareSize]
}

// markUnitStart records the current offset as the share's reserved bytes
// unless an earlier unit already started in this share.
func (w *compactWriter) markUnitStart() {
	off := compactContinuationHeaderSize - ShareReservedBytes
	if w.share == 0 {
		off = compactFirstHeaderSize - ShareReservedBytes
	}
	rb := w.cur()[off : off+ShareReservedBytes]
	if binary.BigEndian.Uint32(rb) == 0 {
		binary.BigEndian.PutUint32(rb, uint32(w.pos))
	}
}

// write copies b, moving to new shares as the current one fills.
func (w *compactWriter) write(b []byte) {
	for len(b) > 0 {
		if w.pos == ShareSize {
			w.startShare()
		}
		n := copy(w.cur()[w.pos:], b)
		w.pos += n
		b = b[n:]
	}
}

// CompactShareCounter counts, unit by unit, how many compact shares a
// sequence of units needs. The builder uses it for its size estimate. The
// zero value is an empty counter.
type CompactShareCounter struct {
	seqLen, lastSeqLen int
}

// Add accounts for a unit of unitLen bytes (its length delimiter included
// by the counter) and returns by how many shares the count grew.
func (c *CompactShareCounter) Add(unitLen int) int {
	before := c.Size()
	c.lastSeqLen = c.seqLen
	c.seqLen += DelimitedLen(unitLen)
	return c.Size() - before
}

// Revert undoes the last Add. Calling it again without an Add in between
// has no further effect.
func (c *CompactShareCounter) Revert() { c.seqLen = c.lastSeqLen }

// Size returns the number of shares counted so far.
func (c *CompactShareCounter) Size() int { return CompactSharesNeeded(c.seqLen) }

// SequenceLen returns the total delimited length of the units counted.
func (c *CompactShareCounter) SequenceLen() int { return c.seqLen }
