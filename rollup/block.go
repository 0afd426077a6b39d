package rollup

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/datamesh/mesh-node/merkle"
	"google.golang.org/protobuf/encoding/protowire"
)

// Magic is the first bytes of every rollup block blob: "DMRB" and the
// format version. A blob in the namespace that does not start with it is
// not a rollup block (ErrNotBlock).
var Magic = []byte{'D', 'M', 'R', 'B', FormatVersion}

// FormatVersion is the version byte of Magic.
const FormatVersion = 1

// Limits of the block format, checked before anything is allocated.
const (
	// MaxBlockSize is the most bytes of an encoded block (one blob).
	MaxBlockSize = 2 << 20
	// MaxTxs is the most transactions in a block.
	MaxTxs = 100_000
	// MaxChainIDSize is the most bytes of a chain ID.
	MaxChainIDSize = 64
	// MaxStateRootSize is the most bytes of a state root (opaque to the
	// rollup node, an executor's hash).
	MaxStateRootSize = 64
	// HashSize is the size of ParentHash, DataHash and a block's Hash.
	HashSize = sha256.Size
)

// Errors of decoding and checking blocks.
var (
	// ErrNotBlock: a blob that does not start with Magic.
	ErrNotBlock = errors.New("rollup: not a rollup block")
	// ErrInvalidBlock: a blob that starts with Magic but is not a
	// canonically encoded block within the limits.
	ErrInvalidBlock = errors.New("rollup: invalid block")
	// ErrBadSignature: a header whose signature is not the proposer's or
	// whose proposer is not the sequencer.
	ErrBadSignature = errors.New("rollup: bad signature")
)

// signDomain prefixes the bytes a sequencer signs, so that a header
// signature cannot be taken for a signature of anything else made with
// the same key.
const signDomain = "datamesh-rollup-header-v1\x00"

// Header is a rollup block's header. All its fields are covered by
// Signature except Signature itself.
type Header struct {
	ChainID string
	Height  uint64
	// Time is the block time, UTC, at or after 1970 (it is encoded as
	// nanoseconds since the Unix epoch).
	Time time.Time
	// ParentHash is the Hash of the previous block's header; all zeros
	// for the first block.
	ParentHash []byte
	// DataHash is DataHash(txs) of the block's transactions.
	DataHash []byte
	// StateRoot is the executor's state root after executing this block.
	StateRoot []byte
	// Proposer is the sequencer's ed25519 public key.
	Proposer ed25519.PublicKey
	// ForcedTxs is how many of the block's first transactions are forced
	// transactions (forced.go), the next ones pending in order. It is
	// encoded only when it is not 0, so blocks without forced
	// transactions encode as before it existed.
	ForcedTxs uint64
	// Signature is Proposer's ed25519 signature of SignBytes.
	Signature []byte
}

// Block is one rollup block: its header and its transactions, posted as
// one blob.
type Block struct {
	Header Header
	Txs    [][]byte
}

// Field numbers of the encoding (docs/rollups.md, "Block format").
const (
	fHdrChainID    = 1
	fHdrHeight     = 2
	fHdrTime       = 3
	fHdrParentHash = 4
	fHdrDataHash   = 5
	fHdrStateRoot  = 6
	fHdrProposer   = 7
	fHdrSignature  = 8
	fHdrForcedTxs  = 9 // between the proposer and the signature, when not 0

	fBlockHeader = 1
	fBlockTx     = 2
)

// DataHash is the RFC 6962 Merkle root (package merkle) of txs, so that a
// transaction's inclusion in a block can later be proven to the header.
func DataHash(txs [][]byte) []byte { return merkle.HashFromByteSlices(txs) }

// check validates the header's fields, all but the signature's validity.
func (h *Header) check() error {
	switch {
	case h.ChainID == "" || len(h.ChainID) > MaxChainIDSize:
		return fmt.Errorf("chain ID of %d bytes, want 1 to %d", len(h.ChainID), MaxChainIDSize)
	case h.Height == 0:
		return errors.New("height 0")
	case h.Time.Before(time.Unix(0, 0)) || h.Time.After(time.Unix(0, math.MaxInt64)):
		return fmt.Errorf("time %s outside 1970 to 2262", h.Time)
	case len(h.ParentHash) != HashSize:
		return fmt.Errorf("parent hash of %d bytes, want %d", len(h.ParentHash), HashSize)
	case len(h.DataHash) != HashSize:
		return fmt.Errorf("data hash of %d bytes, want %d", len(h.DataHash), HashSize)
	case len(h.StateRoot) == 0 || len(h.StateRoot) > MaxStateRootSize:
		return fmt.Errorf("state root of %d bytes, want 1 to %d", len(h.StateRoot), MaxStateRootSize)
	case len(h.Proposer) != ed25519.PublicKeySize:
		return fmt.Errorf("proposer key of %d bytes, want %d", len(h.Proposer), ed25519.PublicKeySize)
	}
	return nil
}

// appendUnsigned appends the header's fields but the signature.
func (h *Header) appendUnsigned(b []byte) []byte {
	b = protowire.AppendTag(b, fHdrChainID, protowire.BytesType)
	b = protowire.AppendString(b, h.ChainID)
	b = protowire.AppendTag(b, fHdrHeight, protowire.VarintType)
	b = protowire.AppendVarint(b, h.Height)
	b = protowire.AppendTag(b, fHdrTime, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(h.Time.UnixNano()))
	for _, f := range []struct {
		num protowire.Number
		v   []byte
	}{{fHdrParentHash, h.ParentHash}, {fHdrDataHash, h.DataHash}, {fHdrStateRoot, h.StateRoot}, {fHdrProposer, h.Proposer}} {
		b = protowire.AppendTag(b, f.num, protowire.BytesType)
		b = protowire.AppendBytes(b, f.v)
	}
	if h.ForcedTxs != 0 {
		b = protowire.AppendTag(b, fHdrForcedTxs, protowire.VarintType)
		b = protowire.AppendVarint(b, h.ForcedTxs)
	}
	return b
}

// SignBytes returns what the proposer signs: a domain string, then the
// header's canonical encoding without the signature field. It fails for
// a header whose fields are out of range.
func (h *Header) SignBytes() ([]byte, error) {
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrInvalidBlock, err)
	}
	return h.appendUnsigned([]byte(signDomain)), nil
}

// Sign sets Proposer to key's public key and Signature to its signature
// of SignBytes. ed25519 signing is deterministic: the same header and key
// give the same bytes.
func (h *Header) Sign(key ed25519.PrivateKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("rollup: sign: key of %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	h.Proposer = key.Public().(ed25519.PublicKey)
	msg, err := h.SignBytes()
	if err != nil {
		return err
	}
	h.Signature = ed25519.Sign(key, msg)
	return nil
}

// VerifySignature checks that the header is signed by sequencer: its
// Proposer is sequencer and Signature verifies. Errors wrap
// ErrBadSignature (or ErrInvalidBlock for a header out of range).
func (h *Header) VerifySignature(sequencer ed25519.PublicKey) error {
	if !bytes.Equal(h.Proposer, sequencer) {
		return fmt.Errorf("%w: proposer %X is not the sequencer %X", ErrBadSignature, []byte(h.Proposer), []byte(sequencer))
	}
	msg, err := h.SignBytes()
	if err != nil {
		return err
	}
	if len(h.Signature) != ed25519.SignatureSize || !ed25519.Verify(sequencer, msg, h.Signature) {
		return fmt.Errorf("%w: header %d", ErrBadSignature, h.Height)
	}
	return nil
}

// Encode returns the header's canonical encoding, signature included.
func (h *Header) Encode() ([]byte, error) {
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrInvalidBlock, err)
	}
	if len(h.Signature) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: header: signature of %d bytes, want %d", ErrInvalidBlock, len(h.Signature), ed25519.SignatureSize)
	}
	b := h.appendUnsigned(nil)
	b = protowire.AppendTag(b, fHdrSignature, protowire.BytesType)
	return protowire.AppendBytes(b, h.Signature), nil
}

// Hash is SHA256 of the header's canonical encoding, signature included:
// the next block's ParentHash.
func (h *Header) Hash() ([]byte, error) {
	b, err := h.Encode()
	if err != nil {
		return nil, err
	}
	s := sha256.Sum256(b)
	return s[:], nil
}

// Encode returns the block's canonical encoding, a blob: Magic, then the
// header as field 1 and each transaction as field 2, in order. It fails
// for a block out of the format's limits or whose DataHash is not its
// transactions'.
func (b *Block) Encode() ([]byte, error) {
	if len(b.Txs) > MaxTxs {
		return nil, fmt.Errorf("%w: %d transactions, at most %d", ErrInvalidBlock, len(b.Txs), MaxTxs)
	}
	if b.Header.ForcedTxs > uint64(len(b.Txs)) {
		return nil, fmt.Errorf("%w: %d forced transactions of %d", ErrInvalidBlock, b.Header.ForcedTxs, len(b.Txs))
	}
	if !bytes.Equal(b.Header.DataHash, DataHash(b.Txs)) {
		return nil, fmt.Errorf("%w: data hash is not the transactions'", ErrInvalidBlock)
	}
	hdr, err := b.Header.Encode()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(Magic)+len(hdr)+16)
	out = append(out, Magic...)
	out = protowire.AppendTag(out, fBlockHeader, protowire.BytesType)
	out = protowire.AppendBytes(out, hdr)
	for _, tx := range b.Txs {
		out = protowire.AppendTag(out, fBlockTx, protowire.BytesType)
		out = protowire.AppendBytes(out, tx)
	}
	if len(out) > MaxBlockSize {
		return nil, fmt.Errorf("%w: %d bytes encoded, at most %d", ErrInvalidBlock, len(out), MaxBlockSize)
	}
	return out, nil
}

// DecodeBlock decodes a blob into a block, strictly: Magic, then exactly
// the fields Encode writes, in its order, with its varint forms, each
// within the limits, and nothing after; a block whose DataHash is not its
// transactions' is refused too. So a block has one encoding and
// DecodeBlock(b) re-encodes to b. A blob without Magic is ErrNotBlock,
// other failures wrap ErrInvalidBlock; the signature is not checked
// (VerifySignature). The block does not alias b.
func DecodeBlock(b []byte) (*Block, error) {
	if !bytes.HasPrefix(b, Magic) {
		return nil, ErrNotBlock
	}
	if len(b) > MaxBlockSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidBlock, len(b), MaxBlockSize)
	}
	r := reader{b: b[len(Magic):]}
	hdrBytes, err := r.bytesField(fBlockHeader)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrInvalidBlock, err)
	}
	blk := &Block{}
	if err := decodeHeader(hdrBytes, &blk.Header); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrInvalidBlock, err)
	}
	for len(r.b) > 0 {
		if len(blk.Txs) == MaxTxs {
			return nil, fmt.Errorf("%w: more than %d transactions", ErrInvalidBlock, MaxTxs)
		}
		tx, err := r.bytesField(fBlockTx)
		if err != nil {
			return nil, fmt.Errorf("%w: transaction %d: %w", ErrInvalidBlock, len(blk.Txs), err)
		}
		blk.Txs = append(blk.Txs, bytes.Clone(tx))
	}
	if !bytes.Equal(blk.Header.DataHash, DataHash(blk.Txs)) {
		return nil, fmt.Errorf("%w: data hash %X is not the transactions' %X", ErrInvalidBlock, blk.Header.DataHash, DataHash(blk.Txs))
	}
	if blk.Header.ForcedTxs > uint64(len(blk.Txs)) {
		return nil, fmt.Errorf("%w: %d forced transactions of %d", ErrInvalidBlock, blk.Header.ForcedTxs, len(blk.Txs))
	}
	return blk, nil
}

func decodeHeader(b []byte, h *Header) error {
	r := reader{b: b}
	chainID, err := r.bytesField(fHdrChainID)
	if err != nil {
		return fmt.Errorf("chain ID: %w", err)
	}
	h.ChainID = string(chainID)
	if h.Height, err = r.varintField(fHdrHeight); err != nil {
		return fmt.Errorf("height: %w", err)
	}
	ns, err := r.varintField(fHdrTime)
	if err != nil {
		return fmt.Errorf("time: %w", err)
	}
	if ns > math.MaxInt64 {
		return fmt.Errorf("time: %d ns after 1970 is past 2262", ns)
	}
	h.Time = time.Unix(0, int64(ns)).UTC()
	for _, f := range []struct {
		num  protowire.Number
		name string
		dst  *[]byte
	}{{fHdrParentHash, "parent hash", &h.ParentHash}, {fHdrDataHash, "data hash", &h.DataHash}, {fHdrStateRoot, "state root", &h.StateRoot}} {
		v, err := r.bytesField(f.num)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		*f.dst = bytes.Clone(v)
	}
	prop, err := r.bytesField(fHdrProposer)
	if err != nil {
		return fmt.Errorf("proposer: %w", err)
	}
	h.Proposer = bytes.Clone(prop)
	if num, _, n := protowire.ConsumeTag(r.b); n > 0 && num == fHdrForcedTxs {
		if h.ForcedTxs, err = r.varintField(fHdrForcedTxs); err != nil {
			return fmt.Errorf("forced transactions: %w", err)
		}
		if h.ForcedTxs == 0 {
			return errors.New("forced transactions: 0 is encoded by leaving the field out")
		}
	}
	sig, err := r.bytesField(fHdrSignature)
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	h.Signature = bytes.Clone(sig)
	if len(r.b) != 0 {
		return fmt.Errorf("%d bytes after the signature", len(r.b))
	}
	if err := h.check(); err != nil {
		return err
	}
	if len(h.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("signature of %d bytes, want %d", len(h.Signature), ed25519.SignatureSize)
	}
	return nil
}

// reader reads the fields of a canonical encoding one by one, each the
// one expected next.
type reader struct{ b []byte }

func (r *reader) tag(want protowire.Number, typ protowire.Type) error {
	num, got, n := protowire.ConsumeTag(r.b)
	if n < 0 {
		return protowire.ParseError(n)
	}
	if n != protowire.SizeTag(num) {
		return errors.New("non-minimal tag")
	}
	if num != want || got != typ {
		return fmt.Errorf("field %d of type %d, want field %d of type %d", num, got, want, typ)
	}
	r.b = r.b[n:]
	return nil
}

func (r *reader) varintField(num protowire.Number) (uint64, error) {
	if err := r.tag(num, protowire.VarintType); err != nil {
		return 0, err
	}
	v, n := protowire.ConsumeVarint(r.b)
	if n < 0 {
		return 0, protowire.ParseError(n)
	}
	if n != protowire.SizeVarint(v) {
		return 0, errors.New("non-minimal varint")
	}
	r.b = r.b[n:]
	return v, nil
}

func (r *reader) bytesField(num protowire.Number) ([]byte, error) {
	if err := r.tag(num, protowire.BytesType); err != nil {
		return nil, err
	}
	l, n := protowire.ConsumeVarint(r.b)
	if n < 0 {
		return nil, protowire.ParseError(n)
	}
	if n != protowire.SizeVarint(l) {
		return nil, errors.New("non-minimal length")
	}
	if l > uint64(len(r.b)-n) {
		return nil, fmt.Errorf("length %d past the end (%d bytes left)", l, len(r.b)-n)
	}
	v := r.b[n : n+int(l)]
	r.b = r.b[n+int(l):]
	return v, nil
}
