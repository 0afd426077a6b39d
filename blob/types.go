package blob

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
)

// ErrBlobNotFound is returned when no blob matches; its text is
// celestia-node's, which clients compare against.
var ErrBlobNotFound = errors.New("blob: not found")

// ErrInvalidBlob wraps every error about a blob a client sent.
var ErrInvalidBlob = errors.New("blob: invalid blob")

// Commitment is a blob's share commitment (share.Blob.Commitment). In JSON
// it is base64, as any []byte.
type Commitment []byte

// Blob is a blob with its share commitment and, for a blob read from a
// square, the index of its first share in the extended square (row-major
// over the 2k×2k square: row*2k + column, celestia-node's convention); -1
// for a blob not read from a square.
type Blob struct {
	Namespace    share.Namespace
	Data         []byte
	ShareVersion uint8
	// Signer is set for share version 1 blobs only.
	Signer     []byte
	Commitment Commitment
	Index      int

	// checked is the validated share.Blob UnmarshalJSON made of the
	// fields of a blob with a negative Index, its commitment computed and
	// kept. ShareBlob (and so Submit)
	// uses it only while the fields still hold what it was made of, in a
	// buffer of their own (see cached); otherwise it is ignored.
	checked *share.Blob
}

// New returns a blob of ns and data (share version 0) with its commitment
// and Index -1.
func New(ns share.Namespace, data []byte) (*Blob, error) {
	return FromShare(ns, data, share.ShareVersionZero, nil)
}

// FromShare returns the Blob of the given parts, validated by
// share.NewBlob, with its commitment computed and Index -1.
func FromShare(ns share.Namespace, data []byte, shareVersion uint8, signer []byte) (*Blob, error) {
	b, err := share.NewBlob(ns, data, shareVersion, signer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBlob, err)
	}
	return fromShareBlob(b, -1)
}

func fromShareBlob(b *share.Blob, index int) (*Blob, error) {
	c, err := b.Commitment()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBlob, err)
	}
	return &Blob{Namespace: b.Namespace(), Data: b.Data(), ShareVersion: b.ShareVersion(),
		Signer: b.Signer(), Commitment: c, Index: index}, nil
}

// ShareBlob returns b as a share.Blob, validating it. For a blob decoded
// from JSON whose fields are unchanged since, it returns the share.Blob
// the decoding validated, whose commitment is already computed.
func (b *Blob) ShareBlob() (*share.Blob, error) {
	if sb := b.cached(); sb != nil {
		return sb, nil
	}
	sb, err := share.NewBlob(b.Namespace, b.Data, b.ShareVersion, b.Signer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBlob, err)
	}
	return sb, nil
}

// cached returns b.checked if b's fields still hold what it was made of,
// else nil. The share.Blob owns a copy of the data, so a change to b.Data
// in place shows as a difference (a comparison, far cheaper than the
// commitment); a Data aliasing the share.Blob's own buffer is not trusted.
func (b *Blob) cached() *share.Blob {
	sb := b.checked
	if sb == nil || b.Namespace != sb.Namespace() || b.ShareVersion != sb.ShareVersion() ||
		!bytes.Equal(b.Signer, sb.Signer()) || len(b.Data) != len(sb.Data()) || len(b.Data) == 0 ||
		&b.Data[0] == &sb.Data()[0] || !bytes.Equal(b.Data, sb.Data()) {
		return nil
	}
	return sb
}

// jsonBlob is celestia-node's JSON shape of a blob.
type jsonBlob struct {
	Namespace    []byte     `json:"namespace"`
	Data         []byte     `json:"data"`
	ShareVersion uint8      `json:"share_version"`
	Commitment   Commitment `json:"commitment"`
	Signer       []byte     `json:"signer,omitempty"`
	Index        int        `json:"index"`
}

// MarshalJSON encodes b in celestia-node's shape (AppendJSON).
func (b *Blob) MarshalJSON() ([]byte, error) {
	return b.AppendJSON(nil), nil
}

// AppendJSON appends to dst what encoding/json makes of b's jsonBlob, byte
// for byte: the fields in jsonBlob's order, byte slices in standard base64
// (null when nil), no signer when it is empty. It writes the base64 of the
// data in one pass; a client can put it straight into a request body,
// where json.Marshal would validate and copy MarshalJSON's output (for a
// 4 MB blob, 5.6 MB scanned a byte at a time, at every level of nesting).
func (b *Blob) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"namespace":`...)
	dst = appendJSONBytes(dst, b.Namespace[:])
	dst = append(dst, `,"data":`...)
	dst = appendJSONBytes(dst, b.Data)
	dst = append(dst, `,"share_version":`...)
	dst = strconv.AppendUint(dst, uint64(b.ShareVersion), 10)
	dst = append(dst, `,"commitment":`...)
	dst = appendJSONBytes(dst, b.Commitment)
	if len(b.Signer) > 0 {
		dst = append(dst, `,"signer":`...)
		dst = appendJSONBytes(dst, b.Signer)
	}
	dst = append(dst, `,"index":`...)
	dst = strconv.AppendInt(dst, int64(b.Index), 10)
	return append(dst, '}')
}

// appendJSONBytes appends encoding/json's encoding of v: null for nil, else
// its standard base64 in quotes.
func appendJSONBytes(dst, v []byte) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, v)
	return append(dst, '"')
}

// UnmarshalJSON decodes celestia-node's shape. It validates the namespace,
// data, share version and signer and computes the commitment; a commitment
// in the input that differs from it is an error (ErrInvalidBlob), one that
// is absent is filled in. A missing index is -1. The common form is read
// in one pass, base64 straight into Data; anything else goes through
// encoding/json, with the same result and errors. A blob without an
// index (or index -1: not read from a square, as submitted) keeps the
// validated share.Blob with its commitment for ShareBlob and Submit, at
// the cost of a second copy of its data while it lives.
func (b *Blob) UnmarshalJSON(data []byte) error {
	j, ok := decodeJSONFast(data)
	if !ok {
		j = jsonBlob{Index: -1}
		if err := json.Unmarshal(data, &j); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidBlob, err)
		}
	}
	ns, err := share.NamespaceFromBytes(j.Namespace)
	if err != nil {
		return fmt.Errorf("%w: namespace: %w", ErrInvalidBlob, err)
	}
	sb, err := share.NewBlob(ns, j.Data, j.ShareVersion, j.Signer)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidBlob, err)
	}
	c, err := sb.Commitment()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidBlob, err)
	}
	if len(j.Commitment) > 0 && string(j.Commitment) != string(c) {
		return fmt.Errorf("%w: commitment %X does not match the data's %X", ErrInvalidBlob, j.Commitment, c)
	}
	*b = Blob{Namespace: ns, Data: sb.Data(), ShareVersion: j.ShareVersion, Signer: bytes.Clone(sb.Signer()),
		Commitment: c, Index: j.Index}
	if j.Index < 0 {
		// A blob not read from a square, as submitted: Data keeps the
		// decoded buffer and sb its own copy (share.NewBlob copies),
		// which is what lets cached notice a change in place. A blob
		// read from a square (a client's Get) keeps one copy, as before.
		b.Data, b.checked = j.Data, sb
	}
	return nil
}

// Proof proves a blob's shares: one NMT inclusion proof per row the blob
// spans, in row order, each over the blob's shares in that row (leaves
// namespace || share) against the row root. Its JSON is a list of
// celestia-node's nmt proofs (nmt.Proof's JSON).
type Proof []*nmt.Proof

// SubscriptionResponse is one message of blob.Subscribe: the blobs of the
// namespace at a height (possibly none), in square order, and the CometBFT
// header of that height. Its JSON is celestia-node's, whose struct has no
// JSON tags: {"Blobs": [...], "Height": N, "Header": {...}}, the header in
// encoding/json's encoding of the CometBFT header (height as a number,
// hashes as upper-case hex), not CometBFT's own JSON of the header API.
// Header is shared with the header store: read it, do not modify it.
type SubscriptionResponse struct {
	Blobs  []*Blob `json:"Blobs"`
	Height uint64  `json:"Height"`
	// Header is the header at Height (celestia-node's header.RawHeader).
	Header *header.RawHeader `json:"Header"`
}
