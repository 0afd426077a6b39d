package fraud

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/libp2p/go-libp2p/core/protocol"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/eds"
)

// TopicID returns the fraud-sub topic of network's bad-encoding proofs:
// /datamesh/<network>/fraud-sub/badencodingv0.1/v0.0.1. Each message is one
// proof, eds.BadEncodingProof's MarshalBinary.
func TopicID(network string) string {
	return "/datamesh/" + network + "/fraud-sub/" + eds.BadEncodingProofType + "/v0.0.1"
}

// ProtocolID returns the fraud-sync protocol of network:
// /datamesh/<network>/fraud/v0.0.1.
func ProtocolID(network string) protocol.ID {
	return protocol.ID("/datamesh/" + network + "/fraud/v0.0.1")
}

// Wire limits.
const (
	// DefaultMaxMessageSize bounds a proof message on the topic and a
	// fraud-sync response frame: 1 MiB, gossipsub's default message limit
	// (an RPC above it is dropped by the receiving peer) and go-fraud's
	// frame limit (go-libp2p-messenger's serde). A proof in the form with k
	// shares fits: about 162 KB at k = 128 and 348 KB at k = 256.
	DefaultMaxMessageSize = 1 << 20
	// MaxSyncRequestSize bounds a fraud-sync request frame; a request
	// names a handful of proof types.
	MaxSyncRequestSize = 4 << 10
	// MaxSyncProofTypes bounds the proof types of one request; the server
	// answers each distinct type once.
	MaxSyncProofTypes = 16
)

// ErrInvalidMessage is wrapped by the decoders of this file: the bytes are
// not a fraud-sync message within the limits.
var ErrInvalidMessage = errors.New("fraud: invalid message")

// SyncRequest is a fraud-sync request, go-fraud's FraudMessageRequest:
//
//	message FraudMessageRequest { repeated string RequestedProofType = 1; }
type SyncRequest struct {
	ProofTypes []string
}

// SyncResponse is a fraud-sync response, go-fraud's FraudMessageResponse:
//
//	message FraudMessageResponse { repeated ProofResponse Proofs = 1; }
//	message ProofResponse { string Type = 1; repeated bytes Value = 2; }
//
// A server answers each proof type it holds proofs of with one
// ProofsOfType, and leaves out the types it does not know or holds none of.
type SyncResponse struct {
	Proofs []ProofsOfType
}

// ProofsOfType is go-fraud's ProofResponse: the encoded proofs of one type.
type ProofsOfType struct {
	Type   string
	Values [][]byte
}

// Protobuf field numbers of go-fraud's fraudserv/pb messages.
const (
	fieldRequestType    protowire.Number = 1 // FraudMessageRequest.RequestedProofType
	fieldResponseProofs protowire.Number = 1 // FraudMessageResponse.Proofs
	fieldProofsType     protowire.Number = 1 // ProofResponse.Type
	fieldProofsValue    protowire.Number = 2 // ProofResponse.Value
)

// MarshalBinary returns the protobuf encoding of r (without the frame's
// length prefix). It fails, wrapping ErrInvalidMessage, for more than
// MaxSyncProofTypes types or an encoding above MaxSyncRequestSize.
func (r SyncRequest) MarshalBinary() ([]byte, error) {
	if len(r.ProofTypes) > MaxSyncProofTypes {
		return nil, fmt.Errorf("%w: %d proof types, at most %d", ErrInvalidMessage, len(r.ProofTypes), MaxSyncProofTypes)
	}
	var b []byte
	for _, t := range r.ProofTypes {
		b = protowire.AppendTag(b, fieldRequestType, protowire.BytesType)
		b = protowire.AppendString(b, t)
	}
	if len(b) > MaxSyncRequestSize {
		return nil, fmt.Errorf("%w: request of %d bytes, at most %d", ErrInvalidMessage, len(b), MaxSyncRequestSize)
	}
	return b, nil
}

// UnmarshalSyncRequest decodes a request, treating b as untrusted: at most
// MaxSyncRequestSize bytes and MaxSyncProofTypes types; unknown fields are
// skipped. Errors wrap ErrInvalidMessage.
func UnmarshalSyncRequest(b []byte) (SyncRequest, error) {
	if len(b) > MaxSyncRequestSize {
		return SyncRequest{}, fmt.Errorf("%w: request of %d bytes, at most %d", ErrInvalidMessage, len(b), MaxSyncRequestSize)
	}
	var r SyncRequest
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != fieldRequestType {
			return nil
		}
		if typ != protowire.BytesType {
			return fmt.Errorf("proof type of wire type %d", typ)
		}
		if len(r.ProofTypes) == MaxSyncProofTypes {
			return fmt.Errorf("more than %d proof types", MaxSyncProofTypes)
		}
		r.ProofTypes = append(r.ProofTypes, string(v))
		return nil
	})
	if err != nil {
		return SyncRequest{}, fmt.Errorf("%w: request: %w", ErrInvalidMessage, err)
	}
	return r, nil
}

// MarshalBinary returns the protobuf encoding of r (without the frame's
// length prefix). Encoding cannot fail; the error is for the
// encoding.BinaryMarshaler interface.
func (r SyncResponse) MarshalBinary() ([]byte, error) {
	var b, msg []byte
	for _, p := range r.Proofs {
		msg = msg[:0]
		if p.Type != "" {
			msg = protowire.AppendTag(msg, fieldProofsType, protowire.BytesType)
			msg = protowire.AppendString(msg, p.Type)
		}
		for _, v := range p.Values {
			msg = protowire.AppendTag(msg, fieldProofsValue, protowire.BytesType)
			msg = protowire.AppendBytes(msg, v)
		}
		b = protowire.AppendTag(b, fieldResponseProofs, protowire.BytesType)
		b = protowire.AppendBytes(b, msg)
	}
	return b, nil
}

// UnmarshalSyncResponse decodes a response, treating b as untrusted: it
// must be at most maxSize bytes; unknown fields are skipped. The values
// alias b. Errors wrap ErrInvalidMessage.
func UnmarshalSyncResponse(b []byte, maxSize int) (SyncResponse, error) {
	if len(b) > maxSize {
		return SyncResponse{}, fmt.Errorf("%w: response of %d bytes, at most %d", ErrInvalidMessage, len(b), maxSize)
	}
	var r SyncResponse
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != fieldResponseProofs {
			return nil
		}
		if typ != protowire.BytesType {
			return fmt.Errorf("proofs of wire type %d", typ)
		}
		var p ProofsOfType
		seenType := false
		err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			switch num {
			case fieldProofsType:
				if typ != protowire.BytesType {
					return fmt.Errorf("type of wire type %d", typ)
				}
				if seenType {
					return errors.New("type given twice")
				}
				seenType, p.Type = true, string(v)
			case fieldProofsValue:
				if typ != protowire.BytesType {
					return fmt.Errorf("value of wire type %d", typ)
				}
				p.Values = append(p.Values, v)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("proofs %d: %w", len(r.Proofs), err)
		}
		r.Proofs = append(r.Proofs, p)
		return nil
	})
	if err != nil {
		return SyncResponse{}, fmt.Errorf("%w: response: %w", ErrInvalidMessage, err)
	}
	return r, nil
}

// eachField calls fn with every field of the protobuf message b: its
// number, wire type and value: v for a length-delimited field (aliasing b),
// x for a varint; the other types carry neither.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// frame returns msg behind its uvarint length, as go-libp2p-messenger's
// serde writes messages.
func frame(msg []byte) []byte {
	b := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(msg)), uint64(len(msg)))
	return append(b, msg...)
}

// readFrameLen reads a frame's length prefix and checks it against max.
// A stream that ends in or before the prefix is io.ErrUnexpectedEOF; a
// prefix that is not a uvarint or exceeds max wraps ErrInvalidMessage;
// other errors are the stream's.
func readFrameLen(r io.ByteReader, max int) (int, error) {
	var n uint64
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if errors.Is(err, io.EOF) {
			return 0, io.ErrUnexpectedEOF
		}
		if err != nil {
			return 0, err
		}
		if i == binary.MaxVarintLen64-1 && c > 1 {
			return 0, fmt.Errorf("%w: frame length overflows", ErrInvalidMessage)
		}
		n |= uint64(c&0x7f) << (7 * i)
		if n > uint64(max) {
			return 0, fmt.Errorf("%w: frame of more than %d bytes", ErrInvalidMessage, max)
		}
		if c < 0x80 {
			return int(n), nil
		}
	}
}

// Fields of celestia-node's BadEncoding message that name the block (see
// eds.BadEncodingProof.MarshalBinary).
const (
	fieldBEFPHeaderHash protowire.Number = 1
	fieldBEFPHeight     protowire.Number = 2
)

// peekProof reads the block a proof message names, its height and header
// hash, without decoding its shares: a walk over the message's fields that
// copies nothing. It fails as eds.UnmarshalBadEncodingProof would for a
// message that does not parse or whose header hash or height is missing
// its mark (a hash of other than eds.HeaderHashSize bytes, either given
// twice); the rest is checked when the proof is decoded. headerHash
// aliases data.
func peekProof(data []byte) (height uint64, headerHash []byte, err error) {
	seenHeight := false
	err = eachField(data, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case fieldBEFPHeaderHash:
			switch {
			case typ != protowire.BytesType:
				return fmt.Errorf("header hash of wire type %d", typ)
			case headerHash != nil:
				return errors.New("header hash given twice")
			case len(v) != eds.HeaderHashSize:
				return fmt.Errorf("header hash of %d bytes, want %d", len(v), eds.HeaderHashSize)
			}
			headerHash = v
		case fieldBEFPHeight:
			if typ != protowire.VarintType {
				return fmt.Errorf("height of wire type %d", typ)
			}
			if seenHeight {
				return errors.New("height given twice")
			}
			seenHeight, height = true, x
		}
		return nil
	})
	if err == nil && headerHash == nil {
		err = errors.New("header hash missing")
	}
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", eds.ErrInvalidBadEncodingProof, err)
	}
	return height, headerHash, nil
}
