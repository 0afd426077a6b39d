package wasm

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Transaction kinds.
const (
	KindDeploy byte = 1 // deploy Code, calling its "init" with Args if it exports one
	KindCall   byte = 2 // call Method of Contract with Args
)

// TxVersion is the first byte of every transaction.
const TxVersion byte = 1

// AddressSize is the size of a contract address.
const AddressSize = 20

// Address is a contract's address: the first 20 bytes of
// SHA-256("mesh-wasm-contract" || sender public key || nonce, 8 bytes
// big-endian) of the deploy transaction that created it.
type Address [AddressSize]byte

// ContractAddress returns the address of the contract deployed by sender's
// transaction of the given nonce.
func ContractAddress(sender ed25519.PublicKey, nonce uint64) Address {
	h := sha256.New()
	h.Write([]byte("mesh-wasm-contract"))
	h.Write(sender)
	h.Write(binary.BigEndian.AppendUint64(nil, nonce))
	var a Address
	copy(a[:], h.Sum(nil))
	return a
}

// Limits of a transaction.
const (
	// MaxTxGas is the most gas one transaction may ask for: the block's
	// budget.
	MaxTxGas = MaxBlockGas
	// MaxTxSize is the most bytes of an encoded transaction: a deploy of
	// the largest code with the largest arguments.
	MaxTxSize = txHeaderSize + 8 + MaxCodeSize + MaxInput + ed25519.SignatureSize
	// txHeaderSize is version, kind, public key, nonce and gas limit.
	txHeaderSize = 2 + ed25519.PublicKeySize + 8 + 8
)

// ErrInvalidTx is wrapped by every error of DecodeTx and Tx.Verify.
var ErrInvalidTx = errors.New("wasm: invalid transaction")

// Tx is a signed transaction of the WASM executor. Its encoding (Encode,
// DecodeTx), all integers big-endian:
//
//	version    1 byte, TxVersion
//	kind       1 byte, KindDeploy or KindCall
//	sender     32 bytes, the ed25519 public key
//	nonce      8 bytes, the sender's count of transactions before this one
//	gas limit  8 bytes, 1 to MaxTxGas
//	deploy:    code length (4 bytes), code (1 to MaxCodeSize bytes),
//	           args length (4 bytes), args (at most MaxInput bytes)
//	call:      contract (20 bytes), method length (1 byte), method
//	           (1 to MaxNameLen bytes), args length (4 bytes), args
//	signature  64 bytes
//
// The signature is ed25519 over SignBytes: "mesh-wasm-tx", the chain ID's
// length (2 bytes) and the chain ID, then the encoding up to the
// signature. The chain ID keeps a transaction of one chain from replaying
// on another, the nonce from replaying on the same one. DecodeTx accepts
// exactly one encoding of a transaction (no trailing bytes, every length
// exact), so the encoding is canonical.
type Tx struct {
	Kind     byte
	Sender   ed25519.PublicKey
	Nonce    uint64
	GasLimit uint64
	Code     []byte  // deploy
	Contract Address // call
	Method   string  // call
	Args     []byte
	Sig      []byte
}

// unsigned returns the encoding up to the signature, checking the limits.
func (tx *Tx) unsigned() ([]byte, error) {
	if len(tx.Sender) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: sender key of %d bytes, want %d", ErrInvalidTx, len(tx.Sender), ed25519.PublicKeySize)
	}
	if tx.GasLimit == 0 || tx.GasLimit > MaxTxGas {
		return nil, fmt.Errorf("%w: gas limit %d, want 1 to %d", ErrInvalidTx, tx.GasLimit, uint64(MaxTxGas))
	}
	if len(tx.Args) > MaxInput {
		return nil, fmt.Errorf("%w: args of %d bytes, at most %d", ErrInvalidTx, len(tx.Args), MaxInput)
	}
	b := make([]byte, 0, txHeaderSize+len(tx.Code)+len(tx.Args)+64)
	b = append(b, TxVersion, tx.Kind)
	b = append(b, tx.Sender...)
	b = binary.BigEndian.AppendUint64(b, tx.Nonce)
	b = binary.BigEndian.AppendUint64(b, tx.GasLimit)
	switch tx.Kind {
	case KindDeploy:
		if len(tx.Code) == 0 || len(tx.Code) > MaxCodeSize {
			return nil, fmt.Errorf("%w: code of %d bytes, want 1 to %d", ErrInvalidTx, len(tx.Code), MaxCodeSize)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(tx.Code)))
		b = append(b, tx.Code...)
	case KindCall:
		if tx.Method == "" || len(tx.Method) > MaxNameLen {
			return nil, fmt.Errorf("%w: method of %d bytes, want 1 to %d", ErrInvalidTx, len(tx.Method), MaxNameLen)
		}
		b = append(b, tx.Contract[:]...)
		b = append(b, byte(len(tx.Method)))
		b = append(b, tx.Method...)
	default:
		return nil, fmt.Errorf("%w: kind %d, want %d (deploy) or %d (call)", ErrInvalidTx, tx.Kind, KindDeploy, KindCall)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(tx.Args)))
	return append(b, tx.Args...), nil
}

// SignBytes returns what the sender signs for chainID.
func (tx *Tx) SignBytes(chainID string) ([]byte, error) {
	u, err := tx.unsigned()
	if err != nil {
		return nil, err
	}
	if len(chainID) == 0 || len(chainID) > 1<<16-1 {
		return nil, fmt.Errorf("%w: chain ID of %d bytes", ErrInvalidTx, len(chainID))
	}
	b := append([]byte("mesh-wasm-tx"), byte(len(chainID)>>8), byte(len(chainID)))
	b = append(b, chainID...)
	return append(b, u...), nil
}

// Sign sets tx.Sender to key's public key and tx.Sig to its signature for
// chainID.
func (tx *Tx) Sign(key ed25519.PrivateKey, chainID string) error {
	tx.Sender = key.Public().(ed25519.PublicKey)
	m, err := tx.SignBytes(chainID)
	if err != nil {
		return err
	}
	tx.Sig = ed25519.Sign(key, m)
	return nil
}

// Verify checks tx's signature for chainID. Errors wrap ErrInvalidTx.
func (tx *Tx) Verify(chainID string) error {
	m, err := tx.SignBytes(chainID)
	if err != nil {
		return err
	}
	if len(tx.Sig) != ed25519.SignatureSize || !ed25519.Verify(tx.Sender, m, tx.Sig) {
		return fmt.Errorf("%w: bad signature for chain %q", ErrInvalidTx, chainID)
	}
	return nil
}

// Encode returns tx's encoding, which DecodeTx reads back. Errors wrap
// ErrInvalidTx.
func (tx *Tx) Encode() ([]byte, error) {
	u, err := tx.unsigned()
	if err != nil {
		return nil, err
	}
	if len(tx.Sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature of %d bytes, want %d", ErrInvalidTx, len(tx.Sig), ed25519.SignatureSize)
	}
	return append(u, tx.Sig...), nil
}

// DecodeTx reads a transaction strictly (see Tx): at most MaxTxSize
// bytes, every length within its limit and exact, nothing after the
// signature. It does not check the signature (Tx.Verify does). Errors wrap
// ErrInvalidTx and say what is wrong; it never panics.
func DecodeTx(b []byte) (*Tx, error) {
	if len(b) > MaxTxSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidTx, len(b), MaxTxSize)
	}
	if len(b) < txHeaderSize+4+ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: %d bytes, too short", ErrInvalidTx, len(b))
	}
	if b[0] != TxVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrInvalidTx, b[0], TxVersion)
	}
	body, sig := b[:len(b)-ed25519.SignatureSize], b[len(b)-ed25519.SignatureSize:]
	tx := &Tx{Kind: b[1], Sig: sig}
	r := body[2:]
	tx.Sender, r = r[:ed25519.PublicKeySize], r[ed25519.PublicKeySize:]
	tx.Nonce, r = binary.BigEndian.Uint64(r), r[8:]
	tx.GasLimit, r = binary.BigEndian.Uint64(r), r[8:]
	var err error
	switch tx.Kind {
	case KindDeploy:
		if tx.Code, r, err = lengthPrefixed(r, 4, "code"); err != nil {
			return nil, err
		}
	case KindCall:
		if len(r) < AddressSize {
			return nil, fmt.Errorf("%w: call without a contract address", ErrInvalidTx)
		}
		copy(tx.Contract[:], r)
		var m []byte
		if m, r, err = lengthPrefixed(r[AddressSize:], 1, "method"); err != nil {
			return nil, err
		}
		tx.Method = string(m)
	default:
		return nil, fmt.Errorf("%w: kind %d, want %d (deploy) or %d (call)", ErrInvalidTx, tx.Kind, KindDeploy, KindCall)
	}
	if tx.Args, r, err = lengthPrefixed(r, 4, "args"); err != nil {
		return nil, err
	}
	if len(r) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the args", ErrInvalidTx, len(r))
	}
	// unsigned checks the limits and that the encoding is the canonical one.
	if _, err := tx.unsigned(); err != nil {
		return nil, err
	}
	return tx, nil
}

// lengthPrefixed reads a field with its length in n (1 or 4) bytes.
func lengthPrefixed(b []byte, n int, what string) (field, rest []byte, err error) {
	if len(b) < n {
		return nil, nil, fmt.Errorf("%w: %s length missing", ErrInvalidTx, what)
	}
	var l uint64
	for _, c := range b[:n] {
		l = l<<8 | uint64(c)
	}
	b = b[n:]
	if l > uint64(len(b)) {
		return nil, nil, fmt.Errorf("%w: %s of %d bytes, %d left", ErrInvalidTx, what, l, len(b))
	}
	return b[:l:l], b[l:], nil
}
