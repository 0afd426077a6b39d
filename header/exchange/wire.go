package exchange

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/libp2p/go-libp2p/core/protocol"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/header"
)

// ProtocolID returns the header-ex protocol ID of network (the chain ID):
// /datamesh/<network>/header-ex/v0.1.0.
func ProtocolID(network string) protocol.ID {
	return protocol.ID("/datamesh/" + network + "/header-ex/v0.1.0")
}

// MaxHeadersPerRequest is the most headers one range request may ask for.
const MaxHeadersPerRequest = 64

// Wire size limits.
const (
	// maxRequestSize bounds an encoded Request: four fields, the largest a
	// 32-byte hash.
	maxRequestSize = 64
	// maxResponseSize bounds one encoded Response: a status and one header
	// of at most header.MaxExtendedHeaderSize bytes, with their tags and
	// length.
	maxResponseSize = header.MaxExtendedHeaderSize + 16
	hashSize        = 32
)

// Errors of the wire format and of the protocol.
var (
	// ErrInvalidMessage is wrapped when a request or a response message
	// does not decode, is too large, or is not one the protocol allows.
	ErrInvalidMessage = errors.New("exchange: invalid message")
)

// Status is the status code of a Response message (proto/headerex/v1).
type Status uint32

// Status codes. A zero status is never sent. shrex has the same codes
// under the same names.
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
	return fmt.Sprintf("Status(%d)", uint32(s))
}

// request is a decoded Request: exactly one of head, hash, or a range.
type request struct {
	head         bool
	hash         []byte
	from, amount uint64
}

func (r request) String() string {
	switch {
	case r.head:
		return "head"
	case r.hash != nil:
		return fmt.Sprintf("hash %X", r.hash)
	}
	return fmt.Sprintf("range [%d, %d)", r.from, r.from+r.amount)
}

const (
	fieldFrom   protowire.Number = 1
	fieldAmount protowire.Number = 2
	fieldHash   protowire.Number = 3
	fieldHead   protowire.Number = 4

	fieldStatus protowire.Number = 1
	fieldHeader protowire.Number = 2
)

// marshal returns the protobuf encoding of r (without its length prefix).
func (r request) marshal() []byte {
	var b []byte
	switch {
	case r.head:
		b = protowire.AppendTag(b, fieldHead, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	case r.hash != nil:
		b = protowire.AppendTag(b, fieldHash, protowire.BytesType)
		b = protowire.AppendBytes(b, r.hash)
	default:
		b = protowire.AppendTag(b, fieldFrom, protowire.VarintType)
		b = protowire.AppendVarint(b, r.from)
		b = protowire.AppendTag(b, fieldAmount, protowire.VarintType)
		b = protowire.AppendVarint(b, r.amount)
	}
	return b
}

// unmarshalRequest decodes and checks a Request: exactly one kind, a range
// with from >= 1 and amount in [1, MaxHeadersPerRequest] (and no overflow),
// a hash of 32 bytes. Unknown fields are skipped; a known field with the
// wrong wire type or repeated is rejected. Errors wrap ErrInvalidMessage.
func unmarshalRequest(b []byte) (request, error) {
	var r request
	if len(b) > maxRequestSize {
		return r, fmt.Errorf("%w: request of %d bytes, limit %d", ErrInvalidMessage, len(b), maxRequestSize)
	}
	var seen [fieldHead + 1]bool
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return r, fmt.Errorf("%w: %w", ErrInvalidMessage, protowire.ParseError(n))
		}
		b = b[n:]
		if num >= fieldFrom && num <= fieldHead {
			if seen[num] {
				return r, fmt.Errorf("%w: field %d repeated", ErrInvalidMessage, num)
			}
			seen[num] = true
			want := protowire.VarintType
			if num == fieldHash {
				want = protowire.BytesType
			}
			if typ != want {
				return r, fmt.Errorf("%w: field %d has wire type %d", ErrInvalidMessage, num, typ)
			}
			if num == fieldHash {
				v, n := protowire.ConsumeBytes(b)
				if n < 0 {
					return r, fmt.Errorf("%w: hash: %w", ErrInvalidMessage, protowire.ParseError(n))
				}
				r.hash = append([]byte{}, v...)
				b = b[n:]
				continue
			}
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return r, fmt.Errorf("%w: field %d: %w", ErrInvalidMessage, num, protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case fieldFrom:
				r.from = v
			case fieldAmount:
				r.amount = v
			case fieldHead:
				r.head = v != 0
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return r, fmt.Errorf("%w: field %d: %w", ErrInvalidMessage, num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	kinds := 0
	if r.head {
		kinds++
	}
	if seen[fieldHash] {
		kinds++
	}
	if seen[fieldFrom] || seen[fieldAmount] {
		kinds++
	}
	switch {
	case kinds != 1:
		return r, fmt.Errorf("%w: request must ask for exactly one of head, hash or range", ErrInvalidMessage)
	case seen[fieldHash] && len(r.hash) != hashSize:
		return r, fmt.Errorf("%w: hash of %d bytes, want %d", ErrInvalidMessage, len(r.hash), hashSize)
	case !r.head && !seen[fieldHash] && (r.from < 1 || r.amount < 1 || r.amount > MaxHeadersPerRequest || r.from+r.amount < r.from):
		return r, fmt.Errorf("%w: range from %d amount %d: want from >= 1 and amount in [1, %d]",
			ErrInvalidMessage, r.from, r.amount, MaxHeadersPerRequest)
	}
	return r, nil
}

// marshalResponse returns the protobuf encoding of a Response.
func marshalResponse(st Status, body []byte) []byte {
	b := make([]byte, 0, len(body)+16)
	b = protowire.AppendTag(b, fieldStatus, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(st))
	if len(body) > 0 {
		b = protowire.AppendTag(b, fieldHeader, protowire.BytesType)
		b = protowire.AppendBytes(b, body)
	}
	return b
}

// unmarshalResponse decodes a Response: a known status, and a header body
// with StatusOK only (required there). The body aliases b. Errors wrap
// ErrInvalidMessage.
func unmarshalResponse(b []byte) (Status, []byte, error) {
	if len(b) > maxResponseSize {
		return 0, nil, fmt.Errorf("%w: response of %d bytes, limit %d", ErrInvalidMessage, len(b), maxResponseSize)
	}
	var (
		st              Status
		body            []byte
		seenSt, seenHdr bool
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, nil, fmt.Errorf("%w: %w", ErrInvalidMessage, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == fieldStatus && typ == protowire.VarintType && !seenSt:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, nil, fmt.Errorf("%w: status: %w", ErrInvalidMessage, protowire.ParseError(n))
			}
			if v > uint64(StatusInternal) {
				return 0, nil, fmt.Errorf("%w: unknown status %d", ErrInvalidMessage, v)
			}
			st, seenSt = Status(v), true
			b = b[n:]
		case num == fieldHeader && typ == protowire.BytesType && !seenHdr:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, nil, fmt.Errorf("%w: header: %w", ErrInvalidMessage, protowire.ParseError(n))
			}
			body, seenHdr = v, true
			b = b[n:]
		case num == fieldStatus || num == fieldHeader:
			return 0, nil, fmt.Errorf("%w: field %d repeated or of wire type %d", ErrInvalidMessage, num, typ)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return 0, nil, fmt.Errorf("%w: field %d: %w", ErrInvalidMessage, num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	switch {
	case st == 0:
		return 0, nil, fmt.Errorf("%w: no status", ErrInvalidMessage)
	case st == StatusOK && len(body) == 0:
		return 0, nil, fmt.Errorf("%w: OK without a header", ErrInvalidMessage)
	case st != StatusOK && len(body) != 0:
		return 0, nil, fmt.Errorf("%w: status %v with a header", ErrInvalidMessage, st)
	}
	return st, body, nil
}

// frame returns msg prefixed by its length as a uvarint, so that it is
// written with one Write.
func frame(msg []byte) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(msg))
	b = binary.AppendUvarint(b, uint64(len(msg)))
	return append(b, msg...)
}

// readLen reads a uvarint length prefix and checks it against limit. It
// returns io.EOF on a clean end of stream before the prefix, and
// ErrInvalidMessage for a prefix that is truncated, overlong or over limit.
func readLen(r io.ByteReader, limit int) (int, error) {
	var n uint64
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			switch {
			case i == 0 && errors.Is(err, io.EOF):
				return 0, io.EOF
			case errors.Is(err, io.EOF):
				return 0, fmt.Errorf("%w: truncated length prefix", ErrInvalidMessage)
			}
			return 0, err
		}
		if i == 9 && c > 1 || i > 9 {
			return 0, fmt.Errorf("%w: length prefix overflows", ErrInvalidMessage)
		}
		n |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			break
		}
	}
	if n > uint64(limit) {
		return 0, fmt.Errorf("%w: message of %d bytes, limit %d", ErrInvalidMessage, n, limit)
	}
	return int(n), nil
}

// readBody reads exactly n bytes; a stream ending early is
// ErrInvalidMessage. The buffer grows as bytes arrive, so a length prefix
// alone does not make us allocate its size.
func readBody(r io.Reader, n int) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, min(n, 64<<10)))
	if _, err := io.CopyN(buf, r, int64(n)); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: truncated message: %w", ErrInvalidMessage, err)
		}
		return nil, err
	}
	return buf.Bytes(), nil
}
