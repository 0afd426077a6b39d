package shrex

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	"github.com/libp2p/go-libp2p/core/protocol"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/p2p"
	"github.com/datamesh/mesh-node/share"
)

// Kind names one of the four shrex protocols.
type Kind uint8

// The shrex protocols.
const (
	// KindSample asks for one cell of the square with its proof.
	KindSample Kind = iota + 1
	// KindRow asks for the first half of one row.
	KindRow
	// KindNamespaceData asks for all the shares of one namespace.
	KindNamespaceData
	// KindEDS asks for the whole original data square.
	KindEDS
	// KindSamples asks for several cells of one square, each with its
	// proof, in one stream: what a light node samples of one header.
	KindSamples
)

// Kinds lists the protocols, in the order of their values.
var kinds = [...]Kind{KindSample, KindRow, KindNamespaceData, KindEDS, KindSamples}

// String returns the protocol's name in its ID: "sample", "row", "nd",
// "eds" or "samples".
func (k Kind) String() string {
	switch k {
	case KindSample:
		return "sample"
	case KindRow:
		return "row"
	case KindNamespaceData:
		return "nd"
	case KindEDS:
		return "eds"
	case KindSamples:
		return "samples"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

func (k Kind) valid() bool { return k >= KindSample && k <= KindSamples }

// ProtocolID returns the ID of protocol k on network (the chain ID):
// /datamesh/<network>/shrex/v0.1.0/<k>, where <k> is k.String().
func ProtocolID(network string, k Kind) protocol.ID {
	return p2p.ProtocolID(network, "shrex/v0.1.0/"+k.String())
}

// RequestSize returns the size of a request of protocol k: the size of its
// binary ID (0 for an unknown kind). For KindSamples, whose size depends on
// the number of cells, it is the size of the largest request,
// SamplesRequestSize(MaxSamplesPerRequest).
func RequestSize(k Kind) int {
	switch k {
	case KindSample:
		return eds.SampleIDSize
	case KindRow:
		return eds.RowIDSize
	case KindNamespaceData:
		return NamespaceDataIDSize
	case KindEDS:
		return eds.EdsIDSize
	case KindSamples:
		return SamplesRequestSize(MaxSamplesPerRequest)
	}
	return 0
}

// maxRequestSize is the size of the largest request of any protocol.
const maxRequestSize = eds.EdsIDSize + 2 + 4*MaxSamplesPerRequest

// NamespaceDataIDSize is the size of an encoded NamespaceDataID.
const NamespaceDataIDSize = eds.EdsIDSize + share.NamespaceSize

// NamespaceDataID names all the data of one namespace in the square of a
// block: the request of the nd protocol. Its encoding is the height (u64,
// big-endian) followed by the namespace (29 bytes).
type NamespaceDataID struct {
	Height    uint64
	Namespace share.Namespace
}

// Validate checks that the height is not 0 and that the namespace is valid
// and not the parity namespace, whose completeness no proof can show.
func (id NamespaceDataID) Validate() error {
	if id.Height == 0 {
		return fmt.Errorf("%w: height 0", eds.ErrInvalidID)
	}
	if err := id.Namespace.Validate(); err != nil {
		return fmt.Errorf("%w: %w", eds.ErrInvalidID, err)
	}
	if id.Namespace.IsParity() {
		return fmt.Errorf("%w: the parity namespace", eds.ErrInvalidID)
	}
	return nil
}

// MarshalBinary returns the NamespaceDataIDSize-byte encoding of id. It
// fails, wrapping eds.ErrInvalidID, for an ID Validate rejects.
func (id NamespaceDataID) MarshalBinary() ([]byte, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	b := binary.BigEndian.AppendUint64(make([]byte, 0, NamespaceDataIDSize), id.Height)
	return append(b, id.Namespace[:]...), nil
}

// UnmarshalNamespaceDataID decodes and validates an ID of exactly
// NamespaceDataIDSize bytes. Errors wrap eds.ErrInvalidID.
func UnmarshalNamespaceDataID(data []byte) (NamespaceDataID, error) {
	if len(data) != NamespaceDataIDSize {
		return NamespaceDataID{}, fmt.Errorf("%w: namespace data ID of %d bytes, want %d", eds.ErrInvalidID, len(data), NamespaceDataIDSize)
	}
	var id NamespaceDataID
	id.Height = binary.BigEndian.Uint64(data)
	copy(id.Namespace[:], data[eds.EdsIDSize:])
	if err := id.Validate(); err != nil {
		return NamespaceDataID{}, err
	}
	return id, nil
}

// request is a decoded request of any kind; the fields a kind does not use
// are zero.
type request struct {
	kind     Kind
	height   uint64
	row, col int
	ns       share.Namespace
	cells    []Cell // KindSamples
}

func (r request) String() string {
	switch r.kind {
	case KindSample:
		return fmt.Sprintf("sample %d (%d, %d)", r.height, r.row, r.col)
	case KindRow:
		return fmt.Sprintf("row %d/%d", r.height, r.row)
	case KindNamespaceData:
		return fmt.Sprintf("nd %d %s", r.height, r.ns)
	case KindSamples:
		return fmt.Sprintf("samples %d (%d cells)", r.height, len(r.cells))
	}
	return fmt.Sprintf("%v %d", r.kind, r.height)
}

// parseRequest decodes the request of protocol k: exactly RequestSize(k)
// bytes of its ID. Coordinates are checked against the square later
// (checkRange). Errors wrap eds.ErrInvalidID.
func parseRequest(k Kind, b []byte) (request, error) {
	r := request{kind: k}
	switch k {
	case KindSample:
		id, err := eds.UnmarshalSampleID(b)
		if err != nil {
			return r, err
		}
		r.height, r.row, r.col = id.Height, id.Row, id.Col
	case KindRow:
		id, err := eds.UnmarshalRowID(b)
		if err != nil {
			return r, err
		}
		r.height, r.row = id.Height, id.Row
	case KindNamespaceData:
		id, err := UnmarshalNamespaceDataID(b)
		if err != nil {
			return r, err
		}
		r.height, r.ns = id.Height, id.Namespace
	case KindEDS:
		id, err := eds.UnmarshalEdsID(b)
		if err != nil {
			return r, err
		}
		r.height = id.Height
	case KindSamples:
		return parseSamplesRequest(b)
	default:
		return r, fmt.Errorf("%w: unknown protocol %v", eds.ErrInvalidID, k)
	}
	return r, nil
}

// marshal returns the binary ID of r.
func (r request) marshal() ([]byte, error) {
	switch r.kind {
	case KindSample:
		return eds.SampleID{Height: r.height, Row: r.row, Col: r.col}.MarshalBinary()
	case KindRow:
		return eds.RowID{Height: r.height, Row: r.row}.MarshalBinary()
	case KindNamespaceData:
		return NamespaceDataID{Height: r.height, Namespace: r.ns}.MarshalBinary()
	case KindEDS:
		return eds.EdsID{Height: r.height}.MarshalBinary()
	case KindSamples:
		return marshalSamplesRequest(r.height, r.cells)
	}
	return nil, fmt.Errorf("%w: unknown protocol %v", eds.ErrInvalidID, r.kind)
}

// checkRange checks r's coordinates against a square of width w (2k).
func (r request) checkRange(w int) error {
	switch r.kind {
	case KindSample:
		return eds.SampleID{Height: r.height, Row: r.row, Col: r.col}.Validate(w)
	case KindRow:
		return eds.RowID{Height: r.height, Row: r.row}.Validate(w)
	case KindSamples:
		return checkCells(r.height, r.cells, w)
	}
	return nil
}

// Status is the status code of a response.
type Status uint8

// Status codes. A zero status is never sent. header-ex (header/exchange)
// has the same codes under the same names.
const (
	StatusOK          Status = 1
	StatusNotFound    Status = 2
	StatusRateLimited Status = 3
	StatusBadRequest  Status = 4
	StatusInternal    Status = 5
)

// String returns the status's name.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "OK"
	case StatusNotFound:
		return "NOT_FOUND"
	case StatusRateLimited:
		return "RATE_LIMITED"
	case StatusBadRequest:
		return "BAD_REQUEST"
	case StatusInternal:
		return "INTERNAL"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// The response header is a protobuf message framed by its length as one
// byte: Header { Status status = 1; }. Unknown fields are skipped, so later
// versions may add some; maxHeaderSize bounds it.
const (
	fieldStatus   protowire.Number = 1
	maxHeaderSize int              = 32
)

// appendHeader appends the framed response header of st to b.
func appendHeader(b []byte, st Status) []byte {
	msg := protowire.AppendTag(nil, fieldStatus, protowire.VarintType)
	msg = protowire.AppendVarint(msg, uint64(st))
	b = append(b, byte(len(msg)))
	return append(b, msg...)
}

// readHeader reads a framed response header and returns its status, one
// of the known ones. A stream that ends first, an oversized or malformed
// header, an unknown or missing status wrap ErrInvalidResponse; other errors
// are the reader's.
func readHeader(r *bufio.Reader) (Status, error) {
	n, err := r.ReadByte()
	if err != nil {
		return 0, eofFault(err, "response header")
	}
	if n == 0 || int(n) > maxHeaderSize {
		return 0, fmt.Errorf("%w: response header of %d bytes", ErrInvalidResponse, n)
	}
	var buf [maxHeaderSize]byte
	b := buf[:n]
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, eofFault(err, "response header")
	}
	var st Status
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, fmt.Errorf("%w: %w", ErrInvalidResponse, protowire.ParseError(n))
		}
		b = b[n:]
		if num == fieldStatus {
			if typ != protowire.VarintType || st != 0 {
				return 0, fmt.Errorf("%w: status repeated or of wire type %d", ErrInvalidResponse, typ)
			}
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, fmt.Errorf("%w: status: %w", ErrInvalidResponse, protowire.ParseError(n))
			}
			if v < uint64(StatusOK) || v > uint64(StatusInternal) {
				return 0, fmt.Errorf("%w: unknown status %d", ErrInvalidResponse, v)
			}
			st = Status(v)
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, fmt.Errorf("%w: field %d: %w", ErrInvalidResponse, num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	if st == 0 {
		return 0, fmt.Errorf("%w: no status", ErrInvalidResponse)
	}
	return st, nil
}

// eofFault turns the end of the stream while reading what into
// ErrInvalidResponse; other errors (resets, deadlines) stay as they are.
func eofFault(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: stream ends in the %s", ErrInvalidResponse, what)
	}
	return err
}

// readFrame reads a message framed by its length as a uvarint, of at most
// limit bytes. The buffer is allocated after the prefix is checked against
// limit, which the caller derives from its own header, not from the peer.
func readFrame(r *bufio.Reader, limit int, what string) ([]byte, error) {
	var n uint64
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return nil, eofFault(err, what+" length")
		}
		if i == 9 && c > 1 || i > 9 {
			return nil, fmt.Errorf("%w: %s length overflows", ErrInvalidResponse, what)
		}
		n |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			break
		}
	}
	if n > uint64(limit) {
		return nil, fmt.Errorf("%w: %s of %d bytes, limit %d", ErrInvalidResponse, what, n, limit)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, eofFault(err, what)
	}
	return b, nil
}

// expectEnd checks that r holds nothing more: a peer that sends more than
// the response is at fault.
func expectEnd(r *bufio.Reader) error {
	_, err := r.ReadByte()
	switch {
	case err == nil:
		return fmt.Errorf("%w: bytes after the response", ErrInvalidResponse)
	case errors.Is(err, io.EOF):
		return nil
	}
	return err
}

// Size limits of response payloads for a square of original width k,
// derived from the client's header, never from the peer. A proof of one
// leaf in a tree of 2k leaves has log2(2k) nodes, one of a namespace's range
// at most twice that (its left and right paths), plus a leaf hash for an
// absence proof; each node is nmt.NodeSize (90) bytes behind a tag and a
// length, and limitSlack covers the proof's scalars and the tags and
// lengths of the messages around it.
const (
	nodeWireSize = 1 + 1 + 90
	shareWire    = 1 + 2 + 1 + 2 + share.ShareSize // Share{data} behind its own tag and length
	limitSlack   = 64
)

func depth(k int) int { return bits.Len(uint(2*k)) - 1 }

// sampleLimit bounds the encoding of a sample of a square of width k.
func sampleLimit(k int) int {
	return min(eds.MaxSampleSize, shareWire+(depth(k)+1)*nodeWireSize+limitSlack)
}

// rowNamespaceDataLimit bounds the encoding of one row's namespace data:
// at most k shares (a namespace's shares lie in Q0) and a proof of at most
// 2·depth nodes and a leaf hash.
func rowNamespaceDataLimit(k int) int {
	return min(eds.MaxRowNamespaceDataSize, k*shareWire+(2*depth(k)+2)*nodeWireSize+limitSlack)
}

// appendFrame appends m to b behind its length as a uvarint.
func appendFrame(b, m []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(m)))
	return append(b, m...)
}
