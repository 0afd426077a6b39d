package tx

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"math"

	"github.com/cometbft/cometbft/crypto/secp256k1"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/share"
)

// Size limits of a signed transaction (the inner transaction of a BlobTx;
// the blobs themselves are limited by Params.MaxBlobSize).
const (
	// MaxTxSize bounds the encoded Tx.
	MaxTxSize = 64 << 10
	// MaxChainIDSize bounds Body.ChainID.
	MaxChainIDSize = 64
	// MaxBlobsPerPFB bounds the blobs one MsgPayForBlobs pays for.
	MaxBlobsPerPFB = 256
	// SignatureSize is the size of a secp256k1 signature (R || S, low S).
	SignatureSize = 64
	// ShareCommitmentSize is the size of a blob share commitment.
	ShareCommitmentSize = 32
	// KZGCommitmentSize and KZGProofSize are the sizes of an EIP-4844 KZG
	// commitment and blob proof (compressed BLS12-381 G1 points).
	KZGCommitmentSize = kzgPointSize
	KZGProofSize      = kzgPointSize
	// KZGChunkSize is the number of blob data bytes one EIP-4844 blob
	// carries in the OP Stack codec (kzg.MaxChunkSize): a blob of n bytes
	// has KZGChunkCount(n) chunks, each with its own commitment.
	KZGChunkSize = 130_044
	// MaxValidatorPower bounds MsgUpdateValidator.Power so that CometBFT's
	// total voting power limit cannot overflow.
	MaxValidatorPower = math.MaxInt64 / 8
)

// kzgPointSize is the size of a compressed BLS12-381 G1 point.
const kzgPointSize = 48

// Field numbers of the wire format (see doc.go).
const (
	txBodyField      = 1
	txPubKeyField    = 2
	txSignatureField = 3

	bodyChainIDField         = 1
	bodyNonceField           = 2
	bodyFeeField             = 3
	bodySendField            = 4
	bodyUpdateValidatorField = 5
	bodyPayForBlobsField     = 6
	bodyRegisterEVMField     = 7

	feeGasLimitField = 1
	feeGasPriceField = 2

	sendFromField   = 1
	sendToField     = 2
	sendAmountField = 3

	updValPubKeyField = 1
	updValPowerField  = 2

	pfbSignerField           = 1
	pfbNamespacesField       = 2
	pfbBlobSizesField        = 3
	pfbShareCommitmentsField = 4
	pfbShareVersionsField    = 5
	pfbKZGCommitmentsField   = 6
	pfbKZGProofsField        = 7

	regEVMValidatorField    = 1
	regEVMAddressField      = 2
	regEVMConsensusSigField = 3
	regEVMSigField          = 4
)

// Fee is what a transaction offers to pay: up to GasLimit gas at GasPrice
// per unit.
type Fee struct {
	GasLimit uint64
	GasPrice uint64
}

// Msg is one of *MsgSend, *MsgUpdateValidator, *MsgPayForBlobs,
// *MsgRegisterEVMAddress, or a staking message (staking.go: IsStakingMsg).
type Msg interface {
	isMsg()
	// ValidateBasic checks the message without state.
	ValidateBasic() error
}

// MsgSend moves Amount from From to To. From must be the transaction's
// signer.
type MsgSend struct {
	From   Address
	To     Address
	Amount uint64
}

// MsgUpdateValidator adds, re-weights (Power > 0) or removes (Power 0) the
// validator with the 32-byte ed25519 consensus key PubKey. Only the genesis
// authority may sign it.
type MsgUpdateValidator struct {
	PubKey []byte
	Power  int64
}

// MsgPayForBlobs pays for the blobs carried beside it in a share.BlobTx:
// entry i of each slice describes blob i.
type MsgPayForBlobs struct {
	Signer           Address
	Namespaces       []share.Namespace
	BlobSizes        []uint32
	ShareCommitments [][]byte
	ShareVersions    []uint32
	// KZG is nil when no blob carries KZG commitments (the message then
	// encodes exactly as before KZG existed). Otherwise it has one entry per
	// blob, empty for a blob without.
	KZG []BlobKZG
}

// BlobKZG is the EIP-4844 form of one blob: for each of its
// KZGChunkCount(size) chunks (the blob data cut into KZGChunkSize-byte
// pieces, each encoded as an EIP-4844 blob by the kzg package's codec), the
// KZG commitment and the blob proof (compute_blob_kzg_proof) that the
// commitment is to those bytes. Validators verify the proofs against the
// blob bytes; they never compute a commitment.
type BlobKZG struct {
	Commitments [][KZGCommitmentSize]byte
	Proofs      [][KZGProofSize]byte
}

// KZGChunkCount returns the number of EIP-4844 blobs a blob of size bytes
// is cut into: ceil(size / KZGChunkSize), and 1 for an empty blob.
func KZGChunkCount(size int) int {
	if size <= 0 {
		return 1
	}
	return (size + KZGChunkSize - 1) / KZGChunkSize
}

// KZGChunks returns the number of KZG commitments m carries, over all its
// blobs.
func (m *MsgPayForBlobs) KZGChunks() int {
	n := 0
	for _, k := range m.KZG {
		n += len(k.Commitments)
	}
	return n
}

func (*MsgSend) isMsg()            {}
func (*MsgUpdateValidator) isMsg() {}
func (*MsgPayForBlobs) isMsg()     {}

// ValidateBasic implements Msg.
func (m *MsgSend) ValidateBasic() error {
	if m.Amount == 0 {
		return fmt.Errorf("%w: send: zero amount", ErrInvalidMsg)
	}
	return nil
}

// ValidateBasic implements Msg.
func (m *MsgUpdateValidator) ValidateBasic() error {
	if len(m.PubKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: update validator: public key is %d bytes, want %d (ed25519)", ErrInvalidMsg, len(m.PubKey), ed25519.PublicKeySize)
	}
	if m.Power < 0 || m.Power > MaxValidatorPower {
		return fmt.Errorf("%w: update validator: power %d outside 0..%d", ErrInvalidMsg, m.Power, int64(MaxValidatorPower))
	}
	return nil
}

// ValidateBasic implements Msg: the slices have one entry per blob, between
// 1 and MaxBlobsPerPFB blobs, blob namespaces valid and not reserved, sizes
// non-zero, commitments 32 bytes and share versions 0 or 1.
func (m *MsgPayForBlobs) ValidateBasic() error {
	n := len(m.Namespaces)
	if n == 0 {
		return fmt.Errorf("%w: pay for blobs: no blobs", ErrInvalidMsg)
	}
	if n > MaxBlobsPerPFB {
		return fmt.Errorf("%w: pay for blobs: %d blobs, at most %d", ErrInvalidMsg, n, MaxBlobsPerPFB)
	}
	if len(m.BlobSizes) != n || len(m.ShareCommitments) != n || len(m.ShareVersions) != n {
		return fmt.Errorf("tx: pay for blobs: %d namespaces, %d sizes, %d commitments, %d share versions; want equal counts",
			n, len(m.BlobSizes), len(m.ShareCommitments), len(m.ShareVersions))
	}
	for i := range n {
		if err := m.Namespaces[i].ValidateForBlob(); err != nil {
			return fmt.Errorf("%w: pay for blobs: blob %d: %w", ErrInvalidMsg, i, err)
		}
		if m.BlobSizes[i] == 0 {
			return fmt.Errorf("%w: pay for blobs: blob %d: zero size", ErrInvalidMsg, i)
		}
		if len(m.ShareCommitments[i]) != ShareCommitmentSize {
			return fmt.Errorf("%w: pay for blobs: blob %d: commitment is %d bytes, want %d", ErrInvalidMsg, i, len(m.ShareCommitments[i]), ShareCommitmentSize)
		}
		if v := m.ShareVersions[i]; v != uint32(share.ShareVersionZero) && v != uint32(share.ShareVersionOne) {
			return fmt.Errorf("%w: pay for blobs: blob %d: share version %d, want 0 or 1", ErrInvalidMsg, i, v)
		}
	}
	return m.validateKZG()
}

// validateKZG checks the shape of m.KZG: nil, or one entry per blob, each
// empty or with one commitment and one proof per chunk of the blob's
// declared size, and at least one blob with commitments (a message with
// none must leave KZG nil, so that it has one encoding).
func (m *MsgPayForBlobs) validateKZG() error {
	if m.KZG == nil {
		return nil
	}
	if len(m.KZG) != len(m.Namespaces) {
		return fmt.Errorf("%w: pay for blobs: KZG for %d blobs, the message has %d", ErrInvalidKZG, len(m.KZG), len(m.Namespaces))
	}
	for i, k := range m.KZG {
		if len(k.Commitments) != len(k.Proofs) {
			return fmt.Errorf("%w: pay for blobs: blob %d: %d KZG commitments, %d proofs", ErrInvalidKZG, i, len(k.Commitments), len(k.Proofs))
		}
		if len(k.Commitments) == 0 {
			continue
		}
		if want := KZGChunkCount(int(m.BlobSizes[i])); len(k.Commitments) != want {
			return fmt.Errorf("%w: pay for blobs: blob %d of %d bytes: %d KZG commitments, want %d (one per %d-byte chunk)",
				ErrInvalidKZG, i, m.BlobSizes[i], len(k.Commitments), want, KZGChunkSize)
		}
	}
	if m.KZGChunks() == 0 {
		return fmt.Errorf("%w: pay for blobs: KZG set but empty for every blob (leave it nil)", ErrInvalidKZG)
	}
	return nil
}

// Body is the signed part of a transaction.
type Body struct {
	ChainID string
	// Nonce must equal the signer account's sequence: the number of
	// transactions it has had executed.
	Nonce uint64
	Fee   Fee
	Msg   Msg
}

// Tx is a signed transaction. The signature is over the canonical encoding
// of Body (Body.Marshal), which includes the chain ID and the nonce.
type Tx struct {
	Body      Body
	PubKey    []byte // 33-byte compressed secp256k1
	Signature []byte // 64 bytes, R || S with low S
}

// Marshal returns the canonical encoding of b: the bytes a signature covers.
func (b Body) Marshal() ([]byte, error) {
	if b.Msg == nil {
		return nil, fmt.Errorf("%w: body without a message", ErrMalformedTx)
	}
	var out []byte
	out = appendBytes(out, bodyChainIDField, []byte(b.ChainID))
	out = appendVarint(out, bodyNonceField, b.Nonce)
	var fee []byte
	fee = appendVarint(fee, feeGasLimitField, b.Fee.GasLimit)
	fee = appendVarint(fee, feeGasPriceField, b.Fee.GasPrice)
	out = appendMessage(out, bodyFeeField, fee)
	var msg []byte
	switch m := b.Msg.(type) {
	case *MsgSend:
		msg = appendBytes(msg, sendFromField, m.From[:])
		msg = appendBytes(msg, sendToField, m.To[:])
		msg = appendVarint(msg, sendAmountField, m.Amount)
		out = appendMessage(out, bodySendField, msg)
	case *MsgUpdateValidator:
		if m.Power < 0 {
			return nil, fmt.Errorf("%w: negative validator power %d", ErrMalformedTx, m.Power)
		}
		msg = appendBytes(msg, updValPubKeyField, m.PubKey)
		msg = appendVarint(msg, updValPowerField, uint64(m.Power))
		out = appendMessage(out, bodyUpdateValidatorField, msg)
	case *MsgPayForBlobs:
		msg = appendBytes(msg, pfbSignerField, m.Signer[:])
		for _, ns := range m.Namespaces {
			msg = appendMessage(msg, pfbNamespacesField, ns[:])
		}
		msg = appendPacked(msg, pfbBlobSizesField, m.BlobSizes)
		for _, c := range m.ShareCommitments {
			msg = appendMessage(msg, pfbShareCommitmentsField, c)
		}
		msg = appendPacked(msg, pfbShareVersionsField, m.ShareVersions)
		// One entry per blob, empty ones included, so the i-th entry is
		// blob i's; none at all when KZG is nil.
		for _, k := range m.KZG {
			msg = appendMessage(msg, pfbKZGCommitmentsField, concat(k.Commitments))
		}
		for _, k := range m.KZG {
			msg = appendMessage(msg, pfbKZGProofsField, concat(k.Proofs))
		}
		out = appendMessage(out, bodyPayForBlobsField, msg)
	case *MsgRegisterEVMAddress:
		msg = appendBytes(msg, regEVMValidatorField, m.ValidatorPubKey)
		msg = appendBytes(msg, regEVMAddressField, m.EVMAddress[:])
		msg = appendBytes(msg, regEVMConsensusSigField, m.ConsensusSig)
		msg = appendBytes(msg, regEVMSigField, m.EVMSig)
		out = appendMessage(out, bodyRegisterEVMField, msg)
	default:
		var ok bool
		if out, ok = marshalStaking(out, b.Msg); !ok {
			return nil, fmt.Errorf("%w: unknown message type %T", ErrMalformedTx, b.Msg)
		}
	}
	return out, nil
}

// Marshal returns the canonical encoding of t.
func (t *Tx) Marshal() ([]byte, error) {
	body, err := t.Body.Marshal()
	if err != nil {
		return nil, err
	}
	var out []byte
	out = appendMessage(out, txBodyField, body)
	out = appendBytes(out, txPubKeyField, t.PubKey)
	out = appendBytes(out, txSignatureField, t.Signature)
	if len(out) > MaxTxSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformedTx, len(out), MaxTxSize)
	}
	return out, nil
}

// SignTx signs body with key and returns the encoded transaction.
func SignTx(body Body, key secp256k1.PrivKey) ([]byte, error) {
	signBytes, err := body.Marshal()
	if err != nil {
		return nil, err
	}
	sig, err := key.Sign(signBytes)
	if err != nil {
		return nil, fmt.Errorf("tx: sign: %w", err)
	}
	tx := &Tx{Body: body, PubKey: key.PubKey().Bytes(), Signature: sig}
	return tx.Marshal()
}

// Signer returns the address of t's public key.
func (t *Tx) Signer() (Address, error) { return AddressFromPubKey(t.PubKey) }

// VerifySignature checks t's signature over the canonical body encoding.
func (t *Tx) VerifySignature() error {
	if len(t.PubKey) != PubKeySize {
		return fmt.Errorf("%w: public key is %d bytes, want %d", ErrInvalidSignature, len(t.PubKey), PubKeySize)
	}
	if len(t.Signature) != SignatureSize {
		return fmt.Errorf("%w: signature is %d bytes, want %d", ErrInvalidSignature, len(t.Signature), SignatureSize)
	}
	signBytes, err := t.Body.Marshal()
	if err != nil {
		return err
	}
	if !secp256k1.PubKey(t.PubKey).VerifySignature(signBytes, t.Signature) {
		return fmt.Errorf("%w: does not verify against public key %X", ErrInvalidSignature, t.PubKey)
	}
	return nil
}

// ValidateBasic checks t without state or signature: a chain ID of at most
// MaxChainIDSize bytes, a valid message, a MsgSend, MsgPayForBlobs or staking
// message whose sender is the signer, and a MsgRegisterEVMAddress whose two
// signatures verify for the chain ID (MsgRegisterEVMAddress.Verify).
func (t *Tx) ValidateBasic() error {
	if t.Body.ChainID == "" || len(t.Body.ChainID) > MaxChainIDSize {
		return fmt.Errorf("%w: chain ID of %d bytes, want 1..%d", ErrMalformedTx, len(t.Body.ChainID), MaxChainIDSize)
	}
	if t.Body.Msg == nil {
		return fmt.Errorf("%w: no message", ErrMalformedTx)
	}
	if err := t.Body.Msg.ValidateBasic(); err != nil {
		return err
	}
	signer, err := t.Signer()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidSignature, err)
	}
	switch m := t.Body.Msg.(type) {
	case *MsgSend:
		if m.From != signer {
			return fmt.Errorf("%w: send: from %s is not the signer %s", ErrInvalidMsg, m.From, signer)
		}
	case *MsgPayForBlobs:
		if m.Signer != signer {
			return fmt.Errorf("%w: pay for blobs: signer %s is not the tx signer %s", ErrInvalidMsg, m.Signer, signer)
		}
	case *MsgRegisterEVMAddress:
		return m.Verify(t.Body.ChainID)
	}
	if want, ok := stakingSigner(t.Body.Msg); ok && want != signer {
		return fmt.Errorf("%w: %T: %s must sign it, the signer is %s", ErrInvalidMsg, t.Body.Msg, want, signer)
	}
	return nil
}

// UnmarshalTx decodes an encoded Tx. It accepts only the canonical encoding
// (fields in order, no duplicates of singular fields, no unknown fields, no
// zero-valued scalars, minimal varints), so a transaction has exactly one
// encoding and its body bytes are the bytes that were signed. It does not
// check the signature or the message (see VerifySignature, ValidateBasic).
// The result does not alias b.
func UnmarshalTx(b []byte) (*Tx, error) {
	if len(b) > MaxTxSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformedTx, len(b), MaxTxSize)
	}
	t := &Tx{}
	var body []byte
	haveBody := false
	err := walkFields(b, func(f field) error {
		if err := f.want(protowire.BytesType); err != nil {
			return err
		}
		switch f.num {
		case txBodyField:
			body, haveBody = f.v, true
		case txPubKeyField:
			t.PubKey = bytes.Clone(f.v)
		case txSignatureField:
			t.Signature = bytes.Clone(f.v)
		default:
			return unknownField("tx", f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !haveBody {
		return nil, fmt.Errorf("%w: no body", ErrMalformedTx)
	}
	if t.Body, err = unmarshalBody(body); err != nil {
		return nil, err
	}
	again, err := t.Marshal()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: non-canonical encoding", ErrMalformedTx)
	}
	return t, nil
}

func unmarshalBody(b []byte) (Body, error) {
	var body Body
	err := walkFields(b, func(f field) error {
		var err error
		switch f.num {
		case bodyChainIDField:
			if err = f.want(protowire.BytesType); err == nil {
				if len(f.v) > MaxChainIDSize {
					return fmt.Errorf("%w: chain ID of %d bytes, at most %d", ErrMalformedTx, len(f.v), MaxChainIDSize)
				}
				body.ChainID = string(f.v)
			}
		case bodyNonceField:
			if err = f.want(protowire.VarintType); err == nil {
				body.Nonce = f.x
			}
		case bodyFeeField:
			if err = f.want(protowire.BytesType); err == nil {
				body.Fee, err = unmarshalFee(f.v)
			}
		case bodySendField, bodyUpdateValidatorField, bodyPayForBlobsField, bodyRegisterEVMField:
			if body.Msg != nil {
				return fmt.Errorf("%w: body has more than one message", ErrMalformedTx)
			}
			if err = f.want(protowire.BytesType); err == nil {
				body.Msg, err = unmarshalMsg(f.num, f.v)
			}
		case bodyCreateValidatorField, bodyEditValidatorField, bodyDelegateField, bodyUndelegateField,
			bodyRedelegateField, bodyWithdrawRewardsField, bodyUnjailField, bodyCancelUnbondingField:
			if body.Msg != nil {
				return fmt.Errorf("%w: body has more than one message", ErrMalformedTx)
			}
			if err = f.want(protowire.BytesType); err == nil {
				body.Msg, err = unmarshalStaking(f.num, f.v)
			}
		default:
			return unknownField("body", f)
		}
		return err
	})
	if err != nil {
		return Body{}, err
	}
	if body.Msg == nil {
		return Body{}, fmt.Errorf("%w: body without a message", ErrMalformedTx)
	}
	return body, nil
}

func unmarshalFee(b []byte) (Fee, error) {
	var fee Fee
	err := walkFields(b, func(f field) error {
		if err := f.want(protowire.VarintType); err != nil {
			return err
		}
		switch f.num {
		case feeGasLimitField:
			fee.GasLimit = f.x
		case feeGasPriceField:
			fee.GasPrice = f.x
		default:
			return unknownField("fee", f)
		}
		return nil
	})
	return fee, err
}

func wantAddress(f field, name string) (Address, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return Address{}, err
	}
	a, err := AddressFromBytes(f.v)
	if err != nil {
		return Address{}, fmt.Errorf("%w: %s: %v", ErrMalformedTx, name, err)
	}
	return a, nil
}

func unmarshalMsg(num protowire.Number, b []byte) (Msg, error) {
	switch num {
	case bodySendField:
		m := &MsgSend{}
		err := walkFields(b, func(f field) error {
			var err error
			switch f.num {
			case sendFromField:
				m.From, err = wantAddress(f, "send from")
			case sendToField:
				m.To, err = wantAddress(f, "send to")
			case sendAmountField:
				if err = f.want(protowire.VarintType); err == nil {
					m.Amount = f.x
				}
			default:
				return unknownField("send", f)
			}
			return err
		})
		return m, err
	case bodyUpdateValidatorField:
		m := &MsgUpdateValidator{}
		err := walkFields(b, func(f field) error {
			var err error
			switch f.num {
			case updValPubKeyField:
				if err = f.want(protowire.BytesType); err == nil {
					m.PubKey = bytes.Clone(f.v)
				}
			case updValPowerField:
				if err = f.want(protowire.VarintType); err == nil {
					if f.x > MaxValidatorPower {
						return fmt.Errorf("%w: validator power %d over %d", ErrMalformedTx, f.x, int64(MaxValidatorPower))
					}
					m.Power = int64(f.x)
				}
			default:
				return unknownField("update validator", f)
			}
			return err
		})
		return m, err
	case bodyRegisterEVMField:
		m := &MsgRegisterEVMAddress{}
		err := walkFields(b, func(f field) error {
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			switch f.num {
			case regEVMValidatorField:
				m.ValidatorPubKey = bytes.Clone(f.v)
			case regEVMAddressField:
				if len(f.v) != len(m.EVMAddress) {
					return fmt.Errorf("%w: register EVM address: address of %d bytes, want %d", ErrMalformedTx, len(f.v), len(m.EVMAddress))
				}
				copy(m.EVMAddress[:], f.v)
			case regEVMConsensusSigField:
				m.ConsensusSig = bytes.Clone(f.v)
			case regEVMSigField:
				m.EVMSig = bytes.Clone(f.v)
			default:
				return unknownField("register EVM address", f)
			}
			return nil
		})
		return m, err
	default: // bodyPayForBlobsField
		m := &MsgPayForBlobs{}
		var kzgCommitments, kzgProofs [][][kzgPointSize]byte
		err := walkFields(b, func(f field) error {
			var err error
			switch f.num {
			case pfbSignerField:
				m.Signer, err = wantAddress(f, "pay for blobs signer")
			case pfbNamespacesField:
				if err = f.want(protowire.BytesType); err == nil {
					var ns share.Namespace
					if ns, err = share.NamespaceFromBytes(f.v); err != nil {
						return fmt.Errorf("%w: pay for blobs namespace %d: %v", ErrMalformedTx, len(m.Namespaces), err)
					}
					m.Namespaces = append(m.Namespaces, ns)
				}
			case pfbBlobSizesField:
				m.BlobSizes, err = consumePacked(f, m.BlobSizes)
			case pfbShareCommitmentsField:
				if err = f.want(protowire.BytesType); err == nil {
					m.ShareCommitments = append(m.ShareCommitments, bytes.Clone(f.v))
				}
			case pfbShareVersionsField:
				m.ShareVersions, err = consumePacked(f, m.ShareVersions)
			case pfbKZGCommitmentsField:
				var c [][kzgPointSize]byte
				if c, err = consumePoints(f, "KZG commitments"); err == nil {
					kzgCommitments = append(kzgCommitments, c)
				}
			case pfbKZGProofsField:
				var p [][kzgPointSize]byte
				if p, err = consumePoints(f, "KZG proofs"); err == nil {
					kzgProofs = append(kzgProofs, p)
				}
			default:
				return unknownField("pay for blobs", f)
			}
			if err == nil && (len(m.Namespaces) > MaxBlobsPerPFB || len(m.ShareCommitments) > MaxBlobsPerPFB ||
				len(m.BlobSizes) > MaxBlobsPerPFB || len(m.ShareVersions) > MaxBlobsPerPFB ||
				len(kzgCommitments) > MaxBlobsPerPFB || len(kzgProofs) > MaxBlobsPerPFB) {
				return fmt.Errorf("%w: pay for blobs: more than %d blobs", ErrMalformedTx, MaxBlobsPerPFB)
			}
			return err
		})
		if err != nil {
			return m, err
		}
		if len(kzgCommitments) != len(kzgProofs) {
			return m, fmt.Errorf("%w: pay for blobs: KZG commitments for %d blobs, proofs for %d", ErrMalformedTx, len(kzgCommitments), len(kzgProofs))
		}
		if len(kzgCommitments) > 0 {
			m.KZG = make([]BlobKZG, len(kzgCommitments))
			for i := range m.KZG {
				m.KZG[i] = BlobKZG{Commitments: kzgCommitments[i], Proofs: kzgProofs[i]}
			}
		}
		return m, nil
	}
}

// concat returns the points of ps one after another.
func concat(ps [][kzgPointSize]byte) []byte {
	out := make([]byte, 0, len(ps)*kzgPointSize)
	for i := range ps {
		out = append(out, ps[i][:]...)
	}
	return out
}

// consumePoints splits a length-delimited field into 48-byte points.
func consumePoints(f field, name string) ([][kzgPointSize]byte, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return nil, err
	}
	if len(f.v)%kzgPointSize != 0 {
		return nil, fmt.Errorf("%w: pay for blobs: %s: %d bytes is not a multiple of %d", ErrMalformedTx, name, len(f.v), kzgPointSize)
	}
	if len(f.v) == 0 {
		return nil, nil // a blob without KZG
	}
	ps := make([][kzgPointSize]byte, len(f.v)/kzgPointSize)
	for i := range ps {
		copy(ps[i][:], f.v[i*kzgPointSize:])
	}
	return ps, nil
}
