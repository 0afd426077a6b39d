package share

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformedSquare is wrapped by every ParseSquare error.
var ErrMalformedSquare = errors.New("share: malformed square")

// ParsedSquare is the content of an original data square.
type ParsedSquare struct {
	// Txs are the ordinary transactions of the Tx namespace, in order.
	Txs [][]byte
	// PFBs are the IndexWrapper-encoded PayForBlob transactions of the PFB
	// namespace, in order (decode them with UnmarshalIndexWrapper).
	PFBs [][]byte
	// Blobs are the blobs in square order with their first share's index.
	Blobs []PlacedBlob
}

// ParseSquare reads an original data square: shares in row-major order,
// width² of them for a power-of-two width up to SquareSizeUpperBound, each
// ShareSize bytes. It returns every transaction and blob, skipping padding.
// The result does not alias shares.
//
// It accepts only the layout the Builder makes: namespaces in non-decreasing
// order; compact Tx and PFB sequences in the canonical encoding; blobs in
// valid blob namespaces with share version 0 or 1, the share count their
// sequence length implies, and zero padding; padding shares exactly as the
// builder writes them. Anything else, including a sequence length larger
// than the remaining shares can hold, is an error wrapping
// ErrMalformedSquare; allocation is bounded by the input size.
func ParseSquare(shares [][]byte) (*ParsedSquare, error) {
	n := len(shares)
	w := ceilSqrt(n)
	if n == 0 || w*w != n || !IsPowerOfTwo(w) || w > SquareSizeUpperBound {
		return nil, fmt.Errorf("%w: %d shares is not a square of power-of-two width up to %d", ErrMalformedSquare, n, SquareSizeUpperBound)
	}
	for i, s := range shares {
		if len(s) != ShareSize {
			return nil, fmt.Errorf("%w: share %d: %w: %d bytes", ErrMalformedSquare, i, ErrShareSize, len(s))
		}
	}
	p := squareParser{shares: shares, out: &ParsedSquare{}}
	if err := p.parse(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedSquare, err)
	}
	return p.out, nil
}

type squareParser struct {
	shares [][]byte
	out    *ParsedSquare
}

func (p *squareParser) parse() error {
	var prev Namespace
	seenTx, seenPFB := false, false
	for i := 0; i < len(p.shares); {
		s := Share(p.shares[i])
		ns := s.rawNamespace()
		if err := ns.Validate(); err != nil {
			return fmt.Errorf("share %d: %w", i, err)
		}
		if i > 0 && ns.Compare(prev) < 0 {
			return fmt.Errorf("share %d: namespace %s after %s", i, ns, prev)
		}
		prev = ns
		var (
			used int
			err  error
		)
		switch {
		case ns == TxNamespace || ns == PayForBlobNamespace:
			if (ns == TxNamespace && seenTx) || (ns == PayForBlobNamespace && seenPFB) {
				return fmt.Errorf("share %d: second compact sequence in namespace %s", i, ns)
			}
			var units [][]byte
			units, used, err = parseCompact(p.shares[i:], ns)
			if ns == TxNamespace {
				seenTx, p.out.Txs = true, units
			} else {
				seenPFB, p.out.PFBs = true, units
			}
		case ns == PrimaryReservedPaddingNamespace || ns == TailPaddingNamespace:
			used = 1
			if !isPaddingShare(s, ns, 0) {
				return fmt.Errorf("share %d: malformed padding share in namespace %s", i, ns)
			}
		case ns.ValidateForBlob() == nil:
			var blob *Blob
			blob, used, err = parseSparse(p.shares[i:], ns)
			if blob != nil {
				p.out.Blobs = append(p.out.Blobs, PlacedBlob{Blob: blob, Start: i})
			}
		default:
			return fmt.Errorf("share %d: unexpected namespace %s", i, ns)
		}
		if err != nil {
			return fmt.Errorf("share %d: %w", i, err)
		}
		i += used
	}
	return nil
}

// isPaddingShare reports whether s is exactly the padding share of ns with
// the given share version.
func isPaddingShare(s Share, ns Namespace, version uint8) bool {
	return s[NamespaceSize] == version<<1|1 && allZero(s[NamespaceSize+ShareInfoBytes:])
}

// parseCompact reads the compact sequence of namespace ns that starts at
// shares[0] and returns its units and the number of shares it used.
func parseCompact(shares [][]byte, ns Namespace) ([][]byte, int, error) {
	first := Share(shares[0])
	if first[NamespaceSize] != 1 {
		return nil, 0, fmt.Errorf("compact sequence in %s starts with info byte %#x, want 0x01", ns, first[NamespaceSize])
	}
	seqLen := int(binary.BigEndian.Uint32(first[NamespaceSize+ShareInfoBytes:]))
	need := CompactSharesNeeded(seqLen)
	if seqLen == 0 {
		return nil, 0, fmt.Errorf("compact sequence in %s has sequence length 0", ns)
	}
	if need > len(shares) {
		return nil, 0, fmt.Errorf("compact sequence length %d needs %d shares, only %d remain", seqLen, need, len(shares))
	}
	data := make([]byte, 0, seqLen)
	for j := range need {
		s := Share(shares[j])
		if s.rawNamespace() != ns {
			return nil, 0, fmt.Errorf("compact sequence in %s ends after %d of %d shares", ns, j, need)
		}
		hdr := compactFirstHeaderSize
		if j > 0 {
			hdr = compactContinuationHeaderSize
			if s[NamespaceSize] != 0 {
				return nil, 0, fmt.Errorf("compact continuation share %d has info byte %#x, want 0x00", j, s[NamespaceSize])
			}
		}
		take := min(seqLen-len(data), ShareSize-hdr)
		data = append(data, s[hdr:hdr+take]...)
	}
	var units [][]byte
	for rest := data; len(rest) > 0; {
		l, m := binary.Uvarint(rest)
		if m <= 0 {
			return nil, 0, fmt.Errorf("compact sequence in %s: malformed unit length", ns)
		}
		rest = rest[m:]
		if l > uint64(len(rest)) {
			return nil, 0, fmt.Errorf("compact sequence in %s: unit of %d bytes overruns the sequence (%d left)", ns, l, len(rest))
		}
		units = append(units, rest[:l:l])
		rest = rest[l:]
	}
	// The reserved bytes and the zero padding are redundant with the units;
	// require exactly the encoding the splitter makes.
	canon := make([]byte, need*ShareSize)
	writeCompact(canon, ns, units, seqLen)
	for j := range need {
		if !bytes.Equal(shares[j], canon[j*ShareSize:(j+1)*ShareSize]) {
			return nil, 0, fmt.Errorf("compact share %d of %s is not canonical (reserved bytes or padding)", j, ns)
		}
	}
	return units, need, nil
}

// parseSparse reads the sparse sequence (a blob, or one namespace padding
// share) that starts at shares[0] in namespace ns. It returns a nil blob for
// padding.
func parseSparse(shares [][]byte, ns Namespace) (*Blob, int, error) {
	first := Share(shares[0])
	ib := InfoByte(first[NamespaceSize])
	if !ib.IsSequenceStart() {
		return nil, 0, fmt.Errorf("continuation share in %s without a first share", ns)
	}
	version := ib.Version()
	if version != ShareVersionZero && version != ShareVersionOne {
		return nil, 0, fmt.Errorf("%w: share version %d in %s", ErrUnsupportedShareVersion, version, ns)
	}
	seqLen := int(binary.BigEndian.Uint32(first[NamespaceSize+ShareInfoBytes:]))
	if seqLen == 0 {
		if !isPaddingShare(first, ns, version) {
			return nil, 0, fmt.Errorf("malformed namespace padding share in %s", ns)
		}
		return nil, 1, nil
	}
	hasSigner := version == ShareVersionOne
	need := SparseSharesNeeded(seqLen, hasSigner)
	if need > len(shares) {
		return nil, 0, fmt.Errorf("blob of %d bytes needs %d shares, only %d remain", seqLen, need, len(shares))
	}
	var signer []byte
	hdr := sparseFirstHeaderSize
	if hasSigner {
		signer = append([]byte(nil), first[hdr:hdr+SignerSize]...)
		hdr += SignerSize
	}
	data := make([]byte, 0, seqLen)
	for j := range need {
		s := Share(shares[j])
		if j > 0 {
			if s.rawNamespace() != ns {
				return nil, 0, fmt.Errorf("blob in %s ends after %d of %d shares", ns, j, need)
			}
			if s[NamespaceSize] != version<<1 {
				return nil, 0, fmt.Errorf("blob continuation share %d has info byte %#x, want %#x", j, s[NamespaceSize], version<<1)
			}
			hdr = sparseContinuationHeaderSize
		}
		take := min(seqLen-len(data), ShareSize-hdr)
		data = append(data, s[hdr:hdr+take]...)
		if !allZero(s[hdr+take:]) {
			return nil, 0, fmt.Errorf("blob in %s has non-zero padding in share %d", ns, j)
		}
	}
	if err := validateBlob(ns, data, version, signer); err != nil {
		return nil, 0, err
	}
	return &Blob{ns: ns, data: data, shareVersion: version, signer: signer}, need, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// ParseBlobs reads the blobs of one namespace from a contiguous run of its
// shares, as returned for a namespace by eds's NamespaceData (Flatten): every
// share must be ShareSize bytes in the same valid blob namespace, holding
// whole blobs and namespace padding shares. Each PlacedBlob's Start is the
// index of its first share within shares (not within the square). The result
// does not alias shares. Errors wrap ErrMalformedSquare; an empty input gives
// no blobs.
func ParseBlobs(shares [][]byte) ([]PlacedBlob, error) {
	if len(shares) == 0 {
		return nil, nil
	}
	if err := checkRun(shares); err != nil {
		return nil, err
	}
	ns := Share(shares[0]).rawNamespace()
	if err := ns.ValidateForBlob(); err != nil {
		return nil, fmt.Errorf("%w: share 0: %w", ErrMalformedSquare, err)
	}
	var blobs []PlacedBlob
	for i := 0; i < len(shares); {
		if got := Share(shares[i]).rawNamespace(); got != ns {
			return nil, fmt.Errorf("%w: share %d: namespace %s in a run of %s", ErrMalformedSquare, i, got, ns)
		}
		blob, used, err := parseSparse(shares[i:], ns)
		if err != nil {
			return nil, fmt.Errorf("%w: share %d: %w", ErrMalformedSquare, i, err)
		}
		if blob != nil {
			blobs = append(blobs, PlacedBlob{Blob: blob, Start: i})
		}
		i += used
	}
	return blobs, nil
}

// ParseCompact reads the units of namespace ns from its run of shares in a
// square, as eds's NamespaceData returns them (Flatten): the transactions
// of TxNamespace or the IndexWrapper-encoded PayForBlobs of
// PayForBlobNamespace (decode them with UnmarshalIndexWrapper). ns must be
// one of those two (Namespace.IsCompact). The run must be exactly one
// compact sequence in the canonical encoding the splitter makes: every
// share ShareSize bytes in ns, the first starting the sequence, no share
// past its end. An empty run has no units (nil). The units are in sequence
// order and do not alias shares. Errors wrap ErrMalformedSquare;
// allocation is bounded by the input size.
func ParseCompact(shares [][]byte, ns Namespace) ([][]byte, error) {
	if !ns.IsCompact() {
		return nil, fmt.Errorf("%w: namespace %s holds no compact shares", ErrMalformedSquare, ns)
	}
	if len(shares) == 0 {
		return nil, nil
	}
	if err := checkRun(shares); err != nil {
		return nil, err
	}
	units, used, err := parseCompact(shares, ns)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedSquare, err)
	}
	if used != len(shares) {
		return nil, fmt.Errorf("%w: compact sequence in %s ends after %d of %d shares", ErrMalformedSquare, ns, used, len(shares))
	}
	return units, nil
}

// checkRun checks the size of a namespace's run of shares: at most
// MaxShareCount shares of ShareSize bytes.
func checkRun(shares [][]byte) error {
	if len(shares) > MaxShareCount {
		return fmt.Errorf("%w: %d shares, at most %d", ErrMalformedSquare, len(shares), MaxShareCount)
	}
	for i, s := range shares {
		if len(s) != ShareSize {
			return fmt.Errorf("%w: share %d: %w: %d bytes", ErrMalformedSquare, i, ErrShareSize, len(s))
		}
	}
	return nil
}
