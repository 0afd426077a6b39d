package state

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state/keyring"
)

// Transfer sends amount from the selected key (see TxConfig; cfg may be
// nil) to to, and returns once a block includes the transfer. A transfer
// the chain refuses is a *TxError (ErrTxFailed). TxConfig.KZG is refused
// (ErrInvalidTx): a transfer carries no blobs to commit to.
func (c *Client) Transfer(ctx context.Context, to tx.Address, amount Int, cfg *TxConfig) (*TxResponse, error) {
	if amount == 0 {
		return nil, fmt.Errorf("%w: transfer of 0", ErrInvalidTx)
	}
	if cfg != nil && cfg.KZG {
		return nil, fmt.Errorf("%w: kzg is an option of PayForBlobs; a transfer has no blobs", ErrInvalidTx)
	}
	return c.submit(ctx, cfg, func(signer tx.Address) (tx.Msg, []*share.Blob, error) {
		return &tx.MsgSend{From: signer, To: to, Amount: uint64(amount)}, nil, nil
	})
}

// SubmitPayForBlob pays for blobs in one PayForBlobs signed by the
// selected key (see TxConfig; cfg may be nil), sends it with them in a
// BlobTx and returns once a block includes it. blobs must not be empty;
// they are not modified. A blob larger than the chain's max_blob_size is
// refused before anything is signed (ErrBlobTooLarge, with the limit in
// the message). A transaction the chain refuses is a *TxError
// (ErrTxFailed). Each blob's share commitment is the one the blob keeps
// (share.Blob.Commitment): a blob whose commitment was already computed,
// as the blob service's are, is not hashed again.
//
// With cfg.KZG, the PayForBlobs also carries, for every blob, the EIP-4844
// KZG commitment and blob proof of each chunk of its data (package kzg's
// codec, tx.KZGChunkCount chunks; about 60 ms of computation a chunk on 2 cores, and
// a few seconds to load the trusted setup on first use), and pays
// gas_per_kzg_chunk gas for each (tx.GasUsed). Before computing them it
// refuses a chain whose gas_per_kzg_chunk is 0 (ErrUnsupported) and a
// transaction the commitments and proofs would take over tx.MaxTxSize
// (ErrTxTooLarge, with the number of chunks the limit has room for). The
// response's KZG holds what was signed.
func (c *Client) SubmitPayForBlob(ctx context.Context, blobs []*share.Blob, cfg *TxConfig) (*TxResponse, error) {
	if len(blobs) == 0 {
		return nil, fmt.Errorf("%w: no blobs", ErrInvalidTx)
	}
	if len(blobs) > tx.MaxBlobsPerPFB {
		return nil, fmt.Errorf("%w: %d blobs, at most %d in one transaction", ErrInvalidTx, len(blobs), tx.MaxBlobsPerPFB)
	}
	return c.submit(ctx, cfg, func(signer tx.Address) (tx.Msg, []*share.Blob, error) {
		m := &tx.MsgPayForBlobs{Signer: signer}
		for i, b := range blobs {
			if b == nil {
				return nil, nil, fmt.Errorf("%w: blob %d is nil", ErrInvalidTx, i)
			}
			com, err := b.Commitment()
			if err != nil {
				return nil, nil, fmt.Errorf("%w: blob %d: share commitment: %w", ErrInvalidTx, i, err)
			}
			m.Namespaces = append(m.Namespaces, b.Namespace())
			m.BlobSizes = append(m.BlobSizes, uint32(len(b.Data()))) // share.NewBlob bounds the size
			m.ShareCommitments = append(m.ShareCommitments, com)
			m.ShareVersions = append(m.ShareVersions, uint32(b.ShareVersion()))
		}
		if cfg != nil && cfg.KZG {
			kzgShape(m)
		}
		return m, blobs, nil
	})
}

// buildFunc returns the message for the signer's address and the blobs it
// pays for (none for a bare transaction).
type buildFunc func(signer tx.Address) (tx.Msg, []*share.Blob, error)

// submit selects the key, builds, signs and broadcasts the transaction and
// waits for its inclusion.
func (c *Client) submit(ctx context.Context, cfg *TxConfig, build buildFunc) (*TxResponse, error) {
	if cfg == nil {
		cfg = &TxConfig{}
	}
	if cfg.FeeGranterAddress != "" {
		return nil, fmt.Errorf("%w: fee granter %s: the chain has no fee grants", ErrUnsupported, cfg.FeeGranterAddress)
	}
	key, err := c.key(cfg)
	if err != nil {
		return nil, err
	}
	msg, blobs, err := build(key.Address)
	if err != nil {
		return nil, err
	}
	if err := msg.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTx, err)
	}
	ctx, end, chain, err := c.beginChain(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	if tx.IsStakingMsg(msg) && !chain.pos {
		return nil, ErrProofOfAuthority
	}
	if err := checkBlobSizes(chain.params, blobs); err != nil {
		return nil, err
	}
	fee, err := txFee(chain.params, msg, cfg)
	if err != nil {
		return nil, err
	}
	pfb, _ := msg.(*tx.MsgPayForBlobs)
	if pfb != nil && pfb.KZG != nil {
		if err := checkKZG(chain, fee, pfb); err != nil {
			return nil, err
		}
		if err := proveKZG(ctx, pfb, blobs); err != nil {
			return nil, err
		}
	}
	hash, err := c.broadcast(ctx, chain, key, fee, msg, blobs)
	if err != nil {
		return nil, err
	}
	res, err := c.waitIncluded(ctx, hash)
	if err != nil {
		return nil, err
	}
	if pfb != nil {
		res.KZG = pfb.KZG
	}
	return res, nil
}

// checkBlobSizes refuses a blob larger than the chain's max_blob_size, as
// the application would (checkBlobs in core/app), so that an oversized
// blob is named before it is signed and before CometBFT's own transaction
// and body limits answer in their words.
func checkBlobSizes(p tx.Params, blobs []*share.Blob) error {
	for i, b := range blobs {
		if size := len(b.Data()); size > p.MaxBlobSize {
			return fmt.Errorf("%w: blob %d is %d bytes, the chain's max_blob_size is %d", ErrBlobTooLarge, i, size, p.MaxBlobSize)
		}
	}
	return nil
}

// key returns the signing key cfg selects: KeyName, else SignerAddress
// (which must be the address of a key of the keyring), else the default
// key. When both are set they must agree.
func (c *Client) key(cfg *TxConfig) (keyring.Key, error) {
	var addr tx.Address
	if cfg.SignerAddress != "" {
		a, err := tx.ParseAddress(cfg.SignerAddress)
		if err != nil {
			return keyring.Key{}, fmt.Errorf("state: signer address: %w", err)
		}
		addr = a
	}
	var k keyring.Key
	switch {
	case cfg.KeyName != "" && c.hasDefault && cfg.KeyName == c.defaultKey.Name:
		k = c.defaultKey
	case cfg.KeyName != "":
		var err error
		if k, err = c.kr.Get(cfg.KeyName); err != nil {
			return keyring.Key{}, fmt.Errorf("state: key name: %w", err)
		}
	case cfg.SignerAddress != "" && c.hasDefault && addr == c.defaultKey.Address:
		return c.defaultKey, nil
	case cfg.SignerAddress != "":
		keys, err := c.kr.List()
		if err != nil {
			return keyring.Key{}, fmt.Errorf("state: signer address: %w", err)
		}
		for _, k := range keys {
			if k.Address == addr {
				return k, nil
			}
		}
		return keyring.Key{}, fmt.Errorf("state: signer address %s: %w: no key of %s has it", addr, keyring.ErrNotFound, c.kr.Dir())
	case !c.hasDefault:
		return keyring.Key{}, fmt.Errorf("%w: name a key (TxConfig key_name or signer_address)", ErrNoDefaultKey)
	default:
		return c.defaultKey, nil
	}
	if cfg.SignerAddress != "" && addr != k.Address {
		return keyring.Key{}, fmt.Errorf("state: key %q has address %s, the signer address is %s", k.Name, k.Address, addr)
	}
	return k, nil
}

// txFee returns the fee of cfg: its gas limit or the gas msg uses, at its
// gas price (rounded up to a whole unit) or the chain's minimum, refused
// above cfg.MaxGasPrice.
func txFee(p tx.Params, msg tx.Msg, cfg *TxConfig) (tx.Fee, error) {
	fee := tx.Fee{GasLimit: cfg.Gas, GasPrice: p.MinGasPrice}
	if fee.GasLimit == 0 {
		gas, ok := tx.GasUsed(p, msg)
		if !ok {
			return tx.Fee{}, fmt.Errorf("%w: gas overflows", ErrInvalidTx)
		}
		fee.GasLimit = gas
	}
	if cfg.IsGasPriceSet {
		price := math.Ceil(cfg.GasPrice)
		if math.IsNaN(price) || price < 0 || price >= math.MaxUint64 {
			return tx.Fee{}, fmt.Errorf("%w: gas price %v", ErrInvalidTx, cfg.GasPrice)
		}
		fee.GasPrice = uint64(price)
	}
	if cfg.MaxGasPrice > 0 && float64(fee.GasPrice) > cfg.MaxGasPrice {
		return tx.Fee{}, fmt.Errorf("%w: gas price %d, the maximum is %v", ErrGasPriceTooHigh, fee.GasPrice, cfg.MaxGasPrice)
	}
	return fee, nil
}

// signer is a key's nonce. Its lock (a one-slot channel, so that waiting
// for it respects a context) is held while a transaction of the key is
// signed and broadcast.
type signer struct {
	lock  chan struct{}
	known bool   // nonce is the next one the mempool expects
	nonce uint64 // guarded by lock
}

func (c *Client) signer(addr tx.Address) *signer {
	c.signerMu.Lock()
	defer c.signerMu.Unlock()
	s := c.signers[addr]
	if s == nil {
		s = &signer{lock: make(chan struct{}, 1)}
		c.signers[addr] = s
	}
	return s
}

// expectedSequence reads the nonce the application expects from its
// incorrect-sequence log ("... expects sequence N, got M").
var expectedSequence = regexp.MustCompile(`expects sequence (\d+)`)

// broadcast signs the transaction with the key's next nonce and sends it,
// holding the key's lock; it returns the transaction's hash once CheckTx
// accepts it. The nonce comes from the /account query when unknown; a
// nonce rejection sets it to the one the application expects (or forgets
// it) and is retried once.
func (c *Client) broadcast(ctx context.Context, chain chainInfo, key keyring.Key, fee tx.Fee, msg tx.Msg, blobs []*share.Blob) ([]byte, error) {
	s := c.signer(key.Address)
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("state: wait to sign with key %q: %w", key.Name, ctx.Err())
	}
	defer func() { <-s.lock }()
	for attempt := 0; ; attempt++ {
		if !s.known {
			acc, err := c.queryAccount(ctx, key.Address)
			if err != nil {
				return nil, err
			}
			s.nonce, s.known = acc.Nonce, true
		}
		raw, err := tx.SignTx(tx.Body{ChainID: chain.id, Nonce: s.nonce, Fee: fee, Msg: msg}, key.Priv)
		if err != nil {
			return nil, fmt.Errorf("state: sign: %w", err)
		}
		if len(blobs) > 0 {
			if raw, err = share.MarshalBlobTx(raw, blobs...); err != nil {
				return nil, fmt.Errorf("state: wrap in a blob tx: %w", err)
			}
		}
		res, err := c.rpc.BroadcastTxSync(ctx, raw)
		if err != nil {
			// The node may or may not have taken it: ask again next time.
			s.known = false
			return nil, fmt.Errorf("state: broadcast to %s: %w", c.rpcAddr, err)
		}
		hash := fmt.Sprintf("%X", []byte(res.Hash))
		if res.Code == tx.CodeOK {
			c.log.Debug("broadcast", "key", key.Name, "nonce", s.nonce, "txhash", hash)
			s.nonce++
			return res.Hash, nil
		}
		if res.Code != tx.CodeIncorrectSequence || attempt > 0 {
			return nil, &TxError{TxHash: hash, Code: res.Code, Log: res.Log}
		}
		s.known = false
		if m := expectedSequence.FindStringSubmatch(res.Log); m != nil {
			if n, err := strconv.ParseUint(m[1], 10, 64); err == nil {
				s.nonce, s.known = n, true
			}
		}
		c.log.Debug("nonce rejected; retrying", "key", key.Name, "log", res.Log)
	}
}

// waitIncluded polls the node for the transaction until a block includes
// it or ctx ends. A transaction that failed in its block is a *TxError.
func (c *Client) waitIncluded(ctx context.Context, hash []byte) (*TxResponse, error) {
	hexHash := fmt.Sprintf("%X", hash)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var lastErr error
	for {
		r, err := c.rpc.Tx(ctx, hash)
		if err == nil && r != nil {
			res := r.TxResult
			if res.Code != tx.CodeOK {
				return nil, &TxError{TxHash: hexHash, Height: r.Height, Code: res.Code, Log: res.Log}
			}
			return &TxResponse{Height: r.Height, TxHash: hexHash, Codespace: res.Codespace, Code: res.Code,
				Data: fmt.Sprintf("%X", res.Data), RawLog: res.Log, Logs: []any{}, Info: res.Info,
				GasWanted: res.GasWanted, GasUsed: res.GasUsed, Events: []any{}}, nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("state: transaction %s not included in time (last query: %v): %w", hexHash, lastErr, ctx.Err())
		case <-tick.C:
		}
	}
}
