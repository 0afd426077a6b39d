package header

import (
	"errors"
	"fmt"

	cmtmerkle "github.com/cometbft/cometbft/crypto/merkle"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/eds"
)

// MaxExtendedHeaderSize bounds the wire encoding UnmarshalExtendedHeader
// accepts: 4 MiB. The largest part is the DAH (eds.MaxDAHEncodedSize, 67 KiB
// at the upper bound square width 512); a commit and a validator set take
// about 150 bytes per validator, so the limit leaves room for over 20,000
// validators while keeping a hostile peer from making us buffer more.
const MaxExtendedHeaderSize = 4 << 20

// ErrInvalidEncoding is wrapped by every decoding error of
// UnmarshalExtendedHeader and UnmarshalJSON.
var ErrInvalidEncoding = errors.New("header: invalid extended header encoding")

// Field numbers of the wire encoding:
//
//	message ExtendedHeader {
//	  tendermint.types.Header       header          = 1;
//	  tendermint.types.Commit       commit          = 2;
//	  tendermint.types.ValidatorSet validator_set   = 3;
//	  bytes                         dah             = 4; // eds.DataAvailabilityHeader.MarshalBinary
//	  bytes                         data_root_tx    = 5;
//	  tendermint.crypto.Proof       data_root_proof = 6;
//	}
const (
	fieldHeader protowire.Number = iota + 1
	fieldCommit
	fieldValidatorSet
	fieldDAH
	fieldDataRootTx
	fieldDataRootProof
)

// MarshalBinary returns the protobuf encoding of h (the message above): the
// CometBFT parts as CometBFT's own protobuf messages, the DAH in eds's
// encoding. It fails if a part is missing or cannot be encoded.
func (h *ExtendedHeader) MarshalBinary() ([]byte, error) {
	if h == nil || h.Commit == nil || h.ValidatorSet == nil || h.DAH == nil {
		return nil, fmt.Errorf("%w: missing part", ErrInvalidHeader)
	}
	ph := h.RawHeader.ToProto()
	hb, err := ph.Marshal()
	if err != nil {
		return nil, fmt.Errorf("header: encoding header: %w", err)
	}
	cb, err := h.Commit.ToProto().Marshal()
	if err != nil {
		return nil, fmt.Errorf("header: encoding commit: %w", err)
	}
	pv, err := h.ValidatorSet.ToProto()
	if err != nil {
		return nil, fmt.Errorf("header: encoding validator set: %w", err)
	}
	vb, err := pv.Marshal()
	if err != nil {
		return nil, fmt.Errorf("header: encoding validator set: %w", err)
	}
	db, err := h.DAH.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("header: encoding DAH: %w", err)
	}
	pb, err := h.DataRootProof.ToProto().Marshal()
	if err != nil {
		return nil, fmt.Errorf("header: encoding data root proof: %w", err)
	}
	var out []byte
	for _, f := range []struct {
		num protowire.Number
		b   []byte
	}{{fieldHeader, hb}, {fieldCommit, cb}, {fieldValidatorSet, vb}, {fieldDAH, db}, {fieldDataRootTx, h.DataRootTx}, {fieldDataRootProof, pb}} {
		out = protowire.AppendTag(out, f.num, protowire.BytesType)
		out = protowire.AppendBytes(out, f.b)
	}
	return out, nil
}

// UnmarshalExtendedHeader decodes the wire encoding of a header. It rejects
// input over MaxExtendedHeaderSize, a field that is not length-delimited or
// appears twice, a missing part, and parts CometBFT or eds reject when
// decoding (CometBFT's FromProto functions run ValidateBasic). Unknown
// fields are skipped. It does not validate the header: call Validate. The
// result does not alias b. Errors wrap ErrInvalidEncoding.
func UnmarshalExtendedHeader(b []byte) (*ExtendedHeader, error) {
	if len(b) > MaxExtendedHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidEncoding, len(b), MaxExtendedHeaderSize)
	}
	var parts [fieldDataRootProof + 1][]byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("%w: %w", ErrInvalidEncoding, protowire.ParseError(n))
		}
		b = b[n:]
		if num >= fieldHeader && num <= fieldDataRootProof {
			if typ != protowire.BytesType {
				return nil, fmt.Errorf("%w: field %d has wire type %d", ErrInvalidEncoding, num, typ)
			}
			if parts[num] != nil {
				return nil, fmt.Errorf("%w: field %d repeated", ErrInvalidEncoding, num)
			}
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, fmt.Errorf("%w: field %d: %w", ErrInvalidEncoding, num, protowire.ParseError(n))
			}
			parts[num] = append([]byte{}, v...) // non-nil even when empty
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return nil, fmt.Errorf("%w: field %d: %w", ErrInvalidEncoding, num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	for num := fieldHeader; num <= fieldDataRootProof; num++ {
		if parts[num] == nil {
			return nil, fmt.Errorf("%w: missing field %d", ErrInvalidEncoding, num)
		}
	}

	h := new(ExtendedHeader)
	var ph cmtproto.Header
	if err := ph.Unmarshal(parts[fieldHeader]); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrInvalidEncoding, err)
	}
	raw, err := cmttypes.HeaderFromProto(&ph)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrInvalidEncoding, err)
	}
	h.RawHeader = raw
	var pc cmtproto.Commit
	if err := pc.Unmarshal(parts[fieldCommit]); err != nil {
		return nil, fmt.Errorf("%w: commit: %w", ErrInvalidEncoding, err)
	}
	if h.Commit, err = cmttypes.CommitFromProto(&pc); err != nil {
		return nil, fmt.Errorf("%w: commit: %w", ErrInvalidEncoding, err)
	}
	var pv cmtproto.ValidatorSet
	if err := pv.Unmarshal(parts[fieldValidatorSet]); err != nil {
		return nil, fmt.Errorf("%w: validator set: %w", ErrInvalidEncoding, err)
	}
	if h.ValidatorSet, err = cmttypes.ValidatorSetFromProto(&pv); err != nil {
		return nil, fmt.Errorf("%w: validator set: %w", ErrInvalidEncoding, err)
	}
	if h.DAH, err = eds.UnmarshalDAH(parts[fieldDAH]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidEncoding, err)
	}
	h.DataRootTx = parts[fieldDataRootTx]
	var pp cmtcrypto.Proof
	if err := pp.Unmarshal(parts[fieldDataRootProof]); err != nil {
		return nil, fmt.Errorf("%w: data root proof: %w", ErrInvalidEncoding, err)
	}
	proof, err := cmtmerkle.ProofFromProto(&pp)
	if err != nil {
		return nil, fmt.Errorf("%w: data root proof: %w", ErrInvalidEncoding, err)
	}
	h.DataRootProof = *proof
	return h, nil
}

// jsonHeader is the JSON shape of an ExtendedHeader, that of Celestia's
// header.* API (header, commit, validator_set, dah) plus the data root
// transaction and its proof.
type jsonHeader struct {
	Header        *cmttypes.Header       `json:"header"`
	Commit        *cmttypes.Commit       `json:"commit"`
	ValidatorSet  *cmttypes.ValidatorSet `json:"validator_set"`
	DAH           *jsonDAH               `json:"dah"`
	DataRootTx    []byte                 `json:"data_root_tx"`
	DataRootProof *cmtmerkle.Proof       `json:"data_root_proof"`
}

type jsonDAH struct {
	RowRoots    [][]byte `json:"row_roots"`
	ColumnRoots [][]byte `json:"column_roots"`
}

// MarshalJSON encodes h with CometBFT's JSON encoding (libs/json: int64 as
// strings, bytes as base64, public keys as typed objects), so clients of
// Celestia's header API decode the header, commit, validator set and DAH.
func (h *ExtendedHeader) MarshalJSON() ([]byte, error) {
	if h.DAH == nil {
		return nil, fmt.Errorf("%w: no DAH", ErrInvalidHeader)
	}
	proof := h.DataRootProof
	return cmtjson.Marshal(jsonHeader{
		Header:        &h.RawHeader,
		Commit:        h.Commit,
		ValidatorSet:  h.ValidatorSet,
		DAH:           &jsonDAH{RowRoots: h.DAH.RowRoots, ColumnRoots: h.DAH.ColumnRoots},
		DataRootTx:    h.DataRootTx,
		DataRootProof: &proof,
	})
}

// UnmarshalJSON decodes what MarshalJSON encodes. The decoded parts are
// then passed through the wire encoding (MarshalBinary and
// UnmarshalExtendedHeader), so JSON gets the checks of CometBFT's FromProto
// functions: CometBFT's JSON decoder alone accepts, for example, an ed25519
// public key of the wrong length, on which CometBFT panics later. Errors wrap
// ErrInvalidEncoding; the header is not validated (call Validate).
func (h *ExtendedHeader) UnmarshalJSON(b []byte) error {
	if len(b) > maxJSONSize {
		return fmt.Errorf("%w: %d bytes of JSON, limit %d", ErrInvalidEncoding, len(b), maxJSONSize)
	}
	var j jsonHeader
	if err := cmtjson.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidEncoding, err)
	}
	if j.Header == nil || j.Commit == nil || j.ValidatorSet == nil || j.DAH == nil || j.DataRootProof == nil {
		return fmt.Errorf("%w: missing part", ErrInvalidEncoding)
	}
	decoded := &ExtendedHeader{
		RawHeader:     *j.Header,
		Commit:        j.Commit,
		ValidatorSet:  j.ValidatorSet,
		DAH:           &eds.DataAvailabilityHeader{RowRoots: j.DAH.RowRoots, ColumnRoots: j.DAH.ColumnRoots},
		DataRootTx:    j.DataRootTx,
		DataRootProof: *j.DataRootProof,
	}
	wire, err := decoded.MarshalBinary()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidEncoding, err)
	}
	if decoded, err = UnmarshalExtendedHeader(wire); err != nil {
		return err
	}
	*h = *decoded
	return nil
}

// maxJSONSize bounds UnmarshalJSON's input: base64 and field names make the
// JSON of a header at most about twice its wire encoding.
const maxJSONSize = 3 * MaxExtendedHeaderSize
